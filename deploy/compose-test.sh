#!/usr/bin/env bash
# End-to-end test of the docker-compose demo, for real, with podman standing
# in for the Docker engine (Debian's docker-compose 1.29 talks to podman's
# Docker-compatible API). It:
#   1. installs podman & co if missing (skips, exit 77, only if it cannot),
#   2. makes the base image debian:bookworm-slim with debootstrap (cached),
#   3. builds the psc image with `docker-compose build`,
#   4. runs deploy/docker-compose.yml, waits for the chief's exit status,
#      then for every other container; all must exit 0 and the evaluator's
#      final test accuracy (log line and MODEL_DIR/eval.jsonl) must reach
#      $PSC_MIN_ACCURACY; the "serving" service (psc-serve on the chief's
#      export) must answer one predict with 10 probabilities, then stop
#      with exit 0 like the others,
#   5. does the same with deploy/docker-compose.straggler.yml on top (sync
#      training, one backup worker, one straggler), unless --demo-only,
#   6. checks that a role running as PID 1 stops on SIGTERM (status 143)
#      in well under 5 s of its own time (podman's share reported apart),
#   7. removes the containers, networks, volumes and images it made.
# Prints the time of each step; prints the logs when something fails.
#
# Environment: PSC_MIN_ACCURACY (0.70), PSC_COMPOSE_TIMEOUT (seconds for one
# run, 900), PSC_KEEP_BUILD_CACHE=1 keeps the build-stage images so that the
# next run rebuilds in seconds (the psc image itself is always removed),
# PSC_COMPOSE_LOG_DIR=DIR keeps every container's log there.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
min_accuracy=${PSC_MIN_ACCURACY:-0.70}
run_timeout=${PSC_COMPOSE_TIMEOUT:-900}
runs=(demo straggler)
[ "${1:-}" = --demo-only ] && runs=(demo)

project=psc-ci-$$
export PSC_IMAGE=localhost/psc-ci:$$
export COMPOSE_PROJECT_NAME=$project
tmp=$(mktemp -d /tmp/psc-compose.XXXXXX)
sock=$tmp/podman.sock
service_pid=
images_before=$tmp/images-before
status=1
declare -a timings=()

say() { echo "compose-test: $*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
timing() { timings+=("$(printf '%-22s %7s s' "$1" "$2")"); say "$1: $2 s"; }

files_for() {
    case $1 in
        demo) echo "-f $here/docker-compose.yml" ;;
        straggler) echo "-f $here/docker-compose.yml -f $here/docker-compose.straggler.yml" ;;
    esac
}
# shellcheck disable=SC2046
dc() { local run=$1; shift; docker-compose $(files_for "$run") "$@"; }

