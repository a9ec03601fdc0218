/*
 * TF_CONFIG parsing with jansson. The JSON tree is only read while parsing:
 * the result copies out the hosts and ports of the jobs psc knows (chief or
 * master, ps, worker, evaluator) plus this task's type and index, so a
 * tfc_t never points into jansson memory.
 */
#include "tfc.h"

#include "hostname.h"
#include "psc_alloc.h"
#include "psc_err.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A TF_CONFIG is a few KiB even for large clusters; refuse a runaway file. */
#define TFC_MAX_FILE (1 << 20)

/* Longest value quoted in a message, so the fix still fits PSC_ERR_LEN. */
#define TFC_QUOTE "%.100s"

#define TFC_TYPES "chief, master, ps, worker, evaluator"

struct tfc_addr {
    char *host; /* without brackets */
    int port;
};

struct tfc_job {
    int n;
    struct tfc_addr *addrs;
};

struct tfc {
    struct tfc_job jobs[TFC_NROLES];
    const char *chief_key; /* "chief" or "master", as the cluster names it */
    const char *task_type; /* static; as task.type names it */
    enum tfc_role task_role;
    int task_index;
    char task_name[32];
    int sidecar; /* an evaluator outside any training cluster */
};

/* The task.type and cluster keys psc understands, in cluster order. */
static const struct {
    const char *key;
    enum tfc_role role;
} s_keys[] = {
    {"chief", TFC_CHIEF},   {"master", TFC_CHIEF},        {"ps", TFC_PS},
    {"worker", TFC_WORKER}, {"evaluator", TFC_EVALUATOR},
};

#define TFC_NKEYS (sizeof s_keys / sizeof s_keys[0])

static const char *const s_role_names[TFC_NROLES] = {"chief", "ps", "worker",
                                                     "evaluator"};

const char *tfc_role_name(enum tfc_role r)
{
    if ((int) r < 0 || r >= TFC_NROLES)
        return "unknown";
    return s_role_names[r];
}

/* The cluster key of role r, for messages: "master" if the JSON says so. */
static const char *s_job_key(const tfc_t *c, enum tfc_role r)
{
    if (r == TFC_CHIEF)
        return c->chief_key;
    return tfc_role_name(r);
}

static const struct tfc_addr *s_addr(const tfc_t *c, enum tfc_role r, int index)
{
    if (c == NULL || (int) r < 0 || r >= TFC_NROLES)
        return NULL;
    if (index < 0 || index >= c->jobs[r].n)
        return NULL;
    return &c->jobs[r].addrs[index];
}

/* Writes host:port, bracketing an IPv6 host so the port stays separable. */
static void s_format_addr(const struct tfc_addr *a, char *buf, size_t len)
{
    if (strchr(a->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%d", a->host, a->port);
    else
        snprintf(buf, len, "%s:%d", a->host, a->port);
}

/* Ports are plain decimal: no sign, no spaces, 1..65535. */
static int s_parse_port(const char *s, int *out)
{
    size_t n = strlen(s);
    if (n == 0 || n > 5 || strspn(s, "0123456789") != n)
        return -1;
    long v = strtol(s, NULL, 10);
    if (v < 1 || v > 65535)
        return -1;
    *out = (int) v;
    return 0;
}

/*
 * Splits text into host and port text. Returns 0 and sets *host_end (one
 * past the host) and *port, or writes the reason to err.
 */
static int s_split_addr(const char *place, const char *text, const char **host,
                        const char **host_end, const char **port, char *err)
{
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            return psc_seterr(err, PSC_ECONFIG,
                              "%s '" TFC_QUOTE "' has no closing ']': "
                              "write IPv6 as [addr]:port",
                              place, text);
        *host = text + 1;
        *host_end = close;
        if (close[1] == '\0')
            return psc_seterr(err, PSC_ECONFIG,
                              "%s '" TFC_QUOTE "' has no port: "
                              "write it as [addr]:port",
                              place, text);
        if (close[1] != ':')
            return psc_seterr(err, PSC_ECONFIG,
                              "%s '" TFC_QUOTE "' has text after ']': "
                              "write IPv6 as [addr]:port",
                              place, text);
        *port = close + 2;
        return 0;
    }
    const char *colon = strrchr(text, ':');
    if (colon == NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' has no port: "
                          "write it as host:port",
                          place, text);
    /* Two colons outside brackets can only be a bare IPv6 address. */
    if (strchr(text, ':') != colon)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' has more than one ':': "
                          "write IPv6 as [addr]:port",
                          place, text);
    *host = text;
    *host_end = colon;
    *port = colon + 1;
    return 0;
}

