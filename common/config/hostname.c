/*
 * Host-name syntax. IP addresses are checked with inet_pton(), so what is
 * accepted is what the resolver and ZeroMQ will take as an address.
 */
#include "hostname.h"

#include "psc_err.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A zone is an interface name (IF_NAMESIZE is 16 with the NUL). */
#define HOSTNAME_ZONE_MAX 15

/* The longest IPv6 text inet_pton() reads (INET6_ADDRSTRLEN less NUL). */
#define HOSTNAME_V6_MAX 45

__attribute__((format(printf, 3, 4))) static int s_why(char *why, size_t len,
                                                       const char *fmt, ...)
{
    if (why != NULL && len > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, len, fmt, ap);
        va_end(ap);
    }
    return PSC_EINVAL;
}

static int s_check_v6(const char *host, char *why, size_t len)
{
    const char *pct = strchr(host, '%');
    size_t n = pct != NULL ? (size_t) (pct - host) : strlen(host);
    char addr[HOSTNAME_V6_MAX + 1];
    unsigned char bin[16];
    if (n > HOSTNAME_V6_MAX)
        return s_why(why, len, "is longer than an IPv6 address");
    memcpy(addr, host, n);
    addr[n] = '\0';
    if (inet_pton(AF_INET6, addr, bin) != 1)
        return s_why(why, len, "is not an IPv6 address");
    if (pct == NULL)
        return 0;
    size_t zn = strlen(pct + 1);
    int ok = zn > 0 && zn <= HOSTNAME_ZONE_MAX;
    for (size_t i = 0; ok && i < zn; i++)
        ok = isalnum((unsigned char) pct[1 + i]) ||
             strchr("._-", pct[1 + i]) != NULL;
    if (!ok)
        return s_why(why, len,
                     "has a bad zone after '%%': give an interface name of "
                     "at most %d letters, digits, '.', '_' or '-'",
                     HOSTNAME_ZONE_MAX);
    return 0;
}

/* One label of a DNS name: host[0..n). */
static int s_check_label(const char *label, size_t n, size_t at, char *why,
                         size_t len)
{
    if (n == 0)
        return s_why(why, len, "has an empty label at %zu", at);
    if (n > HOSTNAME_LABEL_MAX)
        return s_why(why, len, "has a label longer than %d characters at %zu",
                     HOSTNAME_LABEL_MAX, at);
    if (label[0] == '-' || label[n - 1] == '-')
        return s_why(why, len,
                     "has a label that starts or ends with '-' at %zu", at);
    return 0;
}

/* Every byte is a letter, digit, '-' or '.'; says which one is not. */
static int s_check_chars(const char *host, size_t n, char *why, size_t len)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) host[i];
        if (c >= 0x80)
            return s_why(why, len,
                         "holds the non-ASCII byte 0x%02x at %zu (an "
                         "international name goes in its xn-- form)",
                         c, i);
        if (!isalnum(c) && c != '-' && c != '.')
            return s_why(why, len, "holds '%c' at %zu", isprint(c) ? c : '?',
                         i);
    }
    return 0;
}

/* Whether the last label is all digits: then the name must be IPv4. */
static int s_numeric_tail(const char *host, size_t n)
{
    size_t start = n;
    while (start > 0 && host[start - 1] != '.')
        start--;
    if (start == n)
        return 0;
    return strspn(host + start, "0123456789") == n - start;
}

static int s_check_dns(const char *host, char *why, size_t len)
{
    size_t n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        n--; /* the root: "ps-0.example.com." */
    if (n > HOSTNAME_MAX)
        return s_why(why, len, "is longer than %d characters (%zu)",
                     HOSTNAME_MAX, n);
    int rc = s_check_chars(host, n, why, len);
    if (rc != 0)
        return rc;
    for (size_t at = 0; at <= n;) {
        size_t l = strcspn(host + at, ".");
        if (at + l > n)
            l = n - at;
        rc = s_check_label(host + at, l, at, why, len);
        if (rc != 0)
            return rc;
        at += l + 1;
    }
    if (s_numeric_tail(host, n)) {
        char addr[HOSTNAME_MAX + 1];
        unsigned char bin[4];
        memcpy(addr, host, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET, addr, bin) != 1)
            return s_why(why, len, "is not an IPv4 address");
    }
    return 0;
}

int hostname_check(const char *host, char *why, size_t len)
{
    if (host == NULL || host[0] == '\0')
        return s_why(why, len, "is empty");
    if (strchr(host, ':') != NULL)
        return s_check_v6(host, why, len);
    return s_check_dns(host, why, len);
}
