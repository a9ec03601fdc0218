#!/usr/bin/env bash
# Multi-host tests without containers: every task runs in a network namespace
# of its own, with its own address on a private bridge, and finds the others
# by host name (TF_CONFIG names them; each namespace's /etc/hosts, through
# `ip netns exec`, maps the names to the addresses). Binding, advertising and
# connecting so cross real interfaces, as between machines.
#
#   formation       2 ps, 2 workers, chief, evaluator: with ps-1 held back
#                   (the chief waits for it), the registered workers have
#                   connected to ps-0 from their own addresses; then ps-1
#                   starts, everybody trains over the bridge to max_steps,
#                   and exits 0.
#   sync-cut        sync, 3 workers, all needed each step; worker-2's link
#                   goes down mid-run: the chief reports worker:2 lost,
#                   waits worker_restart_timeout_s for it, then stops the
#                   job (exit 138) instead of waiting for ever.
#   sync-backup-cut sync, 3 workers, replicas_to_aggregate=2 (one backup);
#                   worker-2's link goes down mid-run: the chief reports it,
#                   training goes on without it; the test then stops the
#                   job (SIGTERM to the chief: 143) and the rest exit 0.
#   async-cut       async, 2 workers; worker-1's link goes down: reported,
#                   training goes on with worker-0; stopped as above.
# No job here can end before its checks have looked: the cut scenarios'
# jobs have no reachable max_steps, and formation is held before it starts.
#
# Addresses are 10.77.0.0/24, only inside namespaces this test creates: the
# bridge lives in a namespace of its own, so nothing is added to the host's
# network. Needs root and `ip netns` (skips loudly, exit 77, without them);
# removes its namespaces, /etc/netns/ entries and processes in every case.
#
# usage: tests/netns_test.sh [BIN_DIR] [SCENARIO...]
set -uo pipefail

