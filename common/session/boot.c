/*
 * Command line and configuration for the role binaries. This is the one
 * place in common/ that prints to stdout: --help and --check-config are a
 * binary's own output, not log lines.
 */
#include "boot.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_log.h"
#include "psc_opts.h"
#include "psc_sig.h"
#include "psc_time.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

enum { OPT_TF_CONFIG = 256, OPT_JOB, OPT_SET, OPT_CHECK, OPT_HELP_JOB };

static const struct psc_opt s_opts[] = {
    {"tf-config", OPT_TF_CONFIG, "FILE",
     "read TF_CONFIG from FILE instead of the environment"},
    {"job", OPT_JOB, "FILE",
     "job configuration (JSON); the same file for every role"},
    {"set", OPT_SET, "KEY=VALUE",
     "override a job option (repeatable; data.dir, stragglers.2, ...)"},
    {"check-config", OPT_CHECK, NULL,
     "validate TF_CONFIG and the job, print them, exit 0 when valid"},
    {"verbose", 'v', NULL, "log debug lines"},
    {"quiet", 'q', NULL, "log warnings and errors only"},
    {"help-job", OPT_HELP_JOB, NULL, "list every job option with its default"},
    {"help", 'h', NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

static void s_usage(const char *prog, const char *about)
{
    printf("usage: %s [options]\n%s\n\nTF_CONFIG (environment) gives the "
           "cluster and this task's place in it.\n\noptions:\n",
           prog, about);
    psc_opts_usage(stdout, s_opts, NOPTS);
    printf("\nexit status: 0 done, 2 usage or configuration error "
           "(permanent),\n138 runtime failure (retryable), 128+N stopped by "
           "signal N\n");
}

/* Applies one option: BOOT_RUN to go on, or BOOT_EXIT with *status set. */
static enum boot_next s_apply(int id, const char *arg, const char *about,
                              struct boot *b, int *check, int *status)
{
    switch (id) {
    case OPT_TF_CONFIG:
        b->tf_config_path = arg;
        break;
    case OPT_JOB:
        b->job_path = arg;
        break;
    case OPT_SET:
        if (b->nsets == BOOT_MAX_SETS) {
            fprintf(stderr, "%s: more than %d --set options\n", b->prog,
                    BOOT_MAX_SETS);
            *status = PSC_EXIT_CONFIG;
            return BOOT_EXIT;
        }
        b->sets[b->nsets++] = arg;
        break;
    case OPT_CHECK:
        *check = 1;
        break;
    case 'v':
        psc_log_set_level(PSC_LOG_DEBUG);
        break;
    case 'q':
        psc_log_set_level(PSC_LOG_WARN);
        break;
    case OPT_HELP_JOB: {
        char *help = job_help();
        printf("job options (JSON keys; nested ones as data.X and "
               "stragglers.N), defaults and meaning:\n%s",
               help);
        free(help);
        *status = 0;
        return BOOT_EXIT;
    }
    default: /* 'h' */
        s_usage(b->prog, about);
        *status = 0;
        return BOOT_EXIT;
    }
    return BOOT_RUN;
}

/*
 * Reads the options into b and *check. Returns BOOT_RUN, or BOOT_EXIT with
 * *status set: 0 after --help or --help-job, PSC_EXIT_CONFIG after a usage
 * error (one line on stderr).
 */
static enum boot_next s_parse_args(int argc, char **argv, const char *about,
                                   struct boot *b, int *check, int *status)
{
    struct psc_opts p;
    char err[PSC_ERR_LEN];
    psc_opts_begin(&p, s_opts, NOPTS, argc, argv);
    int id;
    while ((id = psc_opts_next(&p, err)) > 0)
        if (s_apply(id, p.arg, about, b, check, status) == BOOT_EXIT)
            return BOOT_EXIT;
    const char *extra = id == 0 ? psc_opts_operand(&p) : NULL;
    if (id == 0 && extra != NULL)
        snprintf(err, sizeof err, "unexpected argument '%s'", extra);
    if (id < 0 || extra != NULL) {
        fprintf(stderr, "%s: %s: see '%s --help'\n", b->prog, err, b->prog);
        *status = PSC_EXIT_CONFIG;
        return BOOT_EXIT;
    }
    return BOOT_RUN;
}

/*
 * The job from its file and the --set options, with PSC_CURVE_KEYS_DIR
 * from the environment applied before them. NULL with err on an error.
 */
static struct job *s_load_job(const struct boot *b, char *err)
{
    static const char curve_on[] = "security.curve=true";
    const char *sets[BOOT_MAX_SETS + 2];
    char keys_dir[JOB_STR + 32];
    int n = 0;
    const char *env = getenv("PSC_CURVE_KEYS_DIR");
    if (env != NULL && env[0] != '\0') {
        snprintf(keys_dir, sizeof keys_dir, "security.keys_dir=%s", env);
        sets[n++] = curve_on;
        sets[n++] = keys_dir;
    }
    for (int i = 0; i < b->nsets; i++)
        sets[n++] = b->sets[i];
    return job_new(b->job_path, sets, n, err);
}

/*
 * With CURVE on, this task's key pair and a key for every task it may talk
 * to: each task of the cluster, and this one (an evaluator is outside it).
 */
static int s_load_keys(struct boot *b, char *err)
{
    if (!b->job->security_curve)
        return 0;
    b->keys = curve_keys_load(b->job->keys_dir, tfc_task_name(b->tfc), err);
    if (b->keys == NULL)
        return PSC_ECONFIG;
    /* Worker 0 without a chief initialises the ps as "chief:0". */
    if (tfc_is_acting_chief(b->tfc) &&
        curve_keys_add_own(b->keys, "chief:0", err) != 0)
        return PSC_ECONFIG;
    static const enum tfc_role roles[] = {TFC_CHIEF, TFC_PS, TFC_WORKER,
                                          TFC_EVALUATOR};
    for (size_t r = 0; r < sizeof roles / sizeof roles[0]; r++) {
        for (int i = 0; i < tfc_count(b->tfc, roles[r]); i++) {
            char task[64];
            snprintf(task, sizeof task, "%s:%d", tfc_role_name(roles[r]), i);
            if (!curve_keys_lists(b->keys, task))
                return psc_seterr(err, PSC_ECONFIG,
                                  "task '%s' of TF_CONFIG has no key in "
                                  "'%s/%s': make the keys for this cluster "
                                  "with psc-keygen --cluster",
                                  task, b->job->keys_dir, CURVE_LIST);
        }
    }
    return 0;
}

/* Reads TF_CONFIG, the job and the keys. Returns 0, or PSC_ECONFIG with one
 * line on stderr. */
static int s_load_config(enum tfc_role role, struct boot *b)
{
    char err[PSC_ERR_LEN];
    b->tfc = tfc_new_from_env(b->tf_config_path, err);
    if (b->tfc == NULL || tfc_check_binary(b->tfc, role, err) != 0) {
        fprintf(stderr, "%s: %s\n", b->prog, err);
        return PSC_ECONFIG;
    }
    b->job = s_load_job(b, err);
    if (b->job == NULL ||
        job_check_cluster(b->job, tfc_count(b->tfc, TFC_WORKER), err) != 0 ||
        s_load_keys(b, err) != 0) {
        fprintf(stderr, "%s: %s\n", b->prog, err);
        return PSC_ECONFIG;
    }
    return 0;
}

static void s_print_check(const struct boot *b)
{
    char *desc = tfc_describe(b->tfc);
    printf("%s", desc);
    printf("job: %s (fingerprint %016llx), mode %s, model %s\n",
           b->job_path ? b->job_path : "defaults",
           (unsigned long long) job_fingerprint(b->job), b->job->mode_name,
           b->job->model);
    if (b->keys != NULL)
        printf("security: CURVE, keys from %s\n", curve_keys_dir(b->keys));
    else
        printf("security: none (any peer that reaches a port is heard)\n");
    printf("configuration is valid\n");
    free(desc);
}

/* With CURVE on, the ZAP handler, before any socket of the role binds. */
static enum boot_next s_open_gate(struct boot *b, int *exit_status)
{
    char err[PSC_ERR_LEN];
    if (b->keys == NULL)
        return BOOT_RUN;
    b->gate = gate_new(b->zctx, b->keys, err);
    if (b->gate == NULL) {
        psc_log_err("%s", err);
        boot_release(b);
        *exit_status = PSC_EXIT_RETRY;
        return BOOT_EXIT;
    }
    psc_log_info("CURVE on: only peers with a key listed in '%s/%s' get in",
                 curve_keys_dir(b->keys), CURVE_LIST);
    return BOOT_RUN;
}

enum boot_next boot_role(int argc, char **argv, enum tfc_role role,
                         const char *about, struct boot *b, int *exit_status)
{
    int check = 0;
    memset(b, 0, sizeof *b);
    const char *slash = strrchr(argv[0], '/');
    b->prog = slash != NULL ? slash + 1 : argv[0];
    psc_log_set_ident(b->prog);
    enum boot_next next =
        s_parse_args(argc, argv, about, b, &check, exit_status);
    if (next == BOOT_RUN && s_load_config(role, b) != 0) {
        *exit_status = PSC_EXIT_CONFIG;
        next = BOOT_EXIT;
    }
    if (next == BOOT_RUN && check) {
        s_print_check(b);
        *exit_status = 0;
        next = BOOT_EXIT;
    }
    if (next == BOOT_EXIT) {
        boot_release(b);
        return BOOT_EXIT;
    }
    psc_log_set_ident(tfc_task_name(b->tfc));
    char *desc = tfc_describe(b->tfc);
    for (char *line = strtok(desc, "\n"); line; line = strtok(NULL, "\n"))
        psc_log_info("%s", line);
    free(desc);
    psc_sig_install();
    psc_alloc_tune_for_messages();
    openblas_set_num_threads((int) b->job->blas_threads);
    b->zctx = zmq_ctx_new();
    zmq_ctx_set(b->zctx, ZMQ_IO_THREADS, (int) b->job->zmq_io_threads);
    return s_open_gate(b, exit_status);
}

void boot_release(struct boot *b)
{
    tfc_destroy(&b->tfc);
    job_destroy(&b->job);
    gate_destroy(&b->gate);
    if (b->zctx != NULL)
        zmq_ctx_term(b->zctx);
    b->zctx = NULL;
    curve_keys_destroy(&b->keys);
    /* The role's own share of a stop, apart from its orchestrator's. */
    if (psc_sig_stop_requested() != 0)
        psc_log_info("stopped on signal %d in %.3f s", psc_sig_stop_requested(),
                     psc_now() - psc_sig_stop_time());
}

int boot_secure_server(const struct boot *b, void *sock, char *err)
{
    if (b->keys == NULL)
        return 0;
    int rc = curve_secure_server(sock, b->keys, err);
    return rc != 0 ? rc : gate_watch(b->gate, sock, err);
}

const char *boot_chief_task(const tfc_t *tfc)
{
    return tfc_has_chief(tfc) ? "chief:0" : "worker:0";
}

void boot_chief_endpoint(const tfc_t *tfc, const char **host, int *port)
{
    enum tfc_role r = tfc_has_chief(tfc) ? TFC_CHIEF : TFC_WORKER;
    *host = tfc_host(tfc, r, 0);
    *port = tfc_port(tfc, r, 0);
}
