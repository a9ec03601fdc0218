#!/usr/bin/env bash
# Checkpoints and resume through psc-launch and the real roles: a resumed
# sync job ends with the same values, to the float, as one that ran
# through (after a clean stop, after kill -9 of every process, onto 3 and
# then 2 ps); a damaged newest checkpoint is skipped for the one before; a
# checkpoint of another model is refused with the difference named. The
# sparse_* scenarios do the same for sparse_lr, whose checkpoints hold the
# ps's sparse tables: a resumed job ends with the same rows and the same
# final AUC and logloss as one that ran through.
# usage: ckpt_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
# Sync with two workers: a step's two gradients are summed in either
# order to the same float, so runs with the same seed are bit for bit equal.
COMMON=(--workers 2 --set mode=sync --set data.train_limit=12000
        --set checkpoint_interval_s=0)

# run NAME MODEL_DIR [args...]: psc-launch to the end; log in $WORK/NAME.log.
run() {
    local name=$1 dir=$2
    shift 2
    "$BIN/psc-launch" "${COMMON[@]}" --set model_dir="$dir" "$@" "$JOB" \
        >"$WORK/$name.log" 2>&1
    STATUS=$?
}

must_run() {
    run "$@"
    [ "$STATUS" -eq 0 ] || fail "$1: psc-launch exited $STATUS"
}

# values CKPT_DIR [VAR...]: every variable's values (the MLP's, unless
# named), as psc-ckpt prints them.
values() {
    local v dir=$1
    shift
    local vars=("$@")
    [ ${#vars[@]} -gt 0 ] ||
        vars=(layer0/kernel layer0/bias layer1/kernel layer1/bias layer2/kernel layer2/bias)
    for v in "${vars[@]}"; do
        "$BIN/psc-ckpt" --values "$v" "$dir" || fail "psc-ckpt --values $v $dir failed"
    done
}

# same_values CKPT_A CKPT_B [VAR...]: the two hold equal values, float for
# float.
same_values() {
    values "$1" "${@:3}" >"$WORK/a.values"
    values "$2" "${@:3}" >"$WORK/b.values"
    [ -s "$WORK/a.values" ] || fail "no values printed for $1"
    cmp -s "$WORK/a.values" "$WORK/b.values" ||
        fail "$2 differs from $1 (first difference: $(cmp "$WORK/a.values" "$WORK/b.values"))"
}

# reference STEPS [args]: the uninterrupted run, once per scenario.
reference() {
    must_run ref "$WORK/ref" --ps 1 --set max_steps="$1" "${@:2}"
    "$BIN/psc-ckpt" --verify "$WORK/ref" >/dev/null || fail "the reference checkpoint does not verify"
}

resume_exact() {
    reference 120 --set checkpoint_steps=25
    must_run first "$WORK/model" --ps 1 --set max_steps=60
    grep -q 'checkpoint ckpt-60:' "$WORK/first.log" || fail "no checkpoint at the end of the first run"
    must_run second "$WORK/model" --ps 1 --set max_steps=120
    grep -q 'resumed from .*/ckpt-60 at step 60' "$WORK/second.log" || fail "the second run did not resume from ckpt-60"
    grep -q 'resuming at example 7680 ' "$WORK/second.log" || fail "a worker did not resume after its 60 batches"
    same_values "$WORK/ref/ckpt-120" "$WORK/model/ckpt-120"
    python3 - "$WORK/model/metrics.jsonl" <<'PY' || fail "metrics.jsonl does not mark the two runs"
import json, sys
runs = [r for r in map(json.loads, open(sys.argv[1])) if "run" in r]
assert len(runs) == 2 and runs[0]["run"] != runs[1]["run"], runs
assert runs[0]["start_step"] == 0 and not runs[0]["restored"], runs
assert runs[1]["start_step"] == 60 and runs[1]["restored"], runs
PY
}

# Every process of the job killed with SIGKILL once a checkpoint is
# written; the same command then finishes the job from it.
kill_resume() {
    reference 200
    # A straggler delay on both workers keeps the job running long enough
    # to be killed mid-way; it changes no number.
    local slow=(--ps 2 --set max_steps=200 --set checkpoint_steps=30
                --set stragglers.default=fixed:20)
    "$BIN/psc-launch" "${COMMON[@]}" --set model_dir="$WORK/model" "${slow[@]}" "$JOB" \
        >"$WORK/killed.log" 2>&1 &
    local launcher=$!
    PIDS+=("$launcher")
    wait_line killed 'checkpoint ckpt-[0-9]+:' 120
    local kids
    kids=$(pgrep -P "$launcher")
    kill -KILL "$launcher" $kids 2>/dev/null
    wait "$launcher" 2>/dev/null
    local p
    for p in $kids; do
        while kill -0 "$p" 2>/dev/null; do timeout 1 tail --pid="$p" -f /dev/null; done
    done
    grep -q 'checkpoint ckpt-200:' "$WORK/killed.log" && echo "note: the job ended before the kill"
    must_run resumed "$WORK/model" "${slow[@]}" --set stragglers.default=none
    grep -q 'resumed from .*/ckpt-' "$WORK/resumed.log" || fail "the restarted job did not resume"
    same_values "$WORK/ref/ckpt-200" "$WORK/model/ckpt-200"
}

# Saved on 1 ps, resumed on 3, then on 2: the shards are cut anew each time.
recut() {
    reference 150
    must_run on1 "$WORK/model" --ps 1 --set max_steps=50
    must_run on3 "$WORK/model" --ps 3 --set max_steps=100
    [ "$(grep -c 'restored .* parameters at version 50' "$WORK/on3.log")" -eq 3 ] ||
        fail "not every one of 3 ps restored its shard from step 50"
    must_run on2 "$WORK/model" --ps 2 --set max_steps=150
    [ "$(grep -c 'restored .* parameters at version 100' "$WORK/on2.log")" -eq 2 ] ||
        fail "not every one of 2 ps restored its shard from step 100"
    "$BIN/psc-ckpt" "$WORK/model" | grep -q '^nps  *2$' || fail "the last checkpoint is not of 2 ps"
    same_values "$WORK/ref/ckpt-150" "$WORK/model/ckpt-150"
}

# damaged HOW: the newest checkpoint's shard truncated or with one byte
# flipped; the next run names the file and resumes from the one before.
damaged() {
    must_run first "$WORK/model" --ps 1 --set max_steps=60 --set checkpoint_steps=25
    local prev
    prev=$(ls -d "$WORK"/model/ckpt-* | grep -v 'ckpt-60$' | sort -t- -k2 -n | tail -n1)
    [ -n "$prev" ] || fail "no checkpoint before ckpt-60"
    local shard=$WORK/model/ckpt-60/shard-0-of-1
    if [ "$1" = truncated ]; then
        truncate -s -100 "$shard"
    else
        python3 - "$shard" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x10]))
