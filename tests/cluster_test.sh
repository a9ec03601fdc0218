#!/usr/bin/env bash
# Integration tests that start the real role binaries on 127.0.0.1.
# usage: cluster_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"

# A short job on a slice of Fashion-MNIST: formation and shutdown tests
# need a few steps, not a trained model.
SHORT=(--set max_steps=30 --set data.train_limit=3000 --set data.test_limit=1000
       --set model_dir="$WORK/model" --set startup_timeout_s="$(scaled 30)")

all_exit_zero() {
    for t in "$@"; do expect_exit "$t" 0 60; done
}

# A chief stopped before the job's end (a signal: a preempted pod) stops
# the others with an unfinished job: they exit 138, retryable, so that
# Kubernetes restarts them too and the job resumes from its checkpoint.
all_exit_retry() {
    for t in "$@"; do expect_exit "$t" 138 60; done
}

# start_all ARGS...: ps 0, the chief and workers 0 and 1, each with ARGS.
start_all() {
    start ps ps 0 "$@"
    start chief chief 0 "$@"
    start w0 worker 0 "$@"
    start w1 worker 1 "$@"
}

# Formation in a given start order: each task waits for its peers.
order() {
    cluster_json 1 2
    for t in "$@"; do
        case $t in
        ps) start ps ps 0 "${SHORT[@]}" ;;
        chief) start chief chief 0 "${SHORT[@]}" ;;
        w0) start w0 worker 0 "${SHORT[@]}" ;;
        w1) start w1 worker 1 "${SHORT[@]}" ;;
        esac
        # The task is up (it printed its place) before the next starts.
        wait_line "$t" "this task" 30
    done
    all_exit_zero ps chief w0 w1
    grep -q "every ps and worker registered" "$WORK/chief.log" || fail "no formation line"
    grep -q "trained 30 steps" "$WORK/chief.log" || fail "chief did not train 30 steps"
}

# worker:1 never starts: once everybody else has registered (however long
# that took), the chief gives up naming worker:1 alone. The timeout is the
# chief's own (the event under test), generous enough for a loaded machine
# to start the others within it.
missing_worker() {
    cluster_json 1 2
    local give_up
    give_up=$(scaled 15)
    local opts=("${SHORT[@]}" --set startup_timeout_s="$give_up")
    start chief chief 0 "${opts[@]}"
    start ps ps 0 "${opts[@]}"
    start w0 worker 0 "${opts[@]}"
    wait_line chief "worker:0 registered" 30
    wait_line chief "waiting for worker:1 to register" 30
    expect_exit chief 138 45
    grep -q "gave up after $give_up s waiting for worker:1 to register" "$WORK/chief.log" ||
        fail "chief did not name worker:1 alone"
}

mismatch() {
    cluster_json 1 2
    start chief chief 0 "${SHORT[@]}"
    start ps ps 0 "${SHORT[@]}"
    start w0 worker 0 "${SHORT[@]}"
    start w1 worker 1 "${SHORT[@]}" --set learning_rate=0.01
    expect_exit w1 2 30
    expect_exit chief 2 30
    grep -q "worker:1 runs a different job configuration: 'learning_rate' is '0.01' there, '0.001' here" \
        "$WORK/chief.log" || fail "mismatch not named"
    grep -q "refused worker:1" "$WORK/w1.log" || fail "worker:1 not told why"
}

# send_garbage PORT: raw bytes, then a ZeroMQ peer announcing a 1 TiB frame
# (cut off, not served), to the ps on PORT.
send_garbage() {
    for i in 1 2 3; do
        head -c 4096 /dev/urandom | timeout 20 python3 -c "
import socket,sys
s=socket.create_connection(('127.0.0.1',$1)); s.sendall(sys.stdin.buffer.read()); s.close()" ||
            fail "could not send raw bytes to port $1"
    done
    timeout 20 python3 "$(dirname "$0")/zmtp_flood.py" "$1" || fail "flood client failed"
}

# Garbage before the job starts and while a job that cannot finish on its
# own is running; training goes on past it, then the test stops the job.
garbage() {
    cluster_json 1 1
    local opts=("${SHORT[@]}" --set max_steps=$FOREVER --set log_interval_s=0.2)
    local port
    port=$(echo "$CLUSTER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ps"][0].split(":")[1])')
    start ps ps 0 "${opts[@]}"
    wait_line ps "listening on port $port" 20
    send_garbage "$port"
    start chief chief 0 "${opts[@]}"
    start w0 worker 0 "${opts[@]}"
    wait_line w0 "first step done" 30
    send_garbage "$port"
    local after
    after=$(last_step "$WORK/model")
    wait_step "$WORK/model" $((after + 50)) 60
    kill -TERM "$PID_chief"
    expect_exit chief 143 30
    all_exit_retry ps w0
    python3 - "$WORK/model/metrics.jsonl" <<'PY' || fail "the model trained on garbage"
