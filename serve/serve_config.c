/*
 * psc-serve's flags and the two text-format files TF Serving reads: a
 * small strict tokenizer for the protobuf text format's subset they use
 * (identifiers, braces, colons, quoted strings, integers, # comments) and
 * a recursive-descent parser per message. Unknown fields are refused, so a
 * typo never becomes a silently ignored setting.
 */
#include "serve_config.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_num.h"
#include "psc_opts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_DEFAULT_PORT      8501
#define S_DEFAULT_MAX_BYTES 16777216L
#define S_DEFAULT_IMAGES \
    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define S_MAX_FILE_BYTES (1L << 20)
#define S_BATCH_FLAG     "--enable_batching"

enum {
    OPT_MODEL_NAME = 256,
    OPT_BASE_PATH,
    OPT_CONFIG_FILE,
    OPT_PORT,
    OPT_THREADS,
    OPT_MAX_BYTES,
    OPT_POLL,
    OPT_CONFIG_POLL,
    OPT_ENABLE_BATCHING,
    OPT_BATCHING_FILE,
    OPT_MAX_BATCH,
    OPT_TIMEOUT,
    OPT_BATCH_THREADS,
    OPT_ENQUEUED,
    OPT_BATCH_IN,
    OPT_BATCH_OUT,
    OPT_STRICT,
    OPT_PAGE_IMAGES,
    OPT_TFJS,
    OPT_HELP,
};

static const struct psc_opt s_opts[] = {
    {"model_name", OPT_MODEL_NAME, "NAME",
     "the model's name in request URLs (with --model_base_path)"},
    {"model_base_path", OPT_BASE_PATH, "DIR",
     "the folder of the model's numbered versions (0001, 0002, ...)"},
    {"model_config_file", OPT_CONFIG_FILE, "FILE",
     "TF Serving's text-format ModelServerConfig, for several models, "
     "version policies and labels"},
    {"rest_api_port", OPT_PORT, "PORT",
     "the HTTP port (default 8501; 0: any free port)"},
    {"rest_api_num_threads", OPT_THREADS, "N",
     "HTTP threads (default 0: one per core)"},
    {"max_request_bytes", OPT_MAX_BYTES, "N",
     "larger request bodies get 413 (default 16777216)"},
    {"file_system_poll_wait_seconds", OPT_POLL, "S",
     "seconds between polls of the base paths for new versions (default 1)"},
    {"model_config_file_poll_wait_seconds", OPT_CONFIG_POLL, "S",
     "seconds between reads of --model_config_file for new labels and "
     "version policies (default 0: read once)"},
    {"enable_batching", OPT_ENABLE_BATCHING, NULL,
     "batch concurrent requests (also --enable_batching=true|false)"},
    {"batching_parameters_file", OPT_BATCHING_FILE, "FILE",
     "TF Serving's text-format BatchingParameters"},
    {"max_batch_size", OPT_MAX_BATCH, "N", "rows per batch (default 32)"},
    {"batch_timeout_micros", OPT_TIMEOUT, "US",
     "how long a batch waits to fill (default 1000)"},
    {"num_batch_threads", OPT_BATCH_THREADS, "N",
     "threads running batches (default: one per core)"},
    {"max_enqueued_batches", OPT_ENQUEUED, "N",
     "batches queued before requests get 503 (default 100)"},
    {"batch", OPT_BATCH_IN, "IN.jsonl",
     "batch prediction instead of a server: one instance a line"},
    {"out", OPT_BATCH_OUT, "OUT.jsonl", "with --batch: the predictions"},
    {"strict", OPT_STRICT, NULL,
     "with --batch: a malformed line fails the run"},
    {"page_images", OPT_PAGE_IMAGES, "IDX",
     "the images the page at / shows (an IDX file, may be gzipped)"},
    {"tfjs_script", OPT_TFJS, "PATH",
     "tf.min.js, served to the page (default: none)"},
    {"help", OPT_HELP, NULL, "show this help"},
};

#define NOPTS (sizeof s_opts / sizeof s_opts[0])