PY
    fi
    "$BIN/psc-ckpt" --verify "$WORK/model/ckpt-60" >"$WORK/verify.log" 2>&1 &&
        fail "psc-ckpt --verify passed a $1 shard"
    grep -q 'shard-0-of-1' "$WORK/verify.log" || fail "psc-ckpt --verify did not name the bad file"
    must_run second "$WORK/model" --ps 1 --set max_steps=80
    grep -q 'ckpt-60/shard-0-of-1' "$WORK/second.log" || fail "the $1 shard was not named"
    grep -q "resumed from $prev at step" "$WORK/second.log" || fail "did not resume from $prev"
}

incompatible() {
    must_run first "$WORK/model" --ps 1 --set max_steps=20
    run second "$WORK/model" --ps 1 --set max_steps=40 --set hidden=64
    [ "$STATUS" -eq 2 ] || fail "a checkpoint of another model gave exit $STATUS, not 2"
    grep -q 'was saved by another model (variable 0 is layer0/kernel 784x256 there, layer0/kernel 784x64 here)' \
        "$WORK/second.log" || fail "the refusal does not name the difference"
    must_run third "$WORK/model" --ps 1 --set max_steps=40 --set hidden=64 --set restore=none
    grep -q 'initialised the variables' "$WORK/third.log" || fail "restore=none did not start afresh"
    run fourth "$WORK/model" --ps 1 --set max_steps=40 --set restore="$WORK/nothing"
    [ "$STATUS" -eq 2 ] || fail "restore=PATH of no checkpoint gave exit $STATUS, not 2"
    grep -q "restore=$WORK/nothing is not a valid checkpoint" "$WORK/fourth.log" ||
        fail "restore=PATH of no checkpoint was not refused by name"
}

