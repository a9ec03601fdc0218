#!/usr/bin/env bash
# Runs a command with every core kept busy by `yes > /dev/null` hogs, to
# check that the suite synchronises on events and not on how fast the
# machine happens to be. The hogs stop when the command does, however it
# ends. Prints the command's wall time and status.
#
# usage: tests/support/loaded-run.sh [-n HOGS] [COMMAND...]
#   default: one hog per core, and the CI command (CI=true bash .ci/run)
set -uo pipefail

hogs=$(nproc)
if [ "${1:-}" = -n ]; then
    hogs=${2:?usage: loaded-run.sh [-n HOGS] [COMMAND...]}
    shift 2
fi
[ $# -gt 0 ] || set -- env CI=true bash "$(dirname "$0")/../../.ci/run"

pids=()
stop_hogs() {
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    wait "${pids[@]}" 2>/dev/null
    pids=()
}
trap stop_hogs EXIT
trap 'exit 130' INT TERM

for ((i = 0; i < hogs; i++)); do
    yes >/dev/null &
    pids+=($!)
done
echo "loaded-run: $hogs hogs on $(nproc) cores; running: $*" >&2
start=$SECONDS
"$@"
rc=$?
echo "loaded-run: exit status $rc after $((SECONDS - start)) s under load" >&2
exit $rc
