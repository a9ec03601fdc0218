#!/usr/bin/env bash
# Sparse models through psc-launch: sparse_lr and embedding_mlp on the
# synthetic set train to near its Bayes-optimal AUC in sync and async
# mode; sync mode gives the same model on 1 and 3 ps; LIBSVM files train
# too, plain, gzipped and downloaded, and a malformed line, a label out of
# range and a wrong checksum each stop the job with one line naming them.
# usage: sparse_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/sparse_lr_synth.json
# embedding_mlp's scenarios (emb_*) run its example instead: rows of
# WIDTH floats, and an MLP of DENSE floats (8 fields x 16 -> 64 -> 32 -> 1).
WIDTH=1
DENSE=1
case $SCENARIO in
emb_*)
    JOB=$SRC/examples/embedding_mlp_synth.json
    WIDTH=16
    DENSE=$((128 * 64 + 64 + 64 * 32 + 32 + 32 + 1))
    ;;
esac

# Small enough for the suite: 60,000 examples of 8 fields over 240 ids.
SMALL=(--set synth.train_examples=60000 --set synth.test_examples=10000
       --set synth.fields=8 --set synth.ids=240 --set epochs=3
       --set model_dir="$WORK/model" --set eval_interval_s=1)

launch() {
    "$BIN/psc-launch" "$@" >"$WORK/launch.log" 2>&1
    STATUS=$?
}

