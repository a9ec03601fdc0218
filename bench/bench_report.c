/*
 * The table and the JSON.
 */
#include "bench_report.h"

#include "psc_alloc.h"
#include "psc_err.h"
#include "psc_json.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct bench_report {
    struct bench_rec *recs;
    size_t n;
    size_t cap;
    int header_done;
};

bench_report_t *bench_report_new(void)
{
    return psc_xcalloc(1, sizeof(bench_report_t));
}

void bench_report_destroy(bench_report_t **p)
{
    if (p == NULL || *p == NULL)
        return;
    free((*p)->recs);
    free(*p);
    *p = NULL;
}

double bench_report_gbps(const struct bench_stat *st)
{
    return st->med * (st->bytes_out + st->bytes_back) / 1e9;
}

static double s_ratio(const struct bench_rec *r)
{
    if (!r->has_raw || r->raw.med <= 0)
        return 0;
    return r->psc.med / r->raw.med;
}

static double s_spread(const struct bench_stat *st)
{
    return st->med > 0 ? 100.0 * (st->max - st->min) / st->med : 0;
}

static void s_size_text(size_t bytes, char *out, size_t len)
{
    if (bytes == 0)
        snprintf(out, len, "-");
    else if (bytes % (1024 * 1024) == 0)
        snprintf(out, len, "%zuM", bytes / (1024 * 1024));
    else if (bytes % 1024 == 0)
        snprintf(out, len, "%zuK", bytes / 1024);
    else
        snprintf(out, len, "%zu", bytes);
}

static void s_header(FILE *out)
{
    fprintf(out,
            "%-16s %5s %6s %3s %-7s %2s %2s %-4s %-3s %-13s %10s %6s %7s "
            "%7s %6s %s\n",
            "op", "bytes", "keys", "w", "dist", "ps", "cl", "net", "dt",
            "variant", "rt/s", "sprd%", "GB/s", "rawGB/s", "ratio", "target");
}

