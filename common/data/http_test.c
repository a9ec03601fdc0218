/*
 * Tests for http: downloads from a real HTTP server on 127.0.0.1
 * (tests/http_server.py), the cache, HTTP and connection errors, checksum
 * mismatches, and local paths and file:// URLs.
 */
#include "http.h"

#include "psc_err.h"
#include "psc_log.h"
#include "sha256.h"
#include "test.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define WRONG_SHA \
    "0000000000000000000000000000000000000000000000000000000000000000"

/* The HTTP server child process. */
struct server {
    pid_t pid;
    int port;
    int stdin_fd; /* closing it also stops the server */
};

static char s_tmp[] = "/tmp/http_test.XXXXXX";
static char s_log[16384];

static void capture_log(void *arg, enum psc_log_level level, const char *line)
{
    fprintf(stderr, "%s\n", line);
    size_t used = strlen(s_log);
    snprintf(s_log + used, sizeof s_log - used, "%s\n", line);
}

static const char *tmp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next];
    next = (next + 1) % 4;
    snprintf(p, sizeof path[0], "%s/%s", s_tmp, name);
    return p;
}

static void script_path(char *out, size_t len)
{
    const char *root = getenv("PSC_SOURCE_DIR");
    if (root != NULL && root[0] != '\0') {
        snprintf(out, len, "%s/tests/http_server.py", root);
        return;
    }
    /* Run by hand: common/http_test.c -> tests/http_server.py. */
    const char *file = __FILE__;
    const char *slash = strrchr(file, '/');
    int dir_len = slash == NULL ? 1 : (int) (slash - file);
    snprintf(out, len, "%.*s/../tests/http_server.py", dir_len,
             slash == NULL ? "." : file);
}

static void server_start(struct server *s, const char *root)
{
    char script[1024];
    script_path(script, sizeof script);
    CHECK(access(script, R_OK) == 0);
    int to_child[2];
    int from_child[2];
    CHECK_OK(pipe(to_child));
    CHECK_OK(pipe(from_child));
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(to_child[0], STDIN_FILENO);
        dup2(from_child[1], STDOUT_FILENO);
        close(to_child[0]);
        close(to_child[1]);
        close(from_child[0]);
        close(from_child[1]);
        execlp("python3", "python3", script, root, (char *) NULL);
        _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    /* The first line is the port: the socket is listening once it is out. */
    FILE *out = fdopen(from_child[0], "r");
    CHECK(out != NULL);
    char line[64] = "";
    if (fgets(line, sizeof line, out) == NULL) {
        fprintf(stderr, "%s did not start (is python3 installed?)\n", script);
        exit(1);
    }
    fclose(out);
    s->pid = pid;
    char *end = NULL;
    long port = strtol(line, &end, 10);
    CHECK(end != line && (*end == '\n' || *end == '\0'));
    CHECK(port > 0 && port <= 65535);
    s->port = (int) port;
    s->stdin_fd = to_child[1];
    printf("http server '%s' on 127.0.0.1:%d\n", script, s->port);
}

static void server_stop(struct server *s)
{
    int status = 0;
    CHECK_OK(kill(s->pid, SIGTERM));
    CHECK_EQ(waitpid(s->pid, &status, 0), s->pid);
    close(s->stdin_fd);
    s->pid = 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    CHECK_EQ(fwrite(data, 1, len, fp), len);
    CHECK_EQ(fclose(fp), 0);
}

/* Checks that path holds exactly len bytes equal to data. */
static void check_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    char *buf = malloc(len + 1);
    CHECK(buf != NULL);
    CHECK_EQ(fread(buf, 1, len + 1, fp), len);
    CHECK(memcmp(buf, data, len) == 0);
    free(buf);
    fclose(fp);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n = 0;
    for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    }
    closedir(d);
    return n;
}