/* The direct batching flags, applied over a --batching_parameters_file. */
struct s_flags {
    const char *name;
    const char *base_path;
    const char *batching_file;
    const char *batch_value[4];
};

/* ---- the text format's tokens -------------------------------------- */

enum s_kind { T_EOF = 0, T_IDENT, T_STR, T_INT, T_LBRACE, T_RBRACE, T_COLON };

struct s_tok {
    enum s_kind kind;
    int line;
    long num;
    char text[PATH_MAX];
};

struct s_parser {
    const char *file;
    const char *what; /* "config" or "batching parameters" */
    const char *p;
    int line;
    char *err;
    struct s_tok tok; /* the current token */
};

static int s_fail(struct s_parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One line for the current token: "FILE:LINE: message". */
static int s_fail(struct s_parser *ps, const char *fmt, ...)
{
    char msg[PSC_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return psc_seterr(ps->err, PSC_ECONFIG, "%s:%d: %s", ps->file, ps->tok.line,
                      msg);
}

static void s_skip_blank(struct s_parser *ps)
{
    for (;;) {
        if (*ps->p == '\n')
            ps->line++;
        if (isspace((unsigned char) *ps->p) || *ps->p == ',' || *ps->p == ';') {
            ps->p++;
        } else if (*ps->p == '#') {
            ps->p += strcspn(ps->p, "\n");
        } else {
            return;
        }
    }
}

static int s_lex_string(struct s_parser *ps)
{
    char quote = *ps->p++;
    size_t n = 0;
    while (*ps->p != quote) {
        char c = *ps->p;
        if (c == '\0' || c == '\n')
            return s_fail(ps, "unterminated string; close it with %s",
                          quote == '"' ? "\"" : "'");
        if (c == '\\') {
            ps->p++;
            c = *ps->p;
            if (c != '\\' && c != '\'' && c != '"')
                return s_fail(ps, "unsupported escape '\\%.1s' in a string",
                              ps->p);
        }
        if (n + 1 >= sizeof ps->tok.text)
            return s_fail(ps, "string too long");
        ps->tok.text[n++] = c;
        ps->p++;
    }
    ps->p++;
    ps->tok.text[n] = '\0';
    ps->tok.kind = T_STR;
    return 0;
}

static int s_lex_word(struct s_parser *ps, int number)
{
    size_t n = 0;
    while (isalnum((unsigned char) ps->p[n]) || ps->p[n] == '_' ||
           (number && n == 0 && ps->p[n] == '-'))
        n++;
    if (n >= sizeof ps->tok.text)
        return s_fail(ps, "word too long");
    memcpy(ps->tok.text, ps->p, n);
    ps->tok.text[n] = '\0';
    ps->p += n;
    if (!number) {
        ps->tok.kind = T_IDENT;
        return 0;
    }
    ps->tok.kind = T_INT;
    if (psc_num_long(ps->tok.text, -(1L << 62), 1L << 62, &ps->tok.num) != 0)
        return s_fail(ps, "'%s' is not an integer", ps->tok.text);
    return 0;
}

/* Reads the next token into ps->tok. */
static int s_next(struct s_parser *ps)
{
    s_skip_blank(ps);
    ps->tok.line = ps->line;
    ps->tok.text[0] = '\0';
    char c = *ps->p;
    if (c == '\0') {
        ps->tok.kind = T_EOF;
        return 0;
    }
    if (c == '{' || c == '}' || c == ':') {
        ps->tok.kind = c == '{' ? T_LBRACE : c == '}' ? T_RBRACE : T_COLON;
        ps->tok.text[0] = c;
        ps->tok.text[1] = '\0';
        ps->p++;
        return 0;
    }
    if (c == '\'' || c == '"')
        return s_lex_string(ps);
    if (isdigit((unsigned char) c) || c == '-')
        return s_lex_word(ps, 1);
    if (isalpha((unsigned char) c) || c == '_')
        return s_lex_word(ps, 0);
    char s[2] = {c, '\0'};
    return s_fail(ps, "unexpected '%s'", s);
}

/* After a field name: `{` (or `: {`), the start of a message. */
static int s_open(struct s_parser *ps, const char *field)
{
    int rc = s_next(ps);
    if (rc == 0 && ps->tok.kind == T_COLON)
        rc = s_next(ps);
    if (rc != 0)
        return rc;
    if (ps->tok.kind != T_LBRACE)
        return s_fail(ps, "expected '{' after '%s'", field);
    return 0;
}

/* After a field name: `: VALUE` of kind (T_STR or T_INT). */
static int s_scalar(struct s_parser *ps, const char *field, enum s_kind kind)
{
    int rc = s_next(ps);
    if (rc != 0)
        return rc;
    if (ps->tok.kind != T_COLON)
        return s_fail(ps, "expected ':' after '%s'", field);
    rc = s_next(ps);
    if (rc != 0)
        return rc;
    if (ps->tok.kind != kind)
        return s_fail(ps, "'%s' needs %s", field,
                      kind == T_STR ? "a quoted string" : "an integer");
    return 0;
}

/*
 * The next field of a message: returns 1 with its name in ps->tok, 0 at
 * the message's closing brace (or the end of the file when top is set),
 * or a PSC_E* code.
 */
static int s_field(struct s_parser *ps, int top)
{
    int rc = s_next(ps);
    if (rc != 0)
        return rc;
    if (ps->tok.kind == T_IDENT)
        return 1;
    if (top && ps->tok.kind == T_EOF)
        return 0;
    if (!top && ps->tok.kind == T_RBRACE)
        return 0;
    if (ps->tok.kind == T_EOF)
        return s_fail(ps, "unexpected end of file; a '}' is missing");
    return s_fail(ps, "expected a field name, found '%s'", ps->tok.text);
}

static int s_unknown(struct s_parser *ps, const char *known)
{
    return s_fail(ps, "unknown field '%s' in %s; expected %s", ps->tok.text,
                  ps->what, known);
}

static int s_read_file(const char *path, char **out, char *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return psc_seterr(err, PSC_ECONFIG, "cannot open '%s': %s", path,
                          strerror(errno));
    char *buf = psc_xmalloc((size_t) S_MAX_FILE_BYTES + 1);
    size_t n = fread(buf, 1, (size_t) S_MAX_FILE_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > (size_t) S_MAX_FILE_BYTES || memchr(buf, '\0', n)) {
        free(buf);
        return psc_seterr(err, PSC_ECONFIG,
                          "cannot read '%s': not a text file of at most "
                          "1 MiB",
                          path);
    }
    buf[n] = '\0';
    *out = buf;
    return 0;
}

/* ---- ModelServerConfig --------------------------------------------- */

static int s_name_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n < SERVE_NAME_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_.-") == n;
}

static int s_parse_versions(struct s_parser *ps, struct serve_model_config *m)
{
    int rc;
    while ((rc = s_field(ps, 0)) == 1) {
        if (strcmp(ps->tok.text, "versions") != 0)
            return s_unknown(ps, "versions");
        rc = s_scalar(ps, "versions", T_INT);
        if (rc != 0)
            return rc;
        if (ps->tok.num < 0)
            return s_fail(ps,
                          "versions: %s is negative; versions are 0 or "
                          "more",
                          ps->tok.text);
        if (m->nversions == SERVE_MAX_VERSIONS)
            return s_fail(ps, "more than 64 versions; list fewer");
        m->versions[m->nversions++] = ps->tok.num;
    }
    if (rc == 0 && m->nversions == 0)
        return s_fail(ps, "specific lists no versions; add versions: N");
    return rc;
}

static int s_parse_latest(struct s_parser *ps, struct serve_model_config *m)
{
    int rc;
    while ((rc = s_field(ps, 0)) == 1) {
        if (strcmp(ps->tok.text, "num_versions") != 0)
            return s_unknown(ps, "num_versions");
        rc = s_scalar(ps, "num_versions", T_INT);
        if (rc != 0)
            return rc;
        if (ps->tok.num < 1 || ps->tok.num > SERVE_MAX_VERSIONS)
            return s_fail(ps, "num_versions: %s is not from 1 to 64",
                          ps->tok.text);
        m->num_versions = (int) ps->tok.num;
    }
    return rc;
}

static int s_parse_policy(struct s_parser *ps, struct serve_model_config *m)
{
    static const char *const kinds[3] = {"latest", "all", "specific"};
    int rc;
    int n = 0;
    while ((rc = s_field(ps, 0)) == 1) {
        int k = 0;
        while (k < 3 && strcmp(ps->tok.text, kinds[k]) != 0)
            k++;
        if (k == 3)
            return s_unknown(ps, "latest, all or specific");
        if (n++ > 0)
            return s_fail(ps,
                          "'%s': a version policy has one of latest, "
                          "all or specific",
                          kinds[k]);
        rc = s_open(ps, kinds[k]);
        if (rc != 0)
            return rc;
        m->policy = (enum serve_policy) k;
        if (k == SERVE_LATEST) {
            rc = s_parse_latest(ps, m);
        } else if (k == SERVE_SPECIFIC) {
            rc = s_parse_versions(ps, m);
        } else {
            rc = s_field(ps, 0);
            if (rc == 1)
                rc = s_unknown(ps, "nothing ('all {}')");
        }
        if (rc != 0)
            return rc;
    }
    return rc;
}

static int s_parse_label(struct s_parser *ps, struct serve_model_config *m)
{
    if (m->nlabels == SERVE_MAX_LABELS)
        return s_fail(ps, "more than 16 version_labels; use fewer");
    struct serve_label *l = &m->labels[m->nlabels];
    int have_key = 0;
    int have_value = 0;
    int rc;
    while ((rc = s_field(ps, 0)) == 1) {
        if (strcmp(ps->tok.text, "key") == 0) {
            rc = s_scalar(ps, "key", T_STR);
            if (rc == 0 && !s_name_ok(ps->tok.text))
                rc = s_fail(ps,
                            "label '%s' is not a name of letters, "
                            "digits, '_', '.' and '-'",
                            ps->tok.text);
            if (rc == 0)
                memcpy(l->label, ps->tok.text, strlen(ps->tok.text) + 1);
            have_key = 1;
        } else if (strcmp(ps->tok.text, "value") == 0) {
            rc = s_scalar(ps, "value", T_INT);
            if (rc == 0 && ps->tok.num < 0)
                rc = s_fail(ps, "label value %s is negative", ps->tok.text);
            l->version = ps->tok.num;
            have_value = 1;
        } else {
            rc = s_unknown(ps, "key or value");
        }
        if (rc != 0)
            return rc;
    }
    if (rc == 0 && (!have_key || !have_value))
        return s_fail(ps, "version_labels needs a key: 'LABEL' and a "
                          "value: VERSION");
    for (int i = 0; rc == 0 && i < m->nlabels; i++) {
        if (strcmp(m->labels[i].label, l->label) == 0)
            return s_fail(ps,
                          "label '%s' given twice; give each label "
                          "once",
                          l->label);
    }
    if (rc == 0)
        m->nlabels++;
    return rc;
}

static int s_string_field(struct s_parser *ps, const char *field, char *out,
                          size_t size)
{
    int rc = s_scalar(ps, field, T_STR);
    if (rc != 0)
        return rc;
    if (strlen(ps->tok.text) >= size)
        return s_fail(ps, "'%s' is too long", field);
    memcpy(out, ps->tok.text, strlen(ps->tok.text) + 1);
    return 0;
}

static int s_parse_model_field(struct s_parser *ps,
                               struct serve_model_config *m)
{
    const char *f = ps->tok.text;
    if (strcmp(f, "name") == 0) {
        int rc = s_string_field(ps, "name", m->name, sizeof m->name);
        if (rc == 0 && !s_name_ok(m->name))
            rc = s_fail(ps,
                        "model name '%s' is not a name of letters, "
                        "digits, '_', '.' and '-'",
                        ps->tok.text);
        return rc;
    }
    if (strcmp(f, "base_path") == 0)
        return s_string_field(ps, "base_path", m->base_path,
                              sizeof m->base_path);
    if (strcmp(f, "model_platform") == 0) {
        int rc = s_scalar(ps, "model_platform", T_STR);
        if (rc == 0 && strcmp(ps->tok.text, "tensorflow") != 0)
            rc = s_fail(ps,
                        "model_platform '%s' is not served; use "
                        "'tensorflow'",
                        ps->tok.text);
        return rc;
    }
    if (strcmp(f, "model_version_policy") == 0) {
        int rc = s_open(ps, "model_version_policy");
        return rc != 0 ? rc : s_parse_policy(ps, m);
    }
    if (strcmp(f, "version_labels") == 0) {
        int rc = s_open(ps, "version_labels");
        return rc != 0 ? rc : s_parse_label(ps, m);
    }
    return s_unknown(ps, "name, base_path, model_platform, "
                         "model_version_policy or version_labels");
}

/* The checks a whole model's config needs; line is its closing brace's. */
static int s_check_model(struct s_parser *ps, const struct serve_config *c,
                         const struct serve_model_config *m)
{
    if (m->name[0] == '\0')
        return s_fail(ps, "a config has no name; add name: 'NAME'");
    if (m->base_path[0] == '\0')
        return s_fail(ps,
                      "model '%s' has no base_path; add base_path: "
                      "'DIR'",
                      m->name);
    for (int i = 0; i < c->nmodels; i++) {
        if (strcmp(c->models[i].name, m->name) == 0)
            return s_fail(ps,
                          "model '%s' is configured twice; give each "
                          "name once",
                          m->name);
    }
    for (int i = 0; i < m->nlabels; i++) {
        const struct serve_label *l = &m->labels[i];
        if (m->policy == SERVE_LATEST)
            return s_fail(ps,
                          "label '%s' of '%s' needs a specific or all "
                          "model_version_policy",
                          l->label, m->name);
        int found = m->policy == SERVE_ALL;
        for (int v = 0; v < m->nversions; v++)
            found |= m->versions[v] == l->version;
        if (!found)
            return s_fail(ps,
                          "label '%s' of '%s' points at version %ld, "
                          "which the specific policy does not list",
                          l->label, m->name, l->version);
    }
    return 0;
}

static int s_parse_model(struct s_parser *ps, struct serve_config *c)
{
    if (c->nmodels == SERVE_MAX_MODELS)
        return s_fail(ps, "more than 16 models; serve fewer");
    struct serve_model_config *m = &c->models[c->nmodels];
    memset(m, 0, sizeof *m);
    m->policy = SERVE_LATEST;
    m->num_versions = 1;
    int rc;
    while ((rc = s_field(ps, 0)) == 1) {
        rc = s_parse_model_field(ps, m);
        if (rc != 0)
            return rc;
    }
    if (rc == 0)
        rc = s_check_model(ps, c, m);
    if (rc == 0)
        c->nmodels++;
    return rc;
}

static int s_parse_model_list(struct s_parser *ps, struct serve_config *c)
{
    int rc;
    while ((rc = s_field(ps, 0)) == 1) {
        if (strcmp(ps->tok.text, "config") != 0)
            return s_unknown(ps, "config");
        rc = s_open(ps, "config");
        if (rc == 0)
            rc = s_parse_model(ps, c);
        if (rc != 0)
            return rc;
    }
    return rc;
}

static int s_parse_model_config(struct serve_config *c, const char *path,
                                char *err)
{
    char *text = NULL;
    int rc = s_read_file(path, &text, err);
    if (rc != 0)
        return rc;
    struct s_parser ps = {
        .file = path, .what = "config", .p = text, .line = 1, .err = err};
    while ((rc = s_field(&ps, 1)) == 1) {
        if (strcmp(ps.tok.text, "model_config_list") != 0) {
            rc = s_unknown(&ps, "model_config_list");
            break;
        }
        rc = s_open(&ps, "model_config_list");
        if (rc == 0)
            rc = s_parse_model_list(&ps, c);
        if (rc != 0)
            break;
    }
    if (rc == 0 && c->nmodels == 0)
        rc = psc_seterr(err, PSC_ECONFIG,
                        "%s: no models; add model_config_list { config { "
                        "name: 'NAME' base_path: 'DIR' } }",
                        path);
    free(text);
    return rc;
}

int serve_config_read_models(const char *path, struct serve_config *into,
                             char *err)
{
    into->nmodels = 0;
    memset(into->models, 0, sizeof into->models);
    return s_parse_model_config(into, path, err);
}

/* ---- BatchingParameters -------------------------------------------- */

static const char *const s_batch_fields[4] = {
    "max_batch_size", "batch_timeout_micros", "num_batch_threads",
    "max_enqueued_batches"};

static long *s_batch_slot(struct serve_batching *b, int i)
{
    switch (i) {
    case 0:
        return &b->max_batch_size;
    case 1:
        return &b->batch_timeout_micros;
    case 2:
        return &b->num_batch_threads;
    default:
        return &b->max_enqueued_batches;
    }
}

/* The smallest value each batching parameter takes. */
static long s_batch_min(int i)
{
    return i == 1 ? 0 : 1;
}

static int s_parse_wrapper(struct s_parser *ps, int i, long *out)
{
    const char *field = s_batch_fields[i];
    int rc = s_open(ps, field);
    int have = 0;
    while (rc == 0 && (rc = s_field(ps, 0)) == 1) {
        if (strcmp(ps->tok.text, "value") != 0)
            return s_unknown(ps, "value");
        rc = s_scalar(ps, "value", T_INT);
        if (rc == 0 && ps->tok.num < s_batch_min(i))
            rc =
                s_fail(ps, "%s must be at least %s", field, i == 1 ? "0" : "1");
        *out = ps->tok.num;
        have = 1;
    }
    if (rc == 0 && !have)
        return s_fail(ps, "%s needs { value: N }", field);
    return rc;
}

static int s_parse_batching(struct serve_batching *b, const char *path,
                            char *err)
{
    char *text = NULL;
    int rc = s_read_file(path, &text, err);
    if (rc != 0)
        return rc;
    struct s_parser ps = {.file = path,
                          .what = "batching parameters",
                          .p = text,
                          .line = 1,
                          .err = err};
    while ((rc = s_field(&ps, 1)) == 1) {
        int i = 0;
        while (i < 4 && strcmp(ps.tok.text, s_batch_fields[i]) != 0)
            i++;
        if (i == 4) {
            rc = s_unknown(&ps, "max_batch_size, batch_timeout_micros, "
                                "num_batch_threads or max_enqueued_batches");
            break;
        }
        rc = s_parse_wrapper(&ps, i, s_batch_slot(b, i));
        if (rc != 0)
            break;
    }
    free(text);
    return rc;
}

/* ---- flags --------------------------------------------------------- */

static void s_defaults(struct serve_config *c)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(c, 0, sizeof *c);
    c->rest_api_port = S_DEFAULT_PORT;
    c->max_request_bytes = S_DEFAULT_MAX_BYTES;
    c->poll_wait_s = 1.0;
    c->batching.max_batch_size = 32;
    c->batching.batch_timeout_micros = 1000;
    c->batching.num_batch_threads = cores > 0 ? cores : 1;
    c->batching.max_enqueued_batches = 100;
    snprintf(c->page_images, sizeof c->page_images, "%s", S_DEFAULT_IMAGES);
}

