#!/usr/bin/env bash
# The stale-gradient lab through psc-launch: with trace=true every gradient
# appears once in trace/gradients.jsonl at every ps it went to, with what
# became of it; the staleness policies set the learning rate the trace
# shows; eval.jsonl and metrics.jsonl share the chief's clock.
# usage: lab_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
PY=/usr/bin/python3

launch() {
    "$BIN/psc-launch" "$@" >"$WORK/launch.log" 2>&1
    STATUS=$?
    [ "$STATUS" -eq 0 ] || fail "psc-launch exited $STATUS"
}

# Sync, 3 workers, 2 of them aggregated, on 2 ps: the trace's counts.
gradients() {
    launch --ps 2 --workers 3 --evaluator --set trace=true \
        --set replicas_to_aggregate=2 --set max_steps=40 \
        --set model_dir="$WORK/model" --set eval_interval_s=0.2 "$JOB"
    "$PY" - "$WORK/model" <<'PY' || fail "the gradient trace does not add up"
import collections, json, sys
d = sys.argv[1]
recs = [json.loads(l) for l in open(d + "/trace/gradients.jsonl")]
metrics = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"step"' in l]
by_ps = collections.defaultdict(list)
for r in recs:
    by_ps[r["ps"]].append(r)
assert sorted(by_ps) == [0, 1], sorted(by_ps)
for ps, rs in by_ps.items():
    keys = [(r["worker"], r["read"]) for r in rs]
    # Once at each ps: a sync worker pushes each version it read once.
    assert len(keys) == len(set(keys)), ("a gradient twice at ps", ps)
    taken = [r for r in rs if r["result"] != "dropped"]
    dropped = [r for r in rs if r["result"] == "dropped"]
    assert len(taken) + len(dropped) == len(rs)
    assert all(r["why"] == "late" and r["applied_to"] is None for r in dropped)
    per_update = collections.Counter(r["applied_to"] for r in taken)
    steps = sorted(per_update)
    assert steps == list(range(len(steps))), ("updates not 0..n-1", ps)
    assert all(n == 2 for n in per_update.values()), ("not 2 a step", ps)
    stepped = [r for r in taken if r["result"] == "stepped"]
    assert len(stepped) == len(steps), ("one stepped a step", ps)
    assert all(r["tau"] == 0 and r["lr"] > 0 for r in taken)
    assert len(steps) >= 40, ("fewer updates than max_steps", ps, len(steps))
    print("ps %d: %d gradients, %d taken, %d dropped, %d updates" %
          (ps, len(rs), len(taken), len(dropped), len(steps)))
# Every gradient at every ps it went to: each worker's step pushes to both,
# from the version it read of each (a late worker's two shards can be a
# version apart), so each worker has as many records at one as at the
# other, but for the push the job's end caught between the two.
for w in range(3):
    n = [sum(1 for r in by_ps[ps] if r["worker"] == w) for ps in (0, 1)]
    assert n[0] > 0 and abs(n[0] - n[1]) <= 1, ("worker", w, n)
# metrics.jsonl: the histogram counts taken gradients over both ps.
last = metrics[-1]
assert sum(last["staleness_hist"]) == sum(
    1 for r in recs if r["result"] != "dropped"), last["staleness_hist"]
# One clock: trace, metrics and eval times are on the chief's job clock.
evals = [json.loads(l) for l in open(d + "/eval.jsonl") if '"accuracy"' in l]
for rec in evals + metrics + recs:
    assert abs((rec["time"] - rec["wall_s"]) -
               (metrics[-1]["time"] - metrics[-1]["wall_s"])) < 0.05, rec
PY
}

# Async, 2 workers: inverse_plus_one gives each gradient lr / (tau + 1).
policy() {
    launch --ps 1 --workers 2 --set trace=true --set mode=async \
        --set staleness_policy=inverse_plus_one --set lr_decay=none \
        --set learning_rate=0.01 --set max_steps=60 \
        --set model_dir="$WORK/model" "$JOB"
    "$PY" - "$WORK/model" <<'PY' || fail "the learning rates are not lr / (tau + 1)"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1] + "/trace/gradients.jsonl")]
assert len(recs) >= 60, len(recs)
for r in recs:
    assert r["result"] == "applied", r
    want = 0.01 / (r["tau"] + 1)
    assert abs(r["lr"] - want) <= 1e-6 * want, r
print("%d gradients, staleness %s" %
      (len(recs), sorted(set(r["tau"] for r in recs))))
PY
}

case $SCENARIO in
gradients) gradients ;;
policy) policy ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
