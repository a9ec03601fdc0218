#!/usr/bin/env bash
# psc-serve through its REST API, as TF Serving's users call it: the
# chapter's Python client against psc-export's own probabilities, every
# error status, versions swapped under load with none failing and a
# corrupt one refused, labels, batch prediction on the whole test set,
# Prometheus scraping the metrics, and the page in a headless Chromium.
# Exports come from a real training job (psc-launch, ~10 s).
# usage: serve_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
DATA=/usr/share/datasets/fashion-mnist
IMAGES=$DATA/t10k-images-idx3-ubyte.gz
NAME=fashion
BASE=$WORK/model/export/model
export PYTHONPATH=$SRC/tests${PYTHONPATH:+:$PYTHONPATH}

# train STEPS: a job on $WORK/model through psc-launch; the first exports
# $BASE/0001, the next (more steps, resumed) $BASE/0002.
train() {
    "$BIN/psc-launch" --ps 1 --workers 2 --set max_steps="$1" \
        --set data.train_limit=12000 --set model_dir="$WORK/model" "$JOB" \
        >>"$WORK/train.log" 2>&1 || fail "psc-launch exited $?"
}

# evaluate VERSION_DIR PROBS: psc-export's accuracy line; probabilities
# (test examples x 10, float32) into PROBS.
evaluate() {
    "$BIN/psc-export" --evaluate "$1" --probabilities "$2" ||
        fail "psc-export --evaluate $1 failed"
}

# serve NAME [flags...]: psc-serve in the background on a free port (PORT),
# log $WORK/NAME.log, pid PID_NAME; returns once it logs that it listens.
serve() {
    local name=$1
    shift
    PORT=$(free_ports 1) || fail "cannot pick a free port"
    "$BIN/psc-serve" --rest_api_port="$PORT" --file_system_poll_wait_seconds=1 \
        "$@" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "PID_$name" '%s' "$pid"
    wait_line "$name" "on port $PORT \(REST\)" 30
}

# stop NAME: SIGTERM, and the server must exit 0.
stop() {
    local pidvar="PID_$1"
    kill -TERM "${!pidvar}" 2>/dev/null
    expect_exit "$1" 0 30
}

# put SRC_DIR NUMBER: a version copied in as export does it: under a dot
# name first, then renamed into place.
put() {
    local to
    to=$(printf '%s/%04d' "$BASE" "$2")
    cp -r "$1" "$BASE/.tmp-$2" && mv "$BASE/.tmp-$2" "$to" || fail "cannot put $to"
}

# py ARGS... <<'PY': a Python step with serve_util importable.
py() {
    python3 - "$@"
}

