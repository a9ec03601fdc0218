/*
 * Tests for the model directory: the pointer file, ckpt_find_latest()
 * preferring the pointer's target and falling back past a truncated file,
 * a flipped byte and a partial folder (each named in one warning line),
 * and ckpt_prune() keeping the newest, the pointer's and the unfinished.
 */
#include "ckpt_dir.h"

#include "ckpt.h"
#include "ckpt_fixture.h"
#include "psc_err.h"
#include "psc_log.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The warning lines logged since the last s_clear(). */
static char s_warnings[4096];
static int s_nwarnings;

static void s_sink(void *arg, enum psc_log_level level, const char *line)
{
    (void) arg;
    if (level != PSC_LOG_WARN)
        return;
    s_nwarnings++;
    size_t used = strlen(s_warnings);
    snprintf(s_warnings + used, sizeof s_warnings - used, "%s\n", line);
}

static void s_clear(void)
{
    s_warnings[0] = '\0';
    s_nwarnings = 0;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    CHECK(fclose(f) == 0);
}

static void test_names(void)
{
    char name[CKPT_NAME_LEN];
    uint64_t step = 0;
    ckpt_dir_name(120, name, sizeof name);
    CHECK_STR(name, "ckpt-120");
    CHECK(ckpt_dir_step("ckpt-120", &step));
    CHECK_EQ(step, 120);
    CHECK(ckpt_dir_step("ckpt-0", &step));
    CHECK_EQ(step, 0);
    CHECK(!ckpt_dir_step("ckpt-", &step));
    CHECK(!ckpt_dir_step("ckpt-012", &step));
    CHECK(!ckpt_dir_step("ckpt-12a", &step));
    CHECK(!ckpt_dir_step("ckpt-99999999999999999999", &step));
    CHECK(!ckpt_dir_step("model-12", &step));
}

static void test_pointer(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char name[CKPT_NAME_LEN];
    char path[4200];
    snprintf(path, sizeof path, "%s/checkpoint", tmp);

    CHECK_EQ(ckpt_pointer_read(tmp, name, sizeof name, err), PSC_ENOTFOUND);
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-120", err));
    CHECK_OK(ckpt_pointer_read(tmp, name, sizeof name, err));
    CHECK_STR(name, "ckpt-120");
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[128] = "";
    CHECK(fgets(line, sizeof line, f) != NULL);
    fclose(f);
    CHECK_STR(line, "model_checkpoint_path: \"ckpt-120\"\n");
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-130", err));
    CHECK_OK(ckpt_pointer_read(tmp, name, sizeof name, err));
    CHECK_STR(name, "ckpt-130");
    snprintf(line, sizeof line, "%s/checkpoint.tmp", tmp);
    CHECK(access(line, F_OK) != 0);

    CHECK_EQ(ckpt_pointer_update(tmp, "../x", err), PSC_EINVAL);
    CHECK_EQ(ckpt_pointer_update(tmp, "ckpt-1\"", err), PSC_EINVAL);

    /* TensorFlow's file, with an absolute path and the list after it. */
    write_text(path, "model_checkpoint_path: \"/data/run/ckpt-7\"\n"
                     "all_model_checkpoint_paths: \"/data/run/ckpt-7\"\n");
    CHECK_OK(ckpt_pointer_read(tmp, name, sizeof name, err));
    CHECK_STR(name, "ckpt-7");
    write_text(path, "all_model_checkpoint_paths: \"ckpt-7\"\n");
    CHECK_EQ(ckpt_pointer_read(tmp, name, sizeof name, err), PSC_EPROTO);
    CHECK_CONTAINS(err, "model_checkpoint_path");
    write_text(path, "model_checkpoint_path: ckpt-7\n");
    CHECK_EQ(ckpt_pointer_read(tmp, name, sizeof name, err), PSC_EPROTO);
    fx_rmtree(tmp);
    free(tmp);
}

static void find(const char *model_dir, const char *want_name)
{
    char err[PSC_ERR_LEN] = "";
    char out[4200];
    char want[4200];
    int rc = ckpt_find_latest(model_dir, out, sizeof out, err);
    if (rc != 0)
        fprintf(stderr, "%s\n", err);
    CHECK_OK(rc);
    snprintf(want, sizeof want, "%s/%s", model_dir, want_name);
    CHECK_STR(out, want);
}