/* Rejects what s_split_addr would misread: empty text, URLs, whitespace. */
static int s_check_addr_text(const char *place, const char *text, char *err)
{
    if (text[0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "%s is empty: write it as host:port", place);
    if (strstr(text, "://") != NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' has a scheme: "
                          "write it as host:port without the scheme",
                          place, text);
    if (strpbrk(text, " \t\r\n") != NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' contains whitespace: "
                          "write it as host:port",
                          place, text);
    return 0;
}

/*
 * The first 40 bytes of host for a message, bytes outside printable ASCII
 * as '?', so that no message carries control characters or half a UTF-8
 * sequence.
 */
static void s_quote_host(const char *host, char *buf, size_t len)
{
    size_t n = 0;
    for (; host[n] != '\0' && n < 40 && n + 4 < len; n++) {
        unsigned char c = (unsigned char) host[n];
        buf[n] = c >= 0x20 && c < 0x7f ? (char) c : '?';
    }
    if (host[n] != '\0')
        snprintf(buf + n, len - n, "...");
    else
        buf[n] = '\0';
}

/*
 * A host that is no DNS name or IP address would be accepted here and
 * fail at connect time, a retryable exit: refuse it now, as a config
 * error. Frees out->host on failure so the caller's count stays right.
 */
static int s_check_host(const char *place, struct tfc_addr *out, char *err)
{
    char why[160];
    if (hostname_check(out->host, why, sizeof why) == 0)
        return 0;
    char quoted[48];
    s_quote_host(out->host, quoted, sizeof quoted);
    free(out->host);
    out->host = NULL;
    return psc_seterr(err, PSC_ECONFIG,
                      "%s host '%s' %s: write a DNS name (letters, digits, "
                      "'-', dots) or an IP address",
                      place, quoted, why);
}

/* Parses "host:port" or "[v6]:port" into out; place is e.g. cluster.ps[0]. */
static int s_parse_addr(const char *place, const char *text,
                        struct tfc_addr *out, char *err)
{
    /* Set so the compiler sees them defined; s_split_addr overwrites all. */
    const char *host = text;
    const char *host_end = text;
    const char *port = text;
    int rc = s_check_addr_text(place, text, err);
    if (rc != 0)
        return rc;
    rc = s_split_addr(place, text, &host, &host_end, &port, err);
    if (rc != 0)
        return rc;
    if (host_end == host)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' has no host: "
                          "write it as host:port",
                          place, text);
    if (s_parse_port(port, &out->port) != 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "%s '" TFC_QUOTE "' has a bad port '%.20s': "
                          "use a number from 1 to 65535",
                          place, text, port);
    size_t n = (size_t) (host_end - host);
    out->host = psc_xmalloc(n + 1);
    memcpy(out->host, host, n);
    out->host[n] = '\0';
    return s_check_host(place, out, err);
}

/* Fills job r from the JSON list stored under cluster.<key>. */
static int s_parse_job(tfc_t *c, enum tfc_role r, const char *key,
                       const json_t *list, char *err)
{
    if (!json_is_array(list))
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster.%s is not an array: "
                          "write it as [\"host:port\", ...]",
                          key);
    struct tfc_job *job = &c->jobs[r];
    size_t n = json_array_size(list);
    job->addrs = psc_xcalloc(n, sizeof *job->addrs);
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(list, i);
        char place[48];
        snprintf(place, sizeof place, "cluster.%s[%zu]", key, i);
        if (!json_is_string(v))
            return psc_seterr(err, PSC_ECONFIG,
                              "%s is not a string: "
                              "write each address as \"host:port\"",
                              place);
        int rc = s_parse_addr(place, json_string_value(v), &job->addrs[i], err);
        if (rc != 0)
            return rc;
        /* Counted per entry so tfc_destroy frees exactly what was copied. */
        job->n++;
    }
    return 0;
}

