/*
 * A tiny assertion header for unit tests: each check prints both values and
 * the line on failure and exits 1, so ctest shows what went wrong.
 */
#ifndef PSC_TEST_H
#define PSC_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, \
                    #cond);                                                  \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_OK(expr)                                                       \
    do {                                                                     \
        int check_rc_ = (expr);                                              \
        if (check_rc_ != 0) {                                                \
            fprintf(stderr, "%s:%d: %s returned %d, expected 0\n", __FILE__, \
                    __LINE__, #expr, check_rc_);                             \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                \
    do {                                                              \
        long long check_a_ = (long long) (a);                         \
        long long check_b_ = (long long) (b);                         \
        if (check_a_ != check_b_) {                                   \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);  \
            exit(1);                                                  \
        }                                                             \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                         \
    do {                                                              \
        double check_a_ = (double) (a);                               \
        double check_b_ = (double) (b);                               \
        if (!(fabs(check_a_ - check_b_) <= (tol))) {                  \
            fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g vs %.9g\n", \
                    __FILE__, __LINE__, #a, #b, check_a_, check_b_);  \
            exit(1);                                                  \
        }                                                             \
    } while (0)

#define CHECK_STR(a, b)                                               \
    do {                                                              \
        const char *check_a_ = (a);                                   \
        const char *check_b_ = (b);                                   \
        if (check_a_ == NULL || check_b_ == NULL ||                   \
            strcmp(check_a_, check_b_) != 0) {                        \
            fprintf(stderr, "%s:%d: %s == %s failed: '%s' != '%s'\n", \
                    __FILE__, __LINE__, #a, #b,                       \
                    check_a_ ? check_a_ : "(null)",                   \
                    check_b_ ? check_b_ : "(null)");                  \
            exit(1);                                                  \
        }                                                             \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                          \
    do {                                                                     \
        const char *check_h_ = (hay);                                        \
        if (check_h_ == NULL || strstr(check_h_, (needle)) == NULL) {        \
            fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, \
                    __LINE__, check_h_ ? check_h_ : "(null)", (needle));     \
            exit(1);                                                         \
        }                                                                    \
    } while (0)

/*
 * The factor on a test's own deadlines: PSC_TEST_TIME_SCALE, which ctest
 * sets from the build (3 under ASan, 10 under TSan; cmake/PscHelpers.cmake),
 * or 1 when it is unset or not a number of at least 1.
 */
static inline double psc_test_time_scale(void)
{
    const char *s = getenv("PSC_TEST_TIME_SCALE");
    char *end = NULL;
    double f = s != NULL ? strtod(s, &end) : 1.0;
    if (s == NULL || end == s || *end != '\0' || !(f >= 1.0))
        return 1.0;
    return f;
}

#endif
