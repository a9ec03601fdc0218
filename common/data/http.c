/*
 * http_resolve(): local paths are checked, URLs are fetched with one curl
 * easy handle per download. Each download streams into a mkstemp() file
 * beside its final name while hashing, so the checksum costs no second
 * read and rename() publishes only complete, verified files, even when
 * several processes on one host share the cache.
 */
#include "http.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_fs.h"
#include "psc_log.h"
#include "psc_time.h"
#include "sha256.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* One transfer: where the bytes go and what has been said about it. */
struct download {
    const char *url;
    const char *tmp_path;
    FILE *fp;
    sha256_t sha;
    curl_off_t received;
    int write_errno; /* set when writing the temporary file failed */
    double last_log; /* monotonic seconds of the last progress line */
};

static int has_prefix_ci(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* Checks the syntax of an expected checksum before any work is done. */
static int check_hex(const char *want, const char *location, char *err)
{
    size_t n = strspn(want, "0123456789abcdefABCDEF");
    if (n == SHA256_HEX_LEN && want[n] == '\0')
        return 0;
    return psc_seterr(err, PSC_EINVAL,
                      "invalid SHA-256 '%s' for '%s': expected 64 hex digits",
                      want, location);
}

static int verify(const char *location, const char *got, const char *want,
                  char *err)
{
    if (want == NULL || strcasecmp(got, want) == 0)
        return 0;
    return psc_seterr(err, PSC_ECHECKSUM,
                      "'%s' has SHA-256 %s, expected %s: check the URL or "
                      "the checksum in the job",
                      location, got, want);
}

/* A plain path or the path part of a file:// URL, named location. */
static int resolve_local(const char *path, const char *location,
                         const char *want, char **out, char *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        int code = errno == ENOENT ? PSC_ENOTFOUND : PSC_EIO;
        return psc_seterr(err, code, "cannot open '%s': %s", path,
                          strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return psc_seterr(err, PSC_EINVAL,
                          "'%s' is a directory: give the path of a data file",
                          path);
    if (want != NULL) {
        char got[SHA256_HEX_LEN + 1];
        int rc = sha256_file(path, got, err);
        if (rc == 0)
            rc = verify(location, got, want, err);
        if (rc != 0)
            return rc;
    }
    *out = psc_xstrdup(path);
    return 0;
}

/*
 * The cache file name: the URL's last path component without query or
 * fragment. Names that would escape or are empty become "download".
 * Caller owns the result.
 */
static char *cache_name(const char *url)
{
    const char *path = strstr(url, "://");
    path = strchr(path + 3, '/');
    if (path == NULL)
        return psc_xstrdup("download");
    size_t end = strcspn(path, "?#");
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    size_t len = end - start;
    if (len == 0 || (len == 1 && path[start] == '.') ||
        (len == 2 && strncmp(path + start, "..", 2) == 0))
        return psc_xstrdup("download");
    char *name = psc_xmalloc(len + 1);
    memcpy(name, path + start, len);
    name[len] = '\0';
    return name;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct download *d = arg;
    size_t n = size * nmemb;
    if (fwrite(data, 1, n, d->fp) != n) {
        d->write_errno = errno;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    sha256_update(&d->sha, data, n);
    d->received += (curl_off_t) n;
    return n;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    struct download *d = arg;
    double now = psc_now();
    if (now - d->last_log < 1.0)
        return 0;
    d->last_log = now;
    if (dltotal > 0)
        psc_log_info("downloading '%s': %.1f of %.1f MB (%d%%)", d->url,
                     (double) dlnow / 1e6, (double) dltotal / 1e6,
                     (int) (100 * dlnow / dltotal));
    else
        psc_log_info("downloading '%s': %.1f MB", d->url, (double) dlnow / 1e6);
    return 0;
}

static void set_options(CURL *c, struct download *d)
{
    curl_easy_setopt(c, CURLOPT_URL, d->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS,
                     CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "psc");
    /* Roles are multi-threaded: no SIGALRM-based resolver time-outs. */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long) HTTP_CONNECT_TIMEOUT);
    /* Less than a byte a second for the whole window counts as stalled. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long) HTTP_STALL_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, d);
}

/* Turns a failed transfer into one line and a PSC_E* code. */
static int transfer_error(CURL *c, CURLcode cc, const struct download *d,
                          char *err)
{
    if (cc == CURLE_HTTP_RETURNED_ERROR) {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        int code = status == 404 || status == 410 ? PSC_ENOTFOUND : PSC_ENET;
        return psc_seterr(err, code, "cannot download '%s': HTTP %ld", d->url,
                          status);
    }
    if (cc == CURLE_WRITE_ERROR && d->write_errno != 0)
        return psc_seterr(err, PSC_EIO, "cannot write '%s': %s", d->tmp_path,
                          strerror(d->write_errno));
    if (cc == CURLE_OPERATION_TIMEDOUT) {
        /* curl's own text ends in a period and hides which limit hit. */
        curl_off_t connected = 0;
        curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
        if (connected == 0)
            return psc_seterr(err, PSC_ETIMEDOUT,
                              "cannot download '%s': no connection within "
                              "%d s",
                              d->url, HTTP_CONNECT_TIMEOUT);
        return psc_seterr(err, PSC_ETIMEDOUT,
                          "cannot download '%s': transfer stalled for %d s",
                          d->url, HTTP_STALL_TIMEOUT);
    }
    return psc_seterr(err, PSC_ENET, "cannot download '%s': %s", d->url,
                      curl_easy_strerror(cc));
}

/* Runs the transfer described by d. */
static int perform(struct download *d, char *err)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return psc_seterr(err, PSC_ENET,
                          "cannot download '%s': cannot start libcurl", d->url);
    set_options(c, d);
    CURLcode cc = curl_easy_perform(c);
    int rc = 0;
    if (cc != CURLE_OK)
        rc = transfer_error(c, cc, d, err);
    curl_easy_cleanup(c);
    return rc;
}

/* Publishes a finished, verified temporary file under its final name. */
static int publish(const char *tmp, const char *final_path, char *err)
{
    /* mkstemp() made it 0600; cached data is not secret. tmp is set: the
     * analyzer cannot see that psc_seterr() (another file) returns its
     * code, so it has open_tmp() fail and return 0. */
    /* NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker) */
    if (chmod(tmp, 0644) != 0 || rename(tmp, final_path) != 0)
        return psc_seterr(err, PSC_EIO, "cannot move '%s' to '%s': %s", tmp,
                          final_path, strerror(errno));
    return 0;
}

/*
 * Creates "<final_path>.part-XXXXXX" for writing. On success the caller
 * owns *tmp (free()) and *fp (fclose()).
 */
static int open_tmp(const char *final_path, char **tmp, FILE **fp, char *err)
{
    size_t len = strlen(final_path) + sizeof ".part-XXXXXX";
    char *name = psc_xmalloc(len);
    snprintf(name, len, "%s.part-XXXXXX", final_path);
    int fd = mkstemp(name);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "wb");
    if (f == NULL) {
        int rc = psc_seterr(err, PSC_EIO, "cannot create '%s': %s", name,
                            strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(name);
        }
        free(name);
        return rc;
    }
    *tmp = name;
    *fp = f;
    return 0;
}