static int s_path(char *out, const char *arg, const char *flag, char *err)
{
    if (arg[0] == '\0' || strlen(arg) >= PATH_MAX)
        return psc_seterr(err, PSC_ECONFIG,
                          "--%s: give a path of 1 to %d bytes", flag,
                          PATH_MAX - 1);
    memcpy(out, arg, strlen(arg) + 1);
    return 0;
}

static int s_number(const char *arg, const char *flag, long min, long max,
                    long *out, char *err)
{
    if (psc_num_long(arg, min, max, out) != 0)
        return psc_seterr(err, PSC_ECONFIG,
                          "--%s: '%s' is not a whole number from %ld to %ld",
                          flag, arg, min, max);
    return 0;
}

static int s_take_number(struct serve_config *c, int id, const char *arg,
                         char *err)
{
    long v = 0;
    int rc = 0;
    switch (id) {
    case OPT_PORT:
        rc = s_number(arg, "rest_api_port", 0, 65535, &v, err);
        c->rest_api_port = (int) v;
        break;
    case OPT_THREADS:
        rc = s_number(arg, "rest_api_num_threads", 0, 1024, &v, err);
        c->rest_api_num_threads = (int) v;
        break;
    case OPT_MAX_BYTES:
        rc = s_number(arg, "max_request_bytes", 1, 1L << 31, &v, err);
        c->max_request_bytes = v;
        break;
    case OPT_CONFIG_POLL:
        if (psc_num_double(arg, 0.0, 86400.0, &c->config_poll_wait_s) != 0)
            rc = psc_seterr(err, PSC_ECONFIG,
                            "--model_config_file_poll_wait_seconds: '%s' is "
                            "not a number of seconds from 0 to 86400",
                            arg);
        break;
    default:
        if (psc_num_double(arg, 0.0, 86400.0, &c->poll_wait_s) != 0 ||
            !(c->poll_wait_s > 0.0))
            rc = psc_seterr(err, PSC_ECONFIG,
                            "--file_system_poll_wait_seconds: '%s' is not "
                            "a number of seconds above 0 (at most 86400)",
                            arg);
        break;
    }
    return rc;
}

