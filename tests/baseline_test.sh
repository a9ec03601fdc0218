#!/usr/bin/env bash
# psc-baseline --as-worker K/N takes the batches worker K of N takes: as
# worker 0 of 1 it trains the same model as a one-worker sync cluster, so
# the test accuracy and loss at the same step agree with the cluster's
# evaluator; a K/N that names no worker is refused with exit status 2.
# usage: baseline_test.sh BIN_DIR
BIN=$1
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
PY=/usr/bin/python3
SUBSET=(--set data.train_limit=12000 --set data.test_limit=2000)

"$BIN/psc-launch" --ps 1 --workers 1 --evaluator --set max_steps=150 \
    --set model_dir="$WORK/model" "${SUBSET[@]}" "$JOB" \
    >"$WORK/launch.log" 2>&1 || fail "psc-launch exited $?"
"$BIN/psc-baseline" --job "$JOB" --steps 150 --as-worker 0/1 "${SUBSET[@]}" \
    >"$WORK/alone.json" 2>"$WORK/alone.log" || fail "psc-baseline exited $?"
"$BIN/psc-baseline" --job "$JOB" --steps 150 --as-worker 1/2 "${SUBSET[@]}" \
    >"$WORK/second.json" 2>"$WORK/second.log" || fail "psc-baseline exited $?"
"$PY" - "$WORK" <<'PY' || fail "psc-baseline did not train as the worker did"
import json, sys
w = sys.argv[1]
final = [json.loads(l) for l in open(w + "/model/eval.jsonl")
         if '"step": 150' in l or '"step":150' in l]
assert final, "no evaluation at step 150"
alone = json.load(open(w + "/alone.json"))
second = json.load(open(w + "/second.json"))
print("cluster", final[-1], "\nbaseline 0/1", alone, "\nbaseline 1/2", second)
assert abs(final[-1]["accuracy"] - alone["test_accuracy"]) < 1e-4
assert abs(final[-1]["loss"] - alone["test_loss"]) < 1e-4
# Another worker's batches: another model.
assert abs(second["test_loss"] - alone["test_loss"]) > 1e-4
PY

for bad in 2/2 -1/2 1/0 x 1/ /3; do
    "$BIN/psc-baseline" --job "$JOB" --as-worker "$bad" >/dev/null \
        2>"$WORK/bad.err"
    STATUS=$?
    [ "$STATUS" -eq 2 ] || fail "--as-worker $bad exited $STATUS, not 2"
    [ "$(wc -l <"$WORK/bad.err")" -eq 1 ] && grep -q "K/N" "$WORK/bad.err" ||
        fail "--as-worker $bad: $(cat "$WORK/bad.err")"
done
echo "ok"
