/*
 * psc-keygen: a CURVE key pair for every task of a cluster and the list
 * that says which task each public key may act as (common/net/curve.h).
 * The cluster is a TF_CONFIG (its text, or a file holding it) or sizes
 * such as "ps=2,worker=3". Besides the tasks it names, the list always
 * holds chief:0 (in a cluster without a chief, worker 0 does its duties
 * under that name) and one evaluator unless told how many.
 *
 * Exit status: 0, 1 when the keys cannot be written, 2 for usage.
 */
#include "curve.h"
#include "psc_err.h"
#include "psc_num.h"
#include "psc_opts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_CLUSTER = 256, OPT_OUT, OPT_FORCE, OPT_IF_MISSING, OPT_HELP };

static const struct psc_opt s_opts[] = {
    {"cluster", OPT_CLUSTER, "TF_CONFIG_OR_SIZES",
     "the cluster: TF_CONFIG's JSON, a file holding it, or sizes such as "
     "ps=2,worker=3,evaluator=1"},
    {"out", OPT_OUT, "DIR", "the keys folder to write (security.keys_dir)"},
    {"force", OPT_FORCE, NULL, "replace the keys already in DIR"},
    {"if-missing", OPT_IF_MISSING, NULL,
     "keep the keys already in DIR and exit 0 (a one-shot service that "
     "runs at every start)"},
    {"help", OPT_HELP, NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

enum { R_CHIEF, R_PS, R_WORKER, R_EVAL, R_N };

static const char *const s_roles[R_N] = {"chief", "ps", "worker", "evaluator"};

#define MAX_PER_ROLE 1024

struct s_args {
    const char *cluster;
    const char *out;
    int force;
    int if_missing;
    int help;
};

/* sizes[r] from "role=N,..."; an evaluator is counted only when named. */
static int s_parse_sizes(const char *text, int sizes[R_N], char *err)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", text);
    sizes[R_EVAL] = 1;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item != NULL;
         item = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(item, '=');
        int r = 0;
        if (eq != NULL)
            *eq = '\0';
        for (r = 0; r < R_N; r++) {
            if (strcmp(item, s_roles[r]) == 0 ||
                (r == R_CHIEF && strcmp(item, "master") == 0))
                break;
        }
        int max = r == R_CHIEF ? 1 : MAX_PER_ROLE;
        if (eq == NULL || r == R_N || psc_num_int(eq + 1, 0, max, &sizes[r]))
            return psc_seterr(err, PSC_EINVAL,
                              "--cluster: '%s' is not ROLE=N with ROLE one of "
                              "chief, ps, worker, evaluator (N up to %d)",
                              item, MAX_PER_ROLE);
    }
    return 0;
}

static int s_count_role(json_t *cluster, const char *name, int *n, char *err)
{
    json_t *list = json_object_get(cluster, name);
    if (list == NULL)
        return 0;
    if (!json_is_array(list) || json_array_size(list) > MAX_PER_ROLE)
        return psc_seterr(err, PSC_EINVAL,
                          "--cluster: cluster.%s is not a list of at most %d "
                          "addresses",
                          name, MAX_PER_ROLE);
    *n += (int) json_array_size(list);
    return 0;
}

/* sizes[r] from a TF_CONFIG's cluster. */
static int s_parse_tf_config(const char *text, int sizes[R_N], char *err)
{
    json_error_t jerr;
    json_t *root = text[0] == '{' ? json_loads(text, 0, &jerr)
                                  : json_load_file(text, 0, &jerr);
    json_t *cluster = json_object_get(root, "cluster");
    int rc = 0;
    if (!json_is_object(cluster)) {
        rc =
            psc_seterr(err, PSC_EINVAL,
                       "--cluster: '%s' is not a TF_CONFIG with a cluster "
                       "object%s%s",
                       text[0] == '{' ? "the text" : text,
                       root == NULL ? ": " : "", root == NULL ? jerr.text : "");
    }
    for (int r = 0; r < R_N && rc == 0; r++)
        rc = s_count_role(cluster, s_roles[r], &sizes[r], err);
    if (rc == 0)
        rc = s_count_role(cluster, "master", &sizes[R_CHIEF], err);
    if (rc == 0 && sizes[R_EVAL] == 0)
        sizes[R_EVAL] = 1;
    json_decref(root);
    return rc;
}

static int s_parse(struct s_args *a, int argc, char **argv, char *err)
{
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0) {
        if (id == OPT_CLUSTER)
            a->cluster = p.arg;
        else if (id == OPT_OUT)
            a->out = p.arg;
        else if (id == OPT_FORCE)
            a->force = 1;
        else if (id == OPT_IF_MISSING)
            a->if_missing = 1;
        else
            a->help = 1;
    }
    if (id < 0)
        return id;
    if (psc_opts_operand(&p) != NULL)
        return psc_seterr(err, PSC_EINVAL, "no operands: options only");
    if (!a->help && (a->cluster == NULL || a->out == NULL))
        return psc_seterr(err, PSC_EINVAL,
                          "give --cluster and --out (see --help)");
    return 0;
}

/* The task names, chief:0 always among them. Caller frees each and *out. */
static int s_task_names(const int sizes[R_N], char ***out)
{
    int n = 0;
    char **names = calloc((size_t) R_N * MAX_PER_ROLE + 1, sizeof *names);
    if (names == NULL)
        return -1;
    for (int r = 0; r < R_N; r++) {
        int count = r == R_CHIEF ? 1 : sizes[r];
        for (int i = 0; i < count; i++) {
            char task[64];
            snprintf(task, sizeof task, "%s:%d", s_roles[r], i);
            names[n++] = strdup(task);
        }
    }
    *out = names;
    return n;
}

int main(int argc, char **argv)
{
    char err[PSC_ERR_LEN] = "";
    struct s_args a = {0};
    int sizes[R_N] = {0};
    int rc = s_parse(&a, argc, argv, err);
    if (rc == 0 && !a.help && a.cluster != NULL)
        rc = strchr(a.cluster, '=') != NULL && a.cluster[0] != '{'
                 ? s_parse_sizes(a.cluster, sizes, err)
                 : s_parse_tf_config(a.cluster, sizes, err);
    if (rc != 0) {
        fprintf(stderr, "psc-keygen: %s\n", err);
        return 2;
    }
    if (a.help) {
        printf("usage: psc-keygen --cluster TF_CONFIG_OR_SIZES --out DIR "
               "[--force | --if-missing]\n");
        psc_opts_usage(stdout, s_opts, NOPTS);
        return 0;
    }
    char list[4096];
    snprintf(list, sizeof list, "%s/%s", a.out, CURVE_LIST);
    if (a.if_missing && access(list, F_OK) == 0) {
        printf("kept the keys already in %s\n", a.out);
        return 0;
    }
    char **names = NULL;
    int n = s_task_names(sizes, &names);
    if (n < 0) {
        fprintf(stderr, "psc-keygen: out of memory\n");
        return 1;
    }
    rc = curve_keys_write(a.out, (const char *const *) names, n, a.force, err);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc != 0) {
        fprintf(stderr, "psc-keygen: %s\n", err);
        return rc == PSC_EINVAL ? 2 : 1;
    }
    printf("wrote %d key pairs and %s to %s: give every task "
           "security.curve=true and security.keys_dir=%s (or "
           "PSC_CURVE_KEYS_DIR=%s)\n",
           n, CURVE_LIST, a.out, a.out, a.out);
    return 0;
}
