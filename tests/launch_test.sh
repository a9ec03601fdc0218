#!/usr/bin/env bash
# Tests psc-launch's supervision with fake role binaries: shell scripts named
# psc-ps, psc-worker, psc-chief and psc-evaluator that report their
# TF_CONFIG and arguments, then exit, hang or ignore SIGTERM as told.
# Usage: tests/launch_test.sh BIN_DIR   (BIN_DIR holds psc-launch)
set -u

bin=${1:?usage: launch_test.sh BIN_DIR}
launch=$bin/psc-launch
[ -x "$launch" ] || { echo "FAIL: no psc-launch in '$bin'"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fake=$tmp/fake
mkdir "$fake"
export FAKE_DIR=$tmp/runs
failures=0

# The fake role. FAKE_<task> (or FAKE_ALL) picks the behaviour:
# exit:N, partial (last line without newline), kill9, hang (until a
# signal), stubborn (ignores SIGTERM). Blocking by exec leaves no grandchild
# behind when the launcher signals the process group.
cat >"$fake/psc-ps" <<'EOF'
#!/bin/sh
# Builtins only: a forked helper killed with its group would be left for
# init to reap.
type=${TF_CONFIG##*'"task":{"type":"'}
type=${type%%'"'*}
index=${TF_CONFIG##*'"index":'}
index=${index%%'}'*}
case $type in chief | evaluator) task=$type ;; *) task=$type$index ;; esac
: >"$FAKE_DIR/ran.$task"
echo "TF_CONFIG=$TF_CONFIG"
echo "ARGS=$*"
echo "on stderr" >&2
eval "mode=\${FAKE_$task:-\${FAKE_ALL:-exit:0}}"
case $mode in
exit:*) exit "${mode#exit:}" ;;
first:*)
    # Fails with the status given on its first run; the next run wakes a
    # task in mode until:<this task> through a FIFO, and exits 0.
    wake=$FAKE_DIR/wake.$task
    if [ -e "$FAKE_DIR/again.$task" ]; then echo done >"$wake"; exit 0; fi
    [ -p "$wake" ] || mkfifo "$wake" 2>/dev/null
    : >"$FAKE_DIR/again.$task"
    exit "${mode#first:}" ;;
until:*)
    # Exits 0 once the task named has run a second time (its FIFO write).
    wake=$FAKE_DIR/wake.${mode#until:}
    [ -p "$wake" ] || mkfifo "$wake" 2>/dev/null
    read -r _ <"$wake"
    exit 0 ;;
partial) printf 'no newline'; exit 0 ;;
kill9) kill -9 $$ ;;
hang)
    echo ready
    exec sleep 1000 ;;
stubborn)
    trap '' TERM
    echo ready
    exec sleep 1000 ;;
esac
EOF
chmod +x "$fake/psc-ps"
for b in psc-worker psc-chief psc-evaluator; do
    cp "$fake/psc-ps" "$fake/$b"
done

pass() { echo "ok   $1"; }
fail() {
    echo "FAIL $1"
    failures=$((failures + 1))
}

# run NAME WANT_RC [launcher args]: runs the launcher with a time bound,
# its stdout in $out and its stderr in $err.
run() {
    local name=$1 want=$2
    shift 2
    rm -rf "$FAKE_DIR"
    mkdir -p "$FAKE_DIR"
    out=$tmp/$name.out err=$tmp/$name.err
    timeout 15 "$launch" --bin-dir "$fake" "$@" >"$out" 2>"$err"
    rc=$?
    if [ "$rc" -eq "$want" ]; then
        pass "$name: exit status $rc"
    else
        fail "$name: exit status $rc, want $want"
        sed 's/^/    | /' "$out" "$err"
    fi
}

expect() { # expect NAME FILE PATTERN (grep -E)
    if grep -Eq -- "$3" "$2"; then pass "$1"; else
        fail "$1: no line matching '$3' in"
        sed 's/^/    | /' "$2"
    fi
}

expect_not() { # expect_not NAME FILE PATTERN
    if grep -Eq -- "$3" "$2"; then
        fail "$1: unexpected line matching '$3'"
        sed 's/^/    | /' "$2"
    else pass "$1"; fi
}

