/*
 * serve_body: the direct reader gives the same rows, and the same error,
 * as jansson and serve_input_parse() for every body (the common ones, the
 * refused ones, and every cut and one-character change of a valid one);
 * the answer text is byte for byte jansson's.
 */
#include "serve_body.h"

#include "psc_err.h"
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_ROWS 3

static struct export_model s_model(void)
{
    struct export_model m;
    memset(&m, 0, sizeof m);
    m.height = 2;
    m.width = 2;
    m.input_dim = 4;
    m.classes = 3;
    return m;
}

/* What the full parser alone makes of text[0..len). */
static int s_reference(struct serve_input *in, const char *text, size_t len,
                       char *err)
{
    struct export_model m = s_model();
    memset(in, 0, sizeof *in);
    if (len == 0)
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Parse error: The document is empty");
    json_error_t jerr;
    json_t *body = json_loadb(text, len, 0, &jerr);
    if (body == NULL)
        return psc_seterr(err, PSC_EINVAL, "JSON Parse error: %s at offset: %d",
                          jerr.text, jerr.position);
    int rc = serve_input_parse(in, body, &m, S_MAX_ROWS, err);
    json_decref(body);
    return rc;
}

/* serve_body_parse() agrees with the reference on text; its result. */
static int s_agree(const char *text, size_t len)
{
    struct export_model m = s_model();
    struct serve_input want;
    struct serve_input got;
    char want_err[PSC_ERR_LEN] = "";
    char got_err[PSC_ERR_LEN] = "";
    int want_rc = s_reference(&want, text, len, want_err);
    int got_rc = serve_body_parse(&got, text, len, &m, S_MAX_ROWS, got_err);
    if (got_rc != want_rc || strcmp(got_err, want_err) != 0 ||
        got.rows != want.rows || got.columnar != want.columnar ||
        (want.rows > 0 &&
         memcmp(got.x, want.x, (size_t) want.rows * 4 * sizeof *got.x) != 0)) {
        fprintf(stderr,
                "body '%.*s': got %d '%s' (%d rows), want %d '%s' "
                "(%d rows)\n",
                (int) len, text, got_rc, got_err, got.rows, want_rc, want_err,
                want.rows);
        exit(1);
    }
    serve_input_release(&got);
    serve_input_release(&want);
    return got_rc;
}

static int s_agree_str(const char *text)
{
    return s_agree(text, strlen(text));
}

static void test_common_bodies(void)
{
    CHECK_OK(s_agree_str("{\"instances\": [[1, 2, 3, 4]]}"));
    CHECK_OK(s_agree_str("{\"instances\":[[[1,2],[3,4]],[5,6,7,8]]}"));
    CHECK_OK(s_agree_str("{\"signature_name\": \"serving_default\", "
                         "\"instances\": [[0, 255, 128, 7]]}"));
    CHECK_OK(
        s_agree_str("{\"signature_name\":\"\",\"instances\":[[1,2,3,4]]}"));
    CHECK_OK(
        s_agree_str("\n\t { \"instances\" : [ [ 1 , 2 , 3 , 4 ] ] } \r\n"));
    CHECK_OK(s_agree_str("{\"instances\": [[0.5, -1e2, 2.5E-3, -0]]}"));
    CHECK_OK(s_agree_str("{\"instances\": [[1.0e+1, 0.1, 3.4e38, 1e-50]]}"));
    CHECK_OK(s_agree_str("{\"instances\": [[0.30000000000000004, "
                         "0.1234567890123456789, -16777215, 16777215]]}"));
    CHECK_OK(s_agree_str("{\"instances\": [[1,2,3,4],[5,6,7,8],[9,0,1,2]]}"));
}

