/*
 * libFuzzer target: the job file and its --set overrides through job_new(),
 * then what the roles derive from an accepted job (its canonical text and
 * the diff against it, the cluster check, the class names). The input is
 * the job file; after a line "--set", each further line is one
 * "key=value" override, as psc's command lines pass them.
 */
#include "fuzz_util.h"
#include "job.h"

#define MAX_SETS 8

static char *s_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_quiet();
    char *dir = fuzz_tmpdir("job");
    size_t len = strlen(dir) + sizeof "/job.json";
    s_path = psc_xmalloc(len);
    snprintf(s_path, len, "%s/job.json", dir);
    free(dir);
    return 0;
}

/* Cuts text at "\n--set\n" and the lines after it into sets; returns n. */
static int s_split(char *text, const char **sets)
{
    char *mark = strstr(text, "\n--set\n");
    if (mark == NULL)
        return 0;
    *mark = '\0';
    int n = 0;
    char *line = mark + sizeof "\n--set\n" - 1;
    while (line != NULL && n < MAX_SETS) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl++ = '\0';
        sets[n++] = line;
        line = nl;
    }
    return n;
}

static void s_use(const struct job *job)
{
    char err[PSC_ERR_LEN];
    for (int w = 1; w <= 4; w++) {
        if (job_check_cluster(job, w, err) != 0)
            fuzz_check_err(err);
        (void) job_straggler(job, w - 1);
    }
    char *canon = job_canonical(job);
    char line[PSC_ERR_LEN];
    if (job_diff(canon, canon, line, sizeof line) != 0) {
        fprintf(stderr, "fuzz: a job's canonical text differs from itself\n");
        abort();
    }
    free(canon);
    (void) job_fingerprint(job);
    static char names[256][JOB_CLASS_NAME_LEN];
    if (job_class_names(job, names, 256, err) < 0)
        fuzz_check_err(err);
    char where[4096];
    job_data_location(job, JOB_TRAIN_IMAGES, where, sizeof where);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_cstr(data, size);
    const char *sets[MAX_SETS];
    int nsets = s_split(text, sets);
    fuzz_write_file(s_path, text, strlen(text));
    char err[PSC_ERR_LEN] = "";
    struct job *job = job_new(s_path, sets, nsets, err);
    if (job == NULL)
        fuzz_check_err(err);
    else
        s_use(job);
    job_destroy(&job);
    free(text);
    return 0;
}
