/*
 * Unit test for psc_num: whole numbers in range are taken; blanks, trailing
 * letters, overflow, nan/inf and out-of-range values are refused; task
 * names give their index only for the right type and range.
 */
#include "psc_num.h"

#include "psc_err.h"
#include "test.h"

#include <limits.h>

static void s_longs(void)
{
    long v = 0;
    CHECK_OK(psc_num_long("42", 0, 100, &v));
    CHECK(v == 42);
    CHECK_OK(psc_num_long("-7", -10, 10, &v));
    CHECK(v == -7);
    const char *bad[] = {"",     " 1",  "1 ", "2x",
                         "0x10", "1.5", "-",  "99999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(psc_num_long(bad[i], LONG_MIN, LONG_MAX, &v) == PSC_EINVAL);
    CHECK(psc_num_long("101", 0, 100, &v) == PSC_EINVAL);
    CHECK(psc_num_long("-1", 0, 100, &v) == PSC_EINVAL);
    CHECK(psc_num_long(NULL, 0, 100, &v) == PSC_EINVAL);
    int i = 5;
    CHECK(psc_num_int("4294967296", INT_MIN, INT_MAX, &i) == PSC_EINVAL);
    CHECK(i == 5); /* untouched on refusal */
    CHECK_OK(psc_num_int("2147483647", INT_MIN, INT_MAX, &i));
    CHECK(i == INT_MAX);
}

static void s_doubles(void)
{
    double d = 0;
    CHECK_OK(psc_num_double("0.25", 0, 1, &d));
    CHECK(d == 0.25);
    CHECK_OK(psc_num_double("1e-3", 0, 1, &d));
    CHECK(d == 1e-3);
    const char *bad[] = {"", " 1", "1s", "nan", "inf", "-inf", "1e999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(psc_num_double(bad[i], -1e300, 1e300, &d) == PSC_EINVAL);
    CHECK(psc_num_double("2", 0, 1, &d) == PSC_EINVAL);
}

static void s_tasks(void)
{
    CHECK(psc_num_task("worker:3", "worker", 4) == 3);
    CHECK(psc_num_task("worker:0", "worker", 1) == 0);
    CHECK(psc_num_task("worker:4", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("worker:4294967296", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("worker:-0", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("worker:+1", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("worker: 1", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("worker:", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("workers:1", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("ps:1", "worker", 4) == PSC_EINVAL);
    CHECK(psc_num_task("ps:1", "ps", 2) == 1);
}

int main(void)
{
    s_longs();
    s_doubles();
    s_tasks();
    return 0;
}
