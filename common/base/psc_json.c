/*
 * Non-finite numbers as null plus a flag, the one convention of every JSON
 * file psc writes.
 */
#include "psc_json.h"

#include <math.h>
#include <stdio.h>

void psc_json_set_real(json_t *obj, const char *key, double v)
{
    if (isfinite(v)) {
        json_object_set_new(obj, key, json_real(v));
        return;
    }
    char flag[128];
    snprintf(flag, sizeof flag, "%.100s_finite", key);
    json_object_set_new(obj, key, json_null());
    json_object_set_new(obj, flag, json_false());
}

double psc_json_get_real(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}
