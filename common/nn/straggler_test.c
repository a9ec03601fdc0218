/*
 * Unit test for straggler: every spec form and every error, exact delays
 * for the deterministic kinds, repeatable draws for a fixed seed, and the
 * statistics of the random kinds.
 */
#include "straggler.h"

#include "psc_err.h"
#include "test.h"

static void test_parse_forms(void)
{
    struct straggler s;
    char err[PSC_ERR_LEN] = "";

    CHECK_OK(straggler_parse(&s, "none", 1, 0, err));
    CHECK_EQ(s.kind, STRAGGLER_NONE);
    CHECK_NEAR(straggler_delay(&s, 2.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "fixed:250", 1, 0, err));
    CHECK_EQ(s.kind, STRAGGLER_FIXED);
    CHECK_NEAR(straggler_delay(&s, 2.0), 0.25, 1e-12);
    CHECK_NEAR(straggler_delay(&s, 0.0), 0.25, 1e-12);

    CHECK_OK(straggler_parse(&s, "fixed:0", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "exp:12.5", 1, 0, err));
    CHECK_EQ(s.kind, STRAGGLER_EXP);
    CHECK_NEAR(s.a, 0.0125, 1e-12);

    CHECK_OK(straggler_parse(&s, "slow:3", 1, 0, err));
    CHECK_EQ(s.kind, STRAGGLER_SLOW);
    CHECK_NEAR(straggler_delay(&s, 0.1), 0.2, 1e-12);
    CHECK_NEAR(straggler_delay(&s, -1.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "slow:1", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 0.5), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "p:0.25:4", 1, 0, err));
    CHECK_EQ(s.kind, STRAGGLER_PROB);
    CHECK_NEAR(s.a, 0.25, 0);
    CHECK_NEAR(s.b, 4.0, 0);

    /* PROB 1 slows every step; PROB 0 never does. */
    CHECK_OK(straggler_parse(&s, "p:1:2.5", 1, 0, err));
    for (int i = 0; i < 100; i++)
        CHECK_NEAR(straggler_delay(&s, 0.2), 0.3, 1e-12);
    CHECK_OK(straggler_parse(&s, "p:0:5", 1, 0, err));
    for (int i = 0; i < 100; i++)
        CHECK_NEAR(straggler_delay(&s, 0.2), 0.0, 0);
}

static void check_error(const char *spec, const char *why)
{
    struct straggler s;
    char err[PSC_ERR_LEN] = "";
    CHECK_OK(straggler_parse(&s, "fixed:7", 1, 0, NULL));
    CHECK_EQ(straggler_parse(&s, spec, 1, 0, err), PSC_ECONFIG);
    char expect[PSC_ERR_LEN];
    snprintf(expect, sizeof(expect), "straggler '%s' is not valid: ", spec);
    CHECK(strncmp(err, expect, strlen(expect)) == 0);
    CHECK_CONTAINS(err, why);
    CHECK_CONTAINS(err, "use none, fixed:MS, exp:MEAN_MS, slow:FACTOR or "
                        "p:PROB:FACTOR");
    CHECK(strchr(err, '\n') == NULL);
    /* A failed parse leaves the previous value alone. */
    CHECK_EQ(s.kind, STRAGGLER_FIXED);
    CHECK_NEAR(s.a, 0.007, 1e-12);
    CHECK_EQ(straggler_parse(&s, spec, 1, 0, NULL), PSC_ECONFIG);
}

static void test_parse_errors(void)
{
    char err[PSC_ERR_LEN] = "";
    struct straggler s;
    CHECK_EQ(straggler_parse(&s, "slow:x", 1, 0, err), PSC_ECONFIG);
    CHECK_STR(err, "straggler 'slow:x' is not valid: use none, fixed:MS, "
                   "exp:MEAN_MS, slow:FACTOR or p:PROB:FACTOR");

    const char *syntax[] = {
        "",         "None",     "fixed",    "fixed:", "fixed:5ms",  "exp:",
        "exp: 5",   "slow:nan", "slow:inf", "p:0.5",  "p:0.5:",     "p::2",
        "p:0.5:2:", "p:x:2",    "fast:2",   "none:1", "fixed:1e999"};
    for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
        check_error(syntax[i], "is not valid: use none");

    check_error("fixed:-1", "MS must be >= 0");
    check_error("exp:-0.5", "MS must be >= 0");
    check_error("slow:0.5", "FACTOR must be >= 1");
    check_error("p:1.5:2", "PROB must be between 0 and 1");
    check_error("p:-0.1:2", "PROB must be between 0 and 1");
    check_error("p:0.5:0.9", "FACTOR must be >= 1");
}

static void test_deterministic(void)
{
    struct straggler a, b, c;
    CHECK_OK(straggler_parse(&a, "exp:10", 7, 3, NULL));
    CHECK_OK(straggler_parse(&b, "exp:10", 7, 3, NULL));
    CHECK_OK(straggler_parse(&c, "exp:10", 7, 4, NULL));
    int differ = 0;
    for (int i = 0; i < 100; i++) {
        double x = straggler_delay(&a, 0.1);
        CHECK(x == straggler_delay(&b, 0.1));
        differ += x != straggler_delay(&c, 0.1);
    }
    CHECK(differ > 90);

    CHECK_OK(straggler_parse(&a, "p:0.5:3", 7, 3, NULL));
    CHECK_OK(straggler_parse(&b, "p:0.5:3", 7, 3, NULL));
    for (int i = 0; i < 100; i++)
        CHECK(straggler_delay(&a, 0.1) == straggler_delay(&b, 0.1));
}

static void test_statistics(void)
{
    enum { DRAWS = 100000 };
    struct straggler s;
    CHECK_OK(straggler_parse(&s, "exp:40", 11, 0, NULL));
    double sum = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double d = straggler_delay(&s, 1.0);
        CHECK(d >= 0.0);
        sum += d;
    }
    CHECK_NEAR(sum / DRAWS, 0.040, 0.040 * 0.02);

    CHECK_OK(straggler_parse(&s, "p:0.3:5", 11, 1, NULL));
    int slow = 0;
    for (int i = 0; i < DRAWS; i++) {
        double d = straggler_delay(&s, 0.01);
        if (d > 0.0) {
            CHECK_NEAR(d, 0.04, 1e-12);
            slow++;
        }
    }
    CHECK_NEAR((double) slow / DRAWS, 0.3, 0.01);
}

int main(void)
{
    test_parse_forms();
    test_parse_errors();
    test_deterministic();
    test_statistics();
    printf("straggler: ok\n");
    return 0;
}