static void remove_tree(const char *path)
{
    struct stat st;
    CHECK_OK(lstat(path, &st));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        CHECK(d != NULL);
        for (struct dirent *de = readdir(d); de != NULL; de = readdir(d)) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char child[1024];
            snprintf(child, sizeof child, "%s/%s", path, de->d_name);
            remove_tree(child);
        }
        closedir(d);
        CHECK_OK(rmdir(path));
    } else {
        CHECK_OK(unlink(path));
    }
}

/* The served file: large enough for several write callbacks. */
static char *s_data;
static size_t s_data_len = 300001;
static char s_data_sha[65];
static const char s_index[] = "<html>index of d</html>\n";

static void make_site(void)
{
    CHECK_OK(mkdir(tmp_path("www"), 0755));
    CHECK_OK(mkdir(tmp_path("www/d"), 0755));
    s_data = malloc(s_data_len);
    CHECK(s_data != NULL);
    for (size_t i = 0; i < s_data_len; i++)
        s_data[i] = (char) ((i * 2654435761u) >> 11);
    write_file(tmp_path("www/data.bin"), s_data, s_data_len);
    write_file(tmp_path("www/d/index.html"), s_index, strlen(s_index));
    char err[PSC_ERR_LEN];
    CHECK_OK(sha256_file(tmp_path("www/data.bin"), s_data_sha, err));
}

/* A wrong checksum fails and leaves nothing in the cache. */
static void test_checksum_mismatch(int port, const char *cache)
{
    char url[256];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data.bin", port);
    CHECK_EQ(http_resolve(url, WRONG_SHA, cache, &out, err), PSC_ECHECKSUM);
    snprintf(want, sizeof want,
             "'%s' has SHA-256 %s, expected %s: check the URL or the "
             "checksum in the job",
             url, s_data_sha, WRONG_SHA);
    CHECK_STR(err, want);
    CHECK(out == NULL);
    CHECK_EQ(count_entries(cache), 0);
}

static void test_download(int port, const char *cache)
{
    char url[256];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data.bin", port);
    s_log[0] = '\0';
    CHECK_OK(http_resolve(url, s_data_sha, cache, &out, err));
    char want[1024];
    snprintf(want, sizeof want, "%s/data.bin", cache);
    CHECK_STR(out, want);
    check_file(out, s_data, s_data_len);
    char hex[65];
    CHECK_OK(sha256_file(out, hex, err));
    CHECK_STR(hex, s_data_sha);
    free(out);
    snprintf(want, sizeof want, "downloaded '%s' (0.3 MB)", url);
    CHECK_CONTAINS(s_log, want);
    /* Only the final file: the temporary one was renamed. */
    CHECK_EQ(count_entries(cache), 1);
}

/* A cached copy that does not match is replaced. */
static void test_stale_cache(int port, const char *cache)
{
    char url[256];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data.bin", port);
    char cached[1024];
    snprintf(cached, sizeof cached, "%s/data.bin", cache);
    write_file(cached, "junk", 4);
    s_log[0] = '\0';
    CHECK_OK(http_resolve(url, s_data_sha, cache, &out, err));
    CHECK_CONTAINS(s_log, "expected");
    CHECK_CONTAINS(s_log, "downloading '");
    check_file(out, s_data, s_data_len);
    free(out);
}

