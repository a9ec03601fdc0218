#!/usr/bin/env bash
# The stale-gradient lab through psc-launch: with trace=true every gradient
# appears once in trace/gradients.jsonl at every ps it went to, with what
# became of it; the staleness policies set the learning rate the trace
# shows; eval.jsonl and metrics.jsonl share the chief's clock; steps.jsonl
# has a record per global step with the gradients aggregated and dropped
# and every worker's times, and metrics.jsonl counts applied examples apart
# from computed ones; softsync updates every c gradients of any staleness.
# usage: lab_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
PY=/usr/bin/python3
SUBSET=(--set data.train_limit=12000 --set data.test_limit=2000
        --set model_dir="$WORK/model" --set eval_interval_s=1)

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
    # Once at each ps: a sync worker pushes each version it read once;
    # past the end it pushes again while another shard is a step short.
    keys = [(r["worker"], r["read"]) for r in rs if r["why"] != "past_end"]
    assert len(keys) == len(set(keys)), ("a gradient twice at ps", ps)
    taken = [r for r in rs if r["result"] != "dropped"]
    dropped = [r for r in rs if r["result"] == "dropped"]
    assert len(taken) + len(dropped) == len(rs)
    assert all(r["why"] in ("late", "past_end") and r["applied_to"] is None
               for r in dropped)
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
    if r["why"] == "past_end":
        continue  # pushed after the job's last update: never applied
    assert r["result"] == "applied", r
    want = 0.01 / (r["tau"] + 1)
    assert abs(r["lr"] - want) <= 1e-6 * want, r
print("%d gradients, staleness %s" %
      (len(recs), sorted(set(r["tau"] for r in recs))))
PY
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

# eval_every_steps: two identical sync runs on 2 ps are evaluated at the
# same steps, multiples of it, with the same loss and accuracy; an async
# run's points are at multiples too.
eval_steps() {
    for run in 1 2; do
        launch --ps 2 --workers 2 --evaluator --set max_steps=240 \
            --set eval_every_steps=40 "${SUBSET[@]}" \
            --set model_dir="$WORK/sync$run" "$JOB"
    done
    launch --ps 2 --workers 2 --evaluator --set mode=async \
        --set max_steps=240 --set eval_every_steps=40 "${SUBSET[@]}" \
        --set model_dir="$WORK/async" "$JOB"
    "$PY" - "$WORK" <<'PY' || fail "evaluations not at the steps asked for"
import json, sys
w = sys.argv[1]
def points(run):
    recs = [json.loads(l) for l in open(f"{w}/{run}/eval.jsonl")]
    return [(r["step"], r["loss"], r["accuracy"]) for r in recs if "step" in r]
one, two, unsync = points("sync1"), points("sync2"), points("async")
for run, pts in (("sync1", one), ("sync2", two), ("async", unsync)):
    # All but the final evaluation (at the last step) are at multiples.
    assert all(s % 40 == 0 for s, _, _ in pts[:-1]), (run, pts)
    assert pts[-1][0] == 240, (run, pts[-1])
    assert len(pts) >= 3, (run, pts)
    print(run, [s for s, _, _ in pts])
at = lambda pts: {s: (l, a) for s, l, a in pts}
same = sorted(set(at(one)) & set(at(two)))
assert len(same) >= 3, (one, two)
for s in same:
    assert at(one)[s] == at(two)[s], (s, at(one)[s], at(two)[s])
PY
}

# late_policy: 3 workers, 2 aggregated, worker 2 ten times slower. Under
# abort it drops its computation when the chief says the step completed
# without it, so the trace has no late gradients of it and steps.jsonl
# marks its steps aborted; under finish it pushes them and the ps drops
# them as late.
late_policy() {
    for pol in abort finish; do
        launch --ps 2 --workers 3 --evaluator --set trace=true \
            --set replicas_to_aggregate=2 --set late_policy=$pol \
            --set stragglers.2=slow:10 --set max_steps=60 "${SUBSET[@]}" \
            --set model_dir="$WORK/$pol" "$JOB"
    done
    grep -q "steps abandoned (late_policy abort" "$WORK/launch.log" &&
        fail "finish abandoned steps"
    "$PY" - "$WORK" <<'PY' || fail "late_policy not as the trace shows"
import collections, json, sys
w = sys.argv[1]
def trace(pol):
    grads = [json.loads(l) for l in open(f"{w}/{pol}/trace/gradients.jsonl")
             if '"worker"' in l]
    steps = [json.loads(l) for l in open(f"{w}/{pol}/trace/steps.jsonl")
             if '"step"' in l]
    late = collections.Counter(r["worker"] for r in grads
                               if r["why"] == "late")
    aborted = collections.Counter(e["worker"] for s in steps
                                  for e in s["workers"] if e["aborted"])
    assert [s["step"] for s in steps] == list(range(60)), pol
    assert all(s["aggregated"] == 2 for s in steps), pol
    return late, aborted
late, aborted = trace("abort")
print("abort: late gradients", dict(late), "aborted steps", dict(aborted))
assert aborted[2] >= 10, aborted
# The chief's word can only lose the race when the straggler's push
# leaves before it arrives.
assert late[2] * 4 <= aborted[2], (late, aborted)
late, aborted = trace("finish")
print("finish: late gradients", dict(late), "aborted steps", dict(aborted))
assert late[2] >= 10 and not aborted, (late, aborted)
PY
}