src=${PSC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bin=${1:-${PSC_BIN_DIR:-$src/build/bin}}
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(formation sync-cut sync-backup-cut async-cut)
job=$src/examples/fashion_mnist_mlp.json
. "$src/tests/support/follow.sh"

p=psc$$                       # prefix of every namespace this run makes
# A max_steps no run reaches: the cut scenarios' jobs cannot end before the
# checks have looked; the test ends them (SIGTERM to the chief).
forever=1000000000
tmp=$(mktemp -d /tmp/psc-netns.XXXXXX)
declare -a made_ns=()
declare -A pid_of=() ns_of=() addr_of=() reaped=()
pass=0 fail=0

say() { echo "netns: $*" >&2; }
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

skip() {
    say "SKIPPED LOUDLY: $*; the multi-host tests did NOT run"
    rm -rf "$tmp"
    exit 77
}

# Stops the tasks of this run that are still running (never a pid already
# reaped: it may belong to somebody else by now).
stop_all() {
    local t live=()
    for t in "${!pid_of[@]}"; do
        [ -n "${reaped[$t]:-}" ] || live+=("${pid_of[$t]}")
    done
    if [ ${#live[@]} -gt 0 ]; then
        kill -TERM "${live[@]}" 2>/dev/null
        for t in "${live[@]}"; do
            timeout 5 tail --pid="$t" -s 0.1 -f /dev/null 2>/dev/null
        done
        kill -KILL "${live[@]}" 2>/dev/null
        for t in "${live[@]}"; do wait "$t" 2>/dev/null; done
    fi
    pid_of=()
    reaped=()
}

teardown_net() {
    local ns
    for ns in "${made_ns[@]}"; do
        ip netns del "$ns" 2>/dev/null
        rm -rf "/etc/netns/$ns"
    done
    made_ns=()
}

etc_netns_existed=0
[ -d /etc/netns ] && etc_netns_existed=1
cleanup() {
    stop_all
    teardown_net
    [ $etc_netns_existed -eq 1 ] || rmdir /etc/netns 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- leftovers of runs killed without cleanup (ctest timeout: SIGKILL) --------
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null; then
    for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep -E '^psc[0-9]+-'); do
        owner=${ns#psc}
        owner=${owner%%-*}
        if ! kill -0 "$owner" 2>/dev/null; then
            ip netns del "$ns" 2>/dev/null
            rm -rf "/etc/netns/$ns"
        fi
    done
fi

# --- preconditions ----------------------------------------------------------
for r in ps worker chief evaluator; do
    [ -x "$bin/psc-$r" ] || { say "no $bin/psc-$r (build first)"; exit 1; }
done
[ "$(id -u)" -eq 0 ] || skip "not root"
command -v ip >/dev/null || skip "no ip command (apt-get install iproute2)"
ip netns add "$p-probe" 2>/dev/null || skip "ip netns add is not permitted here"
made_ns+=("$p-probe")
ip -n "$p-probe" link add probe0 type veth peer name probe1 2>/dev/null ||
    skip "cannot make veth pairs in a namespace here"
ip netns exec "$p-probe" true 2>/dev/null || skip "ip netns exec is not permitted here"
teardown_net

# --- the network ------------------------------------------------------------
# net_up TASK...: a switch namespace with a bridge; per task a namespace with
# eth0 (a veth whose other end is port "s-TASK" on the bridge), an address,
# lo, and an /etc/hosts naming every task.
net_up() {
    local sw=$p-sw t i=10 hosts=$tmp/hosts
    ip netns add "$sw" && made_ns+=("$sw") || return 1
    ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up || return 1
    printf '127.0.0.1\tlocalhost\n' >"$hosts"
    for t in "$@"; do
        addr_of[$t]=10.77.0.$i
        printf '10.77.0.%d\t%s\n' "$i" "$t" >>"$hosts"
        i=$((i + 1))
    done
    for t in "$@"; do
        local ns=$p-$t
        ns_of[$t]=$ns
        ip netns add "$ns" && made_ns+=("$ns") || return 1
        ip -n "$sw" link add "s-$t" type veth peer name eth0 netns "$ns" || return 1
        ip -n "$sw" link set "s-$t" master br0 up || return 1
        ip -n "$ns" addr add "${addr_of[$t]}/24" dev eth0 || return 1
        ip -n "$ns" link set eth0 up && ip -n "$ns" link set lo up || return 1
        mkdir -p "/etc/netns/$ns" && cp "$hosts" "/etc/netns/$ns/hosts" || return 1
    done
}

# cut TASK: pull TASK's cable (its bridge port goes down).
cut() { ip -n "$p-sw" link set "s-$1" down; }

# --- the cluster ------------------------------------------------------------
# start TASK ROLE INDEX CLUSTER_JSON ARGS...: run psc-ROLE in TASK's namespace.
start() {
    local t=$1 role=$2 i=$3 cluster=$4
    shift 4
    local tfc="{\"cluster\": $cluster, \"task\": {\"type\": \"$role\", \"index\": $i}}"
    ip netns exec "${ns_of[$t]}" env TF_CONFIG="$tfc" \
        "$bin/psc-$role" --job "$job" "$@" >"$tmp/$t.log" 2>&1 &
    pid_of[$t]=$!
}

# wait_exit TASK SECONDS: sets exit_status to TASK's exit status, or
# "running". (Not in a subshell: only this shell can reap its children.)
wait_exit() {
    local pid=${pid_of[$1]}
    if [ -n "${reaped[$1]:-}" ]; then
        exit_status=${reaped[$1]}
        return
    fi
    # Returns when the process exits; the timeout only bounds a hang.
    timeout "$2" tail --pid="$pid" -s 0.1 -f /dev/null 2>/dev/null
    if kill -0 "$pid" 2>/dev/null; then
        exit_status=running
    else
        wait "$pid"
        exit_status=$?
        reaped[$1]=$exit_status
    fi
}

# wait_step MODEL_DIR STEP SECONDS: until the chief has logged STEP.
wait_step() {
    # Follows the chief's records as they are written.
    follow "$1/metrics.jsonl" "$3" step_at_least "$2"
}

show_logs() {
    local t
    for t in "$@"; do
        echo "---- $t (${addr_of[$t]}) ----"
        tail -n 40 "$tmp/$t.log"
    done
}

# expect_exit TASK WANT SECONDS: WANT is a status, or "nonzero".
expect_exit() {
    local got
    wait_exit "$1" "$3"
    got=$exit_status
    case "$2:$got" in
        nonzero:running | *:running) bad "$scenario: $1 still running after $3 s (wanted exit $2)"; return 1 ;;
        nonzero:0) bad "$scenario: $1 exited 0, wanted a failure status"; return 1 ;;
        nonzero:*) ok "$scenario: $1 exited $got"; return 0 ;;
        "$2:$2") ok "$scenario: $1 exited $got"; return 0 ;;
        *) bad "$scenario: $1 exited $got, wanted $2"; return 1 ;;
    esac
}

