#!/usr/bin/env bash
# The stale-gradient lab's traces through psc-launch: a sync job with a
# backup worker and trace: true writes trace/steps.jsonl, a record per
# global step with the gradients aggregated and dropped and every worker's
# times, and metrics.jsonl counts applied examples apart from computed ones.
# usage: lab_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)

SUBSET=(--set data.train_limit=12000 --set data.test_limit=2000
        --set model_dir="$WORK/model" --set eval_interval_s=1)

launch() {
    "$BIN/psc-launch" "$@" >"$WORK/launch.log" 2>&1
    STATUS=$?
}

# Three workers, two gradients per step: the third of each step is late
# and dropped (worker 2 straggles, so it is mostly that one).
steps() {
    local max=60
    launch --ps 1 --workers 3 "${SUBSET[@]}" --set mode=sync \
        --set replicas_to_aggregate=2 --set stragglers.2=fixed:20 \
        --set trace=true --set max_steps=$max \
        "$SRC/examples/fashion_mnist_mlp.json"
    [ "$STATUS" -eq 0 ] || fail "psc-launch exited $STATUS"
    [ -s "$WORK/model/trace/steps.jsonl" ] || fail "no trace/steps.jsonl"
    python3 - "$WORK/model" "$max" "$SRC/examples/fashion_mnist_mlp.json" <<'PY' || fail "steps.jsonl does not match the job"
import json, sys
model, max_steps = sys.argv[1], int(sys.argv[2])
lines = [json.loads(l) for l in open(model + "/trace/steps.jsonl")]
assert "run" in lines[0] and lines[0]["start_step"] == 0, lines[0]
recs = lines[1:]
steps = [r["step"] for r in recs]
# One record per step, in order; the job may overshoot max_steps a little.
assert steps == sorted(set(steps)), steps
assert set(range(max_steps)) <= set(steps), sorted(set(range(max_steps)) - set(steps))
seen = set()
for r in recs:
    ws = r["workers"]
    idx = [w["worker"] for w in ws]
    assert idx == sorted(set(idx)), r
    seen.update(idx)
    assert r["aggregated"] + r["dropped"] == len(ws), r
    assert r["dropped"] == sum(w["dropped"] for w in ws), r
    if r["step"] < max_steps:
        assert r["aggregated"] == 2, r
    for w in ws:
        assert w["compute_s"] >= 0 and w["wait_s"] >= 0, w
        assert w["delay_requested_s"] >= 0 and w["delay_slept_s"] >= 0, w
assert seen == {0, 1, 2}, seen
# One clock: wall time since the start and absolute time move together.
offsets = [r["time"] - r["wall_s"] for r in recs]
assert max(offsets) - min(offsets) < 0.5, (min(offsets), max(offsets))
walls = [r["wall_s"] for r in recs]
assert all(b >= a - 1e-6 for a, b in zip(walls, walls[1:])), walls
dropped = sum(r["dropped"] for r in recs)
assert dropped > 0, "no gradient dropped with a backup worker"
# metrics.jsonl: applied examples are the aggregated gradients' batches.
last = [m for m in map(json.loads, open(model + "/metrics.jsonl")) if "loss" in m][-1]
batch = json.load(open(sys.argv[3]))["batch_size"]
applied = batch * sum(r["aggregated"] for r in recs)
computed = batch * sum(len(r["workers"]) for r in recs)
assert last["examples"] <= last["examples_computed"], last
assert last["examples"] == applied, (last["examples"], applied)
assert last["examples_computed"] == computed, (last["examples_computed"], computed)
assert "computed_examples_per_s" in last, last
print(f"{len(recs)} steps, {dropped} gradients dropped; examples applied "
      f"{last['examples']}, computed {last['examples_computed']}")
PY
}

case $SCENARIO in
steps) steps ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
