/*
 * float16 (IEEE 754 binary16) conversion for the wire's f16 codec: halves
 * the bytes of gradients and parameters on the wire at a rounding cost.
 */
#ifndef F16_H
#define F16_H

#include <stddef.h>
#include <stdint.h>

/* Converts n floats to binary16, rounding to nearest even. */
void f16_from_f32(uint16_t *dst, const float *src, size_t n);

/* Converts n binary16 values (any alignment) to floats. */
void f16_to_f32(float *dst, const void *src, size_t n);

/*
 * w_out[i] = w_in[i] - step * g[i], with g binary16 (any alignment), and
 * each result also narrowed into half[i]: a plain SGD step applied from an
 * f16 gradient and answered in f16, in one pass over memory. Rounds
 * exactly as f16_to_f32(), the float loop and f16_from_f32() in turn
 * would. w_out may equal w_in.
 */
void f16_sgd_step(float *w_out, const float *w_in, const void *g, float step,
                  uint16_t *half, size_t n);

#endif