client() {
    train 150
    evaluate "$BASE/0001" "$WORK/p1" >"$WORK/acc1"
    serve server --model_name="$NAME" --model_base_path="$BASE"
    wait_line server "loaded version 1 of '$NAME'" 30
    # The chapter's client, unchanged but for the model name and the port.
    py "$PORT" "$NAME" "$WORK/p1" <<'PY' || fail "the chapter's client"
import sys
import serve_util
port, name = int(sys.argv[1]), sys.argv[2]
X_test = serve_util.read_images()

import json
input_data_json = json.dumps({
    "signature_name": "serving_default",
    "instances": X_test[:3].tolist(),
})
import requests
SERVER_URL = f"http://localhost:{port}/v1/models/{name}:predict"
response = requests.post(SERVER_URL, data=input_data_json)
response.raise_for_status() # raise an exception in case of error
response = response.json()
y_proba = response["predictions"]

want = serve_util.read_probs(sys.argv[3])
d = serve_util.check_close(y_proba, want[:3])
print(f"chapter's client: 3 predictions, max |diff| {d:.2e} from psc-export's")
PY
    py "$PORT" "$NAME" "$WORK/p1" <<'PY' || fail "predict forms, status or metadata"
import sys
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
want = u.read_probs(sys.argv[3])
X = u.read_images(n=64)
flat = [u.flat(im) for im in X]

def predict(body, path=f"/v1/models/{name}:predict"):
    status, got = u.request(port, "POST", path, body)
    assert status == 200, (path, status, got)
    return got

# 784-flat instances, many rows at once.
got = predict({"instances": flat})
assert list(got) == ["predictions"], list(got)
u.check_close(got["predictions"], want[:64], what="flat instances")
# Columnar: "inputs" as one tensor, answered as "outputs".
got = predict({"inputs": flat[:5]})
assert list(got) == ["outputs"], list(got)
u.check_close(got["outputs"], want[:5], what="columnar inputs")
# Named input, as TF Serving takes it.
got = predict({"instances": [{"pixels": X[7]}]})
u.check_close(got["predictions"], want[7:8], what="named instance")
# The version by number, and by its folder's number (0001 is 1).
got = predict({"instances": X[:2]}, f"/v1/models/{name}/versions/1:predict")
u.check_close(got["predictions"], want[:2], what="/versions/1")

status, st = u.request(port, "GET", f"/v1/models/{name}")
assert status == 200, (status, st)
assert st == {"model_version_status": [{"version": "1", "state": "AVAILABLE",
              "status": {"error_code": "OK", "error_message": ""}}]}, st
status, st1 = u.request(port, "GET", f"/v1/models/{name}/versions/1")
assert status == 200 and st1 == st, (status, st1)

status, md = u.request(port, "GET", f"/v1/models/{name}/metadata")
assert status == 200, (status, md)
assert md["model_spec"] == {"name": name, "signature_name": "",
                            "version": "1"}, md["model_spec"]
sig = md["metadata"]["signature_def"]["signature_def"]["serving_default"]
assert sig["method_name"] == "tensorflow/serving/predict", sig
assert len(sig["inputs"]) == 1 and len(sig["outputs"]) == 1, sig
(inp,), (out,) = sig["inputs"].values(), sig["outputs"].values()
assert inp["dtype"] == "DT_FLOAT" and out["dtype"] == "DT_FLOAT", sig
dims = lambda t: [int(d["size"]) for d in t["tensor_shape"]["dim"]]
assert dims(inp) == [-1, 784] and dims(out) == [-1, 10], (dims(inp), dims(out))
status, md1 = u.request(port, "GET", f"/v1/models/{name}/versions/1/metadata")
assert status == 200 and md1 == md, (status, md1)
print("flat, columnar, named and /versions/1 predictions within 1e-6; "
      "status and metadata in TF Serving's shape")
PY
    stop server
}

errors() {
    train 150
    mkdir -p "$BASE.empty"
    # No version yet: alive, not ready; ready once one is renamed into place.
    serve server --model_name="$NAME" --model_base_path="$BASE.empty" \
        --max_request_bytes=100000
    code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }
    [ "$(code /healthz)" = 200 ] || fail "/healthz is not 200 without a version"
    [ "$(code /readyz)" = 503 ] || fail "/readyz is not 503 without a version"
    local save=$BASE
    BASE=$BASE.empty
    put "$save/0001" 1
    BASE=$save
    wait_line server "loaded version 1 of '$NAME'" 30
    [ "$(code /readyz)" = 200 ] || fail "/readyz is not 200 once version 1 is loaded"
    [ "$(code /healthz)" = 200 ] || fail "/healthz is not 200 with a version"
    echo "healthz 200 throughout; readyz 503, then 200 once version 1 loaded"
    py "$PORT" "$NAME" <<'PY' || fail "error statuses"
import sys
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
P = f"/v1/models/{name}:predict"
im = u.flat(u.read_images(n=1)[0])

def expect(status, method, path, body=None, what=""):
    got, j = u.request(port, method, path, body)
    assert got == status, (what, method, path, got, j)
    assert isinstance(j, dict) and isinstance(j.get("error"), str) and j["error"], (what, j)
    print(f"  {status} {what}: {j['error'][:90]}")

expect(400, "POST", P, "{\"instances\": [", "malformed JSON")
expect(400, "POST", P, "[1, 2]", "a body that is no object")
expect(400, "POST", P, {"instances": [im], "inputs": [im]}, "both instances and inputs")
expect(400, "POST", P, {"signature_name": "serving_default"}, "neither instances nor inputs")
expect(400, "POST", P, {"instances": [im[:700]]}, "wrong shape (700 values)")
expect(400, "POST", P, {"instances": [[im[:28]] * 27]}, "wrong shape (27x28)")
expect(400, "POST", P, {"instances": [im[:783] + ["x"]]}, "a non-number")
expect(400, "POST", P, {"instances": [im[:783] + [None]]}, "a null")
expect(404, "POST", "/v1/models/nosuch:predict", {"instances": [im]}, "unknown model")
expect(404, "POST", f"/v1/models/{name}/versions/7:predict", {"instances": [im]}, "unknown version")
expect(404, "POST", f"/v1/models/{name}/labels/nosuch:predict", {"instances": [im]}, "unknown label")
expect(404, "GET", "/v1/models/nosuch", None, "status of an unknown model")
expect(404, "GET", f"/v1/models/{name}/versions/7", None, "status of an unknown version")
expect(404, "GET", "/v2/nowhere", None, "unknown path")
expect(404, "GET", f"/v1/models/{name}:explode", None, "unknown verb")
expect(405, "DELETE", f"/v1/models/{name}", None, "DELETE on a model")
expect(405, "GET", P, None, "GET on :predict")
expect(405, "POST", "/healthz", "{}", "POST on /healthz")
expect(413, "POST", P, "{\"instances\": [" + ",".join([str(im)] * 40) + "]}",
       "a body over --max_request_bytes")
