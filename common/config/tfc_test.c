/*
 * Unit test for the TF_CONFIG module: the specs TensorFlow, Kubeflow TFJob
 * and Vertex AI write must parse, and every rejected spec must produce one
 * line naming the field and the fix.
 */
#include "psc_err.h"
#include "test.h"
#include "tfc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses json, which must succeed; the caller destroys the result. */
static tfc_t *s_parse_ok(const char *json)
{
    char err[PSC_ERR_LEN] = "";
    tfc_t *c = tfc_new_from_json(json, err);
    if (c == NULL)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK(c != NULL);
    return c;
}

/* Parses json, which must fail with one well-formed line containing want. */
static void s_parse_fails(const char *json, const char *want)
{
    char err[PSC_ERR_LEN] = "";
    tfc_t *c = tfc_new_from_json(json, err);
    CHECK(c == NULL);
    CHECK_CONTAINS(err, want);
    size_t n = strlen(err);
    CHECK(n > 0);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(err[n - 1] != '.');
    /* Lower-case start, except for the name of the variable itself. */
    CHECK(islower((unsigned char) err[0]) || strncmp(err, "TF_CONFIG", 9) == 0);
    /* Each message says how to fix it after a colon. */
    CHECK(strstr(err, ": ") != NULL);
}

#define KF_CLUSTER                                                 \
    "\"cluster\":{\"chief\":[\"mnist-chief-0.default.svc:2222\"]," \
    "\"ps\":[\"mnist-ps-0.default.svc:2222\","                     \
    "\"mnist-ps-1.default.svc:2222\"],"                            \
    "\"worker\":[\"mnist-worker-0.default.svc:2222\","             \
    "\"mnist-worker-1.default.svc:2222\"]}"

static void test_tensorflow_chief(void)
{
    tfc_t *c =
        s_parse_ok("{\"cluster\":{\"chief\":[\"host0:2222\"],"
                   "\"ps\":[\"host1:2222\",\"host2:2222\"],"
                   "\"worker\":[\"host3:2222\",\"host4:2222\",\"host5:2222\"]},"
                   "\"task\":{\"type\":\"chief\",\"index\":0}}");
    CHECK_EQ(tfc_count(c, TFC_CHIEF), 1);
    CHECK_EQ(tfc_count(c, TFC_PS), 2);
    CHECK_EQ(tfc_count(c, TFC_WORKER), 3);
    CHECK_EQ(tfc_count(c, TFC_EVALUATOR), 0);
    CHECK_STR(tfc_host(c, TFC_CHIEF, 0), "host0");
    CHECK_STR(tfc_host(c, TFC_PS, 0), "host1");
    CHECK_STR(tfc_host(c, TFC_PS, 1), "host2");
    CHECK_STR(tfc_host(c, TFC_WORKER, 0), "host3");
    CHECK_STR(tfc_host(c, TFC_WORKER, 2), "host5");
    CHECK_EQ(tfc_port(c, TFC_CHIEF, 0), 2222);
    CHECK_EQ(tfc_port(c, TFC_WORKER, 2), 2222);
    CHECK_EQ(tfc_task_role(c), TFC_CHIEF);
    CHECK_EQ(tfc_task_index(c), 0);
    CHECK_EQ(tfc_has_chief(c), 1);
    CHECK_EQ(tfc_is_acting_chief(c), 1);
    CHECK_STR(tfc_task_name(c), "chief:0");
    /* Out-of-range lookups report "no such task" instead of crashing. */
    CHECK(tfc_host(c, TFC_WORKER, 3) == NULL);
    CHECK(tfc_host(c, TFC_WORKER, -1) == NULL);
    CHECK(tfc_host(c, TFC_NROLES, 0) == NULL);
    CHECK_EQ(tfc_port(c, TFC_PS, 2), -1);
    CHECK_EQ(tfc_count(c, TFC_NROLES), 0);
    tfc_destroy(&c);
    CHECK(c == NULL);
    tfc_destroy(&c);
    tfc_destroy(NULL);
}

static void test_kubeflow_worker(void)
{
    tfc_t *c = s_parse_ok("{" KF_CLUSTER ",\"task\":{\"type\":\"worker\","
                          "\"index\":1},\"environment\":\"cloud\"}");
    CHECK_EQ(tfc_count(c, TFC_CHIEF), 1);
    CHECK_EQ(tfc_count(c, TFC_PS), 2);
    CHECK_EQ(tfc_count(c, TFC_WORKER), 2);
    CHECK_STR(tfc_host(c, TFC_CHIEF, 0), "mnist-chief-0.default.svc");
    CHECK_STR(tfc_host(c, TFC_PS, 1), "mnist-ps-1.default.svc");
    CHECK_STR(tfc_host(c, TFC_WORKER, 1), "mnist-worker-1.default.svc");
    CHECK_EQ(tfc_port(c, TFC_PS, 1), 2222);
    CHECK_EQ(tfc_task_role(c), TFC_WORKER);
    CHECK_EQ(tfc_task_index(c), 1);
    CHECK_EQ(tfc_is_acting_chief(c), 0);
    CHECK_STR(tfc_task_name(c), "worker:1");
    tfc_destroy(&c);
}