import json, math, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r]  # not the run markers
assert all(math.isfinite(r["loss"]) for r in recs), recs[-1]
assert recs[-1]["loss"] < recs[0]["loss"], (recs[0], recs[-1])
PY
}

no_chief() {
    cluster_json 1 2 nochief
    start ps ps 0 "${SHORT[@]}"
    start w0 worker 0 "${SHORT[@]}"
    start w1 worker 1 "${SHORT[@]}"
    all_exit_zero ps w0 w1
    grep -q "trained 30 steps" "$WORK/w0.log" || fail "worker 0 did not act as chief"
}

signal_stop() {
    cluster_json 1 1
    start ps ps 0 "${SHORT[@]}" --set max_steps=$FOREVER
    start chief chief 0 "${SHORT[@]}" --set max_steps=$FOREVER
    start w0 worker 0 "${SHORT[@]}" --set max_steps=$FOREVER
    wait_line chief "starting the job" 20
    kill -INT "$PID_chief"
    expect_exit chief 130 20
    all_exit_retry ps w0
    grep -qE "stopped on signal 2 in [0-9.]+ s" "$WORK/chief.log" ||
        fail "the chief did not say how long it took to stop"
}

restart_worker() {
    cluster_json 1 2
    local opts=("${SHORT[@]}" --set mode=async --set max_steps=$FOREVER
        --set heartbeat_interval_s=0.2 --set heartbeat_timeout_s="$(scaled 1)")
    start_all "${opts[@]}"
    wait_line w1 "first step done" 30
    kill -KILL "$PID_w1"
    wait_line chief "lost worker:1" 20
    start w1b worker 1 "${opts[@]}"
    wait_line chief "worker:1 is back" 20
    wait_line w1b "first step done" 30
    kill -TERM "$PID_chief"
    expect_exit chief 143 30
    all_exit_retry ps w0 w1b
}

# Quick heartbeats, so that losses show in a second or two.
BEATS=(--set heartbeat_interval_s=0.2 --set heartbeat_timeout_s="$(scaled 1)")

# A worker that a sync step cannot do without dies and is not restarted:
# the chief waits worker_restart_timeout_s for it, then fails the job, and
# every survivor exits 138.
worker_gone() {
    cluster_json 1 2
    local opts=("${SHORT[@]}" "${BEATS[@]}" --set mode=sync --set max_steps=$FOREVER
        --set worker_restart_timeout_s="$(scaled 2)")
    start_all "${opts[@]}"
    wait_line w1 "first step done" 30
    kill -KILL "$PID_w1"
    wait_line chief "waiting up to .* \(worker_restart_timeout_s\)" 20
    wait_line chief "none came back within" 20
    expect_exit chief 138 30
    all_exit_retry ps w0
}

# The chief dies and nobody restarts it: the others pause within a
# heartbeat timeout, wait chief_restart_timeout_s for a new one, then exit
# 138 saying so.
chief_gone() {
    cluster_json 1 2
    local opts=("${SHORT[@]}" "${BEATS[@]}" --set mode=async --set max_steps=$FOREVER
        --set chief_restart_timeout_s="$(scaled 2)")
    start_all "${opts[@]}"
    wait_line w1 "first step done" 30
    kill -KILL "$PID_chief"
    for t in w0 w1; do wait_line "$t" "paused: waiting for the chief" 20; done
    for t in ps w0 w1; do wait_line "$t" "no chief came back .* within chief_restart_timeout_s" 30; done
    all_exit_retry ps w0 w1
}

# The chief dies and a new one is started in its place (as Kubernetes
# does): the ps and workers that kept running register with it, it resumes
# from the last checkpoint, and the job finishes with every task exiting 0.
chief_back() {
    cluster_json 1 2
    local opts=("${SHORT[@]}" "${BEATS[@]}" --set mode=sync --set max_steps=300
        --set checkpoint_steps=20 --set stragglers.default=fixed:10)
    start_all "${opts[@]}"
    wait_step "$WORK/model" 50 60
    kill -KILL "$PID_chief"
    start chief2 chief 0 "${opts[@]}"
    wait_line chief2 "resumed from .*/ckpt-" 60
    for t in w0 w1; do wait_line "$t" "registered with the chief again" 30; done
    expect_exit chief2 0 60
    all_exit_zero ps w0 w1
}

# forge PORT ROUTING_ID TYPE TASK [KEY=VALUE...]: one hand-made message,
# as an attacker on 127.0.0.1 sends it; prints what psc-test-forge says.
forge() {
    timeout 30 "$BIN/psc-test-forge" "$@" || fail "psc-test-forge $* failed"
}

port_of() {
    echo "$CLUSTER" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"$1\"][0].split(':')[1])"
}

