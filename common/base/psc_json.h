/*
 * Numbers in the JSON psc writes (metrics.jsonl, eval.jsonl, manifests,
 * model.json, psc-bench's report). JSON has no NaN or Infinity, so a
 * non-finite value is written as null with a flag beside it:
 * "loss": null, "loss_finite": false. A finite value is written as a
 * number with no flag, so readers of finite records see what they always
 * saw.
 */
#ifndef PSC_JSON_H
#define PSC_JSON_H

#include <jansson.h>

/* Sets obj[key] to v; a NaN or infinity as null plus obj[key_finite]
 * false (key is cut at 100 characters for the flag's name). */
void psc_json_set_real(json_t *obj, const char *key, double v);

/*
 * Reads obj[key] as psc_json_set_real() wrote it: the number, or NaN for
 * null (a value that was not finite) or a key that is missing or holds no
 * number.
 */
double psc_json_get_real(const json_t *obj, const char *key);

#endif