# field NAME: the last eval.jsonl record's NAME.
field() {
    tail -n 1 "$WORK/model/eval.jsonl" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

# The Bayes-optimal AUC the evaluator logged for the test set.
bayes_auc() {
    sed -n 's/.*the Bayes-optimal AUC is \([0-9.]*\) .*/\1/p' "$WORK/launch.log" | head -n 1
}

# trains MODE [WORKERS [OPTION=VALUE...]]: 2 ps, WORKERS (2) workers.
trains() {
    local mode=$1 workers=${2:-2} extra=() o
    shift $(($# < 2 ? $# : 2))
    for o in "$@"; do extra+=(--set "$o"); done
    launch --ps 2 --workers "$workers" --evaluator "${SMALL[@]}" --set mode="$mode" \
        "${extra[@]}" "$JOB"
    [ "$STATUS" -eq 0 ] || fail "psc-launch exited $STATUS"
    grep -qE "all $((workers + 4)) processes exited 0" "$WORK/launch.log" ||
        fail "not every process exited 0"
    local auc best
    auc=$(field auc)
    best=$(bayes_auc)
    [ -n "$best" ] || fail "the evaluator did not log the Bayes-optimal AUC"
    python3 -c "import sys; sys.exit(0 if $auc >= $best - 0.01 else 1)" ||
        fail "$mode: AUC $auc is not within 0.01 of the Bayes-optimal $best"
    echo "$mode: test AUC $auc (Bayes-optimal $best), logloss $(field loss)"
    # The wire carries the rows touched, not the table: a step sends each
    # distinct key twice (its pull and its push, 8 bytes each) and a
    # gradient row of 4 x WIDTH bytes, and gets the row back, plus headers;
    # the dense variables (sparse_lr's bias, embedding_mlp's MLP) go each
    # way whole, 4 bytes a float.
    python3 - "$WORK/model/metrics.jsonl" "$WIDTH" "$DENSE" <<'PY' || fail "sparse traffic is not proportional to the rows"
import json, sys
# The last interval with steps in it: under a slow build the final record
# can come after the last report, with nothing to average.
r = [r for r in map(json.loads, open(sys.argv[1]))
     if r.get("sparse_rows_per_step", 0) > 0][-1]
width, dense = int(sys.argv[2]), int(sys.argv[3])
b, rows = r["bytes_per_step"], r["sparse_rows_per_step"]
assert rows > 0, r
assert 1.0 <= b["sparse_pushed"] / (rows * (16 + 4 * width)) <= 1.1, (b, rows)
assert 1.0 <= b["sparse_pulled"] / (rows * 4 * width) <= 1.2, (b, rows)
for k in ("dense_pushed", "dense_pulled"):
    assert dense * 4 <= b[k] <= dense * 4 * 1.05 + 100, (k, b, dense)
print(f"traffic per step: {rows:.0f} rows, {b}")
PY
}

# Sync mode sums each step's gradients in worker order: the final model is
# the same, to every printed digit, on 1 and on 3 ps.
same_model() {
    local p rec
    for p in 1 3; do
        rm -rf "$WORK/model"
        launch --ps $p --workers 2 --evaluator "${SMALL[@]}" --set mode=sync \
            --set epochs=1 "$JOB"
        [ "$STATUS" -eq 0 ] || fail "$p ps: psc-launch exited $STATUS"
        rec=$(tail -n 1 "$WORK/model/eval.jsonl" |
            python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["step"], r["loss"], r["auc"], r["accuracy"])')
        echo "$p ps: step loss auc accuracy = $rec"
        eval "rec_$p='$rec'"
    done
    # shellcheck disable=SC2154
    [ "$rec_1" = "$rec_3" ] || fail "1 ps ($rec_1) and 3 ps ($rec_3) differ"
}

# psc-baseline trains the model in one process, no network, as far.
baseline() {
    local sets=() a
    for a in "${SMALL[@]}"; do
        [ "$a" = --set ] || sets+=(--set "$a")
    done
    "$BIN/psc-baseline" --job "$JOB" "${sets[@]}" --steps 700 >"$WORK/baseline.json" 2>&1 ||
        fail "psc-baseline failed: $(cat "$WORK/baseline.json")"
    python3 - "$WORK/baseline.json" <<'PY' || fail "psc-baseline: $(cat "$WORK/baseline.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["test_auc"] >= 0.78 and r["examples_per_s"] > 0, r
print(f"baseline: test AUC {r['test_auc']}, {r['examples_per_s']:.0f} examples/s")
PY
}

# synth_files DIR: a LIBSVM training file (gzipped) and a test file.
synth_files() {
    "$BIN/psc-synth" --examples 60000 --fields 8 --ids 800 --seed 3 \
        --out "$1/train.svm" >/dev/null || fail "psc-synth failed"
    "$BIN/psc-synth" --examples 10000 --first 60000 --fields 8 --ids 800 \
        --seed 3 --out "$1/test.svm" >/dev/null || fail "psc-synth failed"
    gzip -k "$1/train.svm"
}

# expect_refused WANT ARGS...: the job stops with status 2, and the log
# has WANT on one line.
expect_refused() {
    local want=$1
    shift
    launch --ps 1 --workers 1 "${SMALL[@]}" --set data.format=libsvm "$@" "$JOB"
    [ "$STATUS" -eq 2 ] || fail "exited $STATUS, not 2, for: $want"
    grep -F -- "$want" "$WORK/launch.log" | head -n 1 | grep -q . ||
        fail "no line says: $want"
    echo "refused: $(grep -F -- "$want" "$WORK/launch.log" | head -n 1)"
}

libsvm() {
    mkdir -p "$WORK/www"
    synth_files "$WORK/www"
    launch --ps 2 --workers 2 --evaluator "${SMALL[@]}" --set data.format=libsvm \
        --set "data.train_libsvm=$WORK/www/train.svm.gz" \
        --set "data.test_libsvm=$WORK/www/test.svm" "$JOB"
    [ "$STATUS" -eq 0 ] || fail "psc-launch exited $STATUS"
    local auc
    auc=$(field auc)
    python3 -c "import sys; sys.exit(0 if $auc >= 0.75 else 1)" ||
        fail "LIBSVM: AUC $auc below 0.75"
    echo "libsvm: test AUC $auc"

    cp "$WORK/www/test.svm" "$WORK/bad.svm"
    sed -i '7s/.*/1 5:1 x9:1/' "$WORK/bad.svm"
    expect_refused "bad.svm:7" --set "data.train_libsvm=$WORK/bad.svm" \
        --set "data.test_libsvm=$WORK/www/test.svm"
    cp "$WORK/www/test.svm" "$WORK/label.svm"
    sed -i '12s/^[01] /3 /' "$WORK/label.svm"
    expect_refused "label.svm:12" --set "data.train_libsvm=$WORK/label.svm" \
        --set "data.test_libsvm=$WORK/www/test.svm"

    # A URL is downloaded into the cache and checked against its SHA-256.
    coproc SERVER { python3 "$SRC/tests/http_server.py" "$WORK/www"; }
    PIDS+=("$SERVER_PID")
    read -r port <&"${SERVER[0]}"
    local url="http://127.0.0.1:$port/train.svm.gz"
    local sha
    sha=$(sha256sum "$WORK/www/train.svm.gz" | cut -d' ' -f1)
    launch --ps 1 --workers 1 "${SMALL[@]}" --set data.format=libsvm --set epochs=1 \
        --set "data.train_libsvm=$url" --set "data.train_libsvm_sha256=$sha" \
        --set "data.test_libsvm=$WORK/www/test.svm" --set "data.cache_dir=$WORK/cache" "$JOB"
    [ "$STATUS" -eq 0 ] || fail "the download run exited $STATUS"
    grep -q "downloaded" "$WORK/launch.log" || fail "no download line"
    rm -rf "$WORK/cache"
    expect_refused "has SHA-256" --set "data.train_libsvm=$url" \
        --set "data.train_libsvm_sha256=$(printf '0%.0s' {1..64})" \
        --set "data.test_libsvm=$WORK/www/test.svm" --set "data.cache_dir=$WORK/cache"
}

case $SCENARIO in
sync | emb_sync) trains sync ;;
async) trains async ;;
# embedding_mlp async under a staleness policy, and sync with a backup
# worker (the first 2 of 3 gradients make a step).
emb_async) trains async 2 staleness_policy=inverse ;;
emb_backup) trains sync 3 replicas_to_aggregate=2 ;;
same_model | emb_same_model) same_model ;;
emb_baseline) baseline ;;
libsvm) libsvm ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