static void test_kubeflow_evaluator(void)
{
    tfc_t *c = s_parse_ok("{" KF_CLUSTER ",\"task\":{\"type\":\"evaluator\","
                          "\"index\":0},\"environment\":\"cloud\"}");
    CHECK_EQ(tfc_task_role(c), TFC_EVALUATOR);
    CHECK_EQ(tfc_task_index(c), 0);
    CHECK_EQ(tfc_count(c, TFC_EVALUATOR), 0);
    CHECK(tfc_host(c, TFC_EVALUATOR, 0) == NULL);
    CHECK_EQ(tfc_is_acting_chief(c), 0);
    CHECK_STR(tfc_task_name(c), "evaluator:0");
    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "this task: evaluator:0 (outside the cluster, "
                      "no address)");
    free(d);
    tfc_destroy(&c);
}

static void test_vertex_ai(void)
{
    tfc_t *c = s_parse_ok(
        "{\"cluster\":{\"chief\":[\"training-workerpool0-ab12-0:2222\"],"
        "\"ps\":[\"training-workerpool2-ab12-0:2222\"],"
        "\"worker\":[\"training-workerpool1-ab12-0:2222\","
        "\"training-workerpool1-ab12-1:2222\"]},"
        "\"environment\":\"cloud\","
        "\"job\":\"{\\\"python_module\\\":\\\"\\\",\\\"job_args\\\":[]}\","
        "\"task\":{\"cloud\":\"x1\",\"index\":0,\"trial\":\"1\","
        "\"type\":\"worker\"}}");
    CHECK_EQ(tfc_count(c, TFC_CHIEF), 1);
    CHECK_EQ(tfc_count(c, TFC_PS), 1);
    CHECK_EQ(tfc_count(c, TFC_WORKER), 2);
    CHECK_STR(tfc_host(c, TFC_CHIEF, 0), "training-workerpool0-ab12-0");
    CHECK_STR(tfc_host(c, TFC_PS, 0), "training-workerpool2-ab12-0");
    CHECK_STR(tfc_host(c, TFC_WORKER, 1), "training-workerpool1-ab12-1");
    CHECK_EQ(tfc_port(c, TFC_WORKER, 1), 2222);
    CHECK_EQ(tfc_task_role(c), TFC_WORKER);
    CHECK_EQ(tfc_task_index(c), 0);
    /* There is a chief, so worker 0 is an ordinary worker. */
    CHECK_EQ(tfc_is_acting_chief(c), 0);
    tfc_destroy(&c);

    /* `job` may also be an object. */
    c = s_parse_ok("{\"cluster\":{\"ps\":[\"p:1\"],\"worker\":[\"w:1\"]},"
                   "\"job\":{\"python_module\":\"trainer.task\","
                   "\"job_args\":[\"--epochs\",\"3\"]},"
                   "\"task\":{\"type\":\"ps\",\"index\":0}}");
    CHECK_EQ(tfc_task_role(c), TFC_PS);
    tfc_destroy(&c);
}

static void test_master_alias(void)
{
    tfc_t *c = s_parse_ok("{\"cluster\":{\"master\":[\"m0:2222\"],"
                          "\"ps\":[\"p0:2222\"],\"worker\":[\"w0:2222\"]},"
                          "\"task\":{\"type\":\"master\",\"index\":0}}");
    CHECK_EQ(tfc_count(c, TFC_CHIEF), 1);
    CHECK_STR(tfc_host(c, TFC_CHIEF, 0), "m0");
    CHECK_EQ(tfc_task_role(c), TFC_CHIEF);
    CHECK_EQ(tfc_has_chief(c), 1);
    CHECK_EQ(tfc_is_acting_chief(c), 1);
    CHECK_STR(tfc_task_name(c), "master:0");
    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "master: m0:2222");
    free(d);
    tfc_destroy(&c);

    /* The alias works in either direction. */
    c = s_parse_ok("{\"cluster\":{\"chief\":[\"m0:2222\"],"
                   "\"ps\":[\"p0:2222\"],\"worker\":[\"w0:2222\"]},"
                   "\"task\":{\"type\":\"master\"}}");
    CHECK_EQ(tfc_task_role(c), TFC_CHIEF);
    tfc_destroy(&c);
    c = s_parse_ok("{\"cluster\":{\"master\":[\"m0:2222\"],"
                   "\"ps\":[\"p0:2222\"],\"worker\":[\"w0:2222\"]},"
                   "\"task\":{\"type\":\"chief\"}}");
    CHECK_EQ(tfc_task_role(c), TFC_CHIEF);
    tfc_destroy(&c);
}

#define NO_CHIEF_CLUSTER                 \
    "\"cluster\":{\"ps\":[\"p0:2222\"]," \
    "\"worker\":[\"w0:2222\",\"w1:2222\",\"w2:2222\"]}"