# When the job fails (here the chief refuses another model's checkpoint,
# exit 2), the others exit 138, retryable, not 0 as if they had succeeded.
survivors() {
    must_run first "$WORK/model" --ps 1 --set max_steps=20
    cluster_json 1 2
    local job=(--set data.train_limit=12000 --set model_dir="$WORK/model" --set hidden=64)
    start ps0 ps 0 "${job[@]}"
    start w0 worker 0 "${job[@]}"
    start w1 worker 1 "${job[@]}"
    start chief chief 0 "${job[@]}"
    expect_exit chief 2 120
    grep -q 'was saved by another model' "$WORK/chief.log" || fail "the chief did not say why"
    expect_exit ps0 138 60
    expect_exit w0 138 60
    expect_exit w1 138 60
    grep -q 'stopped a failed job' "$WORK/ps0.log" || fail "the ps did not say why it exits 138"
}

# faults VICTIM: psc-launch --restart on-failure kills VICTIM with SIGKILL
# at step 100 and restarts it, as Kubernetes would; the job finishes. A ps
# or chief lost makes the whole job resume from its last checkpoint, so the
# values end as a clean run's; a restarted worker rejoins where its data
# was (its gradient in flight may count twice: the values differ a little).
faults() {
    local victim=$1
    local opts=(--ps 2 --evaluator --set max_steps=200 --set checkpoint_steps=40
                --set log_interval_s=0.1 --set eval_interval_s=1
                --set data.test_limit=2000)
    reference 200 --set data.test_limit=2000
    # Slow enough steps that step 100 is seen before the job ends.
    must_run faulty "$WORK/model" "${opts[@]}" --set stragglers.default=fixed:10 \
        --restart on-failure --kill "$victim@100"
    grep -q "killing $victim at step" "$WORK/faulty.log" || fail "$victim was not killed"
    grep -q "$victim killed by signal 9: restarting it" "$WORK/faulty.log" ||
        fail "$victim was not restarted"
    grep -qE "all [0-9]+ processes exited 0" "$WORK/faulty.log" || fail "not every process ended well"
    # Only the victim is restarted (and the evaluator, which a new chief
    # tells to rejoin that way): the others wait for it, paused.
    local others
    others=$(grep -E ': restarting it' "$WORK/faulty.log" | grep -vE "^psc-launch: ($victim|evaluator) " || true)
    [ -z "$others" ] || fail "tasks other than $victim were restarted: $others"
    case $victim in
    ps0)
        grep -q 'rolled the model back to .*/ckpt-' "$WORK/faulty.log" || fail "the model was not rolled back to a checkpoint"
        same_values "$WORK/ref/ckpt-200" "$WORK/model/ckpt-200" ;;
    chief)
        grep -q 'resumed from .*/ckpt-' "$WORK/faulty.log" || fail "the job did not resume from a checkpoint"
        same_values "$WORK/ref/ckpt-200" "$WORK/model/ckpt-200" ;;
    *)
        "$BIN/psc-ckpt" --verify "$WORK/model/ckpt-200" >/dev/null || fail "no valid final checkpoint" ;;
    esac
}

# hangs VICTIM: psc-launch stops VICTIM with SIGSTOP at step 100 and
# resumes it (SIGCONT) after three heartbeat timeouts, with no restart
# policy: the job must finish without any task restarting. A hung ps is
# counted lost, the workers pause, and once it is back and registered again
# the model rolls back to the last checkpoint; a hung chief is lost to the
# others, who pause and register again when it resumes (it then rolls the
# model back too); a hung worker is waited for and rejoins where its data
# was. Sync values after a rollback are a clean run's.
hangs() {
    local victim=$1 hb
    hb=$(scaled 1)
    local opts=(--ps 2 --evaluator --set max_steps=200 --set checkpoint_steps=40
                --set log_interval_s=0.1 --set eval_interval_s=1
                --set data.test_limit=2000 --set heartbeat_interval_s=0.2
                --set heartbeat_timeout_s="$hb")
    reference 200 --set data.test_limit=2000
    must_run hung "$WORK/model" "${opts[@]}" --set stragglers.default=fixed:10 \
        --kill "$victim@100:hang=$((3 * hb))"
    grep -q "hanging $victim (SIGSTOP) at step" "$WORK/hung.log" || fail "$victim was not hung"
    grep -q "resuming $victim (SIGCONT)" "$WORK/hung.log" || fail "$victim was not resumed"
    grep -qE "all [0-9]+ processes exited 0" "$WORK/hung.log" || fail "not every process ended well"
    case $victim in
    ps0)
        grep -q 'lost ps:0' "$WORK/hung.log" || fail "the chief did not count the hung ps lost"
        grep -q 'worker:0: paused' "$WORK/hung.log" || fail "the workers did not pause"
        grep -q 'rolled the model back to .*/ckpt-' "$WORK/hung.log" || fail "the model was not rolled back"
        same_values "$WORK/ref/ckpt-200" "$WORK/model/ckpt-200" ;;
    chief)
        grep -q 'worker:1: warning: lost the chief' "$WORK/hung.log" || fail "the workers did not notice the hung chief"
        grep -q 'worker:1: registered with the chief again' "$WORK/hung.log" || fail "the workers did not register again"
        grep -q 'rolled the model back to .*/ckpt-' "$WORK/hung.log" || fail "the model was not rolled back"
        same_values "$WORK/ref/ckpt-200" "$WORK/model/ckpt-200" ;;
    worker1)
        grep -q 'lost worker:1' "$WORK/hung.log" || fail "the chief did not count the hung worker lost"
        grep -q 'worker_restart_timeout_s' "$WORK/hung.log" || fail "the chief did not say it waits for the worker"
        grep -q 'worker:1 is back' "$WORK/hung.log" || fail "the hung worker did not rejoin"
        "$BIN/psc-ckpt" --verify "$WORK/model/ckpt-200" >/dev/null || fail "no valid final checkpoint" ;;
    esac
}