status, got = u.request(port, "POST", P, {"instances": [im]})
assert status == 200 and len(got["predictions"]) == 1, (status, got)
print("every error status; a normal predict still answers after them")
PY
    stop server

    # 503: a queue of one batch of one row, and a burst of 64 one-row
    # requests on as many HTTP threads.
    serve batching --model_name="$NAME" --model_base_path="$BASE" \
        --enable_batching --max_batch_size=1 --max_enqueued_batches=1 \
        --num_batch_threads=1 --rest_api_num_threads=64
    wait_line batching "loaded version 1 of '$NAME'" 30
    py "$PORT" "$NAME" <<'PY' || fail "a full batch queue"
import sys, threading
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
X = [u.flat(im) for im in u.read_images(n=1)]
body = {"instances": X}
codes, lock, go = [], threading.Lock(), threading.Barrier(64)
def one():
    go.wait()
    status, j = u.request(port, "POST", f"/v1/models/{name}:predict", body)
    with lock:
        codes.append((status, j if status != 200 else None))
ts = [threading.Thread(target=one) for _ in range(64)]
for t in ts: t.start()
for t in ts: t.join(60)
assert len(codes) == 64, f"{len(codes)} of 64 requests answered"
bad = [c for c in codes if c[0] not in (200, 503)]
assert not bad, bad[:3]
n503 = sum(1 for c in codes if c[0] == 503)
assert n503 >= 1, "no 503 from a full queue"
assert all("error" in c[1] for c in codes if c[0] == 503), codes
status, got = u.request(port, "POST", f"/v1/models/{name}:predict", {"instances": X[:1]})
assert status == 200, (status, got)
print(f"burst of 64: {64 - n503} answered 200, {n503} refused 503; a predict after it is 200")
PY
    stop batching
}

# load.py PORT NAME STOPFILE MAXSECONDS THREADS: predicts on THREADS
# keep-alive connections until STOPFILE exists; prints the counts.
load() {
    py "$@" <<'PY'
import os, sys, threading, time
import requests
import serve_util as u
port, name, stop, limit, n = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
body = __import__("json").dumps({"instances": [u.flat(im) for im in u.read_images(n=4)]})
url = f"http://127.0.0.1:{port}/v1/models/{name}:predict"
ok, bad, lock = [0], [], threading.Lock()
end = time.monotonic() + limit
def run():
    s = requests.Session()
    while not os.path.exists(stop) and time.monotonic() < end:
        try:
            r = s.post(url, data=body, timeout=10)
            good = r.status_code == 200 and len(r.json()["predictions"]) == 4
            what = (r.status_code, r.text[:120])
        except Exception as e:
            good, what = False, repr(e)[:120]
        with lock:
            if good: ok[0] += 1
            else: bad.append(what)
ts = [threading.Thread(target=run) for _ in range(n)]
for t in ts: t.start()
for t in ts: t.join()
print(f"load: {ok[0]} requests answered 200, {len(bad)} failed"
      + ("" if os.path.exists(stop) else " (stopped by its time limit)"))
for b in bad[:5]: print("  failed:", b)
sys.exit(0 if not bad and os.path.exists(stop) else 1)
PY
}