static void test_no_chief(void)
{
    for (int i = 0; i < 3; i++) {
        char json[256];
        snprintf(json, sizeof json,
                 "{" NO_CHIEF_CLUSTER
                 ",\"task\":{\"type\":\"worker\",\"index\":%d}}",
                 i);
        tfc_t *c = s_parse_ok(json);
        CHECK_EQ(tfc_has_chief(c), 0);
        CHECK_EQ(tfc_count(c, TFC_CHIEF), 0);
        CHECK_EQ(tfc_task_index(c), i);
        CHECK_EQ(tfc_is_acting_chief(c), i == 0);
        tfc_destroy(&c);
    }
    tfc_t *c = s_parse_ok("{" NO_CHIEF_CLUSTER
                          ",\"task\":{\"type\":\"ps\",\"index\":0}}");
    CHECK_EQ(tfc_is_acting_chief(c), 0);
    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "worker 0 also acts as chief");
    CHECK_CONTAINS(d, "this task: ps:0 at p0:2222");
    free(d);
    tfc_destroy(&c);
}

static void test_ignored_and_optional(void)
{
    tfc_t *c = s_parse_ok(
        "{\"rpc_layer\":\"grpc\",\"environment\":\"cloud\",\"x\":[1,{}],"
        "\"cluster\":{\"foo\":[\"f0:1\",7],\"bar\":\"junk\","
        "\"ps\":[\"p0:2222\"],\"worker\":[\"w0:2222\",\"w1:2222\"]},"
        "\"task\":{\"type\":\"worker\",\"trial\":\"3\",\"extra\":null}}");
    /* A missing index means 0, as TensorFlow reads it. */
    CHECK_EQ(tfc_task_index(c), 0);
    CHECK_EQ(tfc_count(c, TFC_PS), 1);
    CHECK_EQ(tfc_count(c, TFC_WORKER), 2);
    CHECK_EQ(tfc_is_acting_chief(c), 1);
    tfc_destroy(&c);

    c = s_parse_ok("{" NO_CHIEF_CLUSTER
                   ",\"task\":{\"type\":\"worker\",\"index\":2}}");
    CHECK_EQ(tfc_task_index(c), 2);
    tfc_destroy(&c);

    /* An empty chief list is the same as no chief. */
    c = s_parse_ok("{\"cluster\":{\"chief\":[],\"ps\":[\"p:1\"],"
                   "\"worker\":[\"w:1\"]},\"task\":{\"type\":\"worker\"}}");
    CHECK_EQ(tfc_has_chief(c), 0);
    CHECK_EQ(tfc_is_acting_chief(c), 1);
    tfc_destroy(&c);
}

#define EVAL_FMT                                           \
    "{\"cluster\":{\"ps\":[\"p:1\"],\"worker\":[\"w:1\"]," \
    "\"evaluator\":[\"e0:2222\",\"e1:2223\"]},"            \
    "\"task\":{\"type\":\"evaluator\",\"index\":%d}}"

static void test_evaluator_in_cluster(void)
{
    char json[256];
    snprintf(json, sizeof json, EVAL_FMT, 1);
    tfc_t *c = s_parse_ok(json);
    CHECK_EQ(tfc_count(c, TFC_EVALUATOR), 2);
    CHECK_STR(tfc_host(c, TFC_EVALUATOR, 1), "e1");
    CHECK_EQ(tfc_port(c, TFC_EVALUATOR, 1), 2223);
    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "this task: evaluator:1 at e1:2223");
    free(d);
    tfc_destroy(&c);

    snprintf(json, sizeof json, EVAL_FMT, 2);
    s_parse_fails(json, "task.index 2 is out of range: cluster.evaluator "
                        "has 2 tasks (0..1)");
    s_parse_fails("{\"cluster\":{\"ps\":[\"p:1\"],\"worker\":[\"w:1\"],"
                  "\"evaluator\":[\"e0\"]},"
                  "\"task\":{\"type\":\"evaluator\"}}",
                  "cluster.evaluator[0] 'e0' has no port");
    /* Outside the cluster only a negative index is wrong. */
    s_parse_fails("{" NO_CHIEF_CLUSTER
                  ",\"task\":{\"type\":\"evaluator\",\"index\":-1}}",
                  "task.index -1 is negative");
}

