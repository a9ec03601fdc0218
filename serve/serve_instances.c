/*
 * TF Serving's predict bodies for psc's one-input models. The wording of
 * the errors is TF Serving's (tensorflow_serving/util/json_tensor.cc and
 * model_servers/http_rest_api_handler.cc), so that clients written against
 * TF Serving see the messages they already know; where TF Serving has no
 * message (a 28 x 28 instance of the wrong size) the message follows its
 * shape-error style.
 */
#include "serve_instances.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a JSON value an error message quotes. */
#define S_QUOTE_LEN 48

/* The signature psc's exports have: the only one there is. */
#define S_SIGNATURE "serving_default"

/* Floats hold integers exactly up to 2^24 - 1 (TF Serving's limit too). */
#define S_MAX_EXACT_INT 16777215LL

/* v as compact JSON, cut to S_QUOTE_LEN characters ("..." when cut). */
static void s_quote(json_t *v, char *out, size_t size)
{
    char *s =
        json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (s == NULL) {
        snprintf(out, size, "?");
        return;
    }
    if (strlen(s) > S_QUOTE_LEN)
        snprintf(out, size, "%.*s...", S_QUOTE_LEN, s);
    else
        snprintf(out, size, "%s", s);
    free(s);
}

/* JSON's type names as TF Serving prints them (rapidjson's). */
static const char *s_type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "Object";
    case JSON_ARRAY:
        return "Array";
    case JSON_STRING:
        return "String";
    case JSON_INTEGER:
    case JSON_REAL:
        return "Number";
    case JSON_TRUE:
        return "True";
    case JSON_FALSE:
        return "False";
    default:
        return "Null";
    }
}

/* One number into *x, refusing what a float cannot hold. */
static int s_number(json_t *v, float *x, char *err)
{
    char q[S_QUOTE_LEN + 8];
    if (!json_is_number(v)) {
        s_quote(v, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Value: %s Type: %s is not of expected type: "
                          "float",
                          q, s_type_name(v));
    }
    double d = json_number_value(v);
    int lossy = json_is_integer(v)
                    ? json_integer_value(v) > S_MAX_EXACT_INT ||
                          json_integer_value(v) < -S_MAX_EXACT_INT
                    : !(fabs(d) <= FLT_MAX);
    if (lossy) {
        s_quote(v, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL,
                          "Cannot convert JSON value: %s to float without "
                          "loss of precision.",
                          q);
    }
    *x = (float) d;
    return 0;
}

static int s_size_error(json_t *list, int level, int want, char *err)
{
    return psc_seterr(err, PSC_EINVAL,
                      "Encountered list at unexpected size: %zu at level: "
                      "%d expected size: %d",
                      json_array_size(list), level, want);
}

