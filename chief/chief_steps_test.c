/*
 * Unit test for steps.jsonl: the same reports in any interleaving of the
 * workers (each worker's own stay in order, as its connection keeps them)
 * give the same records in step order; a step waits for the live workers
 * behind it, not for one that skipped it or is lost; async reports are
 * records of their own; softsync's repeats of a step by one worker are
 * records of their own too, and hold the step until every worker is past
 * it; a full ring writes its oldest step.
 */
#include "chief_steps.h"
#include "test.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One report: worker, the step it read, whether it was dropped; a step of
 * -1 says the worker is gone. */
struct feed {
    int worker;
    int step;
    int dropped;
};

/* Worker 1 skips step 11; worker 2 is late on 10, then lost after 11. */
static const struct feed s_w0[] = {
    {0, 10, 0}, {0, 11, 0}, {0, 12, 0}, {0, 13, 0}, {0, 14, 0}};
static const struct feed s_w1[] = {{1, 10, 0}, {1, 12, 0}, {1, 13, 0}};
static const struct feed s_w2[] = {{2, 10, 1}, {2, 11, 0}, {2, -1, 0}};

static void s_feed(chief_steps_t *s, const struct feed *f)
{
    if (f->step < 0) {
        chief_steps_gone(s, f->worker);
        return;
    }
    Psc__Report r = PSC__REPORT__INIT;
    r.read_version = (uint64_t) f->step;
    r.dropped = f->dropped;
    r.compute_s = 0.01 * (f->worker + 1);
    r.wait_s = 0.002;
    r.delay_requested_s = f->worker == 2 ? 0.05 : 0;
    r.delay_slept_s = f->worker == 2 ? 0.051 : 0;
    chief_steps_report(s, f->worker, &r);
}

static void s_path(char *path, size_t cap, const char *dir)
{
    snprintf(path, cap, "%s/trace/steps.jsonl", dir);
}

/* The file's records, as a JSON array. Caller owns; json_decref(). */
static json_t *s_records(const char *dir)
{
    char path[512];
    s_path(path, sizeof path, dir);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    json_t *all = json_array();
    char line[8192];
    CHECK(fgets(line, sizeof line, f) != NULL);
    json_t *marker = json_loads(line, 0, NULL);
    CHECK_STR(json_string_value(json_object_get(marker, "run")), "run-1");
    CHECK_EQ(json_integer_value(json_object_get(marker, "start_step")), 10);
    json_decref(marker);
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *rec = json_loads(line, 0, NULL);
        CHECK(rec != NULL);
        json_array_append_new(all, rec);
    }
    fclose(f);
    return all;
}

static long s_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    CHECK(json_is_integer(v));
    return (long) json_integer_value(v);
}

/* Record i: step, aggregated, dropped and its workers, in this order. */
static void s_check_record(const json_t *all, size_t i, long step, long agg,
                           long dropped, const char *workers)
{
    const json_t *rec = json_array_get(all, i);
    CHECK(rec != NULL);
    CHECK_EQ(s_int(rec, "step"), step);
    CHECK_EQ(s_int(rec, "aggregated"), agg);
    CHECK_EQ(s_int(rec, "dropped"), dropped);
    CHECK(json_number_value(json_object_get(rec, "wall_s")) >= 0);
    CHECK(json_number_value(json_object_get(rec, "time")) > 1e9);
    const json_t *ws = json_object_get(rec, "workers");
    char seen[16] = "";
    for (size_t k = 0; k < json_array_size(ws); k++) {
        const json_t *w = json_array_get(ws, k);
        long idx = s_int(w, "worker");
        seen[k] = (char) ('0' + idx);
        CHECK(json_is_number(json_object_get(w, "compute_s")));
        CHECK(json_is_number(json_object_get(w, "wait_s")));
        CHECK(json_is_number(json_object_get(w, "delay_slept_s")));
        CHECK(json_is_boolean(json_object_get(w, "dropped")));
        if (idx == 2)
            CHECK_NEAR(
                json_number_value(json_object_get(w, "delay_requested_s")),
                0.05, 1e-12);
    }
    CHECK_STR(seen, workers);
}

static chief_steps_t *s_open(const char *dir, int nworkers, int sync)
{
    char path[512];
    s_path(path, sizeof path, dir);
    unlink(path);
    char err[256] = "";
    chief_steps_t *s =
        chief_steps_new(dir, "run-1", nworkers, sync, 0, 10, err);
    CHECK(s != NULL);
    return s;
}

/* The sync reports one at a time: what each one lets out. */
static void test_in_order(const char *dir)
{
    chief_steps_t *s = s_open(dir, 3, 1);
    s_feed(s, &s_w1[0]);
    s_feed(s, &s_w0[0]);
    CHECK_EQ(chief_steps_pending(s), 1); /* worker 2 is behind */
    s_feed(s, &s_w2[0]);
    CHECK_EQ(chief_steps_pending(s), 0);
    s_feed(s, &s_w0[1]);
    s_feed(s, &s_w2[1]);
    CHECK_EQ(chief_steps_pending(s), 1); /* worker 1 has not reported */
    s_feed(s, &s_w1[1]);                 /* 12: it skipped 11 */
    CHECK_EQ(chief_steps_pending(s), 1); /* 12 waits for workers 0 and 2 */
    s_feed(s, &s_w0[2]);
    CHECK_EQ(chief_steps_pending(s), 1);
    s_feed(s, &s_w2[2]); /* lost: 12 no longer waits for it */
    CHECK_EQ(chief_steps_pending(s), 0);
    s_feed(s, &s_w1[2]);
    s_feed(s, &s_w0[3]);
    CHECK_EQ(chief_steps_pending(s), 0);
    s_feed(s, &s_w0[4]);
    CHECK_EQ(chief_steps_pending(s), 1); /* worker 1 may still send 14 */
    chief_steps_destroy(&s);             /* the end of the job writes it */
}

