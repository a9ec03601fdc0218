#!/usr/bin/env bash
# Runs one libFuzzer target for a bounded time: run.sh FUZZER SEEDS SCRATCH.
# The checked-in seed corpus SEEDS is only read; what the fuzzer learns goes
# to SCRATCH/corpus (fresh each run, so runs do not depend on each other),
# and a crashing input to SCRATCH/crash-* (libFuzzer's artifact), which the
# failure message names so it can be added to SEEDS with its fix.
# PSC_FUZZ_SECONDS (default 60) bounds the run. Any crash, leak, timeout
# or out-of-memory makes libFuzzer exit non-zero, and so this script.
set -euo pipefail
fuzzer=$1 seeds=$2 scratch=$3
seconds=${PSC_FUZZ_SECONDS:-60}

rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/generated"
cp -R "$seeds/." "$scratch/corpus/"
# A harness may add seeds that only the encoder can make (a wire message of
# today's protocol version, an export with its checksums).
export PSC_FUZZ_SEED_OUT=$scratch/generated

# The harnesses write each input to a file under $TMPDIR: on a disk that
# is a write per input and most of the run's time, so memory (tmpfs) is
# used where the machine has it, and given back at the end.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=$(mktemp -d /dev/shm/psc-fuzz.XXXXXX)
    export TMPDIR
    trap 'rm -rf "$TMPDIR"' EXIT
fi

# Sanitizer reports abort, so a finding is never mistaken for a pass.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$scratch/" \
    "$scratch/corpus" "$scratch/generated" || status=$?
if [ "$status" -ne 0 ]; then
    echo "run.sh: $(basename "$fuzzer") failed (status $status); its input:" >&2
    find "$scratch" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
        -o -name 'timeout-*' -o -name 'oom-*' \) >&2
    exit 1
fi