static void test_address_forms(void)
{
    tfc_t *c =
        s_parse_ok("{\"cluster\":{\"chief\":[\"[::1]:2222\"],"
                   "\"ps\":[\"localhost:2222\"],"
                   "\"worker\":[\"127.0.0.1:5000\",\"[fe80::1%eth0]:65535\"]},"
                   "\"task\":{\"type\":\"worker\",\"index\":1}}");
    CHECK_STR(tfc_host(c, TFC_CHIEF, 0), "::1");
    CHECK_EQ(tfc_port(c, TFC_CHIEF, 0), 2222);
    CHECK_STR(tfc_host(c, TFC_PS, 0), "localhost");
    CHECK_STR(tfc_host(c, TFC_WORKER, 0), "127.0.0.1");
    CHECK_EQ(tfc_port(c, TFC_WORKER, 0), 5000);
    CHECK_STR(tfc_host(c, TFC_WORKER, 1), "fe80::1%eth0");
    CHECK_EQ(tfc_port(c, TFC_WORKER, 1), 65535);

    char ep[64];
    tfc_endpoint(c, TFC_CHIEF, 0, ep, sizeof ep);
    CHECK_STR(ep, "tcp://[::1]:2222");
    tfc_endpoint(c, TFC_PS, 0, ep, sizeof ep);
    CHECK_STR(ep, "tcp://localhost:2222");
    tfc_endpoint(c, TFC_WORKER, 0, ep, sizeof ep);
    CHECK_STR(ep, "tcp://127.0.0.1:5000");
    tfc_endpoint(c, TFC_WORKER, 7, ep, sizeof ep);
    CHECK_STR(ep, "");
    /* A short buffer truncates but stays terminated. */
    char small[8];
    tfc_endpoint(c, TFC_PS, 0, small, sizeof small);
    CHECK_STR(small, "tcp://l");

    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "chief: [::1]:2222\n");
    CHECK_CONTAINS(d, "ps: localhost:2222\n");
    CHECK_CONTAINS(d, "worker: 127.0.0.1:5000 [fe80::1%eth0]:65535\n");
    CHECK_CONTAINS(d, "this task: worker:1 at [fe80::1%eth0]:65535\n");
    CHECK(strstr(d, "acts as chief") == NULL);
    free(d);
    tfc_destroy(&c);
}

static void test_describe(void)
{
    tfc_t *c = s_parse_ok("{" KF_CLUSTER ",\"task\":{\"type\":\"worker\","
                          "\"index\":1}}");
    char *d = tfc_describe(c);
    CHECK_CONTAINS(d, "chief: mnist-chief-0.default.svc:2222\n");
    CHECK_CONTAINS(d, "ps: mnist-ps-0.default.svc:2222 "
                      "mnist-ps-1.default.svc:2222\n");
    CHECK_CONTAINS(d, "worker: mnist-worker-0.default.svc:2222 "
                      "mnist-worker-1.default.svc:2222\n");
    CHECK_CONTAINS(d, "this task: worker:1 at "
                      "mnist-worker-1.default.svc:2222\n");
    CHECK(strstr(d, "evaluator") == NULL);
    CHECK(strstr(d, "acts as chief") == NULL);
    free(d);

    char ep[128];
    tfc_endpoint(c, TFC_PS, 1, ep, sizeof ep);
    CHECK_STR(ep, "tcp://mnist-ps-1.default.svc:2222");
    tfc_destroy(&c);
}

static tfc_t *s_task(const char *type)
{
    char json[512];
    snprintf(json, sizeof json,
             "{\"cluster\":{\"%s\":[\"c:1\"],\"ps\":[\"p:1\"],"
             "\"worker\":[\"w:1\"]},\"task\":{\"type\":\"%s\"}}",
             strcmp(type, "master") == 0 ? "master" : "chief", type);
    return s_parse_ok(json);
}

static void test_check_binary(void)
{
    static const struct {
        const char *type;
        enum tfc_role ok;
    } cases[] = {
        {"chief", TFC_CHIEF},   {"master", TFC_CHIEF},        {"ps", TFC_PS},
        {"worker", TFC_WORKER}, {"evaluator", TFC_EVALUATOR},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tfc_t *c = s_task(cases[k].type);
        for (int b = 0; b < TFC_NROLES; b++) {
            char err[PSC_ERR_LEN] = "";
            int rc = tfc_check_binary(c, (enum tfc_role) b, err);
            if (b == (int) cases[k].ok) {
                CHECK_EQ(rc, 0);
                continue;
            }
            CHECK_EQ(rc, PSC_ECONFIG);
            char want[128];
            snprintf(want, sizeof want, "task.type is '%s' but this is psc-%s",
                     cases[k].type, tfc_role_name((enum tfc_role) b));
            CHECK_CONTAINS(err, want);
            snprintf(want, sizeof want, "start psc-%s for a %s task",
                     tfc_role_name(cases[k].ok), cases[k].type);
            CHECK_CONTAINS(err, want);
        }
        CHECK_EQ(tfc_check_binary(c, TFC_NROLES, NULL), PSC_EINVAL);
        tfc_destroy(&c);
    }

    tfc_t *c = s_task("worker");
    char err[PSC_ERR_LEN];
    CHECK_EQ(tfc_check_binary(c, TFC_PS, err), PSC_ECONFIG);
    CHECK_STR(err, "task.type is 'worker' but this is psc-ps: start "
                   "psc-worker for a worker task, or set task.type to 'ps'");
    CHECK_EQ(tfc_check_binary(c, TFC_PS, NULL), PSC_ECONFIG);
    tfc_destroy(&c);

    /* The acting chief is still run by psc-worker. */
    c = s_parse_ok("{" NO_CHIEF_CLUSTER ",\"task\":{\"type\":\"worker\"}}");
    CHECK_EQ(tfc_check_binary(c, TFC_WORKER, err), 0);
    CHECK_EQ(tfc_check_binary(c, TFC_CHIEF, err), PSC_ECONFIG);
    tfc_destroy(&c);
}

