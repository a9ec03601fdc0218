/*
 * serve_instances: TF Serving's row and columnar bodies (784 numbers,
 * 28 x 28 lists, {"pixels": ...}) into rows, its error wording for the
 * bodies it refuses, and the answer bodies.
 */
#include "serve_instances.h"

#include "psc_err.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define S_DIM 784

static struct export_model s_model(void)
{
    struct export_model m;
    memset(&m, 0, sizeof m);
    m.height = 28;
    m.width = 28;
    m.input_dim = S_DIM;
    m.classes = 10;
    return m;
}

/* n instances, instance i pixel j = (i + j) % 256, flat or 28 x 28. */
static json_t *s_rows(int n, int nested)
{
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        json_t *inst = json_array();
        json_t *row = NULL;
        for (int j = 0; j < S_DIM; j++) {
            if (nested && j % 28 == 0) {
                row = json_array();
                json_array_append_new(inst, row);
            }
            json_array_append_new(nested ? row : inst,
                                  json_integer((i + j) % 256));
        }
        json_array_append_new(list, inst);
    }
    return list;
}

static void s_check_values(const struct serve_input *in, int n)
{
    CHECK_EQ(in->rows, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < S_DIM; j += 97)
            CHECK_NEAR(in->x[(size_t) i * S_DIM + j], (i + j) % 256, 0);
}

/* Parses text; returns the code and leaves the message in err. */
static int s_parse(const char *text, struct serve_input *in, char *err)
{
    struct export_model m = s_model();
    json_t *body = json_loads(text, JSON_DECODE_ANY, NULL);
    CHECK(body != NULL);
    int rc = serve_input_parse(in, body, &m, 4, err);
    json_decref(body);
    return rc;
}

static void s_expect_error(const char *text, const char *words)
{
    struct serve_input in;
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(s_parse(text, &in, err), PSC_EINVAL);
    if (strstr(err, words) == NULL) {
        fprintf(stderr, "body %s: error '%s' lacks '%s'\n", text, err, words);
        exit(1);
    }
    CHECK(in.x == NULL);
}

static void test_rows(void)
{
    struct export_model m = s_model();
    char err[PSC_ERR_LEN];
    for (int nested = 0; nested < 2; nested++) {
        struct serve_input in;
        json_t *body = json_object();
        json_object_set_new(body, "signature_name",
                            json_string("serving_default"));
        json_object_set_new(body, "instances", s_rows(3, nested));
        CHECK_OK(serve_input_parse(&in, body, &m, 4, err));
        CHECK_EQ(in.columnar, 0);
        s_check_values(&in, 3);
        serve_input_release(&in);
        CHECK(in.x == NULL);
        json_decref(body);
    }
}

static void test_named_rows(void)
{
    struct export_model m = s_model();
    char err[PSC_ERR_LEN];
    json_t *list = s_rows(2, 1);
    json_t *named = json_array();
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *o = json_object();
        json_object_set(o, "pixels", json_array_get(list, i));
        json_array_append_new(named, o);
    }
    json_t *body = json_pack("{s:o}", "instances", named);
    struct serve_input in;
    CHECK_OK(serve_input_parse(&in, body, &m, 4, err));
    s_check_values(&in, 2);
    serve_input_release(&in);
    /* One instance on its own, as a batch-prediction line gives it. */
    float x[S_DIM];
    CHECK_OK(serve_instance_parse(json_array_get(named, 1), &m, x, err));
    CHECK_NEAR(x[100], 101, 0);
    CHECK_OK(serve_instance_parse(json_array_get(list, 0), &m, x, err));
    CHECK_NEAR(x[783], 783 % 256, 0);
    json_decref(body);
    json_decref(list);
}

static void test_columnar(void)
{
    struct export_model m = s_model();
    char err[PSC_ERR_LEN];
    struct serve_input in;
    json_t *body = json_pack("{s:o}", "inputs", s_rows(3, 0));
    CHECK_OK(serve_input_parse(&in, body, &m, 4, err));
    CHECK_EQ(in.columnar, 1);
    s_check_values(&in, 3);
    serve_input_release(&in);
    json_decref(body);
    body = json_pack("{s:{s:o}}", "inputs", "pixels", s_rows(2, 1));
    CHECK_OK(serve_input_parse(&in, body, &m, 4, err));
    CHECK_EQ(in.columnar, 1);
    s_check_values(&in, 2);
    serve_input_release(&in);
    json_decref(body);
}

