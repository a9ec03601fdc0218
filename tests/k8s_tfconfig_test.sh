#!/usr/bin/env bash
# Every role parses the TF_CONFIG Kubernetes would give it (--check-config):
#  - deploy/k8s/tfjob.yaml: the exact text the Kubeflow Training Operator
#    (kubeflow.org/v1 TFJob) writes for each task of the job "psc-demo" in
#    namespace "default": compact JSON, keys sorted, "environment":"cloud",
#    hosts NAME-TYPE-INDEX.NAMESPACE.svc (plus CUSTOM_CLUSTER_DOMAIN when the
#    operator has it), the evaluator left out of "cluster";
#  - deploy/k8s/plain/jobs.yaml: the TF_CONFIG written out there, with
#    $(TASK_INDEX) expanded for each index as Kubernetes does.
# Every role runs with CURVE on, from keys psc-keygen made out of the same
# TF_CONFIG text, as the manifests mount them (the Secret psc-keys).
# Also checks that the manifests agree with those texts (replica counts,
# binaries, port, the keys), that a broken TF_CONFIG is a permanent error (exit 2),
# and that deploy/k8s/serve-deployment.yaml runs psc-serve with flags it
# takes, probes /healthz and /readyz, and has a Service on its port.
#
# usage: tests/k8s_tfconfig_test.sh [BIN_DIR]   (default $PSC_BIN_DIR or build/bin)
set -uo pipefail