static void test_role_names(void)
{
    CHECK_STR(tfc_role_name(TFC_CHIEF), "chief");
    CHECK_STR(tfc_role_name(TFC_PS), "ps");
    CHECK_STR(tfc_role_name(TFC_WORKER), "worker");
    CHECK_STR(tfc_role_name(TFC_EVALUATOR), "evaluator");
    CHECK_STR(tfc_role_name(TFC_NROLES), "unknown");
}

/* A valid cluster around a task, for the errors that concern the task. */
#define TASK(t) "{" NO_CHIEF_CLUSTER ",\"task\":" t "}"

/* A cluster with the given job lists and a valid task. */
#define CLUSTER(j) "{\"cluster\":{" j "},\"task\":{\"type\":\"worker\"}}"

static void test_errors_document(void)
{
    s_parse_fails("{\"cluster\": {\"ps\" [\"p:1\"]}}",
                  "TF_CONFIG is not valid JSON (line 1, column ");
    s_parse_fails("{\"cluster\": {\"ps\" [\"p:1\"]}}", "fix the JSON syntax");
    s_parse_fails("{\n  \"cluster\": {,\n}", "(line 2, column ");
    s_parse_fails("", "TF_CONFIG is not valid JSON");
    s_parse_fails("[1, 2]", "TF_CONFIG is not a JSON object");
    s_parse_fails("{\"task\":{\"type\":\"worker\"}}", "cluster is missing");
    s_parse_fails("{\"cluster\":[],\"task\":{\"type\":\"worker\"}}",
                  "cluster is not an object");
    s_parse_fails("{\"cluster\":\"ps:1\",\"task\":{\"type\":\"worker\"}}",
                  "cluster is not an object");
    s_parse_fails("{" NO_CHIEF_CLUSTER "}", "task is missing: add \"task\"");
    s_parse_fails("{" NO_CHIEF_CLUSTER ",\"task\":\"worker\"}",
                  "task is not an object");

    char err[PSC_ERR_LEN];
    CHECK(tfc_new_from_json(NULL, err) == NULL);
    /* err may be NULL when the caller does not want the reason. */
    CHECK(tfc_new_from_json("{", NULL) == NULL);
}

static void test_errors_task(void)
{
    s_parse_fails(TASK("{\"index\":0}"), "task.type is missing");
    s_parse_fails(TASK("{\"type\":3}"), "task.type is not a string");
    s_parse_fails(TASK("{\"type\":\"foo\"}"),
                  "task.type 'foo' is unknown: use one of chief, master, "
                  "ps, worker, evaluator");
    s_parse_fails(TASK("{\"type\":\"Worker\"}"), "task.type 'Worker'");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":3}"),
                  "task.index 3 is out of range: cluster.worker has 3 tasks "
                  "(0..2)");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":-1}"),
                  "task.index -1 is out of range: cluster.worker has 3 tasks");
    s_parse_fails(TASK("{\"type\":\"ps\",\"index\":1}"),
                  "task.index 1 is out of range: cluster.ps has 1 task (0..0)");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":1.5}"),
                  "task.index is not an integer");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":true}"),
                  "task.index is not an integer");
    /* A string is not coerced, not even one of digits. */
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":\"0\"}"),
                  "task.index is the string \"0\": write it as a number "
                  "without quotes, like 0");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":\"one\"}"),
                  "task.index is the string \"one\": write it as a number "
                  "without quotes, like 0");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":\"-1\"}"),
                  "task.index is the string \"-1\": write it as a number "
                  "without quotes, like 0");
    s_parse_fails(TASK("{\"type\":\"worker\",\"index\":9999999999}"),
                  "task.index 9999999999 is out of range");
    s_parse_fails(TASK("{\"type\":\"chief\",\"index\":0}"),
                  "task.type is 'chief' but the cluster has no chief: add "
                  "cluster.chief, or set task.type to 'worker'");
    s_parse_fails(TASK("{\"type\":\"master\"}"),
                  "task.type is 'master' but the cluster has no chief");
    s_parse_fails("{\"cluster\":{\"chief\":[\"c:1\"],\"ps\":[\"p:1\"],"
                  "\"worker\":[\"w:1\"]},\"task\":{\"type\":\"chief\","
                  "\"index\":1}}",
                  "task.index 1 is out of range: cluster.chief has 1 task");
    /* Spec example: two workers, index 3. */
    s_parse_fails("{\"cluster\":{\"ps\":[\"p:1\"],"
                  "\"worker\":[\"w0:1\",\"w1:1\"]},"
                  "\"task\":{\"type\":\"worker\",\"index\":3}}",
                  "task.index 3 is out of range: cluster.worker has 2 tasks "
                  "(0..1)");
}

