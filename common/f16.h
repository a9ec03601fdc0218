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

#endif
