/*
 * Unit test for host-name syntax: DNS names at every limit, IPv4 and IPv6
 * literals, and each refusal with its reason.
 */
#include "hostname.h"
#include "psc_err.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

static void s_ok(const char *host)
{
    char why[160] = "";
    int rc = hostname_check(host, why, sizeof why);
    if (rc != 0)
        fprintf(stderr, "'%s' refused: %s\n", host, why);
    CHECK_EQ(rc, 0);
}

static void s_refused(const char *host, const char *want)
{
    char why[160] = "";
    CHECK_EQ(hostname_check(host, why, sizeof why), PSC_EINVAL);
    CHECK_STR(why, want);
}

/* Names as compose, Kubernetes and people write them. */
static void test_names(void)
{
    s_ok("localhost");
    s_ok("ps-0");
    s_ok("h0");
    s_ok("psc-demo-chief-0.default.svc");
    s_ok("psc-demo-chief-0.default.svc.cluster.local.");
    s_ok("3com.example");
    s_ok("xn--bcher-kva.example");
    s_ok("A.B-c.D");
}

/* Labels of 63 and names of 253 characters are the limits. */
static void test_limits(void)
{
    char name[300];
    memset(name, 'a', 63);
    name[63] = '\0';
    s_ok(name);
    memset(name, 'a', 64);
    name[64] = '\0';
    s_refused(name, "has a label longer than 63 characters at 0");

    /* 4 labels of 62 and one of 5: 4 * 63 + 5 = 257; cut to 253. */
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        memset(name + off, 'b', 62);
        off += 62;
        name[off++] = '.';
    }
    memcpy(name + off, "ccccc", 6);
    name[253] = '\0';
    s_ok(name);
    name[253] = '.';
    name[254] = '\0';
    s_ok(name); /* the final dot does not count */
    memcpy(name + 253, "c", 2);
    s_refused(name, "is longer than 253 characters (254)");

    char big[10001];
    memset(big, 'x', 10000);
    big[10000] = '\0';
    s_refused(big, "is longer than 253 characters (10000)");
}

static void test_refused(void)
{
    s_refused("", "is empty");
    s_refused("h\xc3\xa9.x", "holds the non-ASCII byte 0xc3 at 1 (an "
                             "international name goes in its xn-- form)");
    s_refused("ps_0", "holds '_' at 2");
    s_refused("a/b", "holds '/' at 1");
    s_refused("a\x01", "holds '?' at 1");
    s_refused("*", "holds '*' at 0");
    s_refused(".a", "has an empty label at 0");
    s_refused("a..b", "has an empty label at 2");
    s_refused("a..", "has an empty label at 2");
    s_refused("-a", "has a label that starts or ends with '-' at 0");
    s_refused("a.b-", "has a label that starts or ends with '-' at 2");
}

/* What looks like an address must be one. */
static void test_addresses(void)
{
    s_ok("127.0.0.1");
    s_ok("10.1.2.3");
    s_ok("::1");
    s_ok("fe80::1%eth0");
    s_ok("2001:db8::8a2e:370:7334");
    s_ok("::ffff:192.0.2.1");
    s_refused("256.1.1.1", "is not an IPv4 address");
    s_refused("1.2.3", "is not an IPv4 address");
    s_refused("1.2.3.4.5", "is not an IPv4 address");
    s_refused("::g", "is not an IPv6 address");
    s_refused("1:2:3:4:5:6:7:8:9", "is not an IPv6 address");
    s_refused("fe80::1%", "has a bad zone after '%': give an interface name of "
                          "at most 15 letters, digits, '.', '_' or '-'");
    s_refused("fe80::1%a b", "has a bad zone after '%': give an interface "
                             "name of at most 15 letters, digits, '.', '_' "
                             "or '-'");
    char v6[100];
    memset(v6, '1', sizeof v6 - 1);
    v6[1] = ':';
    v6[sizeof v6 - 1] = '\0';
    s_refused(v6, "is longer than an IPv6 address");
    CHECK_EQ(hostname_check("a b", NULL, 0), PSC_EINVAL);
    CHECK_EQ(hostname_check(NULL, NULL, 0), PSC_EINVAL);
}

int main(void)
{
    test_names();
    test_limits();
    test_refused();
    test_addresses();
    printf("hostname_test: all checks passed\n");
    return 0;
}
