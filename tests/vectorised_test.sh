#!/usr/bin/env bash
# The compiler's own report says every hot update loop is vectorised: each
# loop marked "/* vectorised */" (optimizers, gradient sums, sparse rows)
# must appear as "loop vectorized" when its file is compiled at -O2, the
# release build's level, whatever this build's own flags are.
# Usage: vectorised_test.sh CC SOURCE_DIR INCLUDE_DIR...
set -euo pipefail
cc=$1
src=$2
shift 2
includes=()
for dir in "$@"; do
    includes+=("-I$dir")
done

checked=0
failed=0
for file in common/nn/optim.c ps/ps_shard.c ps/ps_sparse.c common/net/keyplan.c; do
    # optim.c is built with -fno-math-errno (common/CMakeLists.txt).
    report=$("$cc" -std=c11 -O2 -fno-math-errno "${includes[@]}" \
        -c "$src/$file" -o /dev/null -fopt-info-vec-optimized 2>&1)
    while IFS=: read -r line _; do
        checked=$((checked + 1))
        if ! grep -q "^$src/$file:$line:[0-9]*: optimized: loop vectorized" \
            <<<"$report"; then
            echo "not vectorised: $file:$line"
            failed=1
        fi
    done < <(grep -n '/\* vectorised \*/' "$src/$file")
done
if [ "$checked" -lt 12 ]; then
    echo "only $checked marked loops found; expected 12 or more"
    exit 1
fi
[ "$failed" -eq 0 ] && echo "all $checked marked loops vectorised"
exit "$failed"
