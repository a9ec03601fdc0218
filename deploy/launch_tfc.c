/*
 * TF_CONFIG texts for the launcher's tasks, written by tfc_format(). Every
 * text is parsed back with the same parser the roles use, so a TF_CONFIG
 * the roles would refuse is caught before anything starts.
 */
#include "launch_tfc.h"

#include "psc_alloc.h"
#include "psc_err.h"

#include <stdlib.h>
#include <string.h>

/*
 * The cluster of c with t as this task. addrs (c->ntasks slots) holds the
 * addresses role by role, in table order; the evaluator stays outside the
 * cluster, as in TensorFlow, and with --no-chief there is no chief key.
 */
static void s_spec(const struct launch_cluster *c, const struct launch_task *t,
                   const char **addrs, struct tfc_spec *spec)
{
    int k = 0;
    memset(spec, 0, sizeof *spec);
    for (int r = 0; r < TFC_NROLES; r++) {
        if (r == TFC_EVALUATOR)
            continue;
        spec->addrs[r] = addrs + k;
        for (int i = 0; i < c->ntasks; i++) {
            if (c->tasks[i].role != (enum tfc_role) r)
                continue;
            addrs[k++] = c->tasks[i].addr;
            spec->n[r]++;
        }
    }
    spec->task_role = t->role;
    spec->task_index = t->index;
}

static int s_check(const char *text, const struct launch_task *t, char *err)
{
    char why[PSC_ERR_LEN];
    tfc_t *tfc = tfc_new_from_json(text, why);
    int rc = tfc == NULL ? PSC_ECONFIG : tfc_check_binary(tfc, t->role, why);
    tfc_destroy(&tfc);
    if (rc != 0)
        return psc_seterr(err, PSC_ECONFIG, "TF_CONFIG for %s: %s", t->name,
                          why);
    return 0;
}

char *launch_tfc_json(const struct launch_cluster *c,
                      const struct launch_task *t, char *err)
{
    char why[PSC_ERR_LEN];
    struct tfc_spec spec;
    const char **addrs = psc_xcalloc((size_t) c->ntasks, sizeof *addrs);
    s_spec(c, t, addrs, &spec);
    char *text = tfc_format(&spec, why);
    free(addrs);
    if (text == NULL) {
        psc_seterr(err, PSC_ECONFIG, "TF_CONFIG for %s: %s", t->name, why);
        return NULL;
    }
    if (s_check(text, t, err) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
