/*
 * Unit test for straggler: every spec form and composition, every error,
 * exact delays for the deterministic kinds, repeatable draws for a fixed
 * seed, and the sampled means of the random kinds against their analytic
 * means.
 */
#include "straggler.h"

#include "psc_err.h"
#include "test.h"

#define FORMS                                                              \
    "use none, a base (fixed:MS, exp:MEAN_MS, shiftexp:SHIFT_MS:MEAN_MS, " \
    "uniform:LO_MS:HI_MS), a factor (slow:K, p:PROB:K) or BASE*FACTOR"

static void test_parse_bases(void)
{
    struct straggler s;
    char err[PSC_ERR_LEN] = "";

    CHECK_OK(straggler_parse(&s, "none", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_BASE_NONE);
    CHECK_EQ(s.factor, STRAGGLER_FACTOR_NONE);
    CHECK_NEAR(straggler_delay(&s, 2.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "fixed:250", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_FIXED);
    CHECK_EQ(s.factor, STRAGGLER_FACTOR_NONE);
    CHECK_NEAR(straggler_delay(&s, 2.0), 0.25, 1e-12);
    CHECK_NEAR(straggler_delay(&s, 0.0), 0.25, 1e-12);

    CHECK_OK(straggler_parse(&s, "fixed:0", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "exp:12.5", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_EXP);
    CHECK_NEAR(s.base_a, 0.0125, 1e-12);

    CHECK_OK(straggler_parse(&s, "shiftexp:5:20", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_SHIFTEXP);
    CHECK_NEAR(s.base_a, 0.005, 1e-12);
    CHECK_NEAR(s.base_b, 0.020, 1e-12);
    for (int i = 0; i < 1000; i++)
        CHECK(straggler_delay(&s, 1.0) >= 0.005);
    /* A mean of 0 leaves the shift alone. */
    CHECK_OK(straggler_parse(&s, "shiftexp:5:0", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.005, 1e-12);

    CHECK_OK(straggler_parse(&s, "uniform:5:10", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_UNIFORM);
    CHECK_NEAR(s.base_a, 0.005, 1e-12);
    CHECK_NEAR(s.base_b, 0.010, 1e-12);
    for (int i = 0; i < 1000; i++) {
        double d = straggler_delay(&s, 1.0);
        CHECK(d >= 0.005 && d <= 0.010);
    }
    CHECK_OK(straggler_parse(&s, "uniform:2:2", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.002, 1e-12);
}

/* A factor alone keeps its old meaning: it stretches the compute time. */
static void test_parse_factors(void)
{
    struct straggler s;
    char err[PSC_ERR_LEN] = "";

    CHECK_OK(straggler_parse(&s, "slow:3", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_BASE_NONE);
    CHECK_EQ(s.factor, STRAGGLER_SLOW);
    CHECK_NEAR(straggler_delay(&s, 0.1), 0.2, 1e-12);
    CHECK_NEAR(straggler_delay(&s, -1.0), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "slow:1", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 0.5), 0.0, 0);

    CHECK_OK(straggler_parse(&s, "p:0.25:4", 1, 0, err));
    CHECK_EQ(s.factor, STRAGGLER_PROB);
    CHECK_NEAR(s.prob, 0.25, 0);
    CHECK_NEAR(s.k, 4.0, 0);

    /* PROB 1 slows every step; PROB 0 never does. */
    CHECK_OK(straggler_parse(&s, "p:1:2.5", 1, 0, err));
    for (int i = 0; i < 100; i++)
        CHECK_NEAR(straggler_delay(&s, 0.2), 0.3, 1e-12);
    CHECK_OK(straggler_parse(&s, "p:0:5", 1, 0, err));
    for (int i = 0; i < 100; i++)
        CHECK_NEAR(straggler_delay(&s, 0.2), 0.0, 0);
}

/* With a base, the factor multiplies the base delay, not the compute. */
static void test_parse_compositions(void)
{
    struct straggler s;
    char err[PSC_ERR_LEN] = "";

    CHECK_OK(straggler_parse(&s, "fixed:10*slow:3", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_FIXED);
    CHECK_EQ(s.factor, STRAGGLER_SLOW);
    CHECK_NEAR(straggler_delay(&s, 0.0), 0.030, 1e-12);
    CHECK_NEAR(straggler_delay(&s, 5.0), 0.030, 1e-12);

    /* The order of the two terms does not matter. */
    CHECK_OK(straggler_parse(&s, "slow:3*fixed:10", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_FIXED);
    CHECK_EQ(s.factor, STRAGGLER_SLOW);
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.030, 1e-12);

    CHECK_OK(straggler_parse(&s, "shiftexp:5:20*p:0.1:5", 1, 0, err));
    CHECK_EQ(s.base, STRAGGLER_SHIFTEXP);
    CHECK_EQ(s.factor, STRAGGLER_PROB);
    CHECK_NEAR(s.prob, 0.1, 0);
    CHECK_NEAR(s.k, 5.0, 0);

    CHECK_OK(straggler_parse(&s, "fixed:10*p:1:4", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.040, 1e-12);
    CHECK_OK(straggler_parse(&s, "fixed:10*p:0:4", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.010, 1e-12);
    CHECK_OK(straggler_parse(&s, "fixed:10*p:0.5:3", 1, 0, err));
    for (int i = 0; i < 100; i++) {
        double d = straggler_delay(&s, 1.0);
        CHECK(fabs(d - 0.010) < 1e-12 || fabs(d - 0.030) < 1e-12);
    }
    CHECK_OK(straggler_parse(&s, "uniform:1:3*slow:2", 1, 0, err));
    for (int i = 0; i < 100; i++) {
        double d = straggler_delay(&s, 1.0);
        CHECK(d >= 0.002 && d <= 0.006);
    }
    CHECK_OK(straggler_parse(&s, "exp:20*slow:1", 1, 0, err));
    CHECK_OK(straggler_parse(&s, "fixed:0*slow:9", 1, 0, err));
    CHECK_NEAR(straggler_delay(&s, 1.0), 0.0, 0);
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
    CHECK_CONTAINS(err, FORMS);
    CHECK(strchr(err, '\n') == NULL);
    /* A failed parse leaves the previous value alone. */
    CHECK_EQ(s.base, STRAGGLER_FIXED);
    CHECK_NEAR(s.base_a, 0.007, 1e-12);
    CHECK_EQ(straggler_parse(&s, spec, 1, 0, NULL), PSC_ECONFIG);
}

static void test_parse_errors(void)
{
    char err[PSC_ERR_LEN] = "";
    struct straggler s;
    CHECK_EQ(straggler_parse(&s, "slow:x", 1, 0, err), PSC_ECONFIG);
    CHECK_STR(err, "straggler 'slow:x' is not valid: " FORMS);
    CHECK_EQ(straggler_parse(&s, "fixed:1*exp:2", 1, 0, err), PSC_ECONFIG);
    CHECK_STR(err, "straggler 'fixed:1*exp:2' is not valid: at most one base "
                   "and one factor; " FORMS);

    const char *syntax[] = {"",
                            "None",
                            "fixed",
                            "fixed:",
                            "fixed:5ms",
                            "exp:",
                            "exp: 5",
                            "slow:nan",
                            "slow:inf",
                            "p:0.5",
                            "p:0.5:",
                            "p::2",
                            "p:0.5:2:",
                            "p:x:2",
                            "fast:2",
                            "none:1",
                            "fixed:1e999",
                            "shiftexp:5",
                            "shiftexp:5:",
                            "shiftexp::5",
                            "shiftexp:nan:5",
                            "uniform:1",
                            "uniform:1:2:3",
                            "uniform:1:inf",
                            "fixed:1*",
                            "*slow:2",
                            "fixed:1**slow:2",
                            "fixed:1 *slow:2",
                            "fixed:1* slow:2",
                            "fixed:1*slow: 2",
                            "none*slow:2",
                            "fixed:1*none",
                            "fixed:1/slow:2",
                            "fixed:1*slow:2 "};
    for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
        check_error(syntax[i], "is not valid: use none");

    check_error("fixed:1*exp:2", "at most one base and one factor");
    check_error("slow:2*p:0.1:2", "at most one base and one factor");
    check_error("fixed:1*slow:2*p:0.5:2", "at most one base and one factor");
    check_error("fixed:-1", "MS must be >= 0");
    check_error("exp:-0.5", "MS must be >= 0");
    check_error("shiftexp:-1:5", "MS must be >= 0");
    check_error("shiftexp:5:-1", "MS must be >= 0");
    check_error("uniform:-1:2", "MS must be >= 0");
    check_error("uniform:5:2", "LO_MS must be <= HI_MS");
    check_error("slow:0.5", "K must be >= 1");
    check_error("p:1.5:2", "PROB must be between 0 and 1");
    check_error("p:-0.1:2", "PROB must be between 0 and 1");
    check_error("p:0.5:0.9", "K must be >= 1");
    check_error("fixed:10*slow:0.5", "K must be >= 1");
    check_error("exp:5*p:2:3", "PROB must be between 0 and 1");
}

/* A long spec is cut in the message so the accepted forms still fit. */
static void test_long_spec_error(void)
{
    char spec[200];
    memset(spec, '9', sizeof(spec) - 1);
    spec[sizeof(spec) - 2] = 'x';
    spec[sizeof(spec) - 1] = '\0';
    memcpy(spec, "slow:", 5);
    struct straggler s;
    char err[PSC_ERR_LEN] = "";
    CHECK_EQ(straggler_parse(&s, spec, 1, 0, err), PSC_ECONFIG);
    CHECK_CONTAINS(err, "...' is not valid: ");
    CHECK_CONTAINS(err, FORMS);
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

    const char *specs[] = {"p:0.5:3", "shiftexp:5:20*p:0.1:5",
                           "uniform:1:9*slow:2"};
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        CHECK_OK(straggler_parse(&a, specs[i], 7, 3, NULL));
        CHECK_OK(straggler_parse(&b, specs[i], 7, 3, NULL));
        for (int j = 0; j < 100; j++)
            CHECK(straggler_delay(&a, 0.1) == straggler_delay(&b, 0.1));
    }
}

/*
 * The single forms draw exactly what they drew before composition came:
 * one exponential, or one uniform per step. Jobs that ran before repeat.
 */
static void test_same_draws_as_before(void)
{
    struct straggler s;
    rng_t r;
    CHECK_OK(straggler_parse(&s, "exp:10", 7, 3, NULL));
    rng_seed(&r, 7, 3);
    for (int i = 0; i < 100; i++)
        CHECK(straggler_delay(&s, 0.1) == rng_exponential(&r, 0.010));

    CHECK_OK(straggler_parse(&s, "p:0.3:5", 7, 3, NULL));
    rng_seed(&r, 7, 3);
    for (int i = 0; i < 100; i++) {
        double want = rng_uniform(&r) < 0.3 ? 4.0 * 0.1 : 0.0;
        CHECK(straggler_delay(&s, 0.1) == want);
    }
}

/* The mean delay of spec over many draws, each step computing compute_s. */
static double s_sampled_mean(const char *spec, uint64_t stream,
                             double compute_s)
{
    enum { DRAWS = 200000 };
    struct straggler s;
    CHECK_OK(straggler_parse(&s, spec, 11, stream, NULL));
    double sum = 0.0;
    for (int i = 0; i < DRAWS; i++) {
        double d = straggler_delay(&s, compute_s);
        CHECK(d >= 0.0);
        sum += d;
    }
    return sum / DRAWS;
}

static void check_mean(const char *spec, double want_s)
{
    /* 2% is several standard errors of a 200k-draw mean for these specs;
     * the seed is fixed, so the check cannot flake. */
    double got = s_sampled_mean(spec, 0, 1.0);
    CHECK_NEAR(got, want_s, want_s * 0.02);
}

static void test_statistics(void)
{
    check_mean("exp:40", 0.040);
    check_mean("shiftexp:5:20", 0.005 + 0.020);
    check_mean("uniform:10:30", (0.010 + 0.030) / 2);
    check_mean("exp:20*slow:3", 0.020 * 3);
    check_mean("fixed:10*p:0.1:5", 0.010 * (1 + 0.1 * (5 - 1)));
    check_mean("shiftexp:5:20*p:0.1:5", 0.025 * (1 + 0.1 * (5 - 1)));
    check_mean("uniform:10:30*p:0.3:2", 0.020 * (1 + 0.3 * (2 - 1)));
    /* A factor alone scales the compute time: (K - 1) x compute. */
    check_mean("slow:4", 3.0);
    check_mean("p:0.25:3", 0.25 * 2.0);

    enum { DRAWS = 100000 };
    struct straggler s;
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
    test_parse_bases();
    test_parse_factors();
    test_parse_compositions();
    test_parse_errors();
    test_long_spec_error();
    test_deterministic();
    test_same_draws_as_before();
    test_statistics();
    printf("straggler: ok\n");
    return 0;
}