hot_swap() {
    train 150
    train 200
    local src=$WORK/versions
    mkdir -p "$src"
    mv "$BASE/0001" "$src/a"
    mv "$BASE/0002" "$src/b"
    put "$src/a" 1
    serve server --model_name="$NAME" --model_base_path="$BASE"
    wait_line server "loaded version 1 of '$NAME'" 30
    load "$PORT" "$NAME" "$WORK/stop" "$(scaled 20)" 16 >"$WORK/load.out" 2>&1 &
    local loader=$!
    PIDS+=("$loader")
    # Five swaps, each as soon as the last one is served: the poll (1 s)
    # paces them. The old version is deleted once the new one serves.
    local v
    for v in 2 3 4 5 6; do
        if [ $((v % 2)) -eq 0 ]; then put "$src/b" "$v"; else put "$src/a" "$v"; fi
        wait_line server "loaded version $v of '$NAME'" 30
        rm -rf "$(printf '%s/%04d' "$BASE" $((v - 1)))"
        wait_line server "unloading version $((v - 1)) of '$NAME'" 30
    done
    # A corrupt version 7: refused with a line, version 6 keeps answering.
    cp -r "$src/a" "$BASE/.tmp-7"
    py "$BASE/.tmp-7/layer0_kernel.f32" <<'PY'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4000); b = f.read(1); f.seek(4000); f.write(bytes([b[0] ^ 1]))
PY
    mv "$BASE/.tmp-7" "$BASE/0007"
    wait_line server "refusing version 7 of '$NAME'" 30
    touch "$WORK/stop"
    wait "$loader" || fail "requests failed during the swaps: $(cat "$WORK/load.out")"
    cat "$WORK/load.out"
    grep "refusing version 7" "$WORK/server.log"
    evaluate "$src/b" "$WORK/pb" >/dev/null
    py "$PORT" "$NAME" "$WORK/pb" <<'PY' || fail "version 6 does not answer after the refusal"
import sys
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
status, st = u.request(port, "GET", f"/v1/models/{name}")
assert status == 200, (status, st)
avail = [s["version"] for s in st["model_version_status"] if s["state"] == "AVAILABLE"]
assert avail == ["6"], st
status, got = u.request(port, "POST", f"/v1/models/{name}:predict",
                        {"instances": u.read_images(n=3)})
assert status == 200, (status, got)
u.check_close(got["predictions"], u.read_probs(sys.argv[3])[:3])
print(f"after the refusal: status {st}; predictions are version 6's")
PY
    local n
    n=$(grep -c "loaded version [0-9]* of '$NAME'" "$WORK/server.log")
    [ "$n" -eq 6 ] || fail "$n versions loaded, not 6"
    echo "5 swaps under 16 connections: every version loaded, none failed"
    stop server
}

labels() {
    train 150
    train 200
    evaluate "$BASE/0001" "$WORK/p1" >/dev/null
    evaluate "$BASE/0002" "$WORK/p2" >/dev/null
    cat >"$WORK/models.config" <<EOF
model_config_list {
  config {
    name: '$NAME'
    base_path: '$BASE'
    model_platform: 'tensorflow'
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: 'stable' value: 1 }
    version_labels { key: 'canary' value: 2 }
  }
}
EOF
    cp "$WORK/models.config" "$WORK/models.config.good"
    serve server --model_config_file="$WORK/models.config" \
        --model_config_file_poll_wait_seconds=1
    wait_line server "loaded version 2 of '$NAME'" 30
    wait_line server "loaded version 1 of '$NAME'" 30
    py "$PORT" "$NAME" "$WORK/p1" "$WORK/p2" <<'PY' || fail "labels"
import sys
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
p = {1: u.read_probs(sys.argv[3]), 2: u.read_probs(sys.argv[4])}
X = u.read_images(n=16)
def predict(path):
    status, got = u.request(port, "POST", f"/v1/models/{name}{path}:predict", {"instances": X})
    assert status == 200, (path, status, got)
    return got["predictions"]
far = max(abs(a - b) for r, s in zip(p[1][:16], p[2][:16]) for a, b in zip(r, s))
assert far > 1e-3, f"versions 1 and 2 predict alike ({far}); the test cannot tell them apart"
for path, v in (("/labels/stable", 1), ("/labels/canary", 2),
                ("/versions/1", 1), ("/versions/2", 2), ("", 2)):
    u.check_close(predict(path), p[v][:16], what=path or "no version")
    print(f"{path or '(newest)'}: version {v}'s predictions")
status, st = u.request(port, "GET", f"/v1/models/{name}")
assert status == 200, (status, st)
assert [s["version"] for s in st["model_version_status"]] == ["2", "1"], st
status, md = u.request(port, "GET", f"/v1/models/{name}/labels/stable/metadata")
assert status == 200 and md["model_spec"]["version"] == "1", (status, md)
status, j = u.request(port, "POST", f"/v1/models/{name}/labels/beta:predict", {"instances": X})
assert status == 404, (status, j)
PY
    # Rollout and rollback by relabeling: the file is rewritten (by a
    # rename, as a deployer does) and read again within its poll.
    relabel 2 1
    wait_line server "config reloaded from .*stable=2 canary=1" 30
    py "$PORT" "$NAME" "$WORK/p1" "$WORK/p2" <<'PY' || fail "relabel"