cleanup() {
    local t
    t=$(now)
    if [ -n "$service_pid" ]; then
        dc straggler down -v --remove-orphans -t 5 >"$tmp/down.log" 2>&1 ||
            cat "$tmp/down.log" >&2
        # Images this run made: the psc image, and unless asked to keep them,
        # the build-stage layers and the base image if it was imported now.
        podman rmi -f "$PSC_IMAGE" >/dev/null 2>&1 || true
        if [ "${PSC_KEEP_BUILD_CACHE:-0}" != 1 ] && [ -f "$images_before" ]; then
            local new
            new=$(podman images -a -q --no-trunc | sort -u | comm -13 "$images_before" -)
            # shellcheck disable=SC2086
            # Not -f: an image another run's containers use stays (an
            # image forced out takes its containers with it).
            [ -n "$new" ] && podman rmi $new >/dev/null 2>&1
        fi
        kill "$service_pid" 2>/dev/null
        wait "$service_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
    timing cleanup "$(elapsed "$t")"
    say "timings:"
    printf '  %s\n' "${timings[@]}" >&2
    if [ "$status" -eq 0 ]; then
        say "PASS"
    elif [ "$status" -eq 77 ]; then
        say "SKIPPED"
    else
        say "FAIL"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One compose test at a time on a machine: podman's images, networks and
# this script's clean-up of what appeared while it ran are machine-wide, so
# two runs at once (two CI checkouts) would remove each other's containers.
exec 9>/run/lock/psc-compose-test.lock
if ! flock -w "$run_timeout" 9; then
    say "another compose test held the lock for ${run_timeout} s"
    exit
fi

t=$(now)
"$here/podman-setup.sh" install
rc=$?
if [ $rc -eq 77 ]; then
    say "SKIPPED LOUDLY: podman cannot be installed on this machine;"
    say "the compose demo was NOT tested"
    status=77
    exit
fi
[ $rc -eq 0 ] || { say "installing podman failed"; exit; }
timing "install podman" "$(elapsed "$t")"

# Leftovers of earlier runs killed without cleanup (ctest timeout: SIGKILL).
for old in $(podman ps -a --format '{{index .Labels "com.docker.compose.project"}}' 2>/dev/null |
             grep -E '^psc-ci-[0-9]+$' | sort -u); do
    kill -0 "${old#psc-ci-}" 2>/dev/null && continue
    say "removing the leftovers of $old"
    podman ps -a -q --filter "label=com.docker.compose.project=$old" | xargs -r podman rm -f >/dev/null
    podman network rm "${old}_default" >/dev/null 2>&1
    podman volume rm "${old}_models" "${old}_models-sync" >/dev/null 2>&1
    podman rmi -f "localhost/psc-ci:${old#psc-ci-}" >/dev/null 2>&1
done

podman images -a -q --no-trunc | sort -u >"$images_before"
t=$(now)
"$here/podman-setup.sh" base-image || { say "no base image"; exit; }
timing "base image" "$(elapsed "$t")"

service_pid=$("$here/podman-setup.sh" service "$sock") || { service_pid=; exit; }
export DOCKER_HOST=unix://$sock

t=$(now)
# Every service has the same build and image: building one builds them all.
if ! dc demo build ps-0 >"$tmp/build.log" 2>&1; then
    tail -n 60 "$tmp/build.log" >&2
    say "docker-compose build failed"
    exit
fi
timing "build image" "$(elapsed "$t")"
podman image inspect -f '{{.Size}}' "$PSC_IMAGE" |
    awk '{ printf "compose-test: image size %.0f MB\n", $1 / 1e6 }' >&2

# One run of the cluster: up, wait for the chief, then for everybody.
run_cluster() {
    local run=$1 t0 chief ids id name code rc=0 deadline
    t0=$(now)
    say "[$run] docker-compose up"
    if ! dc "$run" up -d --no-build >"$tmp/up.log" 2>&1; then
        cat "$tmp/up.log" >&2
        return 1
    fi
    chief=$(dc "$run" ps -q chief)
    [ -n "$chief" ] || { say "[$run] no chief container"; return 1; }
    deadline=$(($(date +%s) + run_timeout))
    if ! timeout "$run_timeout" podman wait "$chief" >"$tmp/chief.rc" 2>&1; then
        say "[$run] the chief did not exit within ${run_timeout} s"
        rc=1
    else
        say "[$run] chief exited with status $(cat "$tmp/chief.rc")"
    fi
    check_serving "$run" || rc=1
    ids=$(dc "$run" ps -q)
    for id in $ids; do
        local left=$((deadline - $(date +%s)))
        [ $left -lt 60 ] && left=60
        timeout "$left" podman wait "$id" >/dev/null 2>&1 || true
    done
    for id in $ids; do
        name=$(podman inspect -f '{{.Name}}' "$id")
        code=$(podman inspect -f '{{.State.ExitCode}} {{.State.Status}}' "$id")
        case $code in
            "0 exited") echo "  $name: exit 0" >&2 ;;
            *) echo "  $name: $code  <-- expected exit 0" >&2; rc=1 ;;
        esac
    done

    # The evaluator's final accuracy, in its log and in the model directory.
    local line acc vol mp
    line=$(dc "$run" logs --no-color evaluator 2>/dev/null |
           grep -o 'final test accuracy [0-9.]*' | tail -n1)
    acc=${line##* }
    if [ -z "$acc" ]; then
        say "[$run] no 'final test accuracy' line in the evaluator's log"
        rc=1
    elif awk -v a="$acc" -v m="$min_accuracy" 'BEGIN { exit !(a + 0 >= m + 0) }'; then
        say "[$run] evaluator: final test accuracy $acc (>= $min_accuracy)"
    else
        say "[$run] evaluator: final test accuracy $acc is below $min_accuracy"
        rc=1
    fi
    vol=${project}_models
    [ "$run" = straggler ] && vol=${project}_models-sync
    mp=$(podman volume inspect -f '{{.Mountpoint}}' "$vol" 2>/dev/null)
    if [ -n "$mp" ] && [ -s "$mp/eval.jsonl" ]; then
        say "[$run] model directory: $(cd "$mp" && ls | tr '\n' ' ')"
        say "[$run] eval.jsonl, last line: $(tail -n1 "$mp/eval.jsonl")"
        if ! tail -n1 "$mp/eval.jsonl" | grep -q accuracy; then
            say "[$run] eval.jsonl's last line has no accuracy"
            rc=1
        fi
    else
        say "[$run] no eval.jsonl in the model directory (volume $vol)"
        rc=1
    fi
    if [ "$run" = straggler ] && [ -n "$mp" ] && [ -s "$mp/metrics.jsonl" ]; then
        say "[$run] metrics.jsonl, last line: $(tail -n1 "$mp/metrics.jsonl")"
    fi

    dc "$run" logs --no-color --timestamps >"$tmp/$run.log" 2>&1
    if [ -n "${PSC_COMPOSE_LOG_DIR:-}" ]; then
        mkdir -p "$PSC_COMPOSE_LOG_DIR" && cp "$tmp/$run.log" "$PSC_COMPOSE_LOG_DIR/"
    fi
    if [ $rc -ne 0 ]; then
        say "[$run] logs:"
        dc "$run" logs --no-color --tail=200 >&2 2>&1
    else
        say "[$run] the chief's last lines:"
        grep '^chief_1 ' "$tmp/$run.log" | tail -n 6 | sed 's/^/  /' >&2
    fi
    dc "$run" down -v -t 5 >/dev/null 2>&1
    timing "run $run" "$(elapsed "$t0")"
    return $rc
}

