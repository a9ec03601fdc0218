#!/usr/bin/env bash
# Validates every compose file in deploy/ with `docker-compose config -q`:
# the demo alone and the demo with each override file on top. Needs no
# container engine. Installs Debian's docker-compose if it is missing and we
# are root; skips (exit 77, loudly) only where it cannot be had.
set -uo pipefail

src=${PSC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
deploy=$src/deploy

if ! command -v docker-compose >/dev/null; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "compose-config: installing docker-compose" >&2
        { apt-get update -qq &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose
        } >/dev/null 2>&1
    fi
    if ! command -v docker-compose >/dev/null; then
        echo "compose-config: SKIPPED LOUDLY: docker-compose is not installed and cannot be" >&2
        echo "compose-config: (apt-get install docker-compose); compose files NOT validated" >&2
        exit 77
    fi
fi

pass=0 fail=0
check() {
    local args=() f
    for f in "$@"; do args+=(-f "$deploy/$f"); done
    if out=$(docker-compose "${args[@]}" config -q 2>&1); then
        echo "ok: docker-compose config -q $*"
        pass=$((pass + 1))
    else
        echo "FAIL: docker-compose config -q $*"
        echo "$out" | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

found=0
check docker-compose.yml
for f in "$deploy"/docker-compose.*.yml; do
    [ -e "$f" ] || continue
    found=1
    check docker-compose.yml "$(basename "$f")"
done
[ $found -eq 1 ] || { echo "FAIL: no override compose file in deploy/"; fail=$((fail + 1)); }

# The demo's services, each with a TF_CONFIG naming the others by service
# name, psc-serve on their export, and keygen making the CURVE keys.
services=$(docker-compose -f "$deploy/docker-compose.yml" config --services 2>/dev/null | sort | tr '\n' ' ')
want="chief evaluator keygen ps-0 ps-1 serving worker-0 worker-1 worker-2 "
if [ "$services" = "$want" ]; then
    echo "ok: services $services"
    pass=$((pass + 1))
else
    echo "FAIL: services are '$services', expected '$want'"
    fail=$((fail + 1))
fi

# Every task of the cluster runs with CURVE on, after keygen has written
# the keys into the volume it mounts.
if docker-compose -f "$deploy/docker-compose.yml" config 2>/dev/null | python3 -c '
import sys, yaml
svc = yaml.safe_load(sys.stdin)["services"]
tasks = [n for n in svc if n not in ("keygen", "serving")]
ok = all(svc[n]["environment"].get("PSC_CURVE_KEYS_DIR") == "/keys"
         and svc[n]["depends_on"]["keygen"]["condition"] == "service_completed_successfully"
         and any(str(v).startswith("keys:/keys") or (isinstance(v, dict) and v.get("source") == "keys")
                 for v in svc[n]["volumes"])
         for n in tasks)
sys.exit(0 if ok and "psc-keygen" in svc["keygen"]["command"] else 1)'; then
    echo "ok: every task runs with CURVE on, after keygen"
    pass=$((pass + 1))
else
    echo "FAIL: not every task has PSC_CURVE_KEYS_DIR=/keys, the keys volume and depends_on keygen"
    fail=$((fail + 1))
fi

# Under podman a lookup of a name whose container has not started yet can
# hang for minutes, so each task starts after those it looks up at once:
# the ps after the chief; the workers and the evaluator after both.
if docker-compose -f "$deploy/docker-compose.yml" config 2>/dev/null | python3 -c '
import sys, yaml
svc = yaml.safe_load(sys.stdin)["services"]
def after(n, deps):
    d = svc[n].get("depends_on", {})
    return all(d.get(x, {}).get("condition") == "service_started" for x in deps)
ok = all(after(n, ["chief"]) for n in ("ps-0", "ps-1"))
ok = ok and all(after(n, ["chief", "ps-0", "ps-1"])
                for n in ("worker-0", "worker-1", "worker-2", "evaluator"))
sys.exit(0 if ok else 1)'; then
    echo "ok: every task starts after the tasks it looks up"
    pass=$((pass + 1))
else
    echo "FAIL: a task may look up a service that has not started (depends_on)"
    fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