static void s_line(const struct bench_rec *r, FILE *out)
{
    char size[24];
    char target[80] = "";
    s_size_text(r->bytes, size, sizeof size);
    if (strcmp(r->op, "optimizer") == 0) {
        fprintf(out,
                "%-16s %5s %6s %3s %-7s %2s %2s %-4s %-3s %-13s %10.0f "
                "updates/s, %.3f ns/param, %.1f GB/s touched\n",
                r->op, size, "-", "-", "-", "-", "-", "-", "f32", r->variant,
                r->value, r->value2, r->compare);
        return;
    }
    if (strcmp(r->op, "memory") == 0) {
        if (r->target > 0)
            snprintf(target, sizeof target, "target <= %.2f %s", r->target,
                     r->value <= r->target ? "met" : "MISSED");
        fprintf(out,
                "%-16s %5s %6s %3s %-7s %2d %2s %-4s %-3s %-13s "
                "%.3f bytes/param resident (peak %.3f) %s\n",
                r->op, "-", "-", "-", "-", r->ps, "-", "-", "f32", r->variant,
                r->value, r->value2, target);
        return;
    }
    if (strcmp(r->op, "sparse_memory") == 0) {
        if (r->target > 0)
            snprintf(target, sizeof target, "target <= %.1f %s", r->target,
                     r->value <= r->target ? "met" : "MISSED");
        fprintf(out,
                "%-16s %5s %6s %3zu %-7s %2d %2s %-4s %-3s %-13s "
                "%.1f bytes/row resident (%.1f with the empty ps's %.0f "
                "MiB; table %.1f; peak %.1f), %.2fM rows/s created %s\n",
                r->op, "-", "-", r->width, "-", r->ps, "-", "tcp", "f32",
                r->variant, r->value,
                r->value + (double) r->bytes / (double) r->keys,
                (double) r->bytes / (1 << 20), r->compare, r->value2,
                r->compare_raw / 1e6, target);
        return;
    }
    if (strcmp(r->op, "ckpt_slowdown") == 0) {
        double ratio = r->value2 > 0 ? r->value / r->value2 : 0;
        if (r->target > 0)
            snprintf(target, sizeof target, "target >= %.2f %s", r->target,
                     ratio >= r->target ? "met" : "MISSED");
        fprintf(out,
                "%-16s %5s %6s %3s %-7s %2d %2s %-4s %-3s %-13s "
                "%.3f rounds/s with a checkpoint every %.0f s (%.0f taken), "
                "%.3f without, ratio %.3f %s\n",
                r->op, size, "-", "-", "-", r->ps, "1", "tcp", "f32",
                r->variant, r->value, r->compare, r->compare_raw, r->value2,
                ratio, target);
        return;
    }
    if (strncmp(r->op, "ckpt_", 5) == 0) {
        double ratio = r->value2 > 0 ? r->value / r->value2 : 0;
        if (r->target > 0)
            snprintf(target, sizeof target, "target >= %.2f x dd %s", r->target,
                     ratio >= r->target ? "met" : "MISSED");
        fprintf(out,
                "%-16s %5s %6s %3s %-7s %2d %2s %-4s %-3s %-13s "
                "%.3f GB/s, dd %.3f GB/s, ratio %.2f %s\n",
                r->op, size, "-", "-", "-", r->ps, "-", "disk", "f32",
                r->variant, r->value, r->value2, ratio, target);
        return;
    }
    double ratio = s_ratio(r);
    if (r->target > 0 && strcmp(r->target_what, "ratio") == 0)
        snprintf(target, sizeof target, ">= %.1f %s", r->target,
                 ratio >= r->target ? "met" : "MISSED");
    if (r->compare > 0 && r->compare_raw > 0)
        snprintf(target, sizeof target, "time %.2f x %s (raw %.2f)%s",
                 r->compare, r->compare_to, r->compare_raw,
                 r->target > 0 ? (r->compare <= r->target ? " <= 0.6 met"
                                                          : " <= 0.6 MISSED")
                               : "");
    else if (r->compare > 0)
        snprintf(target, sizeof target, "time %.2f x %s", r->compare,
                 r->compare_to);
    char keys[24] = "-";
    char width[24] = "-";
    if (r->keys > 0) {
        snprintf(keys, sizeof keys, "%zu", r->keys);
        snprintf(width, sizeof width, "%zu", r->width);
    }
    fprintf(out,
            "%-16s %5s %6s %3s %-7s %2d %2d %-4s %-3s %-13s %10.1f %6.1f "
            "%7.3f %7.3f %6.2f %s\n",
            r->op, size, keys, width, r->dist[0] ? r->dist : "-", r->ps,
            r->clients, r->transport, r->dtype,
            r->variant[0] ? r->variant : "-", r->psc.med, s_spread(&r->psc),
            bench_report_gbps(&r->psc),
            r->has_raw ? bench_report_gbps(&r->raw) : 0.0, ratio, target);
}

void bench_report_add(bench_report_t *rep, const struct bench_rec *r, FILE *out)
{
    if (rep->n == rep->cap) {
        rep->cap = rep->cap ? rep->cap * 2 : 64;
        rep->recs = psc_xrealloc(rep->recs, rep->cap * sizeof *rep->recs);
    }
    rep->recs[rep->n++] = *r;
    if (out == NULL)
        return;
    if (!rep->header_done) {
        s_header(out);
        rep->header_done = 1;
    }
    s_line(r, out);
    fflush(out);
}

void bench_report_summary(const bench_report_t *rep, FILE *out)
{
    int met = 0;
    int missed = 0;
    for (size_t i = 0; i < rep->n; i++) {
        const struct bench_rec *r = &rep->recs[i];
        if (r->target <= 0)
            continue;
        int ok;
        if (strcmp(r->op, "memory") == 0 || strcmp(r->op, "sparse_memory") == 0)
            ok = r->value <= r->target;
        else if (strncmp(r->op, "ckpt_", 5) == 0)
            ok = r->value2 > 0 && r->value / r->value2 >= r->target;
        else if (r->compare > 0)
            ok = r->compare <= r->target;
        else
            ok = s_ratio(r) >= r->target;
        met += ok;
        missed += !ok;
    }
    fprintf(out, "targets: %d met, %d missed\n", met, missed);
}

