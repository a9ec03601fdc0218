/*
 * Data locations for jobs: a local path, a file:// URL, or an http(s) URL
 * that is downloaded once with libcurl into a cache directory and checked
 * against an optional SHA-256. Callers get back a local path either way.
 */
#ifndef HTTP_H
#define HTTP_H

/* Seconds allowed for connecting, and for a transfer moving no data. */
#define HTTP_CONNECT_TIMEOUT 10
#define HTTP_STALL_TIMEOUT   30

/*
 * Resolves a data location for use. A plain path, or a file:// URL with
 * the prefix stripped, is returned as is after checking it exists. An
 * http:// or https:// URL is downloaded into cache_dir (created like
 * mkdir -p) under the URL's last path component, unless a cached copy
 * with the right SHA-256 is already there; without a checksum any cached
 * copy is used. Downloads go to a temporary file in cache_dir that is
 * renamed into place only after success, so the final name never holds a
 * partial file. Progress is logged at info level at most once a second.
 *
 * When sha256_hex is non-NULL and non-empty (64 hex digits, any case) the
 * file, downloaded, cached or local, must match it.
 *
 * Returns 0 and sets *out_path (caller owns, free()), or leaves it alone
 * and returns PSC_EINVAL (bad argument or checksum syntax, unsupported
 * scheme), PSC_ENOTFOUND (no such file, HTTP 404 or 410), PSC_ECHECKSUM,
 * PSC_ETIMEDOUT, PSC_ENET (other transfer failures) or PSC_EIO (local
 * files), with one line in err (PSC_ERR_LEN bytes, may be NULL).
 * Requires curl_global_init() to have been called by main().
 */
int http_resolve(const char *location, const char *sha256_hex,
                 const char *cache_dir, char **out_path, char *err);

#endif