static int check_digest(struct download *d, const char *want, char *err)
{
    uint8_t digest[SHA256_DIGEST_LEN];
    char got[SHA256_HEX_LEN + 1];
    sha256_final(&d->sha, digest);
    sha256_hex(digest, got);
    return verify(d->url, got, want, err);
}

/* Downloads url to final_path through a temporary file beside it. */
static int fetch(const char *url, const char *final_path, const char *want,
                 char *err)
{
    struct download d = {.url = url};
    char *tmp = NULL;
    int rc = open_tmp(final_path, &tmp, &d.fp, err);
    if (rc != 0)
        return rc;
    d.tmp_path = tmp;
    sha256_init(&d.sha);
    d.last_log = psc_now();
    psc_log_info("downloading '%s' to '%s'", url, final_path);
    rc = perform(&d, err);
    if (fclose(d.fp) != 0 && rc == 0)
        rc = psc_seterr(err, PSC_EIO, "cannot write '%s': %s", tmp,
                        strerror(errno));
    if (rc == 0)
        rc = check_digest(&d, want, err);
    if (rc == 0)
        rc = publish(tmp, final_path, err);
    /* tmp is set: publish() says why the analyzer thinks it may not be. */
    if (rc == 0)
        psc_log_info("downloaded '%s' (%.1f MB)", url,
                     (double) d.received / 1e6);
    else
        unlink(tmp); /* NOLINT(clang-analyzer-core.NonNullParamChecker) */
    free(tmp);
    return rc;
}