static int s_take(struct serve_config *c, struct s_flags *fl, int id,
                  const char *arg, char *err)
{
    switch (id) {
    case OPT_MODEL_NAME:
        fl->name = arg;
        return 0;
    case OPT_BASE_PATH:
        fl->base_path = arg;
        return 0;
    case OPT_CONFIG_FILE:
        return s_path(c->model_config_file, arg, "model_config_file", err);
    case OPT_ENABLE_BATCHING:
        c->batching.enabled = 1;
        return 0;
    case OPT_BATCHING_FILE:
        fl->batching_file = arg;
        return 0;
    case OPT_MAX_BATCH:
    case OPT_TIMEOUT:
    case OPT_BATCH_THREADS:
    case OPT_ENQUEUED:
        fl->batch_value[id - OPT_MAX_BATCH] = arg;
        return 0;
    case OPT_BATCH_IN:
        return s_path(c->batch_in, arg, "batch", err);
    case OPT_BATCH_OUT:
        return s_path(c->batch_out, arg, "out", err);
    case OPT_STRICT:
        c->strict = 1;
        return 0;
    case OPT_PAGE_IMAGES:
        return s_path(c->page_images, arg, "page_images", err);
    case OPT_TFJS:
        return s_path(c->tfjs_script, arg, "tfjs_script", err);
    case OPT_HELP:
        c->help = 1;
        return 0;
    default:
        return s_take_number(c, id, arg, err);
    }
}

