/*
 * A predict request's body from its text to rows, and the answer's text
 * from the probabilities. The common body, {"instances": [...]} of plain
 * number lists, is read straight from the text; every other body goes
 * through jansson and serve_input_parse(), which words TF Serving's
 * errors. Both read the same rows from the same body.
 */
#ifndef SERVE_BODY_H
#define SERVE_BODY_H

#include "serve_instances.h"

#include <stddef.h>

/*
 * text[0..len) for model m into in. Returns 0, or PSC_EINVAL with TF
 * Serving's line in err (an empty or malformed document, and every refusal
 * of serve_input_parse()).
 */
int serve_body_parse(struct serve_input *in, const char *text, size_t len,
                     const struct export_model *m, int max_rows, char *err);

/*
 * {"predictions": [[p0..], ...]} or {"outputs": ...}, byte for byte as
 * jansson writes serve_output_json() compact with 9 significant digits,
 * but a value that is not finite (jansson drops it) as null. Caller frees.
 */
char *serve_body_answer(const float *probs, int rows, int classes,
                        int columnar);

#endif
