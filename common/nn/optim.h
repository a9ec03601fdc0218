/*
 * Optimizers the parameter server runs over flat float arrays, with zero,
 * one or two slot arrays of the same length beside each variable. The
 * update rules and defaults follow TensorFlow/Keras so results compare
 * with the reference implementation.
 */
#ifndef OPTIM_H
#define OPTIM_H

#include <stddef.h>
#include <stdint.h>

enum optim_kind { OPTIM_SGD, OPTIM_MOMENTUM, OPTIM_ADAGRAD, OPTIM_ADAM };

enum optim_decay {
    OPTIM_DECAY_NONE,
    OPTIM_DECAY_EXPONENTIAL,
    OPTIM_DECAY_INVERSE_TIME
};

/* A plain value; fill it with optim_config_init() and then override. */
struct optim_config {
    enum optim_kind kind;
    float learning_rate;
    float momentum;              /* momentum, default 0.9 */
    int nesterov;                /* momentum: nonzero for Nesterov's variant */
    float beta1, beta2, epsilon; /* adam 0.9 0.999 1e-7 (Keras defaults) */
    float adagrad_initial;       /* initial accumulator, default 0.1 */
    enum optim_decay decay;
    float decay_rate;
    double decay_steps;
};

/*
 * Fills c with the defaults: plain SGD at learning rate 0.01 (Keras), the
 * momentum/Adam/Adagrad defaults above, no decay (rate 0, 1 decay step).
 */
void optim_config_init(struct optim_config *c);

/*
 * Checks that the fields are usable (positive learning rate and epsilon,
 * momentum and betas in [0, 1), positive decay_steps when decaying).
 * Returns 0, or PSC_ECONFIG with a one-line reason in err (may be NULL).
 */
int optim_check(const struct optim_config *c, char *err);

/*
 * Parses "sgd", "momentum", "adagrad" or "adam" into *out. Returns 0, or
 * PSC_EINVAL (leaving *out untouched) for any other name.
 */
int optim_parse_kind(const char *name, enum optim_kind *out);

/* Parses "none", "exponential" or "inverse_time"; else PSC_EINVAL. */
int optim_parse_decay(const char *name, enum optim_decay *out);

/* Returns the name optim_parse_kind() accepts; static, never NULL. */
const char *optim_kind_name(enum optim_kind k);

/* Returns how many slot arrays the optimizer needs: 0, 1, 1, 2. */
int optim_num_slots(enum optim_kind k);

/* Names slot 0 or 1 in messages ("accumulator", "first moment", ...);
 * static, never NULL. */
const char *optim_slot_name(enum optim_kind k, int slot);

/*
 * Learning rate after `step` updates, TensorFlow's continuous (not
 * staircase) schedules: exponential lr * rate^(step / decay_steps),
 * inverse_time lr / (1 + rate * step / decay_steps).
 */
float optim_lr(const struct optim_config *c, uint64_t step);

/*
 * Sets the initial slot values for n parameters: Adagrad's accumulator
 * starts at adagrad_initial, every other slot at 0. A slot the optimizer
 * does not use may be NULL.
 */
void optim_init_slots(const struct optim_config *c, float *slots0,
                      float *slots1, size_t n);

/*
 * Applies one update to w[0..n) with gradient g * grad_scale, at learning
 * rate lr (already decayed, and scaled for staleness by the caller). t is
 * the 1-based update count, used by Adam's bias correction. With
 * g' = g * grad_scale:
 *   sgd       w -= lr * g'
 *   momentum  a = momentum * a + g';  w -= lr * a
 *             (nesterov: w -= lr * (g' + momentum * a))
 *   adagrad   a += g'^2;  w -= lr * g' / (sqrt(a) + epsilon)
 *   adam      m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2;
 *             w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)
 * slot0 holds a or m, slot1 holds v; unused slots may be NULL. The arrays
 * must not overlap.
 */
void optim_apply(const struct optim_config *c, float lr, uint64_t t,
                 float *restrict w, float *restrict slot0,
                 float *restrict slot1, const float *restrict g,
                 float grad_scale, size_t n);

/*
 * optim_apply() out of place: reads the weights from w_in and writes the
 * updated ones to w_out (slots still in place). No array may overlap
 * another. The ps uses it when a reply still holds the current values:
 * the update then produces the new buffer at the cost of the in-place one.
 */
void optim_apply_to(const struct optim_config *c, float lr, uint64_t t,
                    float *restrict w_out, const float *restrict w_in,
                    float *restrict slot0, float *restrict slot1,
                    const float *restrict g, float grad_scale, size_t n);

#endif