static void test_refused_and_rare_bodies(void)
{
    static const char *bodies[] = {
        "{\"signature_name\": \"other\", \"instances\": [[1,2,3,4]]}",
        "{\"signature_name\": 3, \"instances\": [[1,2,3,4]]}",
        "{\"instances\": [[16777216, 1, 2, 3]]}",
        "{\"instances\": [[3.5e38, 1, 2, 3]]}",
        "{\"instances\": [[1e400, 1, 2, 3]]}",
        "{\"instances\": [[01, 2, 3, 4]]}",
        "{\"instances\": [[1., 2, 3, 4]]}",
        "{\"instances\": [[.5, 2, 3, 4]]}",
        "{\"instances\": [[+1, 2, 3, 4]]}",
        "{\"instances\": [[1, 2, 3]]}",
        "{\"instances\": [[1, 2, 3, 4, 5]]}",
        "{\"instances\": [[[1, 2], [3]]]}",
        "{\"instances\": [[[1, 2], [3, 4], [5, 6]]]}",
        "{\"instances\": []}",
        "{\"instances\": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}",
        "{\"instances\": [[9,9,9,9]], \"instances\": [[1,2,3,4]]}",
        "{\"instances\": [[1,2,3,4]], \"extra\": 1}",
        "{\"inputs\": [[1,2,3,4]]}",
        "{\"inputs\": [[1,2,3,4]], \"instances\": [[1,2,3,4]]}",
        "{\"instances\": [{\"pixels\": [1,2,3,4]}]}",
        "{\"instances\": [[1,2,3,4]]} x",
        "{\"instances\": [[1,2,3,4]]",
        "[1]",
        "\"instances\"",
        "{}",
        "",
        "   ",
        "{\"instances\": [[\"a\", 2, 3, 4]]}",
        "{\"instances\": [[true, 2, 3, 4]]}",
        "{\"instances\": [[null, 2, 3, 4]]}",
        "{\"instances\": [[-, 2, 3, 4]]}",
        "{\"instances\": [[1e, 2, 3, 4]]}",
        "{\"instances\": [[0x1A, 2, 3, 4]]}",
        "{\"instances\": [[Infinity, 2, 3, 4]]}",
        "{\"instances\": [[12345678901234567890, 2, 3, 4]]}",
        "{\"instances\": [[1,2,3,4]]}\n{}",
        "{\"instances\" [[1,2,3,4]]}",
        "{\"instances\": [[1,2,3,4],]}",
        "{\"instances\": [[1,2,3,4,]]}",
        "{\"instances\": [[007, 1, 2, 3]]}",
        "{\"instances\": [[12345678, 1234567, 0, 9999999]]}",
        "{\"instances\": [[ 1,  2,\t3,\n4]]}",
        "{\"instances\": [[1 , 2 ,3, 4 ]]}",
        "{\"instances\": [[-7, 0.0, 5e0, 0e5]]}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        s_agree_str(bodies[i]);
    /* An escape the direct reader leaves to jansson. */
    s_agree_str("{\"signature_name\": \"serving\\u005fdefault\", "
                "\"instances\": [[1,2,3,4]]}");
    /* A NUL inside the body, which a C string would hide. */
    s_agree("{\"instances\": [[1,2,3,4]]}\0", 27);
    s_agree("{\"instances\": [[1,\0,3,4]]}", 26);
}

/* Every cut, deletion and one-character change of a body that is read. */
static void test_every_small_change(void)
{
    static const char base[] =
        "{\"signature_name\":\"serving_default\",\"instances\":"
        "[[1,2.5,3e1,-4],[[5,6],[7,8]]]}";
    static const char swaps[] = "[]{},:\"0-.eE+ ax\\";
    size_t n = sizeof base - 1;
    char text[sizeof base];
    CHECK_OK(s_agree(base, n));
    for (size_t cut = 0; cut < n; cut++)
        s_agree(base, cut);
    for (size_t at = 0; at < n; at++) {
        memcpy(text, base, at);
        memcpy(text + at, base + at + 1, n - at - 1);
        s_agree(text, n - 1);
        for (const char *c = swaps; *c != '\0'; c++) {
            memcpy(text, base, n);
            text[at] = *c;
            s_agree(text, n);
        }
    }
}

/* The answer for rows x 3 values, both ways. */
static void s_answer_agrees(const float *p, int rows)
{
    for (int columnar = 0; columnar < 2; columnar++) {
        json_t *j = serve_output_json(p, rows, 3, columnar);
        char *want = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(9));
        char *got = serve_body_answer(p, rows, 3, columnar);
        CHECK_STR(got, want);
        free(got);
        free(want);
        json_decref(j);
    }
}

static void test_answer_is_janssons(void)
{
    static const float fixed[] = {
        0.0f,  1.0f,      0.5f, 1e-5f,       1.5e-7f, 3.4e38f, 1e-30f,   1e-45f,
        1e10f, 123456789, 0.1f, 2.0f / 3.0f, 1e-4f,   1e-3f,   9.999e-5f};
    int nfixed = (int) (sizeof fixed / sizeof fixed[0]);
    s_answer_agrees(fixed, nfixed / 3);
    unsigned s = 12345;
    float p[9];
    for (int round = 0; round < 2000; round++) {
        for (int i = 0; i < 9; i++) {
            s = s * 1103515245u + 12345u;
            double mantissa = (double) (s >> 8) / (double) (1u << 24);
            p[i] = (float) ldexp(mantissa, -(int) (s % 60));
        }
        s_answer_agrees(p, 1 + round % 3);
    }
}

static void test_answer_without_nan(void)
{
    const float p[3] = {NAN, INFINITY, 0.5f};
    char *got = serve_body_answer(p, 1, 3, 0);
    CHECK_STR(got, "{\"predictions\":[[null,null,0.5]]}");
    json_t *j = json_loads(got, 0, NULL);
    CHECK(j != NULL);
    json_decref(j);
    free(got);
}

int main(void)
{
    test_common_bodies();
    test_refused_and_rare_bodies();
    test_every_small_change();
    test_answer_is_janssons();
    test_answer_without_nan();
    puts("serve_body: ok");
    return 0;
}
