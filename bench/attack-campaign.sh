#!/usr/bin/env bash
# An attack campaign on 127.0.0.1: a sync job (fixed seed) attacked while it
# trains by one process sending forged messages (psc-test-forge), with CURVE
# off and on, next to a clean run of the same job. Every attack of issue 18:
# NaN gradients as worker:0 (from another connection, and under worker:0's
# own routing id), 1e38 gradients, a REPORT of step 10^9, a REGISTER with
# another configuration, a BYE as worker:1, a STOP as the chief, and a
# flood of PULLs that can never be answered; with CURVE also a key on no
# list. Prints, per run, the exit status, the steps trained, the final test
# accuracy, whether the model's values equal the clean run's exactly, the
# ps's resident memory before and after the flood, and what the tasks said
# about the attacks. Bounded: FLOOD messages per flood (default 10000), one
# job per run. done_at is the step the job had reached when the attacks
# were over ("end": they outlasted it, and the run shows less).
# usage: bench/attack-campaign.sh [BUILD_BIN] [FLOOD]   (default build/bin 10000)
set -u
BIN=$(cd "${1:-build/bin}" && pwd)
FLOOD=${2:-10000}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/psc-attacks.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$OUT"' EXIT
[ -x "$BIN/psc-test-forge" ] || { echo "attack-campaign: no $BIN/psc-test-forge (a build with tests)"; exit 2; }
JOB=(--ps 1 --workers 2 --evaluator --set mode=sync --set max_steps=600
     --set stragglers.1=fixed:10 --set checkpoint_interval_s=0
     --set data.test_limit=5000 --set eval_interval_s=60)
"$BIN/psc-keygen" --cluster ps=1,worker=2,evaluator=1 --out "$OUT/keys" >/dev/null || exit 1
CURVE=(--set security.curve=true --set security.keys_dir="$OUT/keys")

# wait_for FILE PATTERN: the first match's line once FILE has it (60 s bound).
wait_for() {
    local i
    for ((i = 0; i < 600; i++)); do
        grep -m1 -E "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

forge() { timeout 60 "$BIN/psc-test-forge" "$@" >/dev/null 2>&1; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo '?'; }

values() { # MODEL_DIR: every variable's values in the last checkpoint
    local v
    for v in $("$BIN/psc-ckpt" "$1" | awk '$1 ~ /\// {print $1}'); do
        "$BIN/psc-ckpt" --values "$v" "$1"
    done
}

final_acc() {
    python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print([x for x in r if "accuracy" in x][-1]["accuracy"])' "$1/eval.jsonl" 2>/dev/null || echo none
}

# attack LOG KEYS...: every attack at the cluster whose psc-launch output
# is LOG; KEYS are forge options for the CURVE runs (none without CURVE).
attack() {
    local log=$1
    shift
    local ps chief pspid cargs=("${@/server=ps:0/server=chief:0}")
    ps=$(wait_for "$log" 'ps:0: listening on port' | grep -o 'port [0-9]*' | grep -o '[0-9]*')
    chief=$(wait_for "$log" 'chief listening on port' | grep -o 'port [0-9]*' | grep -o '[0-9]*')
    wait_for "$log" 'worker:0: first step done' >/dev/null || { echo "no first step"; return 1; }
    pspid=$(pgrep -f "^$BIN/psc-ps" | head -n1)
    forge "$ps" intruder PUSH worker:0 floats=7850 value=nan "$@"
    forge "$ps" worker:0 PUSH worker:0 floats=7850 value=nan "$@"
    forge "$ps" intruder PUSH worker:1 floats=7850 value=1e38 count=3 "$@"
    forge "$chief" intruder REPORT worker:0 step=1e9 "${cargs[@]}"
    forge "$chief" intruder REGISTER worker:1 text='{}' "${cargs[@]}"
    forge "$chief" intruder BYE worker:1 text=failed "${cargs[@]}"
    forge "$chief" intruder STOP chief:0 text=failed "${cargs[@]}"
    RSS_BEFORE=$(rss_kb "$pspid")
    forge "$ps" evaluator:1 PULL evaluator:1 min_version=max count="$FLOOD" "$@"
    RSS_AFTER=$(rss_kb "$pspid")
    # The step the job had reached when the last attack was over.
    AT=$(grep -oE 'step [0-9]+/' "$log" | tail -n1 | grep -oE '[0-9]+')
    grep -q 'trained [0-9]* steps' "$log" && AT="end"
}

run() { # NAME LAUNCH_ARGS... -- FORGE_ARGS...
    local name=$1
    shift
    local largs=() fargs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do largs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    fargs=("$@")
    "$BIN/psc-launch" "${JOB[@]}" "${largs[@]}" --set model_dir="$OUT/$name" \
        "$SRC/examples/fashion_mnist_mlp.json" >"$OUT/$name.log" 2>&1 &
    local pid=$!
    RSS_BEFORE='-' RSS_AFTER='-' AT='-'
    [ "$name" = clean ] || attack "$OUT/$name.log" "${fargs[@]}"
    wait "$pid"
    local rc=$? same=no
    values "$OUT/$name" >"$OUT/$name.values" 2>/dev/null
    [ -s "$OUT/$name.values" ] && cmp -s "$OUT/clean.values" "$OUT/$name.values" && same=yes
    [ "$name" = clean ] && same=-
    local steps
    steps=$(grep -o 'trained [0-9]* steps' "$OUT/$name.log" | head -n1 | grep -o '[0-9]*')
    printf '%-14s %4s %6s %8s %7s %9s %9s %8s\n' "$name" "$rc" "${steps:-?}" "$(final_acc "$OUT/$name")" \
        "$same" "$RSS_BEFORE" "$RSS_AFTER" "${AT:-?}"
}

printf '%-14s %4s %6s %8s %7s %9s %9s %8s\n' run exit steps accuracy "same" "rss_kB" "after" "done_at"
run clean
run curve_off
# Refused connections send nothing: their forge need not wait for it.
run curve_on "${CURVE[@]}" -- linger_ms=300
run curve_stranger "${CURVE[@]}" -- keys="$OUT/keys" server=ps:0 stranger=1 linger_ms=300
echo
echo "what the tasks said (lines per kind):"
for name in curve_off curve_on curve_stranger; do
    echo "  $name:"
    grep -ohE "dropped a [a-z]+ message|refused a [a-z ]+|only [a-z ]+|refused [^:]*: [a-z ]+|stopped before it registered|the gate refused [0-9]+ connections" \
        "$OUT/$name.log" | sort | uniq -c | sed 's/^/    /'
done
