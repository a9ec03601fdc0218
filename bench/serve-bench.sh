#!/usr/bin/env bash
# psc-serve's serving numbers, measured in one run with wrk on 127.0.0.1
# (psc-serve and wrk share the machine's cores):
#   - single-instance predict of the demo MLP (784-256-128-10): requests/s,
#     p50 and p99 at 1, 16 and 64 connections;
#   - the HTTP floor: psc-http-floor (libmicrohttpd, psc-serve's daemon
#     flags and thread pool) answering a fixed body of a predict answer's
#     size; the ratio ours / floor;
#   - the floor plus the model's forward pass under each request
#     (psc-http-floor with the export): what HTTP and the arithmetic
#     alone allow, and ours / that;
#   - 32-instance requests with --enable_batching: instances/s and the
#     ratio to single-instance, and the floor plus a 32-row forward pass;
#   - a version swap every second under load at 16 connections: failed
#     requests and p99, with and without swaps.
# Trains the model first (psc-launch, ~10 s). Each wrk run is short
# (PSC_BENCH_SECONDS, 4). Not a test: it prints a table.
# usage: bench/serve-bench.sh BIN_DIR
set -uo pipefail
BIN=${1:?usage: serve-bench.sh BIN_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)
secs=${PSC_BENCH_SECONDS:-4}
name=fashion
tmp=$(mktemp -d /tmp/psc-serve-bench.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
die() { echo "serve-bench: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
for b in psc-serve psc-http-floor psc-launch psc-test-ports; do
    [ -x "$BIN/$b" ] || die "no $BIN/$b (build first)"
done

# wait_log FILE PATTERN: until FILE has a line matching PATTERN (30 s bound).
wait_log() {
    grep -q -m1 -E "$2" < <(timeout 30 tail -n +1 -F "$1" 2>/dev/null) ||
        die "no '$2' in $1: $(tail -n 5 "$1")"
}

# start NAME CMD...: CMD in the background, log $tmp/NAME.log; PID.
start() {
    local n=$1
    shift
    "$@" >"$tmp/$n.log" 2>&1 &
    PID=$!
    pids+=("$PID")
}

stop_pid() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

echo "serve-bench: training the demo MLP" >&2
"$BIN/psc-launch" --ps 1 --workers 2 --set max_steps=150 \
    --set data.train_limit=12000 --set model_dir="$tmp/model" \
    "$src/examples/fashion_mnist_mlp.json" >"$tmp/train.log" 2>&1 ||
    die "training failed: $(tail -n 5 "$tmp/train.log")"
base=$tmp/model/export/model
cp -r "$base/0001" "$tmp/v"

python3 - "$tmp" <<'PY'
import gzip, json, struct, sys
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    f.read(16)
    ims = [list(f.read(784)) for _ in range(32)]
json.dump({"instances": ims[:1]}, open(sys.argv[1] + "/one.json", "w"))
open(sys.argv[1] + "/one.pixels", "wb").write(bytes(ims[0]))
open(sys.argv[1] + "/many.pixels", "wb").write(bytes(sum(ims, [])))
json.dump({"instances": ims}, open(sys.argv[1] + "/many.json", "w"))
PY

# run CONNECTIONS BODY URL: one wrk run; sets RPS P50 P99 FAILED.
run() {
    local c=$1 t=2 out=$tmp/wrk.out
    [ "$c" -lt 2 ] && t=1
    BODY=$2 wrk -t"$t" -c"$c" -d"${secs}s" --latency -s "$here/serve-bench.lua" "$3" \
        >"$out" 2>&1 || die "wrk failed: $(cat "$out")"
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    P50=$(awk '$1 == "50%" { print $2 }' "$out")
    P99=$(awk '$1 == "99%" { print $2 }' "$out")
    FAILED=$(awk '/^non2xx/ { n += $2 } /^socket_errors/ { n += $2 } END { print n + 0 }' "$out")
}

# serve FLAGS...: psc-serve on a free port; URL of its predict.
serve() {
    local port
    port=$("$BIN/psc-test-ports" 1)
    start serve "$BIN/psc-serve" --model_name="$name" --model_base_path="$base" \
        --rest_api_port="$port" --file_system_poll_wait_seconds=1 "$@"
    SERVE_PID=$PID
    wait_log "$tmp/serve.log" "on port $port \(REST\)"
    wait_log "$tmp/serve.log" "loaded version 1 of '$name'"
    URL=http://127.0.0.1:$port/v1/models/$name:predict
}

# us LATENCY: wrk's "615.00us", "1.52ms" or "1.01s" in microseconds.
us() {
    awk -v t="$1" 'BEGIN {
        n = t + 0
        if (t ~ /us$/) print n; else if (t ~ /ms$/) print n * 1000; else print n * 1000000
    }'
}

rows=()
row() { rows+=("$(printf '%-44s %10s %10s %10s %8s  %s' "$@")"); }

# Single-instance predict, and the floor of the same answer size.
serve
bytes=$(curl -s -X POST --data-binary @"$tmp/one.json" "$URL" | wc -c)
declare -A ours
for c in 1 16 64; do
    run "$c" "$tmp/one.json" "$URL"
    ours[$c]=$RPS
    row "predict, 1 instance, $c conn" "$RPS" "$P50" "$P99" "$FAILED" ""
done
stop_pid "$SERVE_PID"
fport=$("$BIN/psc-test-ports" 1)
start floor "$BIN/psc-http-floor" "$fport" "$bytes"
FLOOR_PID=$PID
wait_log "$tmp/floor.log" "listening on port $fport"
for c in 1 16 64; do
    run "$c" "$tmp/one.json" "http://127.0.0.1:$fport/"
    row "HTTP floor ($bytes-byte answer), $c conn" "$RPS" "$P50" "$P99" "$FAILED" \
        "ours/floor $(awk -v a="${ours[$c]}" -v b="$RPS" 'BEGIN { printf "%.2f", a / b }')"
done
stop_pid "$FLOOR_PID"

# floor ROWS BYTES CONNS...: the floor plus the forward pass of ROWS rows
# under each request (psc-http-floor's model mode); a row per CONNS.
floor_forward() {
    local n=$1 size=$2 c
    shift 2
    fport=$("$BIN/psc-test-ports" 1)
    start floor "$BIN/psc-http-floor" "$fport" "$size" "$(nproc)" "$tmp/v" "$n" \
        "$tmp/$([ "$n" -gt 1 ] && echo many || echo one).pixels"
    FLOOR_PID=$PID
    wait_log "$tmp/floor.log" "listening on port $fport"
    for c in "$@"; do
        run "$c" "$tmp/$([ "$n" -gt 1 ] && echo many || echo one).json" \
            "http://127.0.0.1:$fport/"
        FORWARD[$c]=$RPS
        row "floor + forward of $n row(s), $c conn" "$RPS" "$P50" "$P99" "$FAILED" \
            "ours/this $(awk -v a="${ours[$n.$c]:-${ours[$c]}}" -v b="$RPS" 'BEGIN { printf "%.2f", a / b }')"
    done
    stop_pid "$FLOOR_PID"
}
declare -A FORWARD
floor_forward 1 "$bytes" 1 16 64

# 32 instances a request, batched.
serve --enable_batching
many_bytes=$(curl -s -X POST --data-binary @"$tmp/many.json" "$URL" | wc -c)
run 16 "$tmp/many.json" "$URL"
ours[32.16]=$RPS
inst=$(awk -v r="$RPS" 'BEGIN { printf "%.0f", r * 32 }')
row "predict, 32 instances, batching, 16 conn" "$RPS" "$P50" "$P99" "$FAILED" \
    "$inst instances/s, $(awk -v a="$inst" -v b="${ours[16]}" 'BEGIN { printf "%.1f", a / b }')x single-instance"
stop_pid "$SERVE_PID"
floor_forward 32 "$many_bytes" 16
row "  (the floor's instances/s, 32 rows, 16 conn)" "" "" "" "" \
    "$(awk -v r="${FORWARD[16]}" 'BEGIN { printf "%.0f", r * 32 }') instances/s, $(awk -v r="${FORWARD[16]}" -v b="${ours[16]}" 'BEGIN { printf "%.1f", r * 32 / b }')x our single-instance"

# Swaps under load: three rounds of a calm run and a run with a new
# version every second (a tail latency moves a lot between short runs);
# the medians.
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
serve
next=2
calm_rps=() calm_p99=() swap_rps=() swap_p99=() calm_failed=0 swap_failed=0
for round in 1 2 3; do
    run 16 "$tmp/one.json" "$URL"
    calm_rps+=("$RPS") calm_p99+=("$(us "$P99")") calm_failed=$((calm_failed + FAILED))
    # The writer puts a version a second by hard links and a rename, in
    # one process (a cp per version: its forks showed in the p99 too).
    python3 - "$tmp/v" "$base" "$tmp/puts" "$next" <<'PY' &
import os, shutil, sys, time
src, base, puts, first = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
for v in range(first, first + 600):
    tmp = os.path.join(base, f".tmp-{v}")
    shutil.copytree(src, tmp, copy_function=os.link)
    os.rename(tmp, os.path.join(base, f"{v:04d}"))
    open(puts, "w").write(str(v))
    time.sleep(1)
    shutil.rmtree(os.path.join(base, f"{v - 1:04d}"), ignore_errors=True)
PY
    swapper=$!
    pids+=("$swapper")
    # The writer's first version is put before wrk starts: the Python
    # interpreter's start (~30 ms of a core) inside the run raised its p99
    # from 0.6 to 3.4 ms with the writer putting into a folder not served.
    for _ in $(seq 600); do
        [ "$(cat "$tmp/puts" 2>/dev/null)" = "$next" ] && break
        sleep 0.05
    done
    run 16 "$tmp/one.json" "$URL"
    kill "$swapper" 2>/dev/null
    wait "$swapper" 2>/dev/null
    swap_rps+=("$RPS") swap_p99+=("$(us "$P99")") swap_failed=$((swap_failed + FAILED))
    next=$(($(cat "$tmp/puts") + 1))
done
loaded=$(grep -c "loaded version" "$tmp/serve.log")
calm=$(median "${calm_p99[@]}")
swapped=$(median "${swap_p99[@]}")
row "predict, 16 conn, no swaps (median of 3)" "$(median "${calm_rps[@]}")" "" \
    "${calm}us" "$calm_failed" "p99s ${calm_p99[*]} us"
row "predict, 16 conn, a swap every second (3)" "$(median "${swap_rps[@]}")" "" \
    "${swapped}us" "$swap_failed" \
    "$((next - 2)) versions put, $((loaded - 1)) loaded; p99 $(awk -v a="$swapped" -v b="$calm" 'BEGIN { printf "%.2f", a / b }')x no swaps (p99s ${swap_p99[*]} us)"
stop_pid "$SERVE_PID"

echo
echo "psc-serve on 127.0.0.1, $(nproc) cores shared with wrk, ${secs} s a run"
printf '%-44s %10s %10s %10s %8s  %s\n' "" "req/s" "p50" "p99" "failed" ""
printf '%s\n' "${rows[@]}"
