/*
 * psc-bench's results: one record per figure, printed as a table and
 * written as a JSON list, so a later run can be compared with this one.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "bench_run.h"

#include <stddef.h>
#include <stdio.h>

/* One figure. Text fields empty and numbers 0 when they do not apply. */
struct bench_rec {
    char op[24];  /* dense_pushpull, sparse_pushpull, optimizer, ... */
    size_t bytes; /* float32 payload per request */
    size_t keys;  /* sparse keys per request */
    size_t width; /* sparse row width */
    char dist[8]; /* uniform or zipf */
    int ps;
    int clients;
    char transport[8]; /* tcp, ipc, none (in-process) */
    char dtype[4];     /* wire dtype */
    char variant[32];  /* an option away from the defaults */
    struct bench_stat psc;
    struct bench_stat raw;
    int has_raw;
    double target;        /* the target for ratio, or 0 */
    char target_what[16]; /* "ratio", "time_vs_f32", "bytes_per_param" */
    double value;         /* optimizer: updates/s; memory: bytes/param (sparse:
                             per row) */
    double value2;  /* optimizer: ns/param; memory: peak bytes/param (sparse:
                       per row) */
    double compare; /* f16, curve: time relative to compare_to's;
                       sparse_memory: the table's own bytes per row */
    double compare_raw;  /* f16: the same for raw ZeroMQ's messages;
                            sparse_memory: rows created per second */
    char compare_to[16]; /* "f32" (f16), "plain" (curve: CURVE off) */
};

typedef struct bench_report bench_report_t;

/* Caller owns; bench_report_destroy(). */
bench_report_t *bench_report_new(void);
void bench_report_destroy(bench_report_t **p);

/* Copies r in and prints its table line to out (the header first). */
void bench_report_add(bench_report_t *rep, const struct bench_rec *r,
                      FILE *out);

/* Prints the summary against the targets. */
void bench_report_summary(const bench_report_t *rep, FILE *out);

/* Writes every record as a JSON list. Returns 0 or PSC_EIO with err. */
int bench_report_json(const bench_report_t *rep, const char *path, char *err);

/* Payload gigabytes per second of a stat (both directions). */
double bench_report_gbps(const struct bench_stat *st);

#endif