# Sparse gradients: trace/rows.jsonl has one line per sparse push at every
# ps it went to (its pieces together), sync and async, beside the dense
# part's lines in gradients.jsonl.
rows() {
    for mode in sync async; do
        launch --ps 2 --workers 2 --set trace=true --set mode=$mode \
            --set max_steps=40 --set synth.train_examples=20000 \
            --set synth.test_examples=2000 --set model_dir="$WORK/$mode" \
            "$SRC/examples/sparse_lr_synth.json"
    done
    "$PY" - "$WORK" <<'PY' || fail "the sparse gradients' trace does not add up"
import collections, json, sys
w = sys.argv[1]
for mode in ("sync", "async"):
    rows = [json.loads(l) for l in open(f"{w}/{mode}/trace/rows.jsonl")]
    dense = [json.loads(l) for l in open(f"{w}/{mode}/trace/gradients.jsonl")
             if '"worker"' in l]
    pushes = collections.Counter(r["worker"] for r in dense)
    assert sorted({r["ps"] for r in rows}) == [0, 1], mode
    for ps in (0, 1):
        mine = [r for r in rows if r["ps"] == ps]
        # Every dense push had its rows pushed first, to every ps; at the
        # end of the job a worker's last rows may go without the rest.
        sparse = collections.Counter(r["worker"] for r in mine)
        assert all(sparse[w] - pushes[w] in (0, 1) for w in (0, 1)), \
            (mode, ps, sparse, pushes)
        assert all(r["rows"] > 0 for r in mine), mode
        if mode == "sync":
            keys = [(r["worker"], r["read"]) for r in mine]
            assert len(keys) == len(set(keys)), ("twice at a ps", mode, ps)
            assert all(r["result"] in ("taken", "dropped") for r in mine)
        else:
            assert all(r["result"] == "applied" and r["read"] is None
                       for r in mine), mode
    print(mode, len(rows), "sparse records,", sum(pushes.values()),
          "dense pushes")
PY
}

# 2-softsync of 4 workers on 2 ps: every update at every ps averages
# c = 4 / 2 = 2 gradients of any staleness, the second marked stepped,
# and no worker waits for an update, so gradients come stale.
softsync() {
    local max=30
    launch --ps 2 --workers 4 "${SUBSET[@]}" --set mode=softsync \
        --set softsync_n=2 --set trace=true --set max_steps=$max "$JOB"
    "$PY" - "$WORK/model" "$max" <<'PY' || fail "softsync does not update every 2 gradients"
import collections, json, sys
d, max_steps = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(d + "/trace/gradients.jsonl")]
metrics = [json.loads(l) for l in open(d + "/metrics.jsonl") if '"step"' in l]
by_ps = collections.defaultdict(list)
for r in recs:
    by_ps[r["ps"]].append(r)
assert sorted(by_ps) == [0, 1], sorted(by_ps)
for ps, rs in sorted(by_ps.items()):
    taken = [r for r in rs if r["result"] != "dropped"]
    dropped = [r for r in rs if r["result"] == "dropped"]
    # Policy none drops nothing: only pushes after the job's last update.
    assert all(r["why"] == "past_end" for r in dropped), dropped[:3]
    assert all(r["result"] in ("aggregated", "stepped") for r in taken)
    per_update = collections.Counter(r["applied_to"] for r in taken)
    steps = sorted(per_update)
    assert steps == list(range(len(steps))), ("updates not 0..n-1", ps)
    assert len(steps) == max_steps, ("updates", ps, len(steps))
    assert all(n == 2 for n in per_update.values()), ("not 2 an update", ps)
    stepped = collections.Counter(r["applied_to"] for r in taken
                                  if r["result"] == "stepped")
    assert all(stepped[u] == 1 for u in steps), ("one stepped an update", ps)
    # tau: the versions applied since the one read; pushes answered at
    # once, so some come from a version already updated.
    for r in taken:
        assert r["tau"] == r["applied_to"] - r["read"] >= 0, r
    taus = [r["tau"] for r in taken]
    assert max(taus) > 0, ("no stale gradient", ps)
    assert all(r["lr"] > 0 for r in taken)
    workers = collections.Counter(r["worker"] for r in taken)
    assert sorted(workers) == [0, 1, 2, 3], workers
    print("ps %d: %d updates of 2, mean tau %.2f, by worker %s" %
          (ps, len(steps), sum(taus) / len(taus), dict(sorted(workers.items()))))
# The job stops at max_steps, as the chief counts them.
assert metrics[-1]["step"] == max_steps, metrics[-1]["step"]
# steps.jsonl: a record per report, as in async, with a worker's repeats
# of one version read (answered before any update) kept, not lost.
steps = [json.loads(l) for l in open(d + "/trace/steps.jsonl")][1:]
assert all(len(r["workers"]) == 1 for r in steps)
# The job's end may catch a worker's last push (or its report) between
# the two ps: a gradient a worker each, at most, differs there.
aggregated = sum(r["aggregated"] for r in steps)
assert abs(aggregated - 2 * max_steps) <= 4, aggregated
early = lambda read: read < max_steps - 4
got = collections.Counter((r["workers"][0]["worker"], r["step"])
                          for r in steps if early(r["step"]))
want = collections.Counter((r["worker"], r["read"]) for r in by_ps[0]
                           if early(r["read"]))
assert got == want, (got - want, want - got)
assert sum(want.values()) > max_steps, want
PY
    grep -q "came after their step" "$WORK/launch.log" &&
        fail "steps.jsonl lost reports"
}

case $SCENARIO in
rows) rows ;;
late_policy) late_policy ;;
eval_steps) eval_steps ;;
gradients) gradients ;;
policy) policy ;;
steps) steps ;;
softsync) softsync ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