import sys
import serve_util as u
port, name = int(sys.argv[1]), sys.argv[2]
p = {1: u.read_probs(sys.argv[3]), 2: u.read_probs(sys.argv[4])}
X = u.read_images(n=16)
for label, v in (("stable", 2), ("canary", 1)):
    status, got = u.request(port, "POST", f"/v1/models/{name}/labels/{label}:predict", {"instances": X})
    assert status == 200, (label, status, got)
    u.check_close(got["predictions"], p[v][:16], what=label)
    print(f"after the relabel, {label}: version {v}'s predictions")
PY
    printf 'model_config_list { config { name: ' >"$WORK/models.config.tmp"
    mv "$WORK/models.config.tmp" "$WORK/models.config"
    wait_line server "models.config:.*the config in force stays" 30
    relabel 1 2
    wait_line server "config reloaded from .*stable=1 canary=2" 30
    status=$(curl -s "http://127.0.0.1:$PORT/v1/models/$NAME/labels/stable" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["model_version_status"][0]["version"])')
    [ "$status" = 1 ] || fail "after the rollback, stable is version '$status', not 1"
    stop server
}

# relabel STABLE CANARY: models.config rewritten with those labels.
relabel() {
    sed -e "s/key: 'stable' value: [0-9]*/key: 'stable' value: $1/" \
        -e "s/key: 'canary' value: [0-9]*/key: 'canary' value: $2/" \
        "$WORK/models.config.good" >"$WORK/models.config.tmp"
    mv "$WORK/models.config.tmp" "$WORK/models.config"
}

batch_prediction() {
    train 150
    local acc
    acc=$(evaluate "$BASE/0001" "$WORK/p1")
    echo "psc-export: $acc"
    # The test set, one 784-list a line, and two malformed lines (101, 5002),
    # reported as IN:LINE or "line LINE".
    py "$WORK/in.jsonl" <<'PY'
import json, sys
import serve_util as u
with open(sys.argv[1], "w") as f:
    for i, im in enumerate(u.read_images()):
        if i == 100: f.write("{\"instance\": [1, 2,\n")
        if i == 5000: f.write(json.dumps(list(range(783))) + "\n")
        f.write(json.dumps(u.flat(im)) + "\n")
PY
    "$BIN/psc-serve" --batch "$WORK/in.jsonl" --out "$WORK/out.jsonl" \
        --model_name "$NAME" --model_base_path "$BASE" >"$WORK/batch.log" 2>&1 ||
        fail "psc-serve --batch exited $?"
    grep -E "(line |:)101([^0-9]|$)" "$WORK/batch.log" || fail "line 101 not reported"
    grep -E "(line |:)5002([^0-9]|$)" "$WORK/batch.log" || fail "line 5002 not reported"
    py "$WORK/out.jsonl" "$WORK/p1" "$acc" <<'PY' || fail "batch predictions"
import json, re, sys
import serve_util as u
labels = u.read_labels()
want = u.read_probs(sys.argv[2])
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 10000, f"{len(rows)} predictions, not 10000"
assert all(len(r["instance"]) == 784 for r in rows[:3]), rows[0].keys()
pred = [r["prediction"] for r in rows]
d = u.check_close(pred, want, what="batch predictions")
acc = sum(u.argmax(p) == y for p, y in zip(pred, labels)) / len(labels)
theirs = float(re.search(r"accuracy ([0-9.]+)", sys.argv[3]).group(1))
assert f"{acc:.4f}" == f"{theirs:.4f}", (acc, theirs)
print(f"batch: 10000 predictions, max |diff| {d:.2e}, accuracy {acc:.4f} = psc-export's")
PY
    "$BIN/psc-serve" --batch "$WORK/in.jsonl" --out "$WORK/strict.jsonl" --strict \
        --model_name "$NAME" --model_base_path "$BASE" >"$WORK/strict.log" 2>&1
    local rc=$?
    [ $rc -eq 1 ] || fail "--strict with malformed lines exited $rc, not 1"
    grep -E "(line |:)101([^0-9]|$)" "$WORK/strict.log" || fail "--strict did not name line 101"
}