# check_tf NAME FILE TASK... [--no-chief]: every listed task printed a
# TF_CONFIG naming itself; all share one cluster with distinct ports.
check_tf() {
    local name=$1 file=$2
    shift 2
    if python3 - "$file" "$@" <<'EOF'; then pass "$name"; else fail "$name"; fi
import json, re, sys
path, tasks = sys.argv[1], sys.argv[2:]
no_chief = "--no-chief" in tasks
tasks = [t for t in tasks if t != "--no-chief"]
seen = {}
for line in open(path):
    m = re.match(r"^(\w+)\| TF_CONFIG=(.*)$", line.rstrip("\n"))
    if m:
        seen[m.group(1)] = json.loads(m.group(2))
assert sorted(seen) == sorted(tasks), (sorted(seen), tasks)
clusters = {json.dumps(c["cluster"], sort_keys=True) for c in seen.values()}
assert len(clusters) == 1, clusters
cluster = next(iter(seen.values()))["cluster"]
assert ("chief" in cluster) == (not no_chief), cluster
assert "evaluator" not in cluster, cluster
addrs = [a for role in cluster.values() for a in role]
ports = [a.rsplit(":", 1)[1] for a in addrs]
assert len(set(ports)) == len(ports), addrs
for name, cfg in seen.items():
    t = cfg["task"]
    want = re.match(r"^([a-z]+?)(\d*)$", name)
    assert t["type"] == want.group(1), (name, t)
    assert t["index"] == int(want.group(2) or 0), (name, t)
    if t["type"] != "evaluator":
        assert len(cluster[t["type"]]) > t["index"], (name, cluster)
EOF
}

# 1. Everybody exits 0: prefixes, streams, TF_CONFIG, arguments.
echo '{"learning_rate": 0.05}' >"$tmp/job.json"
run all_ok 0 --evaluator --set seed=7 "$tmp/job.json"
expect "start line per task" "$err" '^psc-launch: ps0 at 127\.0\.0\.1:[0-9]+$'
expect "evaluator start line" "$err" '^psc-launch: evaluator outside'
expect "child stdout on stdout" "$out" '^worker1\| ARGS=--job .*job\.json --set seed=7$'
expect "child stderr on stderr" "$err" '^chief\| on stderr$'
expect "summary line" "$err" '^psc-launch: all 5 processes exited 0$'
check_tf "TF_CONFIG per task" "$out" ps0 chief worker0 worker1 evaluator

# 2. Without a chief there is no chief key; worker 0 ends the run.
run no_chief 0 --no-chief --ps 2 --workers 3
check_tf "no-chief TF_CONFIG" "$out" ps0 ps1 worker0 worker1 worker2 --no-chief
expect_not "no chief started" "$err" '^psc-launch: chief'

# 3. A partial last line is flushed when its child exits.
FAKE_worker0=partial run partial 0
expect "partial line" "$out" '^worker0\| no newline$'

# 4. A failing worker's status becomes the launcher's; others stop.
FAKE_ALL=hang FAKE_worker1=exit:3 run worker_fails 3
expect "failure reported" "$err" '^psc-launch: worker1 exited with status 3$'

# 5. A chief killed by a signal: 128 + signal.
FAKE_ALL=hang FAKE_chief=kill9 run chief_killed 137
expect "signal reported" "$err" '^psc-launch: chief killed by signal 9$'

# 6. The acting chief finished but ps0 does not stop: terminated, exit 1.
FAKE_ps0=hang run drain 1 --no-chief --drain-timeout 0.3
expect "drain timeout" "$err" \
    '^psc-launch: ps0 still running 0\.3 s after worker0 \(acting chief\) finished: terminated$'
expect "ps0 got SIGTERM" "$err" '^psc-launch: ps0 stopped \(killed by signal 15\)$'

# 7. --print-tf-config starts nothing and prints shell-ready lines.
run print 0 --print-tf-config --workers 1 --set seed=3
if [ -z "$(ls -A "$FAKE_DIR")" ]; then pass "print starts nothing"; else
    fail "print started $(ls "$FAKE_DIR")"; fi