static void test_errors(void)
{
    s_expect_error("[1, 2]", "Is not object");
    s_expect_error("{\"signature_name\": \"predict\", \"instances\": [[1]]}",
                   "Serving signature name: \"predict\" not found in "
                   "signature def");
    s_expect_error("{\"signature_name\": 3, \"instances\": [[1]]}",
                   "'signature_name' key must be a string value.");
    s_expect_error("{\"instances\": [[1]], \"inputs\": [[1]]}",
                   "Not formatted correctly expecting only one of 'inputs' "
                   "or 'instances' keys to exist");
    s_expect_error("{\"examples\": []}", "Missing 'inputs' or 'instances' key");
    s_expect_error("{\"instances\": {}}",
                   "Excepting 'instances' to be an list/array");
    s_expect_error("{\"instances\": []}", "No values in 'instances' array");
    s_expect_error("{\"inputs\": {\"image\": [[1]]}}",
                   "Missing named input: pixels in 'inputs' object.");
    s_expect_error("{\"instances\": [[1, 2, 3]]}",
                   "Failed to process element: 0 of 'instances' list. Error: "
                   "Invalid argument: Encountered list at unexpected size: "
                   "3 at level: 0 expected size: 784");
    s_expect_error("{\"instances\": [[[1, 2]]]}",
                   "unexpected size: 1 at level: 0 expected size: 28");
    s_expect_error("{\"inputs\": [[\"a\"]]}",
                   "Failed to process element: 0 of 'inputs' tensor");
    s_expect_error("{\"instances\": [{\"image\": [1]}]}",
                   "keys must be equal to: pixels");
    s_expect_error("{\"instances\": [[], [], [], [], []]}",
                   "too many rows in 'instances': 5, at most 4");
    s_expect_error("{\"instances\": [[1e300]]}",
                   "Failed to process element: 0");
}

/* Errors that name a later element, and a non-number in a 28 x 28 list. */
static void test_error_index(void)
{
    struct export_model m = s_model();
    char err[PSC_ERR_LEN];
    struct serve_input in;
    json_t *list = s_rows(3, 1);
    json_t *row = json_array_get(json_array_get(list, 2), 5);
    json_array_set_new(row, 7, json_string("x"));
    json_t *body = json_pack("{s:o}", "instances", list);
    CHECK_EQ(serve_input_parse(&in, body, &m, 4, err), PSC_EINVAL);
    CHECK_STR(err, "Failed to process element: 2 of 'instances' list. Error: "
                   "Invalid argument: JSON Value: \"x\" Type: String is not "
                   "of expected type: float");
    json_decref(body);
    list = s_rows(2, 0);
    json_array_append_new(json_array_get(list, 1), json_integer(1));
    body = json_pack("{s:o}", "instances", list);
    CHECK_EQ(serve_input_parse(&in, body, &m, 4, err), PSC_EINVAL);
    CHECK(strstr(err, "element: 1 ") != NULL);
    CHECK(strstr(err, "size: 785") != NULL);
    json_decref(body);
    /* Objects and lists mixed: refused at the first that differs. */
    list = s_rows(2, 0);
    json_array_set_new(list, 0,
                       json_pack("{s:O}", "pixels", json_array_get(list, 1)));
    body = json_pack("{s:o}", "instances", list);
    CHECK_EQ(serve_input_parse(&in, body, &m, 4, err), PSC_EINVAL);
    CHECK_STR(err, "Expecting object but got list at item 1 of input list");
    json_array_insert_new(list, 0, json_array_get(list, 1));
    json_incref(json_array_get(list, 0));
    CHECK_EQ(serve_input_parse(&in, body, &m, 4, err), PSC_EINVAL);
    CHECK_STR(err, "Expecting value/list but got object at item 1 of input "
                   "list");
    json_decref(body);
}

static void test_output(void)
{
    float p[2][3] = {{0.1f, 0.2f, 0.7f}, {1.0f, 0.0f, 1e-30f}};
    for (int columnar = 0; columnar < 2; columnar++) {
        json_t *out = serve_output_json(&p[0][0], 2, 3, columnar);
        char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(9));
        json_t *back = json_loads(s, 0, NULL);
        json_t *list =
            json_object_get(back, columnar ? "outputs" : "predictions");
        CHECK_EQ(json_array_size(list), 2);
        for (int i = 0; i < 2; i++)
            for (int c = 0; c < 3; c++) {
                json_t *v = json_array_get(json_array_get(list, i), c);
                /* Nine digits bring every float back exactly. */
                CHECK((float) json_number_value(v) == p[i][c]);
            }
        free(s);
        json_decref(back);
        json_decref(out);
    }
}

int main(void)
{
    test_rows();
    test_named_rows();
    test_columnar();
    test_errors();
    test_error_index();
    test_output();
    printf("serve_instances: ok\n");
    return 0;
}