static void s_check_sync(const char *dir)
{
    json_t *all = s_records(dir);
    CHECK_EQ(json_array_size(all), 5);
    s_check_record(all, 0, 10, 2, 1, "012");
    s_check_record(all, 1, 11, 2, 0, "02");
    s_check_record(all, 2, 12, 2, 0, "01");
    s_check_record(all, 3, 13, 2, 0, "01");
    s_check_record(all, 4, 14, 1, 0, "0");
    json_decref(all);
}

/* The same reports, the workers interleaved at random. */
static void test_shuffled(const char *dir)
{
    const struct feed *seq[3] = {s_w0, s_w1, s_w2};
    const size_t len[3] = {5, 3, 3};
    uint32_t draw = 7; /* a fixed sequence: the same rounds every run */
    for (int round = 0; round < 50; round++) {
        chief_steps_t *s = s_open(dir, 3, 1);
        size_t at[3] = {0, 0, 0};
        size_t left = len[0] + len[1] + len[2];
        while (left > 0) {
            draw = draw * 1664525u + 1013904223u;
            int w = (int) ((draw >> 16) % 3);
            if (at[w] == len[w])
                continue;
            s_feed(s, &seq[w][at[w]++]);
            left--;
        }
        chief_steps_destroy(&s);
        s_check_sync(dir);
    }
}

/* Async: a record per report, by step then worker; a late one is not. */
static void test_async(const char *dir)
{
    chief_steps_t *s = s_open(dir, 2, 0);
    const struct feed f[] = {{1, 11, 0}, {0, 10, 0}, {0, 11, 1},
                             {1, 13, 0}, {0, 12, 0}, {0, 14, 0}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        s_feed(s, &f[i]);
    CHECK_EQ(chief_steps_pending(s), 1); /* 14: worker 1 is at 13 */
    chief_steps_gone(s, 1);
    CHECK_EQ(chief_steps_pending(s), 0);
    struct feed late = {1, 12, 0};
    s_feed(s, &late); /* back, with a step written already */
    CHECK_EQ(chief_steps_late(s), 1);
    chief_steps_destroy(&s);
    json_t *all = s_records(dir);
    CHECK_EQ(json_array_size(all), 6);
    s_check_record(all, 0, 10, 1, 0, "0");
    s_check_record(all, 1, 11, 0, 1, "0");
    s_check_record(all, 2, 11, 1, 0, "1");
    s_check_record(all, 3, 12, 1, 0, "0");
    s_check_record(all, 4, 13, 1, 0, "1");
    s_check_record(all, 5, 14, 1, 0, "0");
    json_decref(all);
}

/*
 * Softsync: worker 0 reports step 10 twice (its first push was answered
 * before any update); step 10 waits until both workers are past it.
 */
static void test_softsync(const char *dir)
{
    chief_steps_t *s = s_open(dir, 2, CHIEF_STEPS_SOFTSYNC);
    const struct feed f[] = {{0, 10, 0}, {1, 10, 0}, {0, 10, 0}, {0, 11, 0}};
    for (size_t i = 0; i < 3; i++)
        s_feed(s, &f[i]);
    CHECK_EQ(chief_steps_pending(s), 1); /* both at 10: may come again */
    s_feed(s, &f[3]);
    CHECK_EQ(chief_steps_pending(s), 2); /* worker 1 is still at 10 */
    struct feed again = {1, 10, 1};
    s_feed(s, &again);
    struct feed on = {1, 12, 0};
    s_feed(s, &on);
    CHECK_EQ(chief_steps_pending(s), 2); /* 10 written; 11, 12 wait */
    CHECK_EQ(chief_steps_late(s), 0);
    chief_steps_destroy(&s);
    json_t *all = s_records(dir);
    CHECK_EQ(json_array_size(all), 6);
    s_check_record(all, 0, 10, 1, 0, "0");
    s_check_record(all, 1, 10, 1, 0, "0");
    s_check_record(all, 2, 10, 1, 0, "1");
    s_check_record(all, 3, 10, 0, 1, "1");
    s_check_record(all, 4, 11, 1, 0, "0");
    s_check_record(all, 5, 12, 1, 0, "1");
    json_decref(all);
}

/* A worker that never reports holds back no more than the ring. */
static void test_ring_full(const char *dir)
{
    chief_steps_t *s = s_open(dir, 2, 1);
    for (long step = 10; step < 310; step++) {
        struct feed f = {0, step, 0};
        s_feed(s, &f);
        CHECK(chief_steps_pending(s) <= CHIEF_STEPS_PENDING);
    }
    CHECK_EQ(chief_steps_pending(s), CHIEF_STEPS_PENDING);
    chief_steps_destroy(&s);
    json_t *all = s_records(dir);
    CHECK_EQ(json_array_size(all), 300);
    for (size_t i = 0; i < 300; i++)
        CHECK_EQ(s_int(json_array_get(all, i), "step"), 10 + (long) i);
    json_decref(all);
}

int main(void)
{
    char dir[] = "/tmp/chief_steps_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_in_order(dir);
    s_check_sync(dir);
    test_shuffled(dir);
    test_async(dir);
    test_softsync(dir);
    test_ring_full(dir);
    char path[512];
    s_path(path, sizeof path, dir);
    CHECK_OK(unlink(path));
    snprintf(path, sizeof path, "%s/trace", dir);
    CHECK_OK(rmdir(path));
    CHECK_OK(rmdir(dir));
    printf("chief_steps_test: all checks passed\n");
    return 0;
}