# check_serving RUN: once the chief has exported, psc-serve (service
# "serving", published on a free host port) becomes ready and answers one
# predict of a test image with 10 probabilities; then it is stopped, so
# that it exits 0 like the roles. Readiness is polled: /readyz is the
# event, 120 s only bound a hang.
check_serving() {
    local run=$1 addr ready=0 i answer
    addr=$(dc "$run" port serving 8501 2>/dev/null | tail -n1)
    if [ -z "$addr" ]; then
        say "[$run] serving: no host port for 8501"
        return 1
    fi
    for ((i = 0; i < 600; i++)); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz")" = 200 ]; then
            ready=1
            break
        fi
        sleep 0.2
    done
    if [ $ready -ne 1 ]; then
        say "[$run] serving: /readyz never 200 at $addr"
        dc "$run" logs --no-color --tail=20 serving >&2 2>&1
        return 1
    fi
    answer=$(python3 - "http://$addr/v1/models/fashion:predict" <<'PY'
import gzip, json, sys, urllib.request
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    f.read(16)
    image = list(f.read(784))
req = urllib.request.Request(sys.argv[1], data=json.dumps({"instances": [image]}).encode())
p = json.load(urllib.request.urlopen(req, timeout=30))["predictions"]
assert len(p) == 1 and len(p[0]) == 10 and abs(sum(p[0]) - 1) < 1e-4, p
print(max(range(10), key=lambda j: p[0][j]))
PY
)
    if [ -z "$answer" ]; then
        say "[$run] serving: the predict at $addr failed"
        dc "$run" logs --no-color --tail=20 serving >&2 2>&1
        return 1
    fi
    say "[$run] serving: predict answered class $answer for test image 0 (label 9)"
    dc "$run" stop -t 10 serving >/dev/null 2>&1
}

# A role is PID 1 in its container: it must stop on SIGTERM itself (exit
# 128+15), or `docker compose stop/down` waits 10 s and kills it. ps-0 alone
# waits for the chief's host name to resolve; the chief alone waits for
# registrations. The signal goes once the role logs that it waits (its
# handlers are in place by then); the role's own time is what it logs on
# the way out ("stopped on signal 15 in T s"); the rest of the time
# `docker-compose stop` takes is podman's and compose's, reported apart.
# keygen runs first and writes the keys it needs; the chief is not started.
check_sigterm() {
    local svc=$1 ready=$2 t0 id code took own
    dc demo run --rm --no-deps keygen >"$tmp/up.log" 2>&1 &&
        dc demo up -d --no-build --no-deps "$svc" >>"$tmp/up.log" 2>&1 || { cat "$tmp/up.log" >&2; return 1; }
    id=$(dc demo ps -q "$svc")
    if ! follow_logs "$id" 60 "$ready"; then
        say "[sigterm] $svc never logged '$ready' within 60 s"
        podman logs "$id" >&2 2>&1
        dc demo down -v -t 1 >/dev/null 2>&1
        return 1
    fi
    t0=$(now)
    dc demo stop -t 10 "$svc" >/dev/null 2>&1
    took=$(elapsed "$t0")
    code=$(podman inspect -f '{{.State.ExitCode}}' "$id")
    dc demo logs --no-color "$svc" >"$tmp/sigterm.log" 2>&1
    dc demo down -v -t 1 >/dev/null 2>&1
    own=$(grep -oE 'stopped on signal 15 in [0-9.]+ s' "$tmp/sigterm.log" | grep -oE '[0-9.]+ s$' | cut -d' ' -f1)
    timing "sigterm $svc" "$took"
    if [ "$code" = 143 ] && [ -n "$own" ] && awk -v t="$own" 'BEGIN { exit !(t < 5) }'; then
        say "[sigterm] $svc (PID 1) stopped on SIGTERM with status 143 in $own s of its own;" \
            "docker-compose stop took $took s (podman and compose: $(awk -v a="$took" -v b="$own" 'BEGIN { printf "%.3f", a - b }') s)"
        return 0
    fi
    say "[sigterm] $svc (PID 1) exited $code; its own stop time: '${own:-not logged}' s;" \
        "docker-compose stop took $took s (wanted 143, and well under 5 s of its own)"
    cat "$tmp/sigterm.log" >&2
    return 1
}

# follow_logs CONTAINER SECONDS PATTERN: returns once the container's log
# has a line matching PATTERN; SECONDS only bounds a hang.
follow_logs() {
    local fd pid rc
    exec {fd}< <(exec timeout "$2" podman logs -f "$1" 2>&1)
    pid=$!
    grep -q -m1 -E "$3" <&"$fd"
    rc=$?
    kill "$pid" 2>/dev/null
    exec {fd}<&-
    return $rc
}

status=0
for run in "${runs[@]}"; do
    run_cluster "$run" || status=1
done
check_sigterm ps-0 "waiting for host name 'chief' to resolve" || status=1
check_sigterm chief "chief listening on port" || status=1
exit
