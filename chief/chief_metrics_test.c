/*
 * Unit test for the chief's metrics.jsonl: a record per flush, and a loss
 * that is not finite (a diverged model's NaN) written as null with
 * "loss_finite": false, so that the file stays JSON.
 */
#include "chief_metrics.h"
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The last line of path, parsed. Caller owns; json_decref(). */
static json_t *s_last_record(const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char line[4096];
    char last[4096] = "";
    while (fgets(line, sizeof line, f) != NULL)
        snprintf(last, sizeof last, "%s", line);
    fclose(f);
    CHECK(strstr(last, "nan") == NULL && strstr(last, "inf") == NULL);
    json_t *rec = json_loads(last, 0, NULL);
    CHECK(rec != NULL);
    return rec;
}

static void test_nan_loss(const char *dir)
{
    char err[256] = "";
    chief_metrics_t *m = chief_metrics_new(dir, 1, 1, 10, err);
    CHECK(m != NULL);
    chief_metrics_start(m, "run-1", 0);
    Psc__Report r = PSC__REPORT__INIT;
    r.loss = 0.5;
    r.examples = 64;
    chief_metrics_report(m, 0, 1, &r);
    chief_metrics_flush(m, 1);

    char path[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    json_t *rec = s_last_record(path);
    CHECK_NEAR(json_real_value(json_object_get(rec, "loss")), 0.5, 0);
    CHECK(json_object_get(rec, "loss_finite") == NULL);
    json_decref(rec);

    r.loss = NAN;
    chief_metrics_report(m, 0, 2, &r);
    chief_metrics_flush(m, 1);
    rec = s_last_record(path);
    CHECK(json_is_null(json_object_get(rec, "loss")));
    CHECK(json_is_false(json_object_get(rec, "loss_finite")));
    CHECK_EQ(json_integer_value(json_object_get(rec, "step")), 2);
    /* The rest of the record is there and finite. */
    CHECK(json_is_number(json_object_get(rec, "examples_per_s")));
    CHECK_EQ(json_integer_value(json_object_get(rec, "examples")), 128);
    json_decref(rec);

    r.loss = INFINITY;
    chief_metrics_report(m, 0, 3, &r);
    chief_metrics_flush(m, 1);
    rec = s_last_record(path);
    CHECK(json_is_null(json_object_get(rec, "loss")));
    json_decref(rec);
    chief_metrics_destroy(&m);
    CHECK_OK(unlink(path));
}

/* Traffic per worker step, and the sparse table summed over the ps. */
static void test_traffic_and_table(const char *dir)
{
    char err[256] = "";
    chief_metrics_t *m = chief_metrics_new(dir, 2, 2, 10, err);
    CHECK(m != NULL);
    chief_metrics_start(m, "run-2", 0);
    Psc__Report r = PSC__REPORT__INIT;
    r.loss = 0.5;
    r.examples = 64;
    r.sparse_bytes_pushed = 1000;
    r.sparse_rows = 40;
    chief_metrics_report(m, 0, 1, &r);
    r.sparse_bytes_pushed = 3000;
    r.sparse_rows = 60;
    r.dense_bytes_pulled = 8;
    chief_metrics_report(m, 1, 1, &r);
    Psc__PsStats st = PSC__PS_STATS__INIT;
    st.sparse_rows = 70;
    st.sparse_bytes = 7000;
    chief_metrics_ps_stats(m, 0, &st);
    st.sparse_rows = 30;
    st.sparse_bytes = 3000;
    chief_metrics_ps_stats(m, 1, &st);
    chief_metrics_flush(m, 2);
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    json_t *rec = s_last_record(path);
    json_t *b = json_object_get(rec, "bytes_per_step");
    CHECK_NEAR(json_number_value(json_object_get(b, "sparse_pushed")), 2000, 0);
    CHECK_NEAR(json_number_value(json_object_get(b, "dense_pulled")), 4, 0);
    CHECK_NEAR(json_number_value(json_object_get(b, "dense_pushed")), 0, 0);
    CHECK_NEAR(json_number_value(json_object_get(rec, "sparse_rows_per_step")),
               50, 0);
    CHECK_EQ(json_integer_value(json_object_get(rec, "sparse_table_rows")),
             100);
    CHECK_EQ(json_integer_value(json_object_get(rec, "sparse_table_bytes")),
             10000);
    json_decref(rec);
    chief_metrics_destroy(&m);
    CHECK_OK(unlink(path));
}

/* A dropped gradient's examples count as computed, not as applied. */
static void test_applied_examples(const char *dir)
{
    char err[256] = "";
    chief_metrics_t *m = chief_metrics_new(dir, 2, 1, 10, err);
    CHECK(m != NULL);
    chief_metrics_start(m, "run-3", 0);
    Psc__Report r = PSC__REPORT__INIT;
    r.loss = 0.5;
    r.examples = 64;
    chief_metrics_report(m, 0, 1, &r);
    r.dropped = 1;
    chief_metrics_report(m, 1, 1, &r);
    chief_metrics_report(m, 1, 2, &r);
    chief_metrics_flush(m, 2);
    char path[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    json_t *rec = s_last_record(path);
    CHECK_EQ(json_integer_value(json_object_get(rec, "examples")), 64);
    CHECK_EQ(json_integer_value(json_object_get(rec, "examples_computed")),
             192);
    double applied = json_number_value(json_object_get(rec, "examples_per_s"));
    double computed =
        json_number_value(json_object_get(rec, "computed_examples_per_s"));
    CHECK(computed > 0);
    CHECK_NEAR(applied * 3, computed, computed * 1e-9);
    json_decref(rec);
    chief_metrics_destroy(&m);
    CHECK_OK(unlink(path));
}

int main(void)
{
    char dir[] = "/tmp/chief_metrics_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_nan_loss(dir);
    test_traffic_and_table(dir);
    test_applied_examples(dir);
    CHECK_OK(rmdir(dir));
    printf("chief_metrics_test: all checks passed\n");
    return 0;
}
