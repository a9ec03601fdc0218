/*
 * Predictions, batched or not. With batching on, requests for the same
 * version are queued and coalesced, up to max_batch_size rows or
 * batch_timeout_micros of waiting, into one export_predict() (one OpenBLAS
 * call per layer) run by num_batch_threads threads; more than
 * max_enqueued_batches waiting batches and a request is refused (503).
 * With batching off, the calling thread predicts alone.
 */
#ifndef SERVE_BATCH_H
#define SERVE_BATCH_H

#include "serve_config.h"
#include "serve_models.h"

typedef struct serve_batcher serve_batcher_t;

/* Starts the batch threads when b->enabled. Caller owns; destroy. */
serve_batcher_t *serve_batcher_new(const struct serve_batching *b,
                                   void (*on_batch)(void *arg, int rows),
                                   void *arg);
void serve_batcher_destroy(serve_batcher_t **p);

/*
 * Runs rows inputs x (rows x input_dim) through v into probs (rows x
 * classes), blocking until done. on_batch(arg, rows) is told the size of
 * each OpenBLAS batch run. Returns 0, or PSC_EAGAIN when the queue is full
 * (503; with err), PSC_EINTR when the batcher is stopping.
 */
int serve_batcher_predict(serve_batcher_t *b, const struct serve_version *v,
                          const float *x, int rows, float *probs, char *err);

#endif
