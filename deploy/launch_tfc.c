/*
 * TF_CONFIG generation with jansson. Every text is parsed back with the
 * same parser the roles use, so a TF_CONFIG the roles would refuse is
 * caught before anything starts.
 */
#include "launch_tfc.h"

#include "psc_err.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Roles in the order the cluster object lists them. */
static const enum tfc_role s_cluster_roles[] = {TFC_CHIEF, TFC_PS, TFC_WORKER};

static json_t *s_cluster(const struct launch_cluster *c)
{
    json_t *cluster = json_object();
    for (size_t r = 0; r < sizeof s_cluster_roles / sizeof *s_cluster_roles;
         r++) {
        enum tfc_role role = s_cluster_roles[r];
        json_t *addrs = json_array();
        for (int i = 0; i < c->ntasks; i++) {
            if (c->tasks[i].role == role)
                json_array_append_new(addrs, json_string(c->tasks[i].addr));
        }
        /* With --no-chief there is no chief key at all, as TF expects. */
        if (json_array_size(addrs) > 0)
            json_object_set_new(cluster, tfc_role_name(role), addrs);
        else
            json_decref(addrs);
    }
    return cluster;
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
    json_t *task = json_object();
    json_object_set_new(task, "type", json_string(tfc_role_name(t->role)));
    json_object_set_new(task, "index", json_integer(t->index));
    json_t *root = json_object();
    json_object_set_new(root, "cluster", s_cluster(c));
    json_object_set_new(root, "task", task);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text == NULL) {
        psc_seterr(err, PSC_ECONFIG, "cannot format TF_CONFIG for %s", t->name);
        return NULL;
    }
    if (s_check(text, t, err) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
