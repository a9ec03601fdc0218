#!/usr/bin/env bash
# Training benchmark: the figures the training issue asks for, measured in
# one run on this machine and printed as ratios.
#   1. throughput: the step's matrix products alone (the roofline), one
#      process running the same forward/backward + optimizer loop with no
#      network (psc-baseline), and a 2-worker cluster, sync and async
#      (medians of 3); then where the sync cluster's CPU time goes (perf);
#   2. backup workers: 3 workers, worker 2 slowed 5x: step rate with
#      replicas_to_aggregate 2 and 3, against the unslowed run;
#   3. accuracy: wall time until eval.jsonl first shows >= 0.88 test
#      accuracy, sync and async, with the demo job;
#   4. CURVE: throughput and time to 0.88 with every connection
#      authenticated and encrypted, against the same runs without.
# usage: bench/train-bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/bin
JOB=examples/fashion_mnist_mlp.json
OUT=$(mktemp -d /tmp/psc-train-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

launch() { # NAME ARGS...: runs a cluster on $JOB, model dir $OUT/NAME
    local name=$1
    shift
    "$BIN/psc-launch" --set model_dir="$OUT/$name" "$@" $JOB >"$OUT/$name.log" 2>&1 ||
        { tail -20 "$OUT/$name.log"; exit 1; }
}

rate() { # NAME FIELD: FIELD per second over the run (last metrics record)
    python3 - "$OUT/$1/metrics.jsonl" "$2" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r]  # not the run markers
last = recs[-1]
print("%.1f" % (last[sys.argv[2]] / last["wall_s"]))
PY
}

first_088() { # NAME: wall_s of the first evaluation >= 0.88, and the final one
    python3 - "$OUT/$1/eval.jsonl" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r]  # not the run markers
hit = next((r for r in recs if r["accuracy"] >= 0.88), None)
print("%s %.4f" % ("%.1f" % hit["wall_s"] if hit else "never", recs[-1]["accuracy"]))
PY
}

ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

median() { python3 -c 'import statistics,sys; print("%.1f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }

echo "== throughput (MLP 784-256-128-10, batch 128 per worker; medians of 3 runs)"
roof=() base=() sync=() async=()
for i in 1 2 3; do
    read -r b r <<<"$("$BIN/psc-baseline" --job $JOB --steps 800 --roofline |
        python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["examples_per_s"], j["matrix_only_examples_per_s"])')"
    base+=("$b") roof+=("$r")
    launch tp$i --ps 1 --workers 2 --set max_steps=800
    sync+=("$(rate tp$i examples)")
    launch tpa$i --ps 1 --workers 2 --set max_steps=1600 --set mode=async
    async+=("$(rate tpa$i examples)")
done
roof=$(median "${roof[@]}") base=$(median "${base[@]}")
cluster=$(median "${sync[@]}") acluster=$(median "${async[@]}")
printf '%-44s %10s examples/s\n' "matrix products alone, one core (roofline)" "$roof"
printf '%-44s %10s examples/s  of roofline %s\n' "one process, no network (psc-baseline)" "$base" "$(ratio "$base" "$roof")"
printf '%-44s %10s examples/s  of 2 x psc-baseline %s\n' "cluster: 1 ps, 2 workers, sync" "$cluster" "$(ratio "$cluster" "(2 * $base)")"
printf '%-44s %10s examples/s  of sync %s\n' "cluster: 1 ps, 2 workers, async" "$acluster" "$(ratio "$acluster" "$cluster")"

# Where the cores' time goes in the sync run, from perf's samples of every
# process of the cluster (bench/train-profile.py names the parts).
if perf record -q -o /dev/null true 2>/dev/null; then
    echo "== profile: the sync run above under perf (cpu-clock, 999 Hz)"
    t0=$(date +%s.%N)
    perf record -q -F 999 -o "$OUT/perf.data" -- "$BIN/psc-launch" --set model_dir="$OUT/prof" \
        --ps 1 --workers 2 --set max_steps=800 $JOB >"$OUT/prof.log" 2>&1 ||
        { tail -20 "$OUT/prof.log"; exit 1; }
    wall=$(python3 -c "import time; print(time.time() - $t0)")
    perf script -i "$OUT/perf.data" -F comm,pid,tid,ip,sym,dso >"$OUT/perf.txt" 2>/dev/null
    python3 bench/train-profile.py "$OUT/perf.txt" 999 800 "$wall" "$(nproc)"
else
    echo "== profile: skipped (perf cannot record here; Debian's linux-perf)"
fi

echo "== backup workers (3 workers, sync, worker 2 slowed 5x)"
launch none --ps 1 --workers 3 --set max_steps=400 --set replicas_to_aggregate=3
launch backup --ps 1 --workers 3 --set max_steps=400 --set replicas_to_aggregate=2 --set stragglers.2=slow:5
launch wait --ps 1 --workers 3 --set max_steps=400 --set replicas_to_aggregate=3 --set stragglers.2=slow:5
r0=$(rate none step)
r1=$(rate backup step)
r2=$(rate wait step)
printf '%-44s %8s steps/s\n' "no straggler, replicas_to_aggregate 3" "$r0"
printf '%-44s %8s steps/s  ratio %s\n' "straggler, replicas_to_aggregate 2" "$r1" "$(ratio "$r1" "$r0")"
printf '%-44s %8s steps/s  ratio %s\n' "straggler, replicas_to_aggregate 3" "$r2" "$(ratio "$r2" "$r0")"

echo "== time to 0.88 test accuracy (demo job, 1 ps, 2 workers, evaluator)"
launch sync --ps 1 --workers 2 --evaluator --set mode=sync
# Async applies each worker's gradient on its own: twice the updates per
# epoch, so its example stretches the learning-rate schedule.
JOB=examples/fashion_mnist_mlp_async.json launch async --ps 1 --workers 2 --evaluator
read -r s_hit s_final <<<"$(first_088 sync)"
read -r a_hit a_final <<<"$(first_088 async)"
printf '%-44s first >= 0.88 at %s s, final %s\n' "sync" "$s_hit" "$s_final"
printf '%-44s first >= 0.88 at %s s, final %s\n' "async, staleness_policy inverse" "$a_hit" "$a_final"

echo "== CURVE on (psc-keygen's keys), against the runs above"
"$BIN/psc-keygen" --cluster ps=1,worker=2,evaluator=1 --out "$OUT/keys" >/dev/null
curve=(--set security.curve=true --set security.keys_dir="$OUT/keys")
launch tp_curve --ps 1 --workers 2 --set max_steps=800 "${curve[@]}"
launch sync_curve --ps 1 --workers 2 --evaluator --set mode=sync "${curve[@]}"
c_rate=$(rate tp_curve examples)
read -r c_hit c_final <<<"$(first_088 sync_curve)"
printf '%-44s %10s examples/s  ratio %s\n' "cluster: 1 ps, 2 workers, sync, CURVE" "$c_rate" "$(ratio "$c_rate" "$cluster")"
printf '%-44s first >= 0.88 at %s s, final %s\n' "sync, CURVE" "$c_hit" "$c_final"