/* Whether a file already at path can stand in for the download. */
static int cached_ok(const char *url, const char *path, const char *want)
{
    if (want == NULL) {
        psc_log_info("using cached '%s' for '%s'", path, url);
        return 1;
    }
    char got[SHA256_HEX_LEN + 1];
    char err[PSC_ERR_LEN];
    if (sha256_file(path, got, err) != 0) {
        psc_log_warn("%s: downloading '%s' again", err, url);
        return 0;
    }
    if (strcasecmp(got, want) != 0) {
        psc_log_warn("cached '%s' has SHA-256 %s, expected %s: downloading "
                     "'%s' again",
                     path, got, want, url);
        return 0;
    }
    psc_log_info("using cached '%s' for '%s' (SHA-256 matches)", path, url);
    return 1;
}

static int resolve_remote(const char *url, const char *want,
                          const char *cache_dir, char **out, char *err)
{
    if (cache_dir == NULL || cache_dir[0] == '\0')
        return psc_seterr(err, PSC_EINVAL,
                          "cannot download '%s': no cache directory given",
                          url);
    char why[PSC_ERR_LEN];
    int rc = psc_mkdirs(cache_dir, why);
    if (rc != 0)
        return psc_seterr(err, rc, "cannot download '%s': %s", url, why);
    char *name = cache_name(url);
    size_t len = strlen(cache_dir) + strlen(name) + 2;
    char *path = psc_xmalloc(len);
    snprintf(path, len, "%s/%s", cache_dir, name);
    free(name);
    if (access(path, F_OK) != 0 || !cached_ok(url, path, want))
        rc = fetch(url, path, want, err);
    if (rc == 0)
        *out = path;
    else
        free(path);
    return rc;
}

int http_resolve(const char *location, const char *sha256_hex,
                 const char *cache_dir, char **out_path, char *err)
{
    if (location == NULL || location[0] == '\0')
        return psc_seterr(err, PSC_EINVAL, "no data location given");
    const char *want = sha256_hex;
    if (want != NULL && want[0] == '\0')
        want = NULL;
    if (want != NULL) {
        int rc = check_hex(want, location, err);
        if (rc != 0)
            return rc;
    }
    if (has_prefix_ci(location, "http://") ||
        has_prefix_ci(location, "https://"))
        return resolve_remote(location, want, cache_dir, out_path, err);
    if (has_prefix_ci(location, "file://")) {
        const char *path = location + strlen("file://");
        if (has_prefix_ci(path, "localhost/"))
            path += strlen("localhost");
        return resolve_local(path, location, want, out_path, err);
    }
    if (strstr(location, "://") != NULL)
        return psc_seterr(err, PSC_EINVAL,
                          "cannot use '%s': give a path or an http://, "
                          "https:// or file:// URL",
                          location);
    return resolve_local(location, location, want, out_path, err);
}