static void test_find_latest(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char out[4200];
    char dir[4096];
    char shard[4200];
    struct fx_model fm = fx_model_mlp();
    float *flat[2] = {fx_values(fm.total, 1), fx_values(fm.total, 2)};

    CHECK_EQ(ckpt_find_latest(tmp, out, sizeof out, err), PSC_ENOTFOUND);
    CHECK_CONTAINS(err, "no valid checkpoint");
    snprintf(dir, sizeof dir, "%s/nothing", tmp);
    CHECK_EQ(ckpt_find_latest(dir, out, sizeof out, err), PSC_ENOTFOUND);

    fx_save(tmp, 100, &fm, 2, 2, flat, 1, dir);
    fx_save(tmp, 200, &fm, 2, 2, flat, 1, dir);
    fx_save(tmp, 300, &fm, 2, 2, flat, 1, dir);
    s_clear();
    find(tmp, "ckpt-300");
    CHECK_EQ(s_nwarnings, 0);

    /* The pointer wins over a complete newer folder (a crash before it
     * moved) and over the folder number order. */
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-200", err));
    find(tmp, "ckpt-200");
    CHECK_EQ(s_nwarnings, 0);

    /* The pointer's target truncated: the previous one, one warning. */
    snprintf(shard, sizeof shard, "%s/ckpt-200/shard-1-of-2", tmp);
    CHECK(truncate(shard, 64) == 0);
    s_clear();
    find(tmp, "ckpt-100");
    CHECK_EQ(s_nwarnings, 1);
    CHECK_CONTAINS(s_warnings, "ckpt-200/shard-1-of-2");
    CHECK_CONTAINS(s_warnings, "truncated");

    /* No pointer: the newest; a flipped byte in it: the one before. */
    snprintf(shard, sizeof shard, "%s/checkpoint", tmp);
    CHECK(unlink(shard) == 0);
    find(tmp, "ckpt-300");
    snprintf(shard, sizeof shard, "%s/ckpt-300/shard-0-of-2", tmp);
    fx_flip(shard, 200);
    s_clear();
    find(tmp, "ckpt-100");
    CHECK_EQ(s_nwarnings, 2);
    CHECK_CONTAINS(s_warnings, "ckpt-300/shard-0-of-2' is corrupt");

    /* A partial newer folder (shards but no manifest), pointer at 100. */
    fx_save(tmp, 400, &fm, 2, 2, flat, 0, dir);
    snprintf(shard, sizeof shard, "%s/manifest.json", dir);
    CHECK(unlink(shard) == 0);
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-100", err));
    s_clear();
    find(tmp, "ckpt-100");
    /* Folders newer than the pointer's are only checked for completeness
     * (300's flipped byte goes unread): 400 and the truncated 200 warn. */
    CHECK_EQ(s_nwarnings, 2);
    CHECK_CONTAINS(s_warnings, "ckpt-400/manifest.json' is missing");
    CHECK_CONTAINS(s_warnings, "ckpt-200/shard-1-of-2");

    /* A pointer naming a folder that is not there is ignored. */
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-999", err));
    s_clear();
    find(tmp, "ckpt-100");
    CHECK_CONTAINS(s_warnings, "ckpt-999");

    /* Nothing valid. */
    snprintf(shard, sizeof shard, "%s/ckpt-100/shard-0-of-2", tmp);
    CHECK(unlink(shard) == 0);
    CHECK_EQ(ckpt_find_latest(tmp, out, sizeof out, err), PSC_ENOTFOUND);

    free(flat[0]);
    free(flat[1]);
    fx_rmtree(tmp);
    free(tmp);
}

static int exists(const char *model_dir, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", model_dir, name);
    return access(path, F_OK) == 0;
}

static void test_prune(void)
{
    char *tmp = fx_tmpdir();
    char err[PSC_ERR_LEN] = "";
    char dir[4096];
    char path[4200];
    struct fx_model fm = fx_model_mlp();
    float *flat[1] = {fx_values(fm.total, 4)};

    for (uint64_t step = 1; step <= 6; step++)
        fx_save(tmp, step, &fm, 2, 1, flat, 1, dir);
    /* 3 incomplete (a crash while saving it), 9 being written now. */
    snprintf(path, sizeof path, "%s/ckpt-3/manifest.json", tmp);
    CHECK(unlink(path) == 0);
    snprintf(path, sizeof path, "%s/ckpt-3/shard-1-of-2.tmp", tmp);
    write_text(path, "partial");
    snprintf(path, sizeof path, "%s/ckpt-9", tmp);
    CHECK(mkdir(path, 0777) == 0);
    snprintf(path, sizeof path, "%s/ckpt-9/shard-0-of-2.tmp", tmp);
    write_text(path, "partial");
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-2", err));

    CHECK_EQ(ckpt_prune(tmp, 0, err), PSC_EINVAL);
    CHECK_OK(ckpt_prune(tmp, 2, err));
    CHECK(exists(tmp, "ckpt-6") && exists(tmp, "ckpt-5"));
    CHECK(!exists(tmp, "ckpt-4"));
    CHECK(!exists(tmp, "ckpt-3"));
    CHECK(exists(tmp, "ckpt-2"));
    CHECK(!exists(tmp, "ckpt-1"));
    CHECK(exists(tmp, "ckpt-9/shard-0-of-2.tmp"));
    CHECK(exists(tmp, "checkpoint"));

    /* Again: nothing more goes. Then keep 1 with the pointer on the
     * newest. */
    CHECK_OK(ckpt_prune(tmp, 2, err));
    CHECK(exists(tmp, "ckpt-6") && exists(tmp, "ckpt-5") &&
          exists(tmp, "ckpt-2"));
    CHECK_OK(ckpt_pointer_update(tmp, "ckpt-6", err));
    CHECK_OK(ckpt_prune(tmp, 1, err));
    CHECK(exists(tmp, "ckpt-6"));
    CHECK(!exists(tmp, "ckpt-5") && !exists(tmp, "ckpt-2"));
    CHECK(exists(tmp, "ckpt-9"));
    CHECK_OK(ckpt_verify(dir, err));

    snprintf(path, sizeof path, "%s/none", tmp);
    CHECK_EQ(ckpt_prune(path, 1, err), PSC_ENOTFOUND);
    free(flat[0]);
    fx_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    psc_log_set_sink(s_sink, NULL);
    test_names();
    test_pointer();
    test_find_latest();
    test_prune();
    return 0;
}
