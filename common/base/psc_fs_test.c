/*
 * Unit test for psc_mkdirs: nested folders with any number of slashes and
 * longer than any fixed buffer, existing folders, and the failures: an
 * empty path, a file where a folder should be (itself or a parent), and
 * a parent the process may not write to.
 */
#include "psc_fs.h"

#include "psc_err.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_tmp[] = "/tmp/psc-fs-test.XXXXXX";

static int s_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Removes path and its parents up to, not including, s_tmp. */
static void s_remove_up(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    size_t root = strlen(s_tmp);
    while (strlen(buf) > root) {
        rmdir(buf);
        *strrchr(buf, '/') = '\0';
    }
}

static void test_creates(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/c", s_tmp);
    CHECK_OK(psc_mkdirs(path, NULL));
    CHECK(s_is_dir(path));
    CHECK_OK(psc_mkdirs(path, NULL)); /* exists: fine */
    snprintf(path, sizeof path, "%s//d///e/", s_tmp);
    CHECK_OK(psc_mkdirs(path, NULL));
    snprintf(path, sizeof path, "%s/d/e", s_tmp);
    CHECK(s_is_dir(path));
    CHECK_OK(psc_mkdirs("/", NULL));
}

/* 2,000 bytes: more than any buffer of 1,024, less than PATH_MAX. */
static void test_long_path(void)
{
    char path[2100];
    int n = snprintf(path, sizeof path, "%s", s_tmp);
    while (n < 2000)
        n += snprintf(path + n, sizeof path - (size_t) n, "/%s",
                      "a-folder-name-of-forty-bytes-or-so-xxxxx");
    CHECK_OK(psc_mkdirs(path, NULL));
    CHECK(s_is_dir(path));
    s_remove_up(path);
}

static void test_not_a_folder(void)
{
    char file[256];
    char path[300];
    char want[700];
    char err[PSC_ERR_LEN] = "";
    snprintf(file, sizeof file, "%s/file", s_tmp);
    int fd = open(file, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(psc_mkdirs(file, err), PSC_EIO);
    snprintf(want, sizeof want,
             "cannot create folder '%s': '%s' exists and is not a folder", file,
             file);
    CHECK_STR(err, want);
    snprintf(path, sizeof path, "%s/sub/dir", file);
    CHECK_EQ(psc_mkdirs(path, err), PSC_EIO);
    snprintf(want, sizeof want,
             "cannot create folder '%s': '%s' exists and is not a folder", path,
             file);
    CHECK_STR(err, want);
    CHECK_EQ(psc_mkdirs(path, NULL), PSC_EIO);
    CHECK_EQ(psc_mkdirs("", err), PSC_EINVAL);
    CHECK_STR(err, "cannot create a folder: no path given");
    unlink(file);
}

static void test_no_permission(void)
{
    if (geteuid() == 0) {
        printf("psc_fs: permission check skipped (root may write anywhere)\n");
        return;
    }
    char ro[256];
    char path[300];
    char err[PSC_ERR_LEN] = "";
    snprintf(ro, sizeof ro, "%s/ro", s_tmp);
    CHECK_OK(mkdir(ro, 0500));
    snprintf(path, sizeof path, "%s/x/y", ro);
    CHECK_EQ(psc_mkdirs(path, err), PSC_EIO);
    CHECK_CONTAINS(err, "cannot create folder '");
    CHECK_CONTAINS(err, "/ro/x/y': Permission denied");
    CHECK_OK(psc_mkdirs(ro, NULL)); /* read-only, but a folder */
    rmdir(ro);
}

int main(void)
{
    CHECK(mkdtemp(s_tmp) != NULL);
    test_creates();
    test_long_path();
    test_not_a_folder();
    test_no_permission();
    char path[256];
    snprintf(path, sizeof path, "%s/a/b/c", s_tmp);
    s_remove_up(path);
    snprintf(path, sizeof path, "%s/d/e", s_tmp);
    s_remove_up(path);
    CHECK_OK(rmdir(s_tmp));
    printf("psc_fs: ok\n");
    return 0;
}
