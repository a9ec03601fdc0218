#!/usr/bin/env bash
# clang-tidy with the checked-in .clang-tidy over every C source a build
# compiles (generated protobuf-c code aside), two files at a time per core.
# Any finding fails (WarningsAsErrors: '*').
# usage: tests/support/tidy.sh BUILD_DIR    (a configured build: it reads
#        BUILD_DIR/compile_commands.json)
set -uo pipefail
build=${1:?usage: tidy.sh BUILD_DIR}
db=$build/compile_commands.json
[ -f "$db" ] || { echo "tidy: no $db (configure a build first)" >&2; exit 2; }
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy is not installed (apt-get install clang-tidy)" >&2; exit 2; }

out=$(mktemp)
# clang refuses GCC's own flags (-fvect-cost-model=): clang-tidy reads a
# copy of the compile commands without them.
gccless=$(mktemp -d)
trap 'rm -rf "$out" "$gccless"' EXIT
python3 - "$db" "$gccless/compile_commands.json" <<'PY'
import json, sys
GCC_ONLY = ("-fvect-cost-model=",)
entries = json.load(open(sys.argv[1]))
for e in entries:
    if "command" in e:
        e["command"] = " ".join(w for w in e["command"].split(" ")
                                if not w.startswith(GCC_ONLY))
    if "arguments" in e:
        e["arguments"] = [w for w in e["arguments"] if not w.startswith(GCC_ONLY)]
json.dump(entries, open(sys.argv[2], "w"))
PY
python3 -c 'import json,sys; [print(e["file"]) for e in json.load(open(sys.argv[1])) if not e["file"].endswith(".pb-c.c")]' "$db" |
    sort -u | xargs -P"$(nproc)" -n4 clang-tidy -p "$gccless" --quiet >"$out" 2>&1
rc=$?
n=$(python3 -c 'import json,sys; print(len({e["file"] for e in json.load(open(sys.argv[1]))}))' "$db")
if [ $rc -ne 0 ] || grep -qE 'warning:|error:' "$out"; then
    grep -E 'warning:|error:' -A3 "$out"
    echo "tidy: findings above (fix them, or suppress one with a reason: .clang-tidy says how)" >&2
    exit 1
fi
echo "tidy: $n files clean"
