/*
 * TF Serving's REST request and response bodies for a one-input,
 * one-output model: "instances" (row format: a list of instances, each
 * input_dim numbers or a height x width nested list, or {"pixels": ...})
 * or "inputs" (columnar: the same as one tensor, or {"pixels": tensor}),
 * into a rows x input_dim float array; predictions back out as
 * {"predictions": [[p0..p9], ...]} or {"outputs": [[...], ...]}.
 */
#ifndef SERVE_INSTANCES_H
#define SERVE_INSTANCES_H

#include "export.h"

#include <jansson.h>

struct serve_input {
    float *x; /* rows x input_dim; caller frees with serve_input_release */
    int rows;
    int columnar; /* the request said "inputs": answer "outputs" */
};

/*
 * Reads a parsed request body for model m. Returns 0, or PSC_EINVAL with
 * one line in err in TF Serving's words (a body that is no object, both or
 * neither of instances/inputs, an instance of the wrong shape or with a
 * non-number, naming its index). At most max_rows rows.
 */
int serve_input_parse(struct serve_input *in, json_t *body,
                      const struct export_model *m, int max_rows, char *err);

/* One instance (a JSON value) into x[0..input_dim). 0 or PSC_EINVAL. */
int serve_instance_parse(json_t *v, const struct export_model *m, float *x,
                         char *err);

void serve_input_release(struct serve_input *in);

/* The answer body for rows x classes probabilities. Caller owns. */
json_t *serve_output_json(const float *probs, int rows, int classes,
                          int columnar);

#endif
