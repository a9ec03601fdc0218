#include "launch_faults.h"

#include "psc_err.h"
#include "psc_num.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int s_find_task(const struct launch_cluster *c, const char *name)
{
    for (int i = 0; i < c->ntasks; i++)
        if (strcmp(c->tasks[i].name, name) == 0)
            return i;
    return PSC_ENOTFOUND;
}

static int s_random(struct launch_kill *k, const char *seed_text,
                    const struct launch_cluster *c, long max_steps, char *err)
{
    long seed = 0;
    if (psc_num_long(seed_text, 0, 1L << 62, &seed) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--kill random:%s: give a seed, a whole number",
                          seed_text);
    if (max_steps < 10)
        return psc_seterr(err, PSC_EINVAL,
                          "--kill random:SEED draws a step below max_steps: "
                          "set max_steps (10 or more)");
    rng_t r;
    rng_seed(&r, (uint64_t) seed, 0x6b11);
    k->task = (int) rng_below(&r, (uint64_t) c->ntasks);
    long lo = max_steps / 10;
    k->step = lo + (long) rng_below(&r, (uint64_t) (max_steps * 8 / 10) + 1);
    return 0;
}

/* "STEP" or "STEP:hang=SECONDS" after a kill spec's '@'. */
static int s_parse_when(struct launch_kill *k, const char *text)
{
    char step[32];
    const char *hang = strstr(text, ":hang=");
    size_t len = hang != NULL ? (size_t) (hang - text) : strlen(text);
    if (len == 0 || len >= sizeof step)
        return PSC_EINVAL;
    memcpy(step, text, len);
    step[len] = '\0';
    if (psc_num_long(step, 1, 1L << 40, &k->step) != 0)
        return PSC_EINVAL;
    if (hang != NULL && psc_num_double(hang + 6, 1e-3, 3600, &k->hang_s) != 0)
        return PSC_EINVAL;
    return 0;
}

static int s_parse_one(struct launch_kill *k, const char *spec,
                       const struct launch_cluster *c, long max_steps,
                       char *err)
{
    if (strncmp(spec, "random:", 7) == 0)
        return s_random(k, spec + 7, c, max_steps, err);
    const char *at = strchr(spec, '@');
    char name[32];
    size_t len = at ? (size_t) (at - spec) : 0;
    if (at == NULL || len == 0 || len >= sizeof name ||
        s_parse_when(k, at + 1) != 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--kill '%s': give TASK@STEP (e.g. ps0@100), "
                          "TASK@STEP:hang=SECONDS (up to 3600) or "
                          "random:SEED",
                          spec);
    memcpy(name, spec, len);
    name[len] = '\0';
    k->task = s_find_task(c, name);
    if (k->task < 0)
        return psc_seterr(err, PSC_EINVAL,
                          "--kill '%s': this cluster has no task '%s' (its "
                          "tasks are ps0, chief, worker0, ...)",
                          spec, name);
    return 0;
}

int launch_faults_parse(struct launch_faults *f, const char *const *specs,
                        int n, const struct launch_cluster *c,
                        const char *model_dir, long max_steps, char *err)
{
    memset(f, 0, sizeof *f);
    if (n > LAUNCH_FAULTS_MAX)
        return psc_seterr(err, PSC_EINVAL, "more than %d --kill options",
                          LAUNCH_FAULTS_MAX);
    snprintf(f->metrics, sizeof f->metrics, "%s/metrics.jsonl", model_dir);
    /* Steps count from this launch: earlier runs' records are skipped. */
    struct stat st;
    if (stat(f->metrics, &st) == 0)
        f->offset = (long) st.st_size;
    for (int i = 0; i < n; i++) {
        int rc = s_parse_one(&f->kills[i], specs[i], c, max_steps, err);
        if (rc != 0)
            return rc;
    }
    f->n = n;
    return 0;
}

/* The step of one metrics record, or -1 for a line without one. */
static long s_record_step(const char *line)
{
    const char *p = strstr(line, "\"step\":");
    return p != NULL ? strtol(p + 7, NULL, 10) : -1;
}

long launch_faults_poll(struct launch_faults *f)
{
    FILE *in = fopen(f->metrics, "r");
    if (in == NULL)
        return f->step;
    /* A file shorter than what was read is a new one (a fresh model_dir). */
    if (fseek(in, f->offset, SEEK_SET) != 0)
        f->offset = 0;
    char line[4096];
    while (fgets(line, sizeof line, in) != NULL) {
        if (strchr(line, '\n') == NULL)
            break; /* a record still being written: read it next time */
        f->offset += (long) strlen(line);
        long s = s_record_step(line);
        if (s > f->step)
            f->step = s;
    }
    fclose(in);
    return f->step;
}

struct launch_kill *launch_faults_due(struct launch_faults *f)
{
    for (int i = 0; i < f->n; i++) {
        struct launch_kill *k = &f->kills[i];
        if (!k->done && f->step >= k->step) {
            k->done = 1;
            return k;
        }
    }
    return NULL;
}

int launch_faults_pending(const struct launch_faults *f)
{
    for (int i = 0; i < f->n; i++) {
        const struct launch_kill *k = &f->kills[i];
        if (!k->done || (k->hang_s > 0 && !k->resumed))
            return 1;
    }
    return 0;
}

struct launch_kill *launch_faults_resume_due(struct launch_faults *f,
                                             double now)
{
    for (int i = 0; i < f->n; i++) {
        struct launch_kill *k = &f->kills[i];
        if (k->done && k->hang_s > 0 && !k->resumed && now >= k->resume_at) {
            k->resumed = 1;
            return k;
        }
    }
    return NULL;
}