# values MODEL_DIR: every variable of its latest checkpoint, as psc-ckpt
# prints them.
values() {
    local v
    for v in $("$BIN/psc-ckpt" "$1" | awk '$1 ~ /\// {print $1}'); do
        "$BIN/psc-ckpt" --values "$v" "$1" || fail "psc-ckpt --values $v $1 failed"
    done
}

# clean_job OPTIONS...: the job of cluster_json 1 2, unattacked, to its end
# in $WORK/clean.
clean_job() {
    start ps ps 0 "$@" --set model_dir="$WORK/clean"
    start chief chief 0 "$@" --set model_dir="$WORK/clean"
    start w0 worker 0 "$@" --set model_dir="$WORK/clean"
    start w1 worker 1 "$@" --set model_dir="$WORK/clean"
    all_exit_zero ps chief w0 w1
}

# same_values_as_clean WHOSE: $WORK/model's values equal $WORK/clean's.
same_values_as_clean() {
    values "$WORK/clean" >"$WORK/clean.values"
    values "$WORK/model" >"$WORK/attacked.values"
    [ -s "$WORK/clean.values" ] || fail "no values printed"
    cmp -s "$WORK/clean.values" "$WORK/attacked.values" ||
        fail "$1 values differ from the clean job's"
}

# A sync job attacked while it trains, by connections that name themselves
# after tasks of the job: forged REPORT, BYE, REGISTER and STOP to the
# chief, NaN pushes and unanswerable pulls to the ps. Each is dropped or
# refused, and the job ends with the values, to the float, of the same job
# left alone. (Worker 1 is slowed so that the attacks land mid-training;
# two workers' sums are exact in either order.)
forged() {
    local opts=("${SHORT[@]}" --set mode=sync --set max_steps=120
        --set stragglers.1=fixed:40 --set checkpoint_interval_s=0
        --set heartbeat_timeout_s="$(scaled 120)")
    cluster_json 1 2
    clean_job "${opts[@]}"

    cluster_json 1 2
    local chief ps got
    chief=$(port_of chief)
    ps=$(port_of ps)
    start_all "${opts[@]}"
    wait_line w0 "first step done" 30
    wait_line w1 "first step done" 30
    # worker:1 is held while the attacks come, so that the sync job cannot
    # end before they are over, however slow the machine; it resumes after.
    kill -STOP "$PID_w1"
    forge "$chief" intruder REPORT worker:0 step=1e9 >/dev/null
    forge "$chief" intruder BYE worker:1 text=failed >/dev/null
    forge "$chief" intruder REGISTER worker:1 text='{}' >/dev/null
    forge "$chief" intruder STOP chief:0 text=failed >/dev/null
    # A live worker's name taken by a second connection: not heard at all.
    forge "$chief" worker:1 BYE worker:1 text=forged >/dev/null
    forge "$ps" intruder PUSH worker:0 floats=7850 value=nan >/dev/null
    forge "$ps" intruder PULL worker:0 min_version=max >/dev/null
    got=$(forge "$ps" evaluator:0 PUSH evaluator:0 floats=7850 value=1e30 reply_ms="$(scaled 10)000")
    case $got in "ERROR only a worker of this cluster pushes"*) ;; *) fail "a push from evaluator:0 was not refused: $got" ;; esac
    got=$(forge "$ps" evaluator:0 INIT evaluator:0 floats=7850 value=0 reply_ms="$(scaled 10)000")
    case $got in "ERROR only the chief initialises"*) ;; *) fail "an INIT from evaluator:0 was not refused: $got" ;; esac
    wait_line chief "dropped a misattributed message from 'worker:0'" 30
    wait_line ps "dropped a misattributed message from 'worker:0'" 30
    kill -CONT "$PID_w1"
    all_exit_zero ps chief w0 w1
    grep -q "trained 120 steps" "$WORK/chief.log" || fail "the chief did not train 120 steps"
    ! grep -q "worker:1 stopped: forged" "$WORK/chief.log" || fail "the chief took a BYE from a second worker:1"
    same_values_as_clean "the attacked job's"
}

# refused_at_start ROLE INDEX LINE OPTIONS...: the task exits 2 with LINE.
refused_at_start() {
    local role=$1 index=$2 line=$3
    shift 3
    start bad "$role" "$index" "$@"
    expect_exit bad 2 30
    grep -qF "$line" "$WORK/bad.log" || fail "$role:$index did not say: $line"
}