/* A list of n numbers at level into x. */
static int s_numbers(json_t *list, int level, int n, float *x, char *err)
{
    if (json_array_size(list) != (size_t) n)
        return s_size_error(list, level, n, err);
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(list, (size_t) i);
        if (json_is_array(e))
            return psc_seterr(err, PSC_EINVAL,
                              "Encountered list at unexpected level: %d "
                              "expected < %d",
                              level + 1, level + 1);
        int rc = s_number(e, &x[i], err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * An instance as a plain value: input_dim numbers, or height lists of
 * width numbers. Which of the two is decided by the first element, as TF
 * Serving takes a tensor's shape from its first elements.
 */
static int s_tensor(json_t *v, const struct export_model *m, float *x,
                    char *err)
{
    char q[S_QUOTE_LEN + 8];
    if (!json_is_array(v)) {
        s_quote(v, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Value: %s Type: %s is not of expected type: "
                          "list of %d floats or %d x %d",
                          q, s_type_name(v), m->input_dim, m->height, m->width);
    }
    if (!json_is_array(json_array_get(v, 0)))
        return s_numbers(v, 0, m->input_dim, x, err);
    if (json_array_size(v) != (size_t) m->height)
        return s_size_error(v, 0, m->height, err);
    for (int r = 0; r < m->height; r++) {
        json_t *row = json_array_get(v, (size_t) r);
        if (!json_is_array(row)) {
            s_quote(row, q, sizeof q);
            return psc_seterr(err, PSC_EINVAL,
                              "JSON Value: %s found at incorrect level: 1 in "
                              "the JSON DOM. Expected at level: 2",
                              q);
        }
        int rc = s_numbers(row, 1, m->width, x + (size_t) r * m->width, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* An object instance is {"pixels": value}, with no other key. */
static int s_is_named(json_t *v)
{
    return json_is_object(v) && json_object_size(v) == 1 &&
           json_object_get(v, EXPORT_INPUT_NAME) != NULL;
}

int serve_instance_parse(json_t *v, const struct export_model *m, float *x,
                         char *err)
{
    if (json_is_object(v)) {
        if (!s_is_named(v))
            return psc_seterr(err, PSC_EINVAL,
                              "JSON object: keys must be equal to: %s",
                              EXPORT_INPUT_NAME);
        v = json_object_get(v, EXPORT_INPUT_NAME);
    }
    return s_tensor(v, m, x, err);
}

/* The request's signature_name, when it has one, must be ours. */
static int s_signature(json_t *body, char *err)
{
    json_t *sig = json_object_get(body, "signature_name");
    if (sig == NULL)
        return 0;
    if (!json_is_string(sig)) {
        char q[S_QUOTE_LEN + 8];
        s_quote(body, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Value: %s not formatted correctly. "
                          "'signature_name' key must be a string value.",
                          q);
    }
    const char *name = json_string_value(sig);
    if (name[0] != '\0' && strcmp(name, S_SIGNATURE) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "Serving signature name: \"%.64s\" not found in "
                          "signature def",
                          name);
    return 0;
}

static int s_rows(struct serve_input *in, size_t n, const char *what,
                  const struct export_model *m, int max_rows, char *err)
{
    if (n > (size_t) max_rows)
        return psc_seterr(err, PSC_EINVAL,
                          "too many rows in '%s': %zu, at most %d a request",
                          what, n, max_rows);
    in->rows = (int) n;
    in->x = psc_xmalloc(n * (size_t) m->input_dim * sizeof *in->x);
    return 0;
}

/*
 * Row format: every element a value, or every element an object
 * {"pixels": value}, never a mix (TF Serving's rule).
 */
static int s_instances(struct serve_input *in, json_t *list,
                       const struct export_model *m, int max_rows, char *err)
{
    char sub[PSC_ERR_LEN];
    if (!json_is_array(list))
        return psc_seterr(err, PSC_EINVAL,
                          "Excepting 'instances' to be an list/array");
    if (json_array_size(list) == 0)
        return psc_seterr(err, PSC_EINVAL, "No values in 'instances' array");
    int rc = s_rows(in, json_array_size(list), "instances", m, max_rows, err);
    int objects = json_is_object(json_array_get(list, 0));
    for (int i = 0; rc == 0 && i < in->rows; i++) {
        json_t *e = json_array_get(list, (size_t) i);
        float *x = in->x + (size_t) i * m->input_dim;
        if (objects != json_is_object(e))
            return psc_seterr(err, PSC_EINVAL,
                              objects ? "Expecting object but got list at "
                                        "item %d of input list"
                                      : "Expecting value/list but got object "
                                        "at item %d of input list",
                              i);
        if (objects && !s_is_named(e))
            return psc_seterr(err, PSC_EINVAL,
                              "Failed to process element: %d of 'instances' "
                              "list. JSON object: keys must be equal to: %s",
                              i, EXPORT_INPUT_NAME);
        if (objects)
            e = json_object_get(e, EXPORT_INPUT_NAME);
        if (s_tensor(e, m, x, sub) != 0)
            rc = psc_seterr(err, PSC_EINVAL,
                            "Failed to process element: %d%s of 'instances' "
                            "list. Error: Invalid argument: %s",
                            i, objects ? " key: " EXPORT_INPUT_NAME : "", sub);
    }
    return rc;
}

/*
 * Columnar format: one tensor, batch first, or {"pixels": tensor}. A
 * tensor of numbers alone is taken as one instance.
 */
static int s_inputs(struct serve_input *in, json_t *v,
                    const struct export_model *m, int max_rows, char *err)
{
    char sub[PSC_ERR_LEN];
    if (json_is_object(v)) {
        v = json_object_get(v, EXPORT_INPUT_NAME);
        if (v == NULL)
            return psc_seterr(err, PSC_EINVAL,
                              "Missing named input: %s in 'inputs' object.",
                              EXPORT_INPUT_NAME);
    }
    in->columnar = 1;
    if (json_is_array(v) && json_is_number(json_array_get(v, 0))) {
        int rc = s_rows(in, 1, "inputs", m, max_rows, err);
        return rc != 0 ? rc : s_tensor(v, m, in->x, err);
    }
    if (!json_is_array(v)) {
        char q[S_QUOTE_LEN + 8];
        s_quote(v, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL,
                          "JSON Value: %s Type: %s is not of expected type: "
                          "list",
                          q, s_type_name(v));
    }
    if (json_array_size(v) == 0)
        return psc_seterr(err, PSC_EINVAL, "No values in 'inputs' tensor");
    int rc = s_rows(in, json_array_size(v), "inputs", m, max_rows, err);
    for (int i = 0; rc == 0 && i < in->rows; i++) {
        float *x = in->x + (size_t) i * m->input_dim;
        if (s_tensor(json_array_get(v, (size_t) i), m, x, sub) != 0)
            rc = psc_seterr(err, PSC_EINVAL,
                            "Failed to process element: %d of 'inputs' "
                            "tensor. Error: Invalid argument: %s",
                            i, sub);
    }
    return rc;
}

int serve_input_parse(struct serve_input *in, json_t *body,
                      const struct export_model *m, int max_rows, char *err)
{
    memset(in, 0, sizeof *in);
    char q[S_QUOTE_LEN + 8];
    if (!json_is_object(body)) {
        s_quote(body, q, sizeof q);
        return psc_seterr(err, PSC_EINVAL, "JSON Value: %s Is not object", q);
    }
    int rc = s_signature(body, err);
    if (rc != 0)
        return rc;
    json_t *instances = json_object_get(body, "instances");
    json_t *inputs = json_object_get(body, "inputs");
    if (instances != NULL && inputs != NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "Not formatted correctly expecting only one of "
                          "'inputs' or 'instances' keys to exist");
    if (instances == NULL && inputs == NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "Missing 'inputs' or 'instances' key");
    rc = instances != NULL ? s_instances(in, instances, m, max_rows, err)
                           : s_inputs(in, inputs, m, max_rows, err);
    if (rc != 0)
        serve_input_release(in);
    return rc;
}

void serve_input_release(struct serve_input *in)
{
    free(in->x);
    memset(in, 0, sizeof *in);
}

json_t *serve_output_json(const float *probs, int rows, int classes,
                          int columnar)
{
    json_t *list = json_array();
    for (int i = 0; i < rows; i++) {
        json_t *row = json_array();
        const float *p = probs + (size_t) i * classes;
        for (int c = 0; c < classes; c++)
            json_array_append_new(row, json_real((double) p[c]));
        json_array_append_new(list, row);
    }
    json_t *out = json_object();
    json_object_set_new(out, columnar ? "outputs" : "predictions", list);
    return out;
}
