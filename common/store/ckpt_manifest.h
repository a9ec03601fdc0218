/*
 * manifest.json, the record that makes a checkpoint folder complete: what
 * ckpt_manifest_read() and ckpt_manifest_write() (declared in ckpt.h) and
 * the shard files agree on. The manifest's own functions are in ckpt.h.
 */
#ifndef CKPT_MANIFEST_H
#define CKPT_MANIFEST_H

#include "ckpt.h"

#include <stddef.h>
#include <stdint.h>

#define CKPT_MANIFEST_FILE   "manifest.json"
#define CKPT_MANIFEST_FORMAT 1

/* A shard file's header, before its arrays (ckpt.c describes it). */
#define CKPT_SHARD_HEADER_BYTES 64

/* "shard-<shard>-of-<nps>" into out (cap bytes, cut to fit). */
void ckpt_manifest_shard_name(int shard, int nps, char *out, size_t cap);

/* The size of a shard file holding narrays arrays of elems floats. */
uint64_t ckpt_manifest_shard_bytes(int narrays, size_t elems);

/* Elements in the flat array of all variables (the variables' sizes). */
size_t ckpt_manifest_total(const struct ckpt_manifest *m);

#endif