static void test_errors_jobs(void)
{
    s_parse_fails(CLUSTER("\"chief\":[\"c0:1\",\"c1:1\"],\"ps\":[\"p:1\"],"
                          "\"worker\":[\"w:1\"]"),
                  "cluster.chief has 2 tasks: a cluster has at most one "
                  "chief");
    s_parse_fails(CLUSTER("\"chief\":[\"c0:1\"],\"master\":[\"m0:1\"],"
                          "\"ps\":[\"p:1\"],\"worker\":[\"w:1\"]"),
                  "cluster has both 'chief' and 'master': keep one");
    s_parse_fails(CLUSTER("\"worker\":[\"w:1\"]"),
                  "cluster.ps is missing or empty: psc needs at least one "
                  "parameter server");
    s_parse_fails(CLUSTER("\"ps\":[],\"worker\":[\"w:1\"]"),
                  "cluster.ps is missing or empty");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"]"),
                  "cluster.worker is missing or empty: psc needs at least "
                  "one worker");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[]"),
                  "cluster.worker is missing or empty");
    s_parse_fails(CLUSTER("\"ps\":\"p:1\",\"worker\":[\"w:1\"]"),
                  "cluster.ps is not an array: write it as "
                  "[\"host:port\", ...]");
    s_parse_fails(CLUSTER("\"ps\":{\"0\":\"p:1\"},\"worker\":[\"w:1\"]"),
                  "cluster.ps is not an array");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"w:1\",2222]"),
                  "cluster.worker[1] is not a string");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":null"),
                  "cluster.worker is not an array");
}

static void test_errors_addresses(void)
{
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"w:1\",\"\"]"),
                  "cluster.worker[1] is empty: write it as host:port");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"host3:2222\","
                          "\"host4\"]"),
                  "cluster.worker[1] 'host4' has no port: write it as "
                  "host:port");
    s_parse_fails(CLUSTER("\"ps\":[\"p:0\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] 'p:0' has a bad port '0': use a number "
                  "from 1 to 65535");
    s_parse_fails(CLUSTER("\"ps\":[\"p:65536\"],\"worker\":[\"w:1\"]"),
                  "has a bad port '65536'");
    s_parse_fails(CLUSTER("\"ps\":[\"p:99999999\"],\"worker\":[\"w:1\"]"),
                  "has a bad port '99999999'");
    s_parse_fails(CLUSTER("\"ps\":[\"p:http\"],\"worker\":[\"w:1\"]"),
                  "has a bad port 'http'");
    s_parse_fails(CLUSTER("\"ps\":[\"p:-1\"],\"worker\":[\"w:1\"]"),
                  "has a bad port '-1'");
    s_parse_fails(CLUSTER("\"ps\":[\"p:\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] 'p:' has a bad port ''");
    s_parse_fails(CLUSTER("\"ps\":[\":2222\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] ':2222' has no host");
    s_parse_fails(CLUSTER("\"ps\":[\"[]:2222\"],\"worker\":[\"w:1\"]"),
                  "has no host");
    s_parse_fails(CLUSTER("\"ps\":[\"[::1]\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] '[::1]' has no port");
    s_parse_fails(CLUSTER("\"ps\":[\"[::1:2222\"],\"worker\":[\"w:1\"]"),
                  "has no closing ']'");
    s_parse_fails(CLUSTER("\"ps\":[\"[::1]2222\"],\"worker\":[\"w:1\"]"),
                  "has text after ']'");
    s_parse_fails(CLUSTER("\"ps\":[\"::1:2222\"],\"worker\":[\"w:1\"]"),
                  "write IPv6 as [addr]:port");
    s_parse_fails(CLUSTER("\"ps\":[\"tcp://p:1\"],\"worker\":[\"w:1\"]"),
                  "has a scheme");
    s_parse_fails(CLUSTER("\"ps\":[\"p :1\"],\"worker\":[\"w:1\"]"),
                  "contains whitespace");
}

static void test_errors_duplicates(void)
{
    s_parse_fails(CLUSTER("\"ps\":[\"h:1\"],\"worker\":[\"w:1\",\"h:1\"]"),
                  "cluster.worker[1] 'h:1' is also cluster.ps[0]: give each "
                  "task its own host:port");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"w:1\",\"w:1\"]"),
                  "cluster.worker[1] 'w:1' is also cluster.worker[0]");
    s_parse_fails(CLUSTER("\"master\":[\"h:1\"],\"ps\":[\"p:1\"],"
                          "\"worker\":[\"H:1\"]"),
                  "cluster.worker[0] 'H:1' is also cluster.master[0]");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"w:1\"],"
                          "\"evaluator\":[\"[::1]:5\",\"[::1]:5\"]"),
                  "cluster.evaluator[1] '[::1]:5' is also "
                  "cluster.evaluator[0]");
    /* Same host on different ports is fine (several tasks per machine). */
    tfc_t *c =
        s_parse_ok(CLUSTER("\"ps\":[\"h:1\"],\"worker\":[\"h:2\",\"h:3\"]"));
    tfc_destroy(&c);
}

/* Long values are cut so the fix still fits in the buffer. */
static void test_errors_long_values(void)
{
    char json[1024];
    char host[400];
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(json, sizeof json, CLUSTER("\"ps\":[\"%s\"],\"worker\":[\"w:1\"]"),
             host);
    s_parse_fails(json, "has no port: write it as host:port");
}