prometheus_() {
    train 150
    serve server --model_name="$NAME" --model_base_path="$BASE"
    wait_line server "loaded version 1 of '$NAME'" 30
    # One status request, so that the counter has a sample to read.
    curl -sf "http://127.0.0.1:$PORT/v1/models/$NAME" >/dev/null || fail "no status"
    curl -sf "http://127.0.0.1:$PORT/monitoring/prometheus/metrics" >"$WORK/metrics.txt" ||
        fail "no metrics"
    # The request counter: a counter named for requests, and its label
    # whose value names the endpoint ("predict").
    read -r METRIC KEY < <(py "$WORK/metrics.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
for c in re.findall(r"^# TYPE (\S+) counter$", text, re.M):
    if "request" in c:
        keys = re.findall(r'^' + re.escape(c) + r'\{.*?(\w+)="(?:status|metadata|predict|metrics|health)"', text, re.M)
        print(c, keys[0] if keys else "")
        break
PY
)
    [ -n "${METRIC:-}" ] && [ -n "${KEY:-}" ] ||
        fail "no request counter with an endpoint label in: $(head -c 2000 "$WORK/metrics.txt")"
    echo "request counter: $METRIC, endpoint label $KEY"
    local pport
    pport=$(free_ports 1)
    cat >"$WORK/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: psc-serve
    metrics_path: /monitoring/prometheus/metrics
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
    prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
        --web.listen-address="127.0.0.1:$pport" >"$WORK/prometheus.log" 2>&1 &
    PIDS+=("$!")
    wait_line prometheus "Server is ready to receive web requests" 60
    py "$PORT" "$NAME" "$pport" "$METRIC" "$KEY" "$(scaled 30)" <<'PY' || fail "prometheus"
import json, sys, time, urllib.parse, urllib.request
import serve_util as u
port, name, pport, metric, key = sys.argv[1:6]
limit = float(sys.argv[6])
N = 25
X = u.read_images(n=1)
for _ in range(N):
    status, _j = u.request(int(port), "POST", f"/v1/models/{name}:predict", {"instances": X})
    assert status == 200, status
# psc-serve's own count first.
_s, text = u.request(int(port), "GET", "/monitoring/prometheus/metrics")
mine = sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
           if l.startswith(metric + "{") and f'{key}="predict"' in l)
assert mine == N, f"psc-serve counts {mine} predicts, not {N}:\n{text}"
# By __name__: a name with colons (TF Serving's) needs no quoting there.
q = f'sum({{__name__="{metric}",{key}="predict"}})'
url = f"http://127.0.0.1:{pport}/api/v1/query?" + urllib.parse.urlencode({"query": q})
end, seen = time.monotonic() + limit, None
while time.monotonic() < end:
    r = json.load(urllib.request.urlopen(url, timeout=10))
    assert r["status"] == "success", r
    res = r["data"]["result"]
    seen = float(res[0]["value"][1]) if res else None
    if seen == N:
        break
    time.sleep(0.2)
assert seen == N, f"prometheus shows {seen} for {q} after {limit} s, not {N}"
print(f"prometheus: {q} = {seen:g}")
PY
    stop server
}

browser() {
    bash "$SRC/tests/node/setup.sh" >"$WORK/npm.log" 2>&1 ||
        fail "tests/node/setup.sh failed: $(tail -n 5 "$WORK/npm.log")"
    local tfjs=$SRC/tests/node/node_modules/@tensorflow/tfjs/dist/tf.min.js
    [ -f "$tfjs" ] || fail "no $tfjs"
    [ -x /usr/bin/chromium ] || fail "no /usr/bin/chromium (apt-get install chromium)"
    train 150
    serve server --model_name="$NAME" --model_base_path="$BASE" \
        --page_images="$IMAGES" --tfjs_script="$tfjs"
    wait_line server "loaded version 1 of '$NAME'" 30
    local shot=${PSC_ARTIFACTS:-$SRC/build/tests/artifacts}/serve_page.png
    mkdir -p "$(dirname "$shot")"
    node "$SRC/tests/node/page_check.js" --url "http://127.0.0.1:$PORT/" \
        --model "$NAME" --images 8 --screenshot "$shot" --timeout "$(scaled 60)" \
        >"$WORK/page.out" 2>&1 || fail "page_check.js: $(cat "$WORK/page.out")"
    cat "$WORK/page.out"
    echo "screenshot: $shot"
    stop server
}

case $SCENARIO in
client | errors | hot_swap | labels | batch_prediction | browser) "$SCENARIO" ;;
prometheus) prometheus_ ;;
*) fail "unknown scenario '$SCENARIO'" ;;
esac
echo "PASS: $SCENARIO"
