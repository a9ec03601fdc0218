/*
 * Keys for sparse requests: uniform over the table's rows, or Zipf with
 * exponent s (rank r drawn with probability proportional to 1 / r^s), the
 * ranks spread over the rows by a fixed bijection so that hot rows land on
 * every shard.
 */
#ifndef BENCH_KEYS_H
#define BENCH_KEYS_H

#include <stddef.h>
#include <stdint.h>

/* Fills keys[0..n) from seed; zipf 0 for uniform, else its exponent. */
void bench_keys_fill(uint64_t *keys, size_t n, uint64_t rows, double zipf,
                     uint64_t seed);

#endif