# TensorFlow's sidecar evaluator: psc-evaluator with a TF_CONFIG of no
# cluster evaluates each checkpoint as the pointer moves to it, and exits
# after the one at max_steps; started after the job, it evaluates the last.
sidecar() {
    local opts=(--set max_steps=200 --set checkpoint_steps=50
                --set data.train_limit=12000 --set data.test_limit=2000
                --set model_dir="$WORK/model")
    mkdir -p "$WORK/model"
    TF_CONFIG='{"task": {"type": "evaluator", "index": 0}}' \
        "$BIN/psc-evaluator" "${opts[@]}" >"$WORK/sidecar.log" 2>&1 &
    PID_sidecar=$!
    PIDS+=("$PID_sidecar")
    wait_line sidecar 'evaluating the checkpoints in' 60
    must_run train "$WORK/model" --ps 1 "${opts[@]}" --set stragglers.default=fixed:5
    expect_exit sidecar 0 120
    grep -q 'final test accuracy .* at step 200' "$WORK/sidecar.log" ||
        fail "the sidecar did not evaluate the last checkpoint"
    python3 - "$WORK/model/eval.jsonl" <<'PY' || fail "eval.jsonl is not the checkpoints' curve"
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
runs = [r for r in recs if "run" in r]
evals = [r for r in recs if "accuracy" in r]
assert len(runs) == 1 and runs[0]["from_checkpoints"], runs
steps = [r["step"] for r in evals]
assert steps == sorted(set(steps)) and steps[-1] == 200 and len(steps) >= 2, steps
assert evals[-1]["accuracy"] > 0.75, evals[-1]
PY
    TF_CONFIG='{"cluster": {"evaluator": ["127.0.0.1:1"]}, "task": {"type": "evaluator", "index": 0}}' \
        "$BIN/psc-evaluator" "${opts[@]}" >"$WORK/after.log" 2>&1 ||
        fail "a sidecar started after the job did not exit 0"
    grep -q 'final test accuracy .* at step 200' "$WORK/after.log" ||
        fail "a sidecar started after the job did not evaluate the last checkpoint"
}

# ---- sparse_lr: the sparse tables in the checkpoints ----

SJOB=$SRC/examples/sparse_lr_synth.json
# Sync with two workers, Adagrad (a slot per row), small synthetic data.
SPARSE=(--workers 2 --evaluator --set mode=sync
        --set synth.train_examples=60000 --set synth.test_examples=10000
        --set synth.fields=8 --set synth.ids=240 --set eval_interval_s=1
        --set checkpoint_interval_s=0)

# srun NAME MODEL_DIR [args...]: the sparse job to the end.
srun() {
    local name=$1 dir=$2
    shift 2
    "$BIN/psc-launch" "${SPARSE[@]}" --set model_dir="$dir" "$@" "$SJOB" \
        >"$WORK/$name.log" 2>&1
    STATUS=$?
    [ "$STATUS" -eq 0 ] || fail "$name: psc-launch exited $STATUS"
}

# final_eval MODEL_DIR: the last evaluation's step, AUC and logloss, as
# eval.jsonl prints them.
final_eval() {
    tail -n 1 "$1/eval.jsonl" | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(r["step"], r["auc"], r["loss"])'
}

