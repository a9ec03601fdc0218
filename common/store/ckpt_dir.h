/*
 * The checkpoints of a model directory as folders: their names
 * ("ckpt-<step>"), the pointer file, finding the one to restore and pruning
 * old ones. The public functions are declared in ckpt.h.
 */
#ifndef CKPT_DIR_H
#define CKPT_DIR_H

#include <stdint.h>

#define CKPT_DIR_POINTER "checkpoint"

/*
 * Whether name is a checkpoint folder's name, "ckpt-" and a decimal step;
 * the step goes into *step. Returns 1 or 0 (a truth value).
 */
int ckpt_dir_step(const char *name, uint64_t *step);

#endif
