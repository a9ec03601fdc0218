#!/usr/bin/env bash
# psc-lab on a tiny plan (2 configurations x 2 seeds, 40 steps each): the
# progress lines, a second run that keeps the finished runs, the report's
# PNGs (real PNG files) and its summary table against the runs' own
# records; a run that fails is recorded, not fatal; a bad plan is one line
# and exit status 2.
# usage: psc_lab_test.sh BIN_DIR
BIN=$1
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
LAB=("$PY" "$BIN/psc-lab")
OUT=$WORK/out

cat >"$WORK/plan.json" <<EOF
{"job": "$SRC/examples/fashion_mnist_mlp.json",
 "launch": {"ps": 1, "workers": 3, "evaluator": true},
 "set": {"max_steps": 40, "eval_interval_s": 0.1,
         "data": {"train_limit": 6000, "test_limit": 1000}},
 "runs": [{"name": "sync", "set": {"replicas_to_aggregate": 2}},
          {"name": "async", "set": {"mode": "async"}}],
 "seeds": [1, 2], "target_accuracy": 0.4,
 "model": {"shift_ms": 0, "mean_ms": 0}}
EOF

# The first run: every run, in order, an ETA once one is done.
"${LAB[@]}" run "$WORK/plan.json" --out "$OUT" >"$WORK/run1.log" 2>&1 ||
    fail "psc-lab run exited $?"
i=0
for name in sync async; do
    for seed in 1 2; do
        i=$((i + 1))
        grep -q "^run $i of 4: $name seed $seed \.\.\. ETA " "$WORK/run1.log" ||
            fail "no progress line for run $i ($name seed $seed)"
        [ -s "$OUT/$name/seed-$seed/done.json" ] || fail "no done.json for $name seed $seed"
    done
done
grep -q "^run 2 of 4: .* ETA [0-9]" "$WORK/run1.log" || fail "no ETA after the first run"

# The second run keeps all four: no cluster starts, no file changes.
stamp=$(stat -c %Y.%s "$OUT"/*/seed-*/done.json)
"${LAB[@]}" run "$WORK/plan.json" --out "$OUT" >"$WORK/run2.log" 2>&1 ||
    fail "psc-lab run (again) exited $?"
[ "$(grep -c 'done before, kept' "$WORK/run2.log")" -eq 4 ] ||
    fail "the second run did not keep the 4 finished runs"
[ "$stamp" = "$(stat -c %Y.%s "$OUT"/*/seed-*/done.json)" ] ||
    fail "the second run rewrote a finished run"

"${LAB[@]}" report "$OUT" >"$WORK/report.log" 2>&1 || fail "psc-lab report exited $?"
[ -s "$OUT/report.md" ] || fail "no report.md"

"$PY" - "$OUT" <<'PY' || fail "the report does not match the runs' records"
import json, os, re, statistics, sys
out = sys.argv[1]
report = open(os.path.join(out, "report.md")).read()
# Every plot the report shows is a PNG file.
pngs = re.findall(r"!\[[^]]*\]\(([^)]+)\)", report)
assert len(pngs) >= 7, pngs
for png in pngs:
    data = open(os.path.join(out, png), "rb").read()
    assert len(data) > 8 and data[:4] == b"\x89PNG", png

def records(path, field):
    return [r for r in map(json.loads, open(path)) if field in r]

def spread(values, fmt):
    """README's form: median [min, max], "(k of n)" when k runs have it."""
    have = [v for v in values if v is not None]
    if not have:
        return "n/a"
    text = fmt % statistics.median(have)
    if len(have) > 1:
        text += " [" + fmt % min(have) + ", " + fmt % max(have) + "]"
    return text + ("" if len(have) == len(values) else
                   " (%d of %d)" % (len(have), len(values)))

rows = {}
for line in report.splitlines():
    cells = [c.strip() for c in line.strip("|").split("|")]
    if len(cells) == 8 and cells[1].endswith("of 2"):
        rows[cells[0]] = cells
assert sorted(rows) == ["async", "sync"], rows
for name, cells in rows.items():
    finals, taus, reached = [], [], []
    for seed in (1, 2):
        model = os.path.join(out, name, "seed-%d" % seed, "model")
        evals = records(os.path.join(model, "eval.jsonl"), "accuracy")
        finals.append(evals[-1]["accuracy"])
        reached.append(next((e["wall_s"] for e in evals
                             if e["accuracy"] >= 0.4), None))
        grads = records(os.path.join(model, "trace", "gradients.jsonl"), "tau")
        applied = [g["tau"] for g in grads if g["result"] != "dropped"]
        taus.append(sum(applied) / len(applied))
    assert cells[1] == "2 of 2", cells
    assert cells[2] == spread(reached, "%.2f"), (name, cells[2], reached)
    assert cells[3] == spread(finals, "%.4f"), (name, cells[3], finals)
    assert cells[6] == spread(taus, "%.3f"), (name, cells[6], taus)
    print(name, "final accuracy", cells[3], "mean tau", cells[6])
# The model's staleness: 0 for sync, n - 1 = 2 for async on 3 workers.
assert rows["sync"][7] == "0.00" and rows["async"][7] == "2.00", rows
PY

# A run that fails (an option psc-launch refuses) is recorded and
# reported; the sweep goes on and exits 1.
cat >"$WORK/failing.json" <<EOF
{"job": "$SRC/examples/fashion_mnist_mlp.json", "seeds": [1],
 "runs": [{"name": "refused", "set": {"mode": "nonsense"}}]}
EOF
"${LAB[@]}" run "$WORK/failing.json" --out "$WORK/failing" >"$WORK/failing.log" 2>&1
[ $? -eq 1 ] || fail "a failed run did not make psc-lab run exit 1"
grep -q '"exit_status": 2' "$WORK/failing/refused/seed-1/done.json" ||
    fail "the failed run's done.json has not its exit status"
"${LAB[@]}" report "$WORK/failing" >/dev/null 2>&1 || fail "no report of the failed sweep"
grep -q "refused seed 1: exit 2: .*nonsense" "$WORK/failing/report.md" ||
    fail "the report does not name the failed run and its cause"

# Bad plans: one line naming the problem, exit 2.
bad_plan() {
    echo "$1" >"$WORK/bad.json"
    "${LAB[@]}" run "$WORK/bad.json" --out "$WORK/bad" >"$WORK/bad.log" 2>&1
    local status=$?
    [ "$status" -eq 2 ] || fail "bad plan $1: exit $status, not 2"
    [ "$(wc -l <"$WORK/bad.log")" -eq 1 ] || fail "bad plan $1: not one line"
    grep -q "$2" "$WORK/bad.log" || fail "bad plan $1: no '$2' in $(cat "$WORK/bad.log")"
}
bad_plan "{\"job\": \"$SRC/examples/fashion_mnist_mlp.json\", \"sedes\": [1]}" \
    "unknown key 'sedes' in the plan: use"
bad_plan '{"job": "no-such-job.json"}' "job 'no-such-job.json' is found neither"
bad_plan "{\"job\": \"$SRC/examples/fashion_mnist_mlp.json\", \"set\": {\"model_dir\": \"x\"}}" \
    "sets model_dir, which psc-lab sets for each run: remove it"
bad_plan '{"job": ' "not JSON"
echo "psc-lab: run, resume, report and bad plans as documented"
