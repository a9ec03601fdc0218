/*
 * psc-bench's sparse memory figure: one client pushes a gradient to every
 * row of a sparse table of `rows` keys (width 8, row-wise Adagrad) on 2
 * real psc-ps, so that each row is created; then the ps's resident memory
 * and their own count of the table's bytes, per row, against the sparse
 * issue's bound 1.25 x (width x 4 + the slot's 4 + the key's 8) bytes.
 */
#ifndef BENCH_SPARSE_MEM_H
#define BENCH_SPARSE_MEM_H

#include "bench_report.h"

/* Width of the figure's rows. */
#define BENCH_SPARSE_MEM_WIDTH 8

/*
 * Runs the figure and adds its record to rep, judged against the bound
 * when judge is set (a small table's index is at its sparsest, and the
 * ps's own memory weighs too much). sets: the job options (model bench,
 * bench.sparse_rows = rows, sparse.width, Adagrad). Returns 0, or a
 * PSC_E* with one line in err.
 */
int bench_sparse_mem_run(const char *ps_path, long rows, int judge,
                         const char *const *sets, int nsets,
                         bench_report_t *rep, char *err);

#endif
