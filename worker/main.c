/*
 * psc-worker: trains on its share of the data. Worker 0 of a cluster
 * without a chief also does the chief's duties, on a thread of its own
 * (TensorFlow's multi-worker convention).
 */
#include "boot.h"
#include "chief.h"
#include "worker.h"

#include <pthread.h>

struct chief_thread {
    const struct boot *b;
    int status;
};

static void *s_chief_main(void *arg)
{
    struct chief_thread *t = arg;
    t->status = chief_run(t->b);
    return NULL;
}

int main(int argc, char **argv)
{
    struct boot b;
    int status = 0;
    if (boot_role(argc, argv, TFC_WORKER,
                  "Train on a share of the data, exchanging gradients "
                  "and parameters with the ps tasks.",
                  &b, &status) == BOOT_EXIT)
        return status;
    struct chief_thread chief = {&b, 0};
    pthread_t tid;
    int acting = tfc_is_acting_chief(b.tfc);
    if (acting)
        pthread_create(&tid, NULL, s_chief_main, &chief);
    status = worker_run(&b);
    if (acting) {
        pthread_join(tid, NULL);
        if (chief.status != 0)
            status = chief.status;
    }
    boot_release(&b);
    return status;
}