expect "print command" "$out" "^worker0: $fake/psc-worker --set seed=3\$"
# shlex reads the lines as a POSIX shell would.
python3 - "$out" >"$tmp/print.tf" <<'EOF'
import re, shlex, sys
for line in open(sys.argv[1]):
    m = re.match(r"^(\w+): (TF_CONFIG=.*)$", line.rstrip("\n"))
    if m:
        print(m.group(1) + "| " + shlex.split(m.group(2))[0])
EOF
check_tf "print TF_CONFIG parses" "$tmp/print.tf" ps0 chief worker0

# 8. Bad input: exit 2 before anything starts.
run bad_set 2 --set no_such_option=1
expect "bad --set message" "$err" '^psc-launch: .*no_such_option'
if [ -z "$(ls -A "$FAKE_DIR")" ]; then pass "bad --set starts nothing"; else
    fail "bad --set started something"; fi
run bad_cluster 2 --workers 2 --set replicas_to_aggregate=3
run bad_flag 2 --workers x
run no_binaries 2 --bin-dir "$tmp"
run missing_job 2 "$tmp/no-such-job.json"
run help 0 --help
expect "help lists --print-tf-config" "$out" '^  --print-tf-config '

# 8b. --restart on-failure starts a task that exited 138 again, as
# Kubernetes would; a configuration error (2) is not retried; without the
# option a 138 is the launcher's status.
FAKE_worker1=first:138 FAKE_chief=until:worker1 run restart_once 0 --restart on-failure
expect "restarted once" "$err" '^psc-launch: worker1 exited with status 138: restarting it \(1 of 10\)$'
expect "restart summary" "$err" '^psc-launch: all 4 processes exited 0$'
FAKE_ALL=hang FAKE_worker1=first:2 run restart_not_config 2 --restart on-failure
expect_not "exit 2 not restarted" "$err" 'restarting it'
FAKE_ALL=hang FAKE_worker1=first:138 run no_restart 138
run bad_restart 2 --restart always
run bad_kill 2 --kill nobody@3

# 9. SIGTERM to the launcher stops every child, SIGKILLs a stubborn one
# after --kill-timeout, and the launcher exits 143. The test waits for the
# children's "ready" lines; read -t only bounds a hung run.
rm -rf "$FAKE_DIR"
mkdir -p "$FAKE_DIR"
mkfifo "$tmp/fifo"
FAKE_ALL=hang FAKE_ps0=stubborn "$launch" --bin-dir "$fake" \
    --kill-timeout 0.3 >"$tmp/fifo" 2>&1 &
pid=$!
exec 3<"$tmp/fifo"
ready=0
: >"$tmp/term.all"
while :; do
    IFS= read -r -t 15 line <&3
    got=$?
    # read -t returns more than 128 when the bound expired, 1 at EOF.
    if [ "$got" -gt 128 ]; then
        fail "sigterm: no output for 15 s"
        kill -KILL "$pid"
    fi
    [ "$got" -eq 0 ] || break
    printf '%s\n' "$line" >>"$tmp/term.all"
    case $line in
    *"| ready")
        ready=$((ready + 1))
        [ "$ready" -eq 4 ] && kill -TERM "$pid" ;;
    esac
done
exec 3<&-
wait "$pid"
rc=$?
if [ "$rc" -eq 143 ]; then pass "sigterm: exit status 143"; else
    fail "sigterm: exit status $rc, want 143"; fi
expect "sigterm: announced" "$tmp/term.all" '^psc-launch: SIGTERM: stopping 4 processes$'
expect "sigterm: worker1 stopped" "$tmp/term.all" \
    '^psc-launch: worker1 stopped \(killed by signal 15\)$'
expect "sigterm: ps0 killed" "$tmp/term.all" \
    '^psc-launch: ps0 still running 0\.3 s after SIGTERM: killed$'
expect "sigterm: ps0 reaped" "$tmp/term.all" \
    '^psc-launch: ps0 stopped \(killed by signal 9\)$'

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
echo "all checks passed"