/*
 * getopt_long cannot take a value for a flag that works without one, so
 * --enable_batching[=true|false] is read here, in argv's order (the last
 * one wins), and left out of words.
 */
static int s_bool_flags(struct serve_config *c, int argc, char **argv,
                        char **words, int *nwords, char *err)
{
    size_t len = strlen(S_BATCH_FLAG);
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                words[n++] = argv[i++];
            break;
        }
        if (i == 0 || strncmp(a, S_BATCH_FLAG, len) != 0 ||
            (a[len] != '=' && a[len] != '\0')) {
            words[n++] = argv[i];
            continue;
        }
        if (a[len] == '\0' || strcmp(a + len + 1, "true") == 0)
            c->batching.enabled = 1;
        else if (strcmp(a + len + 1, "false") == 0)
            c->batching.enabled = 0;
        else
            return psc_seterr(err, PSC_ECONFIG,
                              "--enable_batching: '%s' is not true or false",
                              a + len + 1);
    }
    words[n] = NULL;
    *nwords = n;
    return 0;
}

static int s_one_model(struct serve_config *c, const struct s_flags *fl,
                       char *err)
{
    int flags = fl->name != NULL || fl->base_path != NULL;
    if (flags && c->model_config_file[0] != '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "--model_config_file: give it or --model_name "
                          "with --model_base_path, not both");
    if (!flags && c->model_config_file[0] != '\0')
        return s_parse_model_config(c, c->model_config_file, err);
    if (fl->name == NULL || fl->base_path == NULL)
        return psc_seterr(err, PSC_ECONFIG,
                          "no model: give --model_name NAME with "
                          "--model_base_path DIR, or --model_config_file "
                          "FILE");
    struct serve_model_config *m = &c->models[0];
    if (!s_name_ok(fl->name))
        return psc_seterr(err, PSC_ECONFIG,
                          "--model_name: '%s' is not a name of 1 to %d "
                          "letters, digits, '_', '.' and '-'",
                          fl->name, SERVE_NAME_LEN - 1);
    int rc = s_path(m->base_path, fl->base_path, "model_base_path", err);
    if (rc != 0)
        return rc;
    snprintf(m->name, sizeof m->name, "%s", fl->name);
    m->policy = SERVE_LATEST;
    m->num_versions = 1;
    c->nmodels = 1;
    return 0;
}