/* Reads the known job lists; unknown jobs (TF allows any name) are skipped. */
static int s_parse_jobs(tfc_t *c, const json_t *cluster, char *err)
{
    if (json_object_get(cluster, "chief") != NULL &&
        json_object_get(cluster, "master") != NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster has both 'chief' and 'master': keep one "
                          "(master is the old name of chief)");
    for (size_t k = 0; k < TFC_NKEYS; k++) {
        const json_t *list = json_object_get(cluster, s_keys[k].key);
        if (list == NULL)
            continue;
        if (s_keys[k].role == TFC_CHIEF)
            c->chief_key = s_keys[k].key;
        int rc = s_parse_job(c, s_keys[k].role, s_keys[k].key, list, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Returns 1 and sets *r, *i to the first task before (role, index) at a. */
static int s_find_earlier(const tfc_t *c, enum tfc_role role, int index,
                          const struct tfc_addr *a, enum tfc_role *r, int *i)
{
    for (int rr = 0; rr <= (int) role; rr++) {
        int end = rr == (int) role ? index : c->jobs[rr].n;
        for (int ii = 0; ii < end; ii++) {
            const struct tfc_addr *b = &c->jobs[rr].addrs[ii];
            if (b->port == a->port && strcasecmp(b->host, a->host) == 0) {
                *r = (enum tfc_role) rr;
                *i = ii;
                return 1;
            }
        }
    }
    return 0;
}

/* Two tasks on one host:port would fight over the bind; name both. */
static int s_check_duplicates(const tfc_t *c, char *err)
{
    for (int r = 0; r < TFC_NROLES; r++) {
        for (int i = 0; i < c->jobs[r].n; i++) {
            const struct tfc_addr *a = &c->jobs[r].addrs[i];
            enum tfc_role pr;
            int pi;
            char addr[300];
            if (!s_find_earlier(c, (enum tfc_role) r, i, a, &pr, &pi))
                continue;
            s_format_addr(a, addr, sizeof addr);
            return psc_seterr(err, PSC_ECONFIG,
                              "cluster.%s[%d] '" TFC_QUOTE "' is also "
                              "cluster.%s[%d]: give each task its own "
                              "host:port",
                              s_job_key(c, (enum tfc_role) r), i, addr,
                              s_job_key(c, pr), pi);
        }
    }
    return 0;
}

/* The shape psc needs: at most one chief, at least one ps and one worker. */
static int s_check_cluster(const tfc_t *c, char *err)
{
    if (c->jobs[TFC_CHIEF].n > 1)
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster.%s has %d tasks: a cluster has at most "
                          "one chief, move the others to cluster.worker",
                          c->chief_key, c->jobs[TFC_CHIEF].n);
    if (c->jobs[TFC_PS].n == 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster.ps is missing or empty: "
                          "psc needs at least one parameter server");
    if (c->jobs[TFC_WORKER].n == 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster.worker is missing or empty: "
                          "psc needs at least one worker");
    return s_check_duplicates(c, err);
}

/*
 * TensorFlow's sidecar evaluator "doesn't have to know the setup of the
 * training cluster": an evaluator task whose TF_CONFIG has no cluster, or
 * one without ps, reads checkpoints instead of the ps.
 */
static int s_is_sidecar(const json_t *root)
{
    const json_t *task = json_object_get(root, "task");
    const json_t *type =
        json_is_object(task) ? json_object_get(task, "type") : NULL;
    if (!json_is_string(type) ||
        strcmp(json_string_value(type), "evaluator") != 0)
        return 0;
    const json_t *cluster = json_object_get(root, "cluster");
    return cluster == NULL ||
           (json_is_object(cluster) && json_object_get(cluster, "ps") == NULL);
}

static int s_parse_cluster(tfc_t *c, const json_t *root, char *err)
{
    const json_t *cluster = json_object_get(root, "cluster");
    c->sidecar = s_is_sidecar(root);
    if (cluster == NULL && c->sidecar)
        return 0;
    if (cluster == NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster is missing: add \"cluster\": "
                          "{\"ps\": [\"host:port\"], \"worker\": [...]}");
    if (!json_is_object(cluster))
        return psc_seterr(err, PSC_ECONFIG,
                          "cluster is not an object: write it as "
                          "{\"ps\": [\"host:port\"], \"worker\": [...]}");
    int rc = s_parse_jobs(c, cluster, err);
    if (rc != 0 || c->sidecar)
        return rc;
    return s_check_cluster(c, err);
}

static int s_parse_type(tfc_t *c, const json_t *type, char *err)
{
    if (type == NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "task.type is missing: set it to one of " TFC_TYPES);
    if (!json_is_string(type))
        return psc_seterr(err, PSC_ECONFIG,
                          "task.type is not a string: use one of " TFC_TYPES);
    const char *s = json_string_value(type);
    for (size_t k = 0; k < TFC_NKEYS; k++) {
        if (strcmp(s, s_keys[k].key) == 0) {
            c->task_type = s_keys[k].key;
            c->task_role = s_keys[k].role;
            return 0;
        }
    }
    return psc_seterr(
        err, PSC_ECONFIG,
        "task.type '" TFC_QUOTE "' is unknown: use one of " TFC_TYPES, s);
}

/* Missing means 0, as in TensorFlow; range is checked against the cluster. */
static int s_parse_index(tfc_t *c, const json_t *index, char *err)
{
    long long v = 0;
    if (json_is_integer(index)) {
        v = json_integer_value(index);
    } else if (json_is_string(index)) {
        /* TensorFlow, TFJob and Vertex AI write a number; a string is a
         * hand-written TF_CONFIG's mistake, and is not coerced. */
        return psc_seterr(err, PSC_ECONFIG,
                          "task.index is the string \"%.20s\": write it as a "
                          "number without quotes, like 0",
                          json_string_value(index));
    } else if (index != NULL) {
        return psc_seterr(err, PSC_ECONFIG,
                          "task.index is not an integer: "
                          "write it as an integer like 0");
    }
    if (v < INT_MIN || v > INT_MAX)
        return psc_seterr(err, PSC_ECONFIG,
                          "task.index %lld is out of range: "
                          "use the task's position in its cluster list",
                          v);
    c->task_index = (int) v;
    return 0;
}

/* The task must name an entry of the cluster; the evaluator may be outside. */
static int s_check_task(const tfc_t *c, char *err)
{
    int n = c->jobs[c->task_role].n;
    int i = c->task_index;
    const char *key = s_job_key(c, c->task_role);
    if (c->task_role == TFC_CHIEF && n == 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "task.type is '%s' but the cluster has no chief: "
                          "add cluster.chief, or set task.type to 'worker'",
                          c->task_type);
    if (c->task_role == TFC_EVALUATOR && n == 0) {
        if (i < 0)
            return psc_seterr(err, PSC_ECONFIG,
                              "task.index %d is negative: use 0", i);
        return 0;
    }
    if (i < 0 || i >= n)
        return psc_seterr(err, PSC_ECONFIG,
                          "task.index %d is out of range: cluster.%s has %d "
                          "%s (0..%d)",
                          i, key, n, n == 1 ? "task" : "tasks", n - 1);
    return 0;
}

static int s_parse_task(tfc_t *c, const json_t *root, char *err)
{
    const json_t *task = json_object_get(root, "task");
    if (task == NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "task is missing: add \"task\": "
                          "{\"type\": \"worker\", \"index\": 0}");
    if (!json_is_object(task))
        return psc_seterr(err, PSC_ECONFIG,
                          "task is not an object: write it as "
                          "{\"type\": \"worker\", \"index\": 0}");
    int rc = s_parse_type(c, json_object_get(task, "type"), err);
    if (rc != 0)
        return rc;
    rc = s_parse_index(c, json_object_get(task, "index"), err);
    if (rc != 0)
        return rc;
    rc = s_check_task(c, err);
    if (rc != 0)
        return rc;
    snprintf(c->task_name, sizeof c->task_name, "%s:%d", c->task_type,
             c->task_index);
    return 0;
}

static json_t *s_load(const char *json, char *err)
{
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    if (root == NULL) {
        psc_seterr(err, PSC_ECONFIG,
                   "TF_CONFIG is not valid JSON (line %d, column %d: %.100s): "
                   "fix the JSON syntax",
                   jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        psc_seterr(err, PSC_ECONFIG,
                   "TF_CONFIG is not a JSON object: write it as "
                   "{\"cluster\": {...}, \"task\": {...}}");
        json_decref(root);
        return NULL;
    }
    return root;
}

tfc_t *tfc_new_from_json(const char *json, char *err)
{
    if (json == NULL) {
        psc_seterr(err, PSC_EINVAL, "TF_CONFIG text is NULL");
        return NULL;
    }
    json_t *root = s_load(json, err);
    if (root == NULL)
        return NULL;
    tfc_t *c = psc_xcalloc(1, sizeof *c);
    c->chief_key = "chief";
    int rc = s_parse_cluster(c, root, err);
    if (rc == 0)
        rc = s_parse_task(c, root, err);
    json_decref(root);
    if (rc != 0)
        tfc_destroy(&c);
    return c;
}

/* Returns the file's text, NUL-terminated (caller frees), or NULL. */
static char *s_read_file(const char *path, char *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        psc_seterr(err, PSC_EIO, "cannot read TF_CONFIG file '%.100s': %s",
                   path, strerror(errno));
        return NULL;
    }
    char *buf = psc_xmalloc(TFC_MAX_FILE + 1);
    size_t n = fread(buf, 1, TFC_MAX_FILE + 1, f);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        psc_seterr(err, PSC_EIO, "cannot read TF_CONFIG file '%.100s'", path);
        free(buf);
        return NULL;
    }
    if (n > TFC_MAX_FILE) {
        psc_seterr(err, PSC_ECONFIG,
                   "TF_CONFIG file '%.100s' is larger than 1 MiB: "
                   "pass the cluster spec JSON file",
                   path);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

tfc_t *tfc_new_from_env(const char *path, char *err)
{
    if (path != NULL) {
        char *text = s_read_file(path, err);
        if (text == NULL)
            return NULL;
        tfc_t *c = tfc_new_from_json(text, err);
        free(text);
        return c;
    }
    const char *env = getenv("TF_CONFIG");
    if (env == NULL || env[0] == '\0') {
        psc_seterr(err, PSC_ECONFIG,
                   "TF_CONFIG is not set: export TF_CONFIG='{...}' "
                   "or pass --tf-config FILE");
        return NULL;
    }
    return tfc_new_from_json(env, err);
}

void tfc_destroy(tfc_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    tfc_t *c = *p;
    for (int r = 0; r < TFC_NROLES; r++) {
        for (int i = 0; i < c->jobs[r].n; i++)
            free(c->jobs[r].addrs[i].host);
        free(c->jobs[r].addrs);
    }
    free(c);
    *p = NULL;
}

int tfc_count(const tfc_t *c, enum tfc_role r)
{
    if (c == NULL || (int) r < 0 || r >= TFC_NROLES)
        return 0;
    return c->jobs[r].n;
}

const char *tfc_host(const tfc_t *c, enum tfc_role r, int index)
{
    const struct tfc_addr *a = s_addr(c, r, index);
    return a == NULL ? NULL : a->host;
}

int tfc_port(const tfc_t *c, enum tfc_role r, int index)
{
    const struct tfc_addr *a = s_addr(c, r, index);
    return a == NULL ? -1 : a->port;
}

enum tfc_role tfc_task_role(const tfc_t *c)
{
    return c->task_role;
}

int tfc_task_index(const tfc_t *c)
{
    return c->task_index;
}

int tfc_has_chief(const tfc_t *c)
{
    return c->jobs[TFC_CHIEF].n > 0;
}

int tfc_is_acting_chief(const tfc_t *c)
{
    if (c->task_role == TFC_CHIEF)
        return 1;
    return !tfc_has_chief(c) && c->task_role == TFC_WORKER &&
           c->task_index == 0;
}

int tfc_is_sidecar(const tfc_t *c)
{
    return c->sidecar;
}

int tfc_check_binary(const tfc_t *c, enum tfc_role binary, char *err)
{
    if ((int) binary < 0 || binary >= TFC_NROLES)
        return psc_seterr(err, PSC_EINVAL, "binary role %d is unknown",
                          (int) binary);
    if (c->task_role == binary)
        return 0;
    return psc_seterr(err, PSC_ECONFIG,
                      "task.type is '%s' but this is psc-%s: start psc-%s "
                      "for a %s task, or set task.type to '%s'",
                      c->task_type, tfc_role_name(binary),
                      tfc_role_name(c->task_role), c->task_type,
                      tfc_role_name(binary));
}

const char *tfc_task_name(const tfc_t *c)
{
    return c->task_name;
}

void tfc_endpoint(const tfc_t *c, enum tfc_role r, int index, char *buf,
                  size_t len)
{
    if (buf == NULL || len == 0)
        return;
    buf[0] = '\0';
    const struct tfc_addr *a = s_addr(c, r, index);
    if (a == NULL)
        return;
    char addr[300];
    s_format_addr(a, addr, sizeof addr);
    snprintf(buf, len, "tcp://%s", addr);
}

/* The addresses of role r as a JSON array, or NULL with a line in err. */
static json_t *s_format_job(const struct tfc_spec *spec, enum tfc_role r,
                            char *err)
{
    json_t *addrs = json_array();
    for (int i = 0; i < spec->n[r]; i++) {
        const char *a = spec->addrs[r] != NULL ? spec->addrs[r][i] : NULL;
        json_t *s = a != NULL ? json_string(a) : NULL;
        if (s == NULL) {
            json_decref(addrs);
            psc_seterr(err, PSC_EINVAL,
                       "cannot format TF_CONFIG: the address of '%s:%d' is %s",
                       tfc_role_name(r), i,
                       a == NULL ? "missing" : "not UTF-8");
            return NULL;
        }
        json_array_append_new(addrs, s);
    }
    return addrs;
}

/* The "cluster" object of spec, or NULL with a line in err. */
static json_t *s_format_cluster(const struct tfc_spec *spec, char *err)
{
    json_t *cluster = json_object();
    for (int r = 0; r < TFC_NROLES; r++) {
        if (spec->n[r] < 0) {
            json_decref(cluster);
            psc_seterr(err, PSC_EINVAL,
                       "cannot format TF_CONFIG: %d tasks of '%s'", spec->n[r],
                       tfc_role_name((enum tfc_role) r));
            return NULL;
        }
        if (spec->n[r] == 0)
            continue;
        json_t *addrs = s_format_job(spec, (enum tfc_role) r, err);
        if (addrs == NULL) {
            json_decref(cluster);
            return NULL;
        }
        json_object_set_new(cluster, s_role_names[r], addrs);
    }
    return cluster;
}

char *tfc_format(const struct tfc_spec *spec, char *err)
{
    if ((int) spec->task_role < 0 || spec->task_role >= TFC_NROLES ||
        spec->task_index < 0) {
        psc_seterr(err, PSC_EINVAL,
                   "cannot format TF_CONFIG: no such task '%s:%d'",
                   tfc_role_name(spec->task_role), spec->task_index);
        return NULL;
    }
    json_t *cluster = s_format_cluster(spec, err);
    if (cluster == NULL)
        return NULL;
    json_t *task = json_object();
    json_object_set_new(task, "type",
                        json_string(s_role_names[spec->task_role]));
    json_object_set_new(task, "index", json_integer(spec->task_index));
    json_t *root = json_object();
    json_object_set_new(root, "cluster", cluster);
    json_object_set_new(root, "task", task);
    /* jansson allocates with malloc(): the caller's free() matches. */
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text == NULL)
        psc_seterr(err, PSC_EINVAL, "cannot format TF_CONFIG: out of memory");
    return text;
}

/* A growable string for tfc_describe(). */
struct s_text {
    char *buf;
    size_t len;
    size_t cap;
};

__attribute__((format(printf, 2, 3))) static void s_append(struct s_text *t,
                                                           const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (t->len + (size_t) n + 1 > t->cap) {
        t->cap = (t->len + (size_t) n + 1) * 2;
        t->buf = psc_xrealloc(t->buf, t->cap);
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t) n;
}

static void s_describe_jobs(const tfc_t *c, struct s_text *t)
{
    char addr[300];
    for (int r = 0; r < TFC_NROLES; r++) {
        const struct tfc_job *job = &c->jobs[r];
        if (job->n == 0)
            continue;
        s_append(t, "%s:", s_job_key(c, (enum tfc_role) r));
        for (int i = 0; i < job->n; i++) {
            s_format_addr(&job->addrs[i], addr, sizeof addr);
            s_append(t, " %s", addr);
        }
        s_append(t, "\n");
    }
}

char *tfc_describe(const tfc_t *c)
{
    struct s_text t = {psc_xmalloc(256), 0, 256};
    char addr[300];
    t.buf[0] = '\0';
    s_describe_jobs(c, &t);
    const struct tfc_addr *me = s_addr(c, c->task_role, c->task_index);
    if (me != NULL) {
        s_format_addr(me, addr, sizeof addr);
        s_append(&t, "this task: %s at %s\n", c->task_name, addr);
    } else {
        s_append(&t, "this task: %s (outside the cluster, no address)\n",
                 c->task_name);
    }
    if (c->sidecar)
        s_append(&t, "no ps: a sidecar evaluator of the checkpoints\n");
    else if (!tfc_has_chief(c))
        s_append(&t, "worker 0 also acts as chief\n");
    return t.buf;
}
