#!/usr/bin/env bash
# The include rule of common/README.md: a file in a layer of common/ includes
# only headers of its own layer or of layers below it (earlier rows of the
# README's table), or system headers. Reads the order from the README, so
# the table and the tree cannot drift apart.
# usage: layers_test.sh SOURCE_DIR
set -uo pipefail
src=${1:?usage: layers_test.sh SOURCE_DIR}
common=$src/common

mapfile -t order < <(grep -oE '^\| `[a-z]+/`' "$common/README.md" | grep -oE '[a-z]+')
[ ${#order[@]} -ge 6 ] || { echo "FAIL: no layer table in common/README.md"; exit 1; }
declare -A rank=() layer_of=()
for i in "${!order[@]}"; do
    l=${order[$i]}
    rank[$l]=$i
    [ -d "$common/$l" ] || { echo "FAIL: common/README.md lists '$l/', which does not exist"; exit 1; }
    for h in "$common/$l"/*.h; do
        [ -e "$h" ] && layer_of[$(basename "$h")]=$l
    done
done
# The generated wire protocol sits with net/.
layer_of[psc.pb-c.h]=net
# ONNX's generated schema (proto/CMakeLists.txt) sits with store/, its one
# user (export_onnx.c).
layer_of[onnx.pb-c.h]=store

failed=0 checked=0
for d in "$common"/*/; do
    l=$(basename "$d")
    if [ -z "${rank[$l]:-}" ]; then
        echo "FAIL: common/$l/ is not in common/README.md's layer table"
        failed=1
        continue
    fi
    for f in "$d"*.c "$d"*.h; do
        [ -e "$f" ] || continue
        case $f in *_test.c) continue ;; esac  # tests may use any layer
        while IFS= read -r inc; do
            checked=$((checked + 1))
            to=${layer_of[$inc]:-}
            if [ -z "$to" ]; then
                echo "FAIL: common/$l/$(basename "$f") includes \"$inc\", which is in no layer"
                failed=1
            elif [ "${rank[$to]}" -gt "${rank[$l]}" ]; then
                echo "FAIL: common/$l/$(basename "$f") includes \"$inc\" from $to/, a layer above $l/"
                failed=1
            fi
        done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
    done
done
[ $failed -eq 0 ] && echo "all $checked includes in ${#order[@]} layers point down or sideways"
exit $failed