# same_model REF_DIR MODEL_DIR: the same sparse rows (values and slots, by
# key, whatever the number of ps) in the two last checkpoints, and the
# same final evaluation to the printed digit.
same_model() {
    "$BIN/psc-ckpt" --verify "$1" >/dev/null || fail "$1's checkpoint does not verify"
    "$BIN/psc-ckpt" --verify "$2" >/dev/null || fail "$2's checkpoint does not verify"
    "$BIN/psc-ckpt" --sparse-rows "$1" >"$WORK/a.rows" || fail "no sparse rows in $1"
    "$BIN/psc-ckpt" --sparse-rows "$2" >"$WORK/b.rows" || fail "no sparse rows in $2"
    [ -s "$WORK/a.rows" ] || fail "$1 holds no sparse rows"
    cmp -s "$WORK/a.rows" "$WORK/b.rows" ||
        fail "the sparse rows of $2 differ from $1's ($(cmp "$WORK/a.rows" "$WORK/b.rows"))"
    same_values "$1" "$2" bias
    local a b
    a=$(final_eval "$1")
    b=$(final_eval "$2")
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "final eval (step auc logloss) '$b', not '$a' as uninterrupted"
    echo "final eval (step auc logloss): $a; $(wc -l <"$WORK/a.rows") sparse rows equal"
}

# step_boundaries MODEL_DIR NPS: in every complete checkpoint each sparse
# file holds the table at the version of the shards, the checkpoint's step.
step_boundaries() {
    local d v n
    for d in "$1"/ckpt-*; do
        [ -f "$d/manifest.json" ] || continue
        "$BIN/psc-ckpt" "$d" >"$WORK/show.log" || fail "psc-ckpt $d failed"
        v=$(sed -n 's/^version  *//p' "$WORK/show.log")
        [ "$v" = "${d##*ckpt-}" ] || fail "$d: the shards are at version $v"
        n=$(grep -c "sparse-[0-9]*-of-$2 .*, version $v\$" "$WORK/show.log")
        [ "$n" -eq "$2" ] || fail "$d: not every sparse file is at the shards' version $v"
    done
}

sreference() {
    srun ref "$WORK/ref" --ps 1 --set max_steps="$1"
}

# Stopped at step 60 (its last checkpoint) and resumed to 120.
sparse_resume() {
    sreference 120
    srun first "$WORK/model" --ps 1 --set max_steps=60
    grep -q 'checkpoint ckpt-60: .* (240 sparse rows)' "$WORK/first.log" ||
        fail "no checkpoint with the sparse rows at the end of the first run"
    srun second "$WORK/model" --ps 1 --set max_steps=120
    grep -q 'restored 240 of 240 sparse rows at version 60' "$WORK/second.log" ||
        fail "the ps did not restore the sparse table of ckpt-60"
    grep -q 'resumed from .*/ckpt-60 at step 60' "$WORK/second.log" || fail "did not resume from ckpt-60"
    same_model "$WORK/ref" "$WORK/model"
}

# Adam (two slots a row and a step count), sparse.min_count (admission
# counts held at the checkpoint) and sparse.expire_steps (last pushes, the
# sweep's place): resumed on as many ps, the same rows as running through.
sparse_filters() {
    local f=(--ps 1 --set synth.ids=100000 --set sparse.min_count=3
             --set sparse.expire_steps=30 --set optimizer=adam --set learning_rate=0.01)
    srun ref "$WORK/ref" "${f[@]}" --set max_steps=120
    srun first "$WORK/model" "${f[@]}" --set max_steps=50
    "$BIN/psc-ckpt" "$WORK/model" | grep -qE 'sparse-0-of-1 .* [1-9][0-9]* admission counts' ||
        fail "the checkpoint holds no admission counts"
    srun second "$WORK/model" "${f[@]}" --set max_steps=120
    grep -q 'resumed from .*/ckpt-50 at step 50' "$WORK/second.log" || fail "did not resume from ckpt-50"
    same_model "$WORK/ref" "$WORK/model"
}