# The same sync job as 'forged' with CURVE on, attacked by peers without
# keys, with a key on no list, and with a listed key posing as another
# task: nobody gets in, and the model is exactly the clean job's (run
# without CURVE: encryption does not change the arithmetic). A CURVE
# handshake refuses alike whatever the job is doing.
curve() {
    local opts=("${SHORT[@]}" --set mode=sync --set max_steps=120
        --set stragglers.1=fixed:40 --set checkpoint_interval_s=0)
    local keys=$WORK/keys
    "$BIN/psc-keygen" --cluster ps=1,worker=2 --out "$keys" >/dev/null || fail "psc-keygen failed"
    ! "$BIN/psc-keygen" --cluster ps=1,worker=2 --out "$keys" 2>/dev/null || fail "psc-keygen replaced keys"
    "$BIN/psc-keygen" --cluster ps=1,worker=1 --out "$WORK/small" >/dev/null || fail "psc-keygen failed"
    "$BIN/psc-keygen" --cluster pz=1 --out "$WORK/x" 2>/dev/null
    [ $? -eq 2 ] || fail "psc-keygen took a bad --cluster"
    cluster_json 1 2
    refused_at_start ps 0 "cannot read the cluster's key list '$WORK/none/tasks.pub'" \
        "${opts[@]}" --set security.curve=true --set security.keys_dir="$WORK/none"
    refused_at_start ps 0 "task 'worker:1' of TF_CONFIG has no key in '$WORK/small/tasks.pub'" \
        "${opts[@]}" --set security.curve=true --set security.keys_dir="$WORK/small"

    clean_job "${opts[@]}"

    cluster_json 1 2
    local chief ps got
    chief=$(port_of chief)
    ps=$(port_of ps)
    # The keys folder through the environment, as a Secret's mount would be.
    # The attacks come while the chief waits for worker:1, so that the job
    # cannot end before they are over, however slow the machine.
    export PSC_CURVE_KEYS_DIR=$keys
    opts+=(--set startup_timeout_s="$(scaled 120)")
    start ps ps 0 "${opts[@]}"
    start chief chief 0 "${opts[@]}"
    start w0 worker 0 "${opts[@]}"
    wait_line chief "worker:0 registered" 30
    wait_line ps "listening on port" 30
    local reply_ms
    reply_ms="$(scaled 2)000"
    # No keys at all.
    forge "$chief" intruder STOP chief:0 text=failed >/dev/null
    forge "$chief" intruder REGISTER worker:1 text='{}' >/dev/null
    forge "$ps" intruder PUSH worker:0 floats=7850 value=nan >/dev/null
    got=$(forge "$ps" intruder PULL worker:0 reply_ms="$reply_ms")
    [ "$got" = "no reply" ] || fail "a peer without keys pulled: $got"
    # A key of its own, on no list (the servers' public keys are public).
    got=$(forge "$ps" intruder PULL worker:0 keys="$keys" server=ps:0 stranger=1 reply_ms="$reply_ms")
    [ "$got" = "no reply" ] || fail "a stranger's key pulled: $got"
    forge "$chief" intruder STOP chief:0 text=failed keys="$keys" server=chief:0 stranger=1 >/dev/null
    # worker:1's key, acting as a task it is not.
    forge "$ps" evaluator:0 PUSH evaluator:0 floats=7850 value=nan keys="$keys" server=ps:0 as=worker:1 >/dev/null
    forge "$chief" evaluator:0 STOP evaluator:0 text=failed keys="$keys" server=chief:0 as=worker:1 >/dev/null
    wait_line ps "refused a connection at the handshake: the peer does not speak CURVE" 30
    wait_line ps "dropped a misattributed message from 'evaluator:0': its connection's key belongs to another task" 30
    wait_line chief "at the handshake: its key is not on the cluster's list" 30
    wait_line chief "dropped a misattributed message from 'evaluator:0': its connection's key belongs to another task" 30
    start w1 worker 1 "${opts[@]}"
    unset PSC_CURVE_KEYS_DIR
    all_exit_zero ps chief w0 w1
    grep -q "trained 120 steps" "$WORK/chief.log" || fail "the chief did not train 120 steps"
    grep -q "the gate refused [0-9]* connections at the handshake" "$WORK/ps.log" ||
        fail "the ps did not count its refusals"
    ! grep -q "registered.*intruder\|intruder.*registered" "$WORK/chief.log" || fail "an intruder registered"
    same_values_as_clean "the CURVE job's"
}

case $SCENARIO in
order_ps_chief_workers) order ps chief w0 w1 ;;
order_workers_chief_ps) order w1 w0 chief ps ;;
order_chief_workers_ps) order chief w0 w1 ps ;;
order_ps_workers_chief) order ps w1 w0 chief ;;
missing_worker) missing_worker ;;
mismatch) mismatch ;;
garbage) garbage ;;
no_chief) no_chief ;;
signal_stop) signal_stop ;;
restart_worker) restart_worker ;;
worker_gone) worker_gone ;;
chief_gone) chief_gone ;;
chief_back) chief_back ;;
forged) forged ;;
curve) curve ;;
*) fail "unknown scenario $SCENARIO" ;;
esac
echo "PASS: $SCENARIO"
