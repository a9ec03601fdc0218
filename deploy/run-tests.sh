#!/usr/bin/env bash
# The README's test command: installs what is missing, builds psc twice
# (plain, and with AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# the whole ctest suite in each build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh

run_suite() {
    local dir=$1
    shift
    cmake -S . -B "$dir" -DPSC_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    ctest --test-dir "$dir" --output-on-failure -j2 ${PSC_CTEST_ARGS:-}
}

echo "== release build"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
# Leaks inside the system's uninstrumented libzmq/OpenBLAS threads are not
# ours to fix; everything else (bad reads, UB) fails the run.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug \
    -DPSC_SANITIZER=address,undefined 
