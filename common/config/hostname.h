/*
 * Host names as TF_CONFIG gives them: a DNS name (RFC 1123: letters,
 * digits and '-', labels of 1 to 63 characters joined by dots, 253 in all,
 * an optional final dot), an IPv4 address, or an IPv6 address (with an
 * optional %zone). Anything else would only fail later, at connect time,
 * as a retryable error.
 */
#ifndef HOSTNAME_H
#define HOSTNAME_H

#include <stddef.h>

/* Longest DNS name, without the final dot. */
#define HOSTNAME_MAX 253

/* Longest label of a DNS name. */
#define HOSTNAME_LABEL_MAX 63

/*
 * Checks host. Returns 0 when it is a DNS name or an IP address, else
 * PSC_EINVAL with the reason in why (len bytes; may be NULL), worded to
 * follow the name: "is longer than 253 characters (10000)", "holds the
 * non-ASCII byte 0xc3 at 1 (...)", "holds '_' at 2", ...
 */
int hostname_check(const char *host, char *why, size_t len);

#endif
