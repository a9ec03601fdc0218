# Helpers for the integration tests: start role binaries with generated
# TF_CONFIGs on 127.0.0.1, wait for events (a log line, an exit), and clean
# up whatever is left. Sourced by the test scripts; BIN must be set.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/support/follow.sh"
WORK=$(mktemp -d /tmp/psc-test.XXXXXX)
# Sanitizer builds run several times slower (CMake sets the factor): every
# deadline below, and the timeouts a test gives the roles, scale by it.
SCALE=${PSC_TEST_TIME_SCALE:-1}

# scaled SECONDS: SECONDS times the build's time scale.
scaled() {
    echo $(($1 * SCALE))
}
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$WORK"/*.log; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
    done
    exit 1
}

# free_ports N: N distinct free TCP ports on 127.0.0.1, one a line, each
# reserved for 60 s for the ZeroMQ bind of the task it is given to
# (tests/support/free_ports.c says how); pick a cluster's ports in one call.
free_ports() {
    "$BIN/psc-test-ports" "$1"
}

# cluster_json PS WORKERS [nochief]: sets CLUSTER to a cluster spec.
cluster_json() {
    local nps=$1 nw=$2 nochief=${3:-}
    local ps="" w="" i n=$(($1 + $2 + 1)) ports
    [ -z "$nochief" ] || n=$((n - 1))
    ports=($(free_ports "$n")) || fail "cannot pick $n free ports"
    for ((i = 0; i < nps; i++)); do ps="$ps${ps:+,}\"127.0.0.1:${ports[i]}\""; done
    for ((i = 0; i < nw; i++)); do w="$w${w:+,}\"127.0.0.1:${ports[nps + i]}\""; done
    if [ -n "$nochief" ]; then
        CLUSTER="{\"ps\":[$ps],\"worker\":[$w]}"
    else
        CLUSTER="{\"chief\":[\"127.0.0.1:${ports[nps + nw]}\"],\"ps\":[$ps],\"worker\":[$w]}"
    fi
}

# start NAME TYPE INDEX [args...]: starts psc-TYPE for that task in the
# background, output in $WORK/NAME.log; records its pid in PID_<NAME>.
start() {
    local name=$1 type=$2 index=$3
    shift 3
    local bin=$type
    [ "$type" = evaluator ] || [ "$type" = chief ] || [ "$type" = ps ] || [ "$type" = worker ] || fail "bad type $type"
    TF_CONFIG="{\"cluster\":$CLUSTER,\"task\":{\"type\":\"$type\",\"index\":$index}}" \
        "$BIN/psc-$bin" "$@" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    printf -v "PID_$name" '%s' "$pid"
}

# wait_line NAME PATTERN SECONDS: waits until NAME's log has PATTERN,
# reading lines as they are written; the follower stops at the match.
wait_line() {
    local f="$WORK/$1.log"
    touch "$f"
    follow "$f" "$(scaled "$3")" grep -q -m1 -E "$2" ||
        fail "no line matching '$2' from $1 within $(scaled "$3") s"
}

# wait_exit NAME SECONDS: waits for NAME to exit; sets STATUS.
wait_exit() {
    local pidvar="PID_$1" deadline=$((SECONDS + $(scaled "$2")))
    local pid=${!pidvar}
    while kill -0 "$pid" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || fail "$1 still running after $(scaled "$2") s"
        # Wait on the process itself; the timeout only bounds a hang.
        timeout 1 tail --pid="$pid" -f /dev/null 2>/dev/null
    done
    wait "$pid"
    STATUS=$?
}

expect_exit() {
    wait_exit "$1" "$3"
    [ "$STATUS" -eq "$2" ] || fail "$1 exited $STATUS, expected $2"
}

# A max_steps no test run reaches: a job that cannot finish on its own,
# for checks that need the cluster held while they look; the test stops it.
FOREVER=1000000000

# wait_step MODEL_DIR STEP SECONDS: waits until the chief has logged STEP,
# following its records as they are written; SECONDS only bounds a hang.
wait_step() {
    follow "$1/metrics.jsonl" "$(scaled "$3")" step_at_least "$2" ||
        fail "the chief did not log step $2 within $(scaled "$3") s (last: $(last_step "$1"))"
}