static int s_batching(struct serve_config *c, const struct s_flags *fl,
                      char *err)
{
    if (fl->batching_file != NULL) {
        int rc = s_parse_batching(&c->batching, fl->batching_file, err);
        if (rc != 0)
            return rc;
    }
    for (int i = 0; i < 4; i++) {
        if (fl->batch_value[i] == NULL)
            continue;
        int rc = s_number(fl->batch_value[i], s_batch_fields[i], s_batch_min(i),
                          1L << 31, s_batch_slot(&c->batching, i), err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int s_check(struct serve_config *c, char *err)
{
    if ((c->batch_in[0] != '\0') != (c->batch_out[0] != '\0'))
        return psc_seterr(err, PSC_ECONFIG,
                          "--batch and --out go together: give both, or "
                          "neither to serve");
    if (c->strict && c->batch_in[0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "--strict: only with --batch IN --out OUT");
    if (c->config_poll_wait_s > 0 && c->model_config_file[0] == '\0')
        return psc_seterr(err, PSC_ECONFIG,
                          "--model_config_file_poll_wait_seconds: only with "
                          "--model_config_file FILE");
    return 0;
}

int serve_config_parse(struct serve_config *c, int argc, char **argv, char *err)
{
    s_defaults(c);
    char **words = psc_xcalloc((size_t) argc + 1, sizeof *words);
    int nwords = 0;
    int rc = s_bool_flags(c, argc, argv, words, &nwords, err);
    struct s_flags fl = {0};
    struct psc_opts p;
    psc_opts_begin(&p, s_opts, NOPTS, nwords, words);
    int id = 0;
    while (rc == 0 && (id = psc_opts_next(&p, err)) > 0)
        rc = s_take(c, &fl, id, p.arg, err);
    if (rc == 0 && id < 0)
        rc = PSC_ECONFIG;
    const char *extra = rc == 0 ? psc_opts_operand(&p) : NULL;
    if (extra != NULL && !c->help)
        rc = psc_seterr(err, PSC_ECONFIG,
                        "unexpected argument '%s'; flags start with --", extra);
    free(words);
    if (rc != 0 || c->help)
        return rc;
    rc = s_one_model(c, &fl, err);
    if (rc == 0)
        rc = s_batching(c, &fl, err);
    if (rc == 0)
        rc = s_check(c, err);
    return rc;
}

void serve_config_usage(FILE *f)
{
    fprintf(f, "usage: psc-serve --model_name NAME --model_base_path DIR "
               "[options]\n"
               "       psc-serve --model_config_file FILE [options]\n"
               "       psc-serve ... --batch IN.jsonl --out OUT.jsonl "
               "[--strict]\n"
               "Serve exported psc models with TensorFlow Serving's REST "
               "API, or run a batch\nprediction.\n\noptions:\n");
    psc_opts_usage(f, s_opts, NOPTS);
    fprintf(f, "\nexit status: 0, 1 on a failure while running, 2 for bad "
               "usage or configuration\n");
}

const struct serve_model_config *
serve_config_model(const struct serve_config *c, const char *name)
{
    for (int i = 0; i < c->nmodels; i++) {
        if (strcmp(c->models[i].name, name) == 0)
            return &c->models[i];
    }
    return NULL;
}
