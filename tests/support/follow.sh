# Following what a run writes, as it writes it: sourced by tests/lib.sh and
# tests/netns_test.sh. Every wait here returns on the event; its SECONDS
# only bound a hang.

# follow FILE SECONDS PROGRAM...: runs PROGRAM (grep -q -m1 ..., a read
# loop ...) on FILE's lines as they are written, returning as soon as
# PROGRAM does, with its status; the follower is stopped then.
follow() {
    local file=$1 secs=$2 fd pid rc
    shift 2
    exec {fd}< <(exec timeout "$secs" tail -n +1 -F "$file" 2>/dev/null)
    pid=$!
    "$@" <&"$fd"
    rc=$?
    kill "$pid" 2>/dev/null
    exec {fd}<&-
    return $rc
}

# last_step MODEL_DIR: the last global step in the chief's metrics.jsonl.
last_step() {
    grep -o '"step": *[0-9]*' "$1/metrics.jsonl" 2>/dev/null | tail -n1 | grep -o '[0-9]*$' || echo 0
}

# step_at_least STEP: reads metrics records until one has step >= STEP.
# (A read loop, not awk: Debian's mawk buffers its input.)
step_at_least() {
    local line s
    while IFS= read -r line; do
        s=${line#*\"step\":}
        s=${s# }
        s=${s%%[!0-9]*}
        [ -n "$s" ] && [ "$s" -ge "$1" ] && return 0
    done
    return 1
}
