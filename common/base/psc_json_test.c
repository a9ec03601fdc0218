/*
 * Unit test for non-finite numbers in JSON output: null plus a flag,
 * never "nan" or "inf", and read back as NaN.
 */
#include "psc_json.h"
#include "test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The compact text of one object {key: v}. Caller frees. */
static char *s_dump(double v)
{
    json_t *o = json_object();
    psc_json_set_real(o, "loss", v);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    CHECK(text != NULL);
    return text;
}

static void test_finite(void)
{
    char *t = s_dump(0.5);
    CHECK_STR(t, "{\"loss\":0.5}");
    free(t);
    t = s_dump(-2.5);
    CHECK_STR(t, "{\"loss\":-2.5}");
    free(t);
}

static void test_not_finite(void)
{
    const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *t = s_dump(bad[i]);
        CHECK_STR(t, "{\"loss\":null,\"loss_finite\":false}");
        /* What was written is JSON, and reads back as not a number. */
        json_t *o = json_loads(t, 0, NULL);
        CHECK(o != NULL);
        CHECK(isnan(psc_json_get_real(o, "loss")));
        json_decref(o);
        free(t);
    }
}

static void test_read(void)
{
    json_t *o = json_pack("{s:f, s:i, s:s}", "a", 1.25, "b", 3, "c", "x");
    CHECK_NEAR(psc_json_get_real(o, "a"), 1.25, 0);
    CHECK_NEAR(psc_json_get_real(o, "b"), 3, 0);
    CHECK(isnan(psc_json_get_real(o, "c")));
    CHECK(isnan(psc_json_get_real(o, "missing")));
    json_decref(o);
}

int main(void)
{
    test_finite();
    test_not_finite();
    test_read();
    printf("psc_json_test: all checks passed\n");
    return 0;
}