/* Query strings do not end up in the name; no checksum is fine. */
static void test_query_and_redirect(int port, const char *cache)
{
    char url[256];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data.bin?v=2#x", port);
    CHECK_OK(http_resolve(url, NULL, cache, &out, err));
    CHECK(strcmp(strrchr(out, '/'), "/data.bin") == 0);
    check_file(out, s_data, s_data_len);
    free(out);

    /* http.server redirects "/d" to "/d/" and serves its index.html. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/d", port);
    CHECK_OK(http_resolve(url, "", cache, &out, err));
    CHECK(strcmp(strrchr(out, '/'), "/d") == 0);
    check_file(out, s_index, strlen(s_index));
    free(out);
}

static void test_http_404(int port, const char *cache)
{
    char url[256];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    int before = count_entries(cache);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/missing.bin", port);
    CHECK_EQ(http_resolve(url, NULL, cache, &out, err), PSC_ENOTFOUND);
    snprintf(want, sizeof want, "cannot download '%s': HTTP 404", url);
    CHECK_STR(err, want);
    CHECK(out == NULL);
    CHECK_EQ(count_entries(cache), before);
}

/* A transfer over a second logs progress lines. */
static void test_progress(int port, const char *cache)
{
    char url[256];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/slow.bin", port);
    s_log[0] = '\0';
    CHECK_OK(http_resolve(url, NULL, cache, &out, err));
    struct stat st;
    CHECK_OK(stat(out, &st));
    CHECK_EQ(st.st_size, 2000000);
    free(out);
    /* Parts arrive at 0, 0.5, 1 and 1.5 s: at least one line, and it
     * shows the total from Content-Length. */
    snprintf(want, sizeof want, "downloading '%s': ", url);
    CHECK_CONTAINS(s_log, want);
    CHECK_CONTAINS(s_log, " of 2.0 MB (");
}

/* A connection that drops mid-body leaves no file behind. */
static void test_partial(int port, const char *cache)
{
    char url[256];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    int before = count_entries(cache);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/partial.bin", port);
    CHECK_EQ(http_resolve(url, NULL, cache, &out, err), PSC_ENET);
    snprintf(want, sizeof want,
             "cannot download '%s': Transferred a partial file", url);
    CHECK_STR(err, want);
    CHECK(out == NULL);
    CHECK_EQ(count_entries(cache), before);
}

/* With the server gone, cached copies still resolve. */
static void test_cache_hit(int port, const char *cache)
{
    char url[256];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/data.bin", port);
    s_log[0] = '\0';
    CHECK_OK(http_resolve(url, s_data_sha, cache, &out, err));
    check_file(out, s_data, s_data_len);
    free(out);
    /* Upper-case hex is the same checksum. */
    char upper[65];
    for (int i = 0; i < 65; i++)
        upper[i] = (char) toupper((unsigned char) s_data_sha[i]);
    CHECK_OK(http_resolve(url, upper, cache, &out, err));
    free(out);
    CHECK_OK(http_resolve(url, NULL, cache, &out, err));
    free(out);
    CHECK_CONTAINS(s_log, "using cached '");
    CHECK(strstr(s_log, "downloading") == NULL);
}

/* A bound socket that never listens refuses connections on loopback. */
static void test_refused(const char *cache)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK_OK(bind(fd, (struct sockaddr *) &sa, sizeof sa));
    socklen_t len = sizeof sa;
    CHECK_OK(getsockname(fd, (struct sockaddr *) &sa, &len));

    char url[256];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/refused.bin",
             ntohs(sa.sin_port));
    CHECK_EQ(http_resolve(url, NULL, cache, &out, err), PSC_ENET);
    snprintf(want, sizeof want,
             "cannot download '%s': Couldn't connect to server", url);
    CHECK_STR(err, want);
    CHECK(out == NULL);
    close(fd);
    char gone[1024];
    snprintf(gone, sizeof gone, "%s/refused.bin", cache);
    CHECK(access(gone, F_OK) != 0);
}

static void test_local(void)
{
    const char *path = tmp_path("www/data.bin");
    char url[600];
    char want[2048];
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;

    CHECK_OK(http_resolve(path, NULL, NULL, &out, err));
    CHECK_STR(out, path);
    free(out);
    CHECK_OK(http_resolve(path, s_data_sha, NULL, &out, err));
    CHECK_STR(out, path);
    free(out);

    snprintf(url, sizeof url, "file://%s", path);
    CHECK_OK(http_resolve(url, s_data_sha, NULL, &out, err));
    CHECK_STR(out, path);
    free(out);
    snprintf(url, sizeof url, "file://localhost%s", path);
    CHECK_OK(http_resolve(url, NULL, NULL, &out, err));
    CHECK_STR(out, path);
    free(out);

    out = NULL;
    CHECK_EQ(http_resolve(url, WRONG_SHA, NULL, &out, err), PSC_ECHECKSUM);
    snprintf(want, sizeof want, "'%s' has SHA-256 %s, expected %s", url,
             s_data_sha, WRONG_SHA);
    CHECK_CONTAINS(err, want);
    CHECK(out == NULL);

    const char *missing = tmp_path("www/nope.gz");
    CHECK_EQ(http_resolve(missing, NULL, NULL, &out, err), PSC_ENOTFOUND);
    snprintf(want, sizeof want, "cannot open '%s': No such file or directory",
             missing);
    CHECK_STR(err, want);
    snprintf(url, sizeof url, "file://%s", missing);
    CHECK_EQ(http_resolve(url, NULL, NULL, &out, err), PSC_ENOTFOUND);
    CHECK_STR(err, want);

    CHECK_EQ(http_resolve(tmp_path("www"), NULL, NULL, &out, err), PSC_EINVAL);
    CHECK_CONTAINS(err, "is a directory");
    CHECK(out == NULL);
}

