#!/usr/bin/env bash
# The README's test command: installs what is missing, checks the format,
# builds psc three times (plain, AddressSanitizer + UndefinedBehaviorSanitizer,
# ThreadSanitizer), runs clang-tidy over the sources, and runs the ctest
# suite in each build (the ThreadSanitizer build: unit and integration
# tests); then builds the libFuzzer targets with clang and runs each for
# PSC_FUZZ_SECONDS (60 by default). tests/README.md says how to run parts of it without installing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh

stage() { echo "== $1"; }

# run_suite DIR CTEST_ARGS -- CMAKE_ARGS...
run_suite() {
    local dir=$1 ctest_args=$2
    shift 3
    cmake -S . -B "$dir" -DPSC_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$(nproc)"
    # shellcheck disable=SC2086
    ctest --test-dir "$dir" --output-on-failure -j2 $ctest_args ${PSC_CTEST_ARGS:-}
}

stage "format (clang-format --dry-run -Werror)"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run -Werror

stage "release build"
run_suite build "" -- -DCMAKE_BUILD_TYPE=RelWithDebInfo

stage "clang-tidy (.clang-tidy)"
bash tests/support/tidy.sh build

stage "AddressSanitizer + UndefinedBehaviorSanitizer build"
# Leaks inside the system's uninstrumented libzmq/OpenBLAS threads are not
# ours to fix; everything else (bad reads, UB) fails the run.
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan "" -- -DCMAKE_BUILD_TYPE=Debug \
    -DPSC_SANITIZER=address,undefined

stage "ThreadSanitizer build (unit and integration tests)"
# Suppressions cover only the uninstrumented system libraries, each with
# its reason (tests/support/tsan.supp).
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/tests/support/tsan.supp" \
    run_suite build-tsan "-L unit|integration" -- -DCMAKE_BUILD_TYPE=Debug \
    -DPSC_SANITIZER=thread

stage "libFuzzer targets (tests/fuzz, clang, ${PSC_FUZZ_SECONDS:-60} s each)"
# Only the fuzz targets are built here: every other test ran above. One
# fuzzer at a time, so each gets a whole core and its exec count means the
# same from run to run; a crash, leak or timeout fails the stage.
cmake -S . -B build-fuzz -DPSC_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_COMPILER=clang -DPSC_FUZZ=ON >/dev/null
cmake --build build-fuzz --target psc_fuzzers -j2
ctest --test-dir build-fuzz --output-on-failure -L fuzz