# --- scenarios --------------------------------------------------------------
common_args() {
    echo --set model_dir="$1" --set data.train_limit=12000 --set data.test_limit=2000 \
         --set heartbeat_interval_s=0.5 --set heartbeat_timeout_s=4 \
         --set worker_restart_timeout_s=4 --set chief_restart_timeout_s=8 \
         --set startup_timeout_s=60 --set log_interval_s=0.5 --set eval_interval_s=2
}

cluster_json() {   # cluster_json NPS NWORKERS
    local i ps="" w=""
    for ((i = 0; i < $1; i++)); do ps+="${ps:+, }\"ps-$i:2222\""; done
    for ((i = 0; i < $2; i++)); do w+="${w:+, }\"worker-$i:2222\""; done
    echo "{\"chief\": [\"chief:2222\"], \"ps\": [$ps], \"worker\": [$w]}"
}

# run_cluster NPS NWORKERS EVALUATOR(0/1) ARGS... [--hold TASK]: network
# and processes; a held TASK is started only by release_held.
run_cluster() {
    local nps=$1 nw=$2 ev=$3 i tasks=(chief) args=()
    shift 3
    held=()
    while [ $# -gt 0 ]; do
        if [ "$1" = --hold ]; then
            held=("$2")
            shift 2
        else
            args+=("$1")
            shift
        fi
    done
    set -- "${args[@]}"
    for ((i = 0; i < nps; i++)); do tasks+=("ps-$i"); done
    for ((i = 0; i < nw; i++)); do tasks+=("worker-$i"); done
    [ "$ev" = 1 ] && tasks+=(evaluator)
    net_up "${tasks[@]}" || { bad "$scenario: cannot build the network"; return 1; }
    local cluster
    cluster=$(cluster_json "$nps" "$nw")
    held_start=()
    for ((i = 0; i < nps; i++)); do start_or_hold "ps-$i" ps "$i" "$cluster" "$@"; done
    start_or_hold chief chief 0 "$cluster" "$@"
    for ((i = 0; i < nw; i++)); do start_or_hold "worker-$i" worker "$i" "$cluster" "$@"; done
    [ "$ev" = 1 ] && start_or_hold evaluator evaluator 0 "$cluster" "$@"
    tasks_now=("${tasks[@]}")
}

# start_or_hold TASK ROLE INDEX CLUSTER ARGS...: starts TASK unless it is
# held, in which case its start is kept for release_held.
start_or_hold() {
    if [ ${#held[@]} -gt 0 ] && [ "$1" = "${held[0]}" ]; then
        held_start=("$@")
    else
        start "$@"
    fi
}

release_held() {
    [ ${#held_start[@]} -gt 0 ] && start "${held_start[@]}"
    held=()
    held_start=()
}

# peers_of TASK: the addresses TASK's port 2222 has established connections
# from, space-separated.
peers_of() {
    ip netns exec "${ns_of[$1]}" ss -Htn state established '( sport = :2222 )' |
        awk '{ print $NF }' | sed 's/:[0-9]*$//; s/^\[::ffff://; s/^\[//; s/\]$//' |
        sort -u | tr '\n' ' '
}

# The cluster is held before the job starts (ps-1 is started last, and the
# chief waits for it) while the workers, registered, have connected to
# ps-0: the connection check looks then, with no run that could end first.
scenario_formation() {
    local md=$tmp/model-formation t failed=0
    # shellcheck disable=SC2046
    run_cluster 2 2 1 $(common_args "$md") --set mode=async --set max_steps=600 --hold ps-1 || return
    for t in worker-0 worker-1; do
        follow "$tmp/$t.log" 60 grep -q -m1 "training on" ||
            { bad "$scenario: $t did not register within 60 s"; failed=1; }
    done
    local peers="" deadline=$((SECONDS + 30))
    while :; do
        peers=$(peers_of ps-0)
        grep -q "${addr_of[worker-0]} " <<<"$peers " && grep -q "${addr_of[worker-1]} " <<<"$peers " && break
        [ $SECONDS -lt $deadline ] || break
        sleep 0.1
    done
    if grep -q "${addr_of[worker-0]} " <<<"$peers " && grep -q "${addr_of[worker-1]} " <<<"$peers "; then
        ok "$scenario: ps-0 (${addr_of[ps-0]}:2222) has connections from the workers' addresses: $peers"
    else
        bad "$scenario: ps-0's connections come from '$peers', not from the workers' addresses"
        failed=1
    fi
    release_held
    if wait_step "$md" 1 90; then
        ok "$scenario: training started over the bridge"
    else
        bad "$scenario: no training step within 90 s"
        failed=1
    fi
    expect_exit chief 0 120 || failed=1
    for t in ps-0 ps-1 worker-0 worker-1 evaluator; do expect_exit "$t" 0 30 || failed=1; done
    if grep -q 'every ps and worker registered' "$tmp/chief.log"; then
        ok "$scenario: the chief saw every ps and worker register"
    else
        bad "$scenario: the chief did not log that every task registered"; failed=1
    fi
    if grep -q 'final test accuracy' "$tmp/evaluator.log"; then
        ok "$scenario: evaluator: $(grep -o 'final test accuracy [0-9.]*' "$tmp/evaluator.log" | tail -n1)"
    else
        bad "$scenario: no final test accuracy from the evaluator"; failed=1
    fi
    [ $failed -eq 0 ] || show_logs "${tasks_now[@]}"
}

# cut_scenario MODE NWORKERS VICTIM CHIEF_STATUS ARGS...
cut_scenario() {
    local mode=$1 nw=$2 victim=$3 want=$4 md=$tmp/model-$scenario failed=0
    shift 4
    # shellcheck disable=SC2046
    run_cluster 2 "$nw" 0 $(common_args "$md") --set mode="$mode" "$@" || return
    if ! wait_step "$md" 20 90; then
        bad "$scenario: the job did not reach step 20 within 90 s"
        show_logs "${tasks_now[@]}"
        return
    fi
    local at t0
    at=$(last_step "$md")
    t0=$(date +%s)
    cut "$victim"
    say "$scenario: cut $victim's link at step $at"
    # Reported by name within the heartbeat timeout (4 s) plus slack.
    local idx=${victim#worker-}
    follow "$tmp/chief.log" 20 grep -q -m1 "lost worker:$idx"
    if grep -q "lost worker:$idx" "$tmp/chief.log"; then
        ok "$scenario: chief reported after $(($(date +%s) - t0)) s: $(grep -o "lost worker:$idx.*" "$tmp/chief.log" | head -n1)"
    else
        bad "$scenario: the chief did not report worker:$idx lost within 20 s"; failed=1
    fi
    if [ "$want" = 143 ]; then
        # Training goes on without the victim; then the test ends the job.
        local lost_at
        lost_at=$(last_step "$md")
        if wait_step "$md" $((lost_at + 20)) 60; then
            ok "$scenario: training went on after worker:$idx was lost: step $lost_at -> $(last_step "$md")"
        else
            bad "$scenario: no progress after worker:$idx was lost (step $lost_at)"; failed=1
        fi
        kill -TERM "${pid_of[chief]}"
    fi
    expect_exit chief "$want" 120 || failed=1
    # The job did not finish (failed, or its chief was stopped): the others
    # exit 138, retryable, so that Kubernetes restarts them as well.
    for t in "${tasks_now[@]}"; do
        [ "$t" = chief ] || [ "$t" = "$victim" ] && continue
        expect_exit "$t" 138 30 || failed=1
    done
    # The cut-off worker is on its own: it must give up, not hang.
    expect_exit "$victim" nonzero 30 || failed=1
    [ $failed -eq 0 ] || show_logs "${tasks_now[@]}"
}

for scenario in "${scenarios[@]}"; do
    say "== $scenario"
    t_start=$(date +%s)
    tasks_now=()
    case $scenario in
        formation) scenario_formation ;;
        sync-cut) cut_scenario sync 3 worker-2 138 --set max_steps=$forever --set replicas_to_aggregate=3 ;;
        sync-backup-cut) cut_scenario sync 3 worker-2 143 --set max_steps=$forever --set replicas_to_aggregate=2 ;;
        async-cut) cut_scenario async 2 worker-1 143 --set max_steps=$forever ;;
        *) bad "unknown scenario $scenario" ;;
    esac
    stop_all
    teardown_net
    say "$scenario took $(($(date +%s) - t_start)) s"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
