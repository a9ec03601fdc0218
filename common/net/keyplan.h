/*
 * The plan of one sparse request: its keys sorted and grouped by shard
 * once (row key k lives on ps k % nps), duplicates merged, and the maps
 * that gather gradient rows into one contiguous block per shard and
 * scatter the rows that come back to the caller's order. A plan is reused
 * from request to request: it allocates only when a request is larger than
 * any before.
 */
#ifndef KEYPLAN_H
#define KEYPLAN_H

#include <stddef.h>
#include <stdint.h>

typedef struct keyplan keyplan_t;

/* Caller owns; keyplan_destroy(). */
keyplan_t *keyplan_new(void);
void keyplan_destroy(keyplan_t **p);

/*
 * Plans keys[0..n) (any order, repeats allowed; n < 2^32) for nps shards.
 * keys is read during the call only.
 */
void keyplan_build(keyplan_t *p, const uint64_t *keys, size_t n, int nps);

/* Distinct keys of the last plan. */
size_t keyplan_count(const keyplan_t *p);

/*
 * The distinct keys, shard 0's first, ascending within a shard. Borrowed;
 * valid until the next keyplan_build().
 */
const uint64_t *keyplan_keys(const keyplan_t *p);

/* Where shard s's keys start in keyplan_keys(), and how many there are. */
size_t keyplan_shard_first(const keyplan_t *p, int shard);
size_t keyplan_shard_count(const keyplan_t *p, int shard);

/*
 * Gradient rows in the caller's order (n x width) to one row per distinct
 * key of shard, in plan order (keyplan_shard_count() x width, at dst):
 * rows of a repeated key are summed. One shard at a time, so a client can
 * send one shard's block while it lays out the next.
 */
void keyplan_gather(const keyplan_t *p, int shard, const float *src,
                    size_t width, float *dst);

/*
 * Rows that came back from shard (its keyplan_shard_count() rows in plan
 * order, at src) to the caller's positions of those keys in dst (n x
 * width): a repeated key's row goes to each of its positions. One shard
 * at a time, straight from its reply, as replies arrive.
 */
void keyplan_scatter(const keyplan_t *p, int shard, const float *src,
                     size_t width, float *dst);

/*
 * keyplan_gather() and keyplan_scatter() for the distinct keys [begin, end)
 * of the plan (any shard's): src or dst holds their rows from row begin
 * on. Disjoint ranges touch disjoint memory, so threads may share a shard.
 */
void keyplan_gather_rows(const keyplan_t *p, size_t begin, size_t end,
                         const float *src, size_t width, float *dst);
void keyplan_scatter_rows(const keyplan_t *p, size_t begin, size_t end,
                          const float *src, size_t width, float *dst);

#endif