static json_t *s_stat_json(const struct bench_stat *st)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f}", "median", st->med, "min",
                     st->min, "max", st->max, "bytes_out", st->bytes_out,
                     "bytes_back", st->bytes_back);
}

static json_t *s_rec_json(const struct bench_rec *r)
{
    json_t *o =
        json_pack("{s:s, s:I, s:I, s:I, s:s, s:i, s:i, s:s, s:s, s:s}", "op",
                  r->op, "bytes", (json_int_t) r->bytes, "keys",
                  (json_int_t) r->keys, "width", (json_int_t) r->width, "dist",
                  r->dist, "ps", r->ps, "clients", r->clients, "transport",
                  r->transport, "dtype", r->dtype, "variant", r->variant);
    if (strcmp(r->op, "optimizer") == 0) {
        psc_json_set_real(o, "updates_per_s", r->value);
        psc_json_set_real(o, "ns_per_param", r->value2);
        psc_json_set_real(o, "gb_per_s_touched", r->compare);
        return o;
    }
    if (strncmp(r->op, "ckpt_", 5) == 0) {
        psc_json_set_real(o, "gbps", r->value);
        psc_json_set_real(o, "dd_gbps", r->value2);
        psc_json_set_real(o, "target_ratio", r->target);
        return o;
    }
    if (strcmp(r->op, "sparse_memory") == 0) {
        psc_json_set_real(o, "bytes_per_row", r->value);
        psc_json_set_real(o, "empty_ps_bytes", (double) r->bytes);
        psc_json_set_real(o, "table_bytes_per_row", r->compare);
        psc_json_set_real(o, "peak_bytes_per_row", r->value2);
        psc_json_set_real(o, "rows_per_s", r->compare_raw);
        psc_json_set_real(o, "target", r->target);
        return o;
    }
    if (strcmp(r->op, "memory") == 0) {
        psc_json_set_real(o, "bytes_per_param", r->value);
        psc_json_set_real(o, "peak_bytes_per_param", r->value2);
        psc_json_set_real(o, "target", r->target);
        return o;
    }
    psc_json_set_real(o, "rt_per_s", r->psc.med);
    psc_json_set_real(o, "rt_per_s_min", r->psc.min);
    psc_json_set_real(o, "rt_per_s_max", r->psc.max);
    psc_json_set_real(o, "spread_pct", s_spread(&r->psc));
    psc_json_set_real(o, "gbps", bench_report_gbps(&r->psc));
    psc_json_set_real(o, "wire_bytes_per_rt",
                      r->psc.bytes_out + r->psc.bytes_back);
    if (r->keys > 0)
        psc_json_set_real(o, "keys_per_s", r->psc.med * (double) r->keys);
    if (r->has_raw) {
        psc_json_set_real(o, "raw_rt_per_s", r->raw.med);
        psc_json_set_real(o, "raw_gbps", bench_report_gbps(&r->raw));
        psc_json_set_real(o, "ratio", s_ratio(r));
        json_object_set_new(o, "raw", s_stat_json(&r->raw));
    } else {
        json_object_set_new(o, "raw_gbps", json_null());
        json_object_set_new(o, "ratio", json_null());
    }
    if (r->target > 0)
        psc_json_set_real(o, "target", r->target);
    char key[48];
    if (r->compare > 0) {
        snprintf(key, sizeof key, "time_vs_%s", r->compare_to);
        psc_json_set_real(o, key, r->compare);
    }
    if (r->compare_raw > 0) {
        snprintf(key, sizeof key, "raw_time_vs_%s", r->compare_to);
        psc_json_set_real(o, key, r->compare_raw);
    }
    return o;
}

int bench_report_json(const bench_report_t *rep, const char *path, char *err)
{
    json_t *list = json_array();
    for (size_t i = 0; i < rep->n; i++)
        json_array_append_new(list, s_rec_json(&rep->recs[i]));
    int rc = json_dump_file(list, path, JSON_INDENT(1));
    json_decref(list);
    if (rc != 0)
        return psc_seterr(err, PSC_EIO, "cannot write '%s'", path);
    return 0;
}