static void test_bad_arguments(const char *cache)
{
    char err[PSC_ERR_LEN] = "";
    char *out = NULL;
    CHECK_EQ(http_resolve("", NULL, cache, &out, err), PSC_EINVAL);
    CHECK_STR(err, "no data location given");
    CHECK_EQ(http_resolve(tmp_path("www/data.bin"), "abc", NULL, &out, err),
             PSC_EINVAL);
    CHECK_CONTAINS(err, "invalid SHA-256 'abc' for '");
    CHECK_CONTAINS(err, "expected 64 hex digits");
    CHECK_EQ(
        http_resolve(tmp_path("www/data.bin"), WRONG_SHA "0", NULL, &out, err),
        PSC_EINVAL);
    CHECK_EQ(http_resolve("ftp://127.0.0.1/x", NULL, cache, &out, err),
             PSC_EINVAL);
    CHECK_STR(err, "cannot use 'ftp://127.0.0.1/x': give a path or an "
                   "http://, https:// or file:// URL");
    CHECK_EQ(http_resolve("http://127.0.0.1:1/x", NULL, NULL, &out, err),
             PSC_EINVAL);
    CHECK_STR(err, "cannot download 'http://127.0.0.1:1/x': no cache "
                   "directory given");

    /* A cache directory below a regular file cannot be created. */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/sub", tmp_path("www/data.bin"));
    CHECK_EQ(http_resolve("http://127.0.0.1:1/x", NULL, bad, &out, err),
             PSC_EIO);
    CHECK_CONTAINS(err, "cannot download 'http://127.0.0.1:1/x': cannot "
                        "create folder '");
    CHECK_CONTAINS(err, "/sub': '");
    CHECK_CONTAINS(err, "/data.bin' exists and is not a folder");
    CHECK(out == NULL);
}

/* The test talks to 127.0.0.1 only; keep any proxy out of the way. */
static void unset_proxies(void)
{
    static const char *vars[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                 "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        unsetenv(vars[i]);
}

int main(void)
{
    CHECK(mkdtemp(s_tmp) != NULL);
    unset_proxies();
    CHECK_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    psc_log_set_sink(capture_log, NULL);
    make_site();

    struct server srv;
    server_start(&srv, tmp_path("www"));
    /* Not created yet: http_resolve() makes it, parents and all. */
    char cache[512];
    snprintf(cache, sizeof cache, "%s", tmp_path("cache/a/b"));
    test_bad_arguments(cache);
    test_checksum_mismatch(srv.port, cache);
    test_download(srv.port, cache);
    test_stale_cache(srv.port, cache);
    test_query_and_redirect(srv.port, tmp_path("cache2"));
    test_http_404(srv.port, cache);
    test_partial(srv.port, cache);
    test_progress(srv.port, tmp_path("cache2"));
    server_stop(&srv);
    test_cache_hit(srv.port, cache);
    test_refused(cache);
    test_local();

    psc_log_set_sink(NULL, NULL);
    curl_global_cleanup();
    free(s_data);
    remove_tree(s_tmp);
    printf("http: ok\n");
    return 0;
}
