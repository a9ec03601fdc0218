/*
 * psc-ckpt against checkpoints written by the library: the listing, one
 * variable's values, --verify passing and then failing with one line that
 * names the shard whose byte was flipped, and the usage exit statuses.
 * usage: ckpt_tool_test PSC_CKPT
 */
#include "ckpt.h"
#include "ckpt_fixture.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char *s_tool;

/* The tool's output and exit status; which is "2>&1" or "2>&1 >/dev/null". */
struct run {
    char out[16384];
    int status;
    int lines;
};

static struct run run(const char *args, const char *which)
{
    struct run r;
    memset(&r, 0, sizeof r);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "'%s' %s %s", s_tool, args, which);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(r.out, 1, sizeof r.out - 1, p);
    r.out[n] = '\0';
    int st = pclose(p);
    CHECK(WIFEXITED(st));
    r.status = WEXITSTATUS(st);
    for (size_t i = 0; i < n; i++)
        r.lines += r.out[i] == '\n';
    return r;
}

#define BOTH   "2>&1"
#define STDERR "2>&1 >/dev/null"

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    s_tool = argv[1];
    char *tmp = fx_tmpdir();
    char dir[4096];
    char args[8192];
    struct fx_model fm = fx_model_mlp();
    float *flat[3];
    for (int a = 0; a < 3; a++)
        flat[a] = fx_values(fm.total, a + 1);
    fx_save(tmp, 11, &fm, 2, 3, flat, 1, dir);
    fx_save(tmp, 12, &fm, 3, 3, flat, 1, dir);

    /* The model directory means the pointer's checkpoint. */
    snprintf(args, sizeof args, "'%s'", tmp);
    struct run r = run(args, BOTH);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "ckpt-12\n");
    CHECK_CONTAINS(r.out, "step         12\n");
    CHECK_CONTAINS(r.out, "wall time    2023-11-14T22:13:20Z");
    CHECK_CONTAINS(r.out, "model        mlp\n");
    CHECK_CONTAINS(r.out, "optimizer    adam (3 arrays");
    CHECK_CONTAINS(r.out, "nps          3\n");
    CHECK_CONTAINS(r.out, "layer0/kernel  [20 x 16]");
    CHECK_CONTAINS(r.out, "layer1/bias    [10 x 1]");
    CHECK_CONTAINS(r.out, "shard-2-of-3");
    CHECK_CONTAINS(r.out, "crc32c ");
    CHECK_CONTAINS(r.out, "total ");

    /* A checkpoint folder, verified, and a bias's values (seed 1: 1000 +
     * half the element's index; layer0/bias starts at element 320). */
    snprintf(args, sizeof args, "--verify '%s'", dir);
    r = run(args, BOTH);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "verified     3 files");
    /* --values prints the variable alone, for diff and plots. */
    snprintf(args, sizeof args, "--verify --values layer0/bias '%s'", dir);
    r = run(args, BOTH);
    CHECK_EQ(r.status, 0);
    CHECK(strncmp(r.out, "layer0/bias [16 x 1]\n1160\n1160.5\n", 33) == 0);

    snprintf(args, sizeof args, "--values nothing '%s'", dir);
    r = run(args, STDERR);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.out, "no variable 'nothing'");

    /* A flipped byte: --verify fails with one line naming the file; the
     * listing alone does not read the data. */
    char shard[4200];
    snprintf(shard, sizeof shard, "%s/shard-1-of-3", dir);
    fx_flip(shard, 100);
    snprintf(args, sizeof args, "--verify '%s'", dir);
    r = run(args, STDERR);
    CHECK_EQ(r.status, 1);
    CHECK_EQ(r.lines, 1);
    CHECK_CONTAINS(r.out, "psc-ckpt: ");
    CHECK_CONTAINS(r.out, "shard-1-of-3' is corrupt");
    snprintf(args, sizeof args, "--verify '%s'", tmp);
    r = run(args, STDERR);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.out, "shard-1-of-3");
    snprintf(args, sizeof args, "'%s'", dir);
    CHECK_EQ(run(args, BOTH).status, 0);

    /* Without a pointer the newest valid one is shown, after a warning. */
    snprintf(shard, sizeof shard, "%s/checkpoint", tmp);
    CHECK(remove(shard) == 0);
    snprintf(args, sizeof args, "'%s'", tmp);
    r = run(args, BOTH);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "step         11\n");
    CHECK_CONTAINS(r.out, "ckpt-12/shard-1-of-3' is corrupt");

    /* Usage. */
    r = run("--help", BOTH);
    CHECK_EQ(r.status, 0);
    CHECK_CONTAINS(r.out, "usage: psc-ckpt");
    CHECK_CONTAINS(r.out, "--values VAR");
    r = run("", STDERR);
    CHECK_EQ(r.status, 2);
    CHECK_EQ(r.lines, 1);
    r = run("--bogus x", STDERR);
    CHECK_EQ(r.status, 2);
    CHECK_EQ(r.lines, 1);
    CHECK_CONTAINS(r.out, "--bogus");
    r = run("a b", STDERR);
    CHECK_EQ(r.status, 2);
    r = run("--values", STDERR);
    CHECK_EQ(r.status, 2);
    snprintf(args, sizeof args, "'%s/none'", tmp);
    r = run(args, STDERR);
    CHECK_EQ(r.status, 1);
    CHECK_EQ(r.lines, 1);

    for (int a = 0; a < 3; a++)
        free(flat[a]);
    fx_rmtree(tmp);
    free(tmp);
    return 0;
}