# Every process killed with SIGKILL after a mid-run checkpoint (a step
# boundary: shard and table at the same version); the job resumes.
sparse_kill() {
    sreference 200
    local slow=(--ps 2 --set max_steps=200 --set checkpoint_steps=30
                --set stragglers.default=fixed:20)
    "$BIN/psc-launch" "${SPARSE[@]}" --set model_dir="$WORK/model" "${slow[@]}" "$SJOB" \
        >"$WORK/killed.log" 2>&1 &
    local launcher=$!
    PIDS+=("$launcher")
    wait_line killed 'checkpoint ckpt-[0-9]+:' 120
    local kids p
    kids=$(pgrep -P "$launcher")
    kill -KILL "$launcher" $kids 2>/dev/null
    wait "$launcher" 2>/dev/null
    for p in $kids; do
        while kill -0 "$p" 2>/dev/null; do timeout 1 tail --pid="$p" -f /dev/null; done
    done
    grep -q 'checkpoint ckpt-200:' "$WORK/killed.log" && echo "note: the job ended before the kill"
    srun resumed "$WORK/model" "${slow[@]}" --set stragglers.default=none
    grep -q 'resumed from .*/ckpt-' "$WORK/resumed.log" || fail "the restarted job did not resume"
    [ "$(grep -c 'restored .* sparse rows at version' "$WORK/resumed.log")" -eq 2 ] ||
        fail "not both ps restored their sparse rows"
    step_boundaries "$WORK/model" 2
    same_model "$WORK/ref" "$WORK/model"
}

# Saved on 1 ps, resumed on 2, then on 3: each ps reads every sparse file
# and keeps the rows whose keys hash to it.
sparse_recut() {
    sreference 150
    srun on1 "$WORK/model" --ps 1 --set max_steps=50
    srun on2 "$WORK/model" --ps 2 --set max_steps=100
    [ "$(grep -c 'restored 120 of 240 sparse rows at version 50 from 1 files' "$WORK/on2.log")" -eq 2 ] ||
        fail "not each of 2 ps restored its half of the rows from step 50"
    srun on3 "$WORK/model" --ps 3 --set max_steps=150
    [ "$(grep -c 'restored 80 of 240 sparse rows at version 100 from 2 files' "$WORK/on3.log")" -eq 3 ] ||
        fail "not each of 3 ps restored its third of the rows from step 100"
    "$BIN/psc-ckpt" "$WORK/model" | grep -q '^nps  *3$' || fail "the last checkpoint is not of 3 ps"
    "$BIN/psc-ckpt" "$WORK/model" | grep -q '^sparse table 240 rows of width 1, 1 slot floats' ||
        fail "psc-ckpt does not show the sparse table"
    same_model "$WORK/ref" "$WORK/model"
}

# One byte of the newest checkpoint's sparse file flipped: psc-ckpt
# --verify names it, and the next run resumes from the checkpoint before.
sparse_flipped() {
    srun first "$WORK/model" --ps 2 --set max_steps=60 --set checkpoint_steps=25 \
        --set stragglers.default=fixed:10
    local prev
    prev=$(ls -d "$WORK"/model/ckpt-* | grep -v 'ckpt-60$' | sort -t- -k2 -n | tail -n1)
    [ -n "$prev" ] || fail "no checkpoint before ckpt-60"
    local file=$WORK/model/ckpt-60/sparse-1-of-2
    python3 - "$file" <<'PY'
import os, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(os.path.getsize(sys.argv[1]) // 2)
    b = f.read(1)
    f.seek(-1, 1)
    f.write(bytes([b[0] ^ 0x10]))
PY
    "$BIN/psc-ckpt" --verify "$WORK/model/ckpt-60" >"$WORK/verify.log" 2>&1 &&
        fail "psc-ckpt --verify passed a flipped sparse file"
    grep -q "sparse-1-of-2' is corrupt" "$WORK/verify.log" || fail "psc-ckpt --verify did not name the bad file"
    srun second "$WORK/model" --ps 2 --set max_steps=80
    grep -q "ckpt-60/sparse-1-of-2' is corrupt" "$WORK/second.log" || fail "the flipped sparse file was not named"
    grep -q "resumed from $prev at step" "$WORK/second.log" || fail "did not resume from $prev"
}

case $SCENARIO in
resume_exact) resume_exact ;;
sparse_resume) sparse_resume ;;
sparse_filters) sparse_filters ;;
sparse_kill) sparse_kill ;;
sparse_recut) sparse_recut ;;
sparse_flipped) sparse_flipped ;;
kill_resume) kill_resume ;;
recut) recut ;;
truncated | flipped) damaged "$SCENARIO" ;;
incompatible) incompatible ;;
survivors) survivors ;;
sidecar) sidecar ;;
kill_ps0 | kill_chief | kill_worker1 | kill_evaluator) faults "${SCENARIO#kill_}" ;;
hang_ps0 | hang_chief | hang_worker1) hangs "${SCENARIO#hang_}" ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
