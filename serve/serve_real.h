/*
 * A float as jansson writes a real at JSON_REAL_PRECISION(9): printf's
 * "%.9g" of its double, ".0" added to what looks like an integer, the
 * exponent without '+' or leading zeros ("4.70527666e-5"). Predictions are
 * written with it: snprintf was a tenth of a 32-instance predict's time.
 */
#ifndef SERVE_REAL_H
#define SERVE_REAL_H

#include <stddef.h>

/* Room serve_real() needs: "-1.23456789e-45" and a NUL, with some to spare. */
#define SERVE_REAL_LEN 32

/* Writes v into out (SERVE_REAL_LEN bytes) with a NUL; returns the length.
 * A value that is not finite is "null": JSON has no NaN. */
size_t serve_real(char *out, float v);

#endif