/* A host is a DNS name or an IP address, checked whole, whatever its size. */
static void test_errors_hosts(void)
{
    static char json[12000];
    static char host[10001];
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(json, sizeof json,
             CLUSTER("\"ps\":[\"%s:2222\"],\"worker\":[\"w:1\"]"), host);
    s_parse_fails(json, "cluster.ps[0] host "
                        "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' is "
                        "longer than 253 characters (10000): write a DNS name "
                        "(letters, digits, '-', dots) or an IP address");
    s_parse_fails(CLUSTER("\"ps\":[\"p:1\"],\"worker\":[\"h\u00e9.x:2222\"]"),
                  "cluster.worker[0] host 'h??.x' holds the non-ASCII byte "
                  "0xc3 at 1 (an international name goes in its xn-- form): "
                  "write a DNS name (letters, digits, '-', dots) or an IP "
                  "address");
    s_parse_fails(CLUSTER("\"ps\":[\"p_0:1\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] host 'p_0' holds '_' at 1");
    s_parse_fails(CLUSTER("\"ps\":[\"a\\u0001b:1\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] host 'a?b' holds '?' at 1");
    s_parse_fails(CLUSTER("\"ps\":[\"300.1.1.1:1\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] host '300.1.1.1' is not an IPv4 address");
    s_parse_fails(CLUSTER("\"ps\":[\"[::g]:1\"],\"worker\":[\"w:1\"]"),
                  "cluster.ps[0] host '::g' is not an IPv6 address");
    s_parse_fails(CLUSTER("\"ps\":[\"-p:1\"],\"worker\":[\"w:1\"]"),
                  "starts or ends with '-'");
    tfc_t *c =
        s_parse_ok(CLUSTER("\"ps\":[\"[fe80::1%eth0]:1\","
                           "\"10.0.0.1:2\"],\"worker\":[\"w.ns.svc.:1\"]"));
    CHECK_STR(tfc_host(c, TFC_PS, 0), "fe80::1%eth0");
    tfc_destroy(&c);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

static void test_from_env(void)
{
    char err[PSC_ERR_LEN] = "";
    char path[] = "/tmp/tfc_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);

    s_write_file(path, TASK("{\"type\":\"worker\",\"index\":2}"));
    unsetenv("TF_CONFIG");
    tfc_t *c = tfc_new_from_env(path, err);
    CHECK(c != NULL);
    CHECK_EQ(tfc_task_index(c), 2);
    CHECK_STR(tfc_host(c, TFC_WORKER, 2), "w2");
    tfc_destroy(&c);

    s_write_file(path, "{\"cluster\": ");
    CHECK(tfc_new_from_env(path, err) == NULL);
    CHECK_CONTAINS(err, "TF_CONFIG is not valid JSON");
    CHECK(unlink(path) == 0);

    CHECK(tfc_new_from_env(path, err) == NULL);
    CHECK_CONTAINS(err, "cannot read TF_CONFIG file '/tmp/tfc_test_");
    CHECK_CONTAINS(err, "No such file or directory");

    CHECK(tfc_new_from_env(NULL, err) == NULL);
    CHECK_STR(err, "TF_CONFIG is not set: export TF_CONFIG='{...}' or pass "
                   "--tf-config FILE");
    CHECK(setenv("TF_CONFIG", "", 1) == 0);
    CHECK(tfc_new_from_env(NULL, err) == NULL);
    CHECK_CONTAINS(err, "TF_CONFIG is not set");

    CHECK(setenv("TF_CONFIG", TASK("{\"type\":\"ps\"}"), 1) == 0);
    c = tfc_new_from_env(NULL, err);
    CHECK(c != NULL);
    CHECK_EQ(tfc_task_role(c), TFC_PS);
    CHECK_STR(tfc_task_name(c), "ps:0");
    tfc_destroy(&c);

    CHECK(setenv("TF_CONFIG", TASK("{\"type\":\"nope\"}"), 1) == 0);
    CHECK(tfc_new_from_env(NULL, err) == NULL);
    CHECK_CONTAINS(err, "task.type 'nope' is unknown");
    unsetenv("TF_CONFIG");
}

/* Formats spec, which must succeed; the caller frees the text. */
static char *s_format_ok(const struct tfc_spec *spec)
{
    char err[PSC_ERR_LEN] = "";
    char *text = tfc_format(spec, err);
    if (text == NULL)
        fprintf(stderr, "unexpected error: %s\n", err);
    CHECK(text != NULL);
    return text;
}

/* Formats spec, parses the text back and checks every task of it. */
static void s_round_trip(const struct tfc_spec *spec)
{
    char *text = s_format_ok(spec);
    tfc_t *c = s_parse_ok(text);
    for (int r = 0; r < TFC_NROLES; r++) {
        enum tfc_role role = (enum tfc_role) r;
        CHECK_EQ(tfc_count(c, role), spec->n[r]);
        for (int i = 0; i < spec->n[r]; i++) {
            char want[300];
            char ep[300];
            snprintf(want, sizeof want, "tcp://%s", spec->addrs[r][i]);
            tfc_endpoint(c, role, i, ep, sizeof ep);
            CHECK_STR(ep, want);
        }
    }
    CHECK_EQ(tfc_task_role(c), spec->task_role);
    CHECK_EQ(tfc_task_index(c), spec->task_index);
    CHECK_EQ(tfc_has_chief(c), spec->n[TFC_CHIEF] > 0);
    tfc_destroy(&c);
    free(text);
}

static const char *const s_chief[] = {"chief-0:2222"};
static const char *const s_ps[] = {"ps-0:2222", "ps-1:2223", "[::1]:2224"};
static const char *const s_workers[] = {"w0:1", "w1:2", "10.0.0.3:3",
                                        "w3:65535"};
static const char *const s_evals[] = {"e0:2222", "e1:2223"};

/* The text is the shape TensorFlow writes, keys in its order. */
static void test_format_text(void)
{
    struct tfc_spec spec = {.addrs = {s_chief, s_ps, s_workers},
                            .n = {1, 2, 1},
                            .task_role = TFC_WORKER,
                            .task_index = 0};
    char *text = s_format_ok(&spec);
    CHECK_STR(text, "{\"cluster\":{\"chief\":[\"chief-0:2222\"],"
                    "\"ps\":[\"ps-0:2222\",\"ps-1:2223\"],"
                    "\"worker\":[\"w0:1\"]},"
                    "\"task\":{\"type\":\"worker\",\"index\":0}}");
    free(text);
}

/* Every task of clusters with several ps and workers, chief or not. */
static void test_format_round_trip(void)
{
    struct tfc_spec spec = {.addrs = {s_chief, s_ps, s_workers},
                            .n = {1, 3, 4}};
    for (int r = TFC_CHIEF; r <= TFC_WORKER; r++) {
        spec.task_role = (enum tfc_role) r;
        for (spec.task_index = 0; spec.task_index < spec.n[r];
             spec.task_index++)
            s_round_trip(&spec);
    }
    /* No chief: no key at all, and worker 0 acts as chief. */
    spec.n[TFC_CHIEF] = 0;
    spec.task_role = TFC_WORKER;
    spec.task_index = 3;
    s_round_trip(&spec);
    char *text = s_format_ok(&spec);
    CHECK(strstr(text, "chief") == NULL);
    free(text);
    spec.task_index = 0;
    s_round_trip(&spec);
}

/* The evaluator inside the cluster, and outside it as TensorFlow has it. */
static void test_format_evaluator(void)
{
    struct tfc_spec spec = {.addrs = {s_chief, s_ps, s_workers, s_evals},
                            .n = {1, 2, 2, 2},
                            .task_role = TFC_EVALUATOR,
                            .task_index = 1};
    s_round_trip(&spec);
    spec.n[TFC_EVALUATOR] = 0;
    spec.task_index = 0;
    s_round_trip(&spec);
    char *text = s_format_ok(&spec);
    CHECK_CONTAINS(text, "\"task\":{\"type\":\"evaluator\",\"index\":0}");
    CHECK(strstr(text, "e0:2222") == NULL);
    free(text);
}

/* Formats spec, which must fail with one line containing want. */
static void s_format_fails(const struct tfc_spec *spec, const char *want)
{
    char err[PSC_ERR_LEN] = "";
    CHECK(tfc_format(spec, err) == NULL);
    CHECK_CONTAINS(err, want);
    CHECK(strchr(err, '\n') == NULL);
    CHECK(tfc_format(spec, NULL) == NULL);
}

static void test_format_errors(void)
{
    static const char *const holes[] = {"ps-0:1", NULL};
    static const char *const latin1[] = {"h\xe9te:1"};
    struct tfc_spec spec = {.addrs = {s_chief, holes}, .n = {1, 2}};
    s_format_fails(&spec, "the address of 'ps:1' is missing");
    spec.addrs[TFC_PS] = NULL;
    s_format_fails(&spec, "the address of 'ps:0' is missing");
    spec.addrs[TFC_PS] = latin1;
    spec.n[TFC_PS] = 1;
    s_format_fails(&spec, "the address of 'ps:0' is not UTF-8");
    spec.addrs[TFC_PS] = s_ps;
    spec.n[TFC_WORKER] = -1;
    s_format_fails(&spec, "-1 tasks of 'worker'");
    spec.n[TFC_WORKER] = 0;
    spec.task_index = -1;
    s_format_fails(&spec, "no such task 'chief:-1'");
    spec.task_index = 0;
    spec.task_role = TFC_NROLES;
    s_format_fails(&spec, "no such task 'unknown:0'");
}

int main(void)
{
    test_tensorflow_chief();
    test_kubeflow_worker();
    test_kubeflow_evaluator();
    test_vertex_ai();
    test_master_alias();
    test_no_chief();
    test_ignored_and_optional();
    test_evaluator_in_cluster();
    test_address_forms();
    test_describe();
    test_check_binary();
    test_role_names();
    test_errors_document();
    test_errors_task();
    test_errors_jobs();
    test_errors_addresses();
    test_errors_duplicates();
    test_errors_long_values();
    test_errors_hosts();
    test_from_env();
    test_format_text();
    test_format_round_trip();
    test_format_evaluator();
    test_format_errors();
    printf("tfc_test: all checks passed\n");
    return 0;
}
