#!/usr/bin/env bash
# A fault campaign: seeded trials, each killing one random task (ps, worker,
# chief or evaluator) with SIGKILL at a random step under psc-launch
# --restart on-failure, in sync (with and without a backup worker) and
# async mode. Per trial: did the job finish, its final test accuracy next
# to a clean run of the same mode, the steps lost (the step of the kill
# minus the step resumed from), the seconds from the kill until the job
# has it back (the model rolled back, a new chief resumed, the task
# registered again), how many other tasks had to be restarted with it
# (none, if the others wait for it as they should), and whether any psc
# process outlived the launcher. Prints a table, then the distributions.
# usage: bench/fault-campaign.sh [BUILD_BIN] [TRIALS]   (default build/bin 30)
set -u
BIN=$(cd "${1:-build/bin}" && pwd)
TRIALS=${2:-30}
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=$(mktemp -d /tmp/psc-faults.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
STEPS=300
BASE=(--ps 2 --evaluator --set max_steps=$STEPS --set checkpoint_steps=50
      --set log_interval_s=0.1 --set eval_interval_s=2
      --set data.test_limit=5000 --set stragglers.default=fixed:5)

mode_args() { # MODE: the job options of a mode
    case $1 in
    sync) echo "--workers 2 --set mode=sync" ;;
    backup) echo "--workers 3 --set mode=sync --set replicas_to_aggregate=2" ;;
    async) echo "--workers 2 --set mode=async" ;;
    esac
}

final_acc() { # MODEL_DIR
    python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print([x for x in r if "accuracy" in x][-1]["accuracy"])' "$1/eval.jsonl" 2>/dev/null || echo nan
}

declare -A clean
for m in sync backup async; do
    # shellcheck disable=SC2046
    "$BIN/psc-launch" $(mode_args $m) "${BASE[@]}" --set model_dir="$OUT/clean-$m" \
        "$SRC/examples/fashion_mnist_mlp.json" >"$OUT/clean-$m.log" 2>&1
    clean[$m]=$(final_acc "$OUT/clean-$m")
    echo "clean $m: accuracy ${clean[$m]}"
done

# Each line of psc-launch's output stamped with the time it came.
stamp() { python3 -u -c 'import sys, time
for l in sys.stdin: print(f"{time.time():.3f} {l}", end="")'; }

# recovery LOG VICTIM: seconds from the kill to the line that says the job
# has the victim back: the model rolled back (a ps), a new chief resumed, or
# the task registered again.
recovery() {
    local back='chief:0: (worker|evaluator):[0-9]+ (registered|registered again|is back)$'
    case $2 in
    ps*) back='rolled the model back' ;;
    chief) back='resumed from|initialised the variables' ;;
    esac
    awk -v back="$back" '/killing [a-z0-9]+ at step/ && !k { k = $1; next }
         k && $0 ~ back { printf "%.2f", $1 - k; exit }' "$1"
}

printf '%5s %-6s %-10s %6s %4s %8s %8s %6s %8s %5s %5s\n' seed mode victim killed exit accuracy clean lost back_s others alive
results=$OUT/results
: >"$results"
for ((seed = 1; seed <= TRIALS; seed++)); do
    modes=(sync backup async)
    m=${modes[$((seed % 3))]}
    dir=$OUT/t$seed
    t0=$SECONDS
    # shellcheck disable=SC2046
    "$BIN/psc-launch" $(mode_args $m) "${BASE[@]}" --set model_dir="$dir" \
        --restart on-failure --kill "random:$seed" \
        "$SRC/examples/fashion_mnist_mlp.json" 2>&1 | stamp >"$dir.log"
    rc=${PIPESTATUS[0]}
    wall=$((SECONDS - t0))
    alive=$(pgrep -f "^$BIN/psc-" | wc -l)
    victim=$(grep -o 'killing [a-z0-9]* at step [0-9]*' "$dir.log" | head -n1)
    killed_at=${victim##* }
    victim=$(echo "$victim" | awk '{print $2}')
    resumed=$(grep -oE '(resumed from|rolled the model back to) [^ ]* at step [0-9]*' "$dir.log" |
        head -n1 | grep -o '[0-9]*$')
    back=$(recovery "$dir.log" "${victim:-none}")
    others=$(grep -E 'psc-launch: [a-z0-9]+ .*: restarting it' "$dir.log" |
        grep -vcE "psc-launch: (${victim:-none}|evaluator) ")
    lost=0
    [ -n "$resumed" ] && [ -n "$killed_at" ] && lost=$((killed_at - resumed))
    # A ps or chief lost before the first checkpoint: the job starts afresh.
    case ${victim:-none} in ps* | chief) [ -z "$resumed" ] && lost=${killed_at:-0} ;; esac
    acc=$(final_acc "$dir")
    printf '%5d %-6s %-10s %6s %4d %8s %8s %6d %8s %5d %5d\n' "$seed" "$m" "${victim:-none}" \
        "${killed_at:--}" "$rc" "$acc" "${clean[$m]}" "$lost" "${back:--}" "$others" "$alive"
    echo "$seed $m ${victim:-none} ${killed_at:-0} $rc $acc ${clean[$m]} $lost $alive $wall ${back:-nan} $others" >>"$results"
    rm -rf "$dir"
done

python3 - "$results" "$STEPS" <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
n = len(rows)
finished = sum(1 for r in rows if r[4] == "0")
close = sum(1 for r in rows if r[5] != "nan" and abs(float(r[5]) - float(r[6])) <= 0.01)
alive = sum(int(r[8]) for r in rows)
lost = sorted(int(r[7]) for r in rows)
print(f"\ntrials {n}: finished {finished}/{n}, accuracy within 1 point of the clean run {close}/{n}, "
      f"processes left after the launcher {alive}")
print(f"steps lost per trial (checkpoint every 50 of {sys.argv[2]}): min {lost[0]} median {st.median(lost)} "
      f"max {lost[-1]}; {sum(1 for x in lost if x <= 50)}/{n} within one checkpoint interval")
print(f"tasks restarted besides the victim (and the evaluator): {sum(int(r[11]) for r in rows)}")
for v in ("ps", "worker", "chief", "evaluator"):
    sel = [r for r in rows if r[2].startswith(v)]
    if sel:
        back = sorted(float(r[10]) for r in sel if r[10] != "nan")
        back_text = (f"back in median {st.median(back):.2f} s (max {back[-1]:.2f})"
                     if back else "back: not seen")
        print(f"  {v:9s} {len(sel):2d} trials, finished {sum(1 for r in sel if r[4]=='0')}, "
              f"{back_text}, median wall {st.median(int(r[9]) for r in sel)} s")
PY