src=${PSC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
bin=${1:-${PSC_BIN_DIR:-$src/build/bin}}
job=$src/examples/fashion_mnist_mlp.json
k8s=$src/deploy/k8s
pass=0 fail=0
tmp=$(mktemp -d /tmp/psc-k8s.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

for r in ps worker chief evaluator; do
    [ -x "$bin/psc-$r" ] || { echo "k8s-tfconfig: no $bin/psc-$r (build first)"; exit 1; }
done

# make_keys NAME TF_CONFIG: psc-keygen's keys for that cluster in $tmp/NAME,
# which check_config then runs with (PSC_CURVE_KEYS_DIR, as the manifests).
keys=
make_keys() {
    keys=$tmp/$1
    if "$bin/psc-keygen" --cluster "$2" --out "$keys" >/dev/null; then
        ok "psc-keygen makes keys from $2"
    else
        bad "psc-keygen fails on $2"
    fi
}

# check_config ROLE TF_CONFIG WANT: psc-ROLE --check-config must exit 0 and
# print the line WANT (its own task and advertised address), with CURVE on.
check_config() {
    local role=$1 tfc=$2 want=$3 out rc
    out=$(TF_CONFIG=$tfc PSC_CURVE_KEYS_DIR=$keys "$bin/psc-$role" --check-config --job "$job" --set model_dir=/models 2>&1)
    rc=$?
    if [ $rc -eq 0 ] && grep -qxF "$want" <<<"$out" && grep -qxF "security: CURVE, keys from $keys" <<<"$out"; then
        ok "psc-$role accepts $tfc"
    else
        bad "psc-$role exit $rc on $tfc (wanted exit 0 and '$want'):"
        sed 's/^/    /' <<<"$out"
    fi
}

# --- TFJob: what the operator injects ------------------------------------
# The manifest must declare what these texts assume.
tfjob=$k8s/tfjob.yaml
grep -q '^  name: psc-demo$' "$tfjob" && ok "tfjob name psc-demo" || bad "tfjob.yaml is not named psc-demo"
for spec in Chief:1:chief PS:2:ps Worker:3:worker Evaluator:1:evaluator; do
    IFS=: read -r rtype n role <<<"$spec"
    block=$(awk -v t="    $rtype:" '$0 == t { on = 1; next } on && /^    [A-Za-z]+:$/ { on = 0 } on' "$tfjob")
    if grep -q "^      replicas: $n\$" <<<"$block" &&
       grep -q "^      restartPolicy: ExitCode\$" <<<"$block" &&
       grep -q "name: tensorflow\$" <<<"$block" &&
       grep -q "name: tfjob-port\$" <<<"$block" &&
       grep -q "containerPort: 2222\$" <<<"$block" &&
       grep -q "command: \[\"psc-$role\"" <<<"$block" &&
       grep -q "{name: PSC_CURVE_KEYS_DIR, value: /keys}" <<<"$block" &&
       grep -q "{name: keys, mountPath: /keys, readOnly: true}" <<<"$block" &&
       grep -q "secret: {secretName: psc-keys" <<<"$block"; then
        ok "tfjob $rtype: $n replicas of psc-$role, container tensorflow, port tfjob-port 2222, ExitCode, the Secret psc-keys"
    else
        bad "tfjob $rtype: expected $n replicas of psc-$role, container 'tensorflow', port 'tfjob-port' 2222, restartPolicy ExitCode, the Secret psc-keys at /keys"
    fi
done

for domain in "" ".cluster.local"; do
    s=".default.svc$domain:2222"
    cluster="{\"chief\":[\"psc-demo-chief-0$s\"],\"ps\":[\"psc-demo-ps-0$s\",\"psc-demo-ps-1$s\"],\"worker\":[\"psc-demo-worker-0$s\",\"psc-demo-worker-1$s\",\"psc-demo-worker-2$s\"]}"
    make_keys "tfjob$domain" "{\"cluster\":$cluster,\"task\":{\"type\":\"chief\",\"index\":0},\"environment\":\"cloud\"}"
    for task in chief:0 ps:0 ps:1 worker:0 worker:1 worker:2 evaluator:0; do
        role=${task%:*} i=${task#*:}
        tfc="{\"cluster\":$cluster,\"task\":{\"type\":\"$role\",\"index\":$i},\"environment\":\"cloud\"}"
        if [ "$role" = evaluator ]; then
            want="this task: evaluator:0 (outside the cluster, no address)"
        else
            want="this task: $role:$i at psc-demo-$role-$i$s"
        fi
        check_config "$role" "$tfc" "$want"
    done
done

# --- plain manifests: the TF_CONFIG written out in jobs.yaml -------------
jobs=$k8s/plain/jobs.yaml
services=$k8s/plain/services.yaml
# For each Job document: role (from its command), completions, TF_CONFIG.
table=$(awk '
    /^---/ { if (role != "") print role "\t" n "\t" tfc; role = ""; n = ""; tfc = ""; next }
    /command: \["psc-/ { s = $0; sub(/.*\["psc-/, "", s); sub(/".*/, "", s); role = s }
    /^  completions:/ { n = $2 }
    /^ *value: .\{"cluster"/ { s = $0; sub(/^ *value: '\''/, "", s); sub(/'\''$/, "", s); tfc = s }
    END { if (role != "") print role "\t" n "\t" tfc }
' "$jobs")
[ "$(wc -l <<<"$table")" -eq 4 ] && ok "jobs.yaml has 4 Jobs" || bad "jobs.yaml: expected 4 Jobs, found: $table"
[ "$(grep -c "{name: PSC_CURVE_KEYS_DIR, value: /keys}" "$jobs")" -eq 4 ] &&
    [ "$(grep -c "secret: {secretName: psc-keys" "$jobs")" -eq 4 ] &&
    ok "jobs.yaml: every Job mounts the Secret psc-keys" || bad "jobs.yaml: not every Job mounts the Secret psc-keys with PSC_CURVE_KEYS_DIR"
make_keys plain "$(head -1 <<<"$table" | cut -f3 | sed 's/\$(TASK_INDEX)/0/')"
while IFS=$'\t' read -r role n tfc; do
    [ -n "$role" ] || continue
    if ! grep -q "^  name: psc-$role\$" "$jobs"; then
        bad "jobs.yaml: the Job running psc-$role is not named psc-$role"
    fi
    for ((i = 0; i < n; i++)); do
        t=${tfc//\$(TASK_INDEX)/$i}
        if [ "$role" = evaluator ]; then
            check_config "$role" "$t" "this task: evaluator:0 (outside the cluster, no address)"
        else
            check_config "$role" "$t" "this task: $role:$i at psc-$role-$i:2222"
            # ... and its host name is a headless Service selecting that pod.
            if awk -v name="  name: psc-$role-$i" -v idx="job-completion-index: \"$i\"" \
                   -v jn="job-name: psc-$role" '
                   /^---/ { if (a && b && c && d) found = 1; a = b = c = d = 0 }
                   $0 == name { a = 1 } index($0, idx) { b = 1 } index($0, jn) { c = 1 }
                   /clusterIP: None/ { d = 1 }
                   END { if (a && b && c && d) found = 1; exit !found }' "$services"; then
                ok "services.yaml: headless psc-$role-$i selects index $i of Job psc-$role"
            else
                bad "services.yaml: no headless Service psc-$role-$i selecting index $i of Job psc-$role"
            fi
        fi
    done
done <<<"$table"

# --- serving: psc-serve's Deployment and Service -------------------------
# The command is one psc-serve accepts, probes on /healthz and /readyz on the
# container's port, the Service selecting the Deployment's pods on it, and
# the exports' volume is the jobs' claim.
serve=$k8s/serve-deployment.yaml
if [ -x "$bin/psc-serve" ]; then
    cmd=$(python3 - "$serve" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'command: \[(.*?)\]', t, re.S)
print(" ".join(a.strip().strip('"') for a in m.group(1).split(",")))
PY
)
    # With --help last, every flag before it is parsed and checked (an
    # unknown flag or a bad value exits 2) and nothing is started.
    read -r -a argv <<<"$cmd"
    [ "${argv[0]}" = psc-serve ] && ok "serve-deployment runs psc-serve" || bad "serve-deployment runs '${argv[0]}'"
    out=$("$bin/psc-serve" "${argv[@]:1}" --help 2>&1)
    rc=$?
    [ $rc -eq 0 ] && ok "psc-serve takes the deployment's flags" ||
        { bad "psc-serve exits $rc on the deployment's flags:"; sed 's/^/    /' <<<"$out"; }
else
    bad "no $bin/psc-serve (build first)"
fi
grep -q 'livenessProbe:' "$serve" && grep -A1 'livenessProbe:' "$serve" | grep -q 'path: /healthz, port: http' &&
    ok "serving: livenessProbe /healthz" || bad "serving: no livenessProbe on /healthz"
grep -q 'readinessProbe:' "$serve" && grep -A1 'readinessProbe:' "$serve" | grep -q 'path: /readyz, port: http' &&
    ok "serving: readinessProbe /readyz" || bad "serving: no readinessProbe on /readyz"
grep -q 'name: http, containerPort: 8501' "$serve" && grep -q 'targetPort: http' "$serve" &&
    grep -q '^kind: Service$' "$serve" && ok "serving: Service on the container's port 8501" ||
    bad "serving: no Service on port http (8501)"
grep -q 'claimName: psc-models' "$serve" && grep -q 'claimName: psc-models' "$jobs" &&
    ok "serving: reads the jobs' volume psc-models" || bad "serving: not on the jobs' claim psc-models"

# --- a configuration error is permanent: exit 2 --------------------------
for role in ps worker chief evaluator; do
    tfc="{\"cluster\":{\"chief\":[\"c:2222\"],\"ps\":[\"p:99999\"],\"worker\":[\"w:2222\"]},\"task\":{\"type\":\"$role\",\"index\":0}}"
    TF_CONFIG=$tfc "$bin/psc-$role" --check-config --job "$job" >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] && ok "psc-$role exits 2 on a bad TF_CONFIG" ||
        bad "psc-$role exits $rc on a bad TF_CONFIG, expected 2"
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
