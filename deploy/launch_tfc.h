/*
 * TF_CONFIG texts for the launcher's tasks, in the shape TensorFlow
 * writes: {"cluster":{"chief":[...],"ps":[...],"worker":[...]},
 * "task":{"type":"worker","index":1}}. The evaluator stays outside the
 * cluster, as in TensorFlow.
 */
#ifndef LAUNCH_TFC_H
#define LAUNCH_TFC_H

#include "launch_cluster.h"

/*
 * Returns t's TF_CONFIG (compact JSON), after checking that common/tfc
 * parses it back and accepts t's binary for it. Needs every address
 * assigned. Returns NULL with one line in err when the check fails (an
 * unusable --host). Caller owns; free with free().
 */
char *launch_tfc_json(const struct launch_cluster *c,
                      const struct launch_task *t, char *err);

#endif
