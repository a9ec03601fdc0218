#!/usr/bin/env bash
# The stale-gradient lab's cost: what trace=true (a record per gradient at
# every ps, and one per global step at the chief) takes from the demo's
# examples/s. Runs with and without tracing alternate, so that a machine
# slowing down or speeding up during the run weighs on both alike; the
# figure is the ratio of the medians, measured in this one run.
# usage: bench/lab-bench.sh [BUILD_DIR] [PAIRS]   (defaults: build, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/bin
PAIRS=${2:-5}
JOB=examples/fashion_mnist_mlp.json
OUT=$(mktemp -d /tmp/psc-lab-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

launch() { # NAME ARGS...: a cluster on $JOB, model dir $OUT/NAME
    local name=$1
    shift
    "$BIN/psc-launch" --set model_dir="$OUT/$name" "$@" $JOB >"$OUT/$name.log" 2>&1 ||
        { tail -20 "$OUT/$name.log"; exit 1; }
}

rate() { # NAME: applied examples per second over the run (last record)
    /usr/bin/python3 - "$OUT/$1/metrics.jsonl" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r]
print("%.1f" % (recs[-1]["examples"] / recs[-1]["wall_s"]))
PY
}

records() { # NAME: lines in the run's gradient trace
    wc -l <"$OUT/$1/trace/gradients.jsonl"
}

median() { /usr/bin/python3 -c 'import statistics,sys; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

ratio() { /usr/bin/python3 -c "print('%.3f' % ($1 / $2))"; }

measure() { # LABEL ARGS...: PAIRS alternating runs, off then on
    local label=$1 off=() on=() n=0
    shift
    for i in $(seq "$PAIRS"); do
        launch off$i "$@" --set trace=false
        off+=("$(rate off$i)")
        launch on$i "$@" --set trace=true
        on+=("$(rate on$i)")
        n=$(records on$i)
        rm -rf "$OUT/off$i" "$OUT/on$i"
    done
    local moff mon
    moff=$(median "${off[@]}") mon=$(median "${on[@]}")
    printf '%-36s %10s examples/s untraced  %10s traced  ratio %s  (%s gradient records a run)\n' \
        "$label" "$moff" "$mon" "$(ratio "$mon" "$moff")" "$n"
}

echo "== tracing overhead (demo job, medians of $PAIRS alternating pairs)"
measure "sync, 1 ps, 2 workers" --ps 1 --workers 2 --set max_steps=800
measure "async, 2 ps, 3 workers" --ps 2 --workers 3 --set max_steps=1600 --set mode=async
measure "sync 2 of 3, 1 ps, 3 workers" --ps 1 --workers 3 --set max_steps=800 \
    --set replicas_to_aggregate=2
