#!/bin/sh
# Installs the node harness's packages (tests/node/node_modules) from the
# checked-in package-lock.json with npm ci, only when node_modules is missing
# or older than the lock. onnxruntime-node's install script would download
# CUDA binaries from a host these machines cannot reach; the CPU runtime is
# inside the package, so scripts are skipped. Exit 2 when node or npm is
# missing, npm's status when npm ci fails.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for tool in node npm; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "setup.sh: '$tool' is not installed (Debian: apt-get install nodejs npm)" >&2
        exit 2
    fi
done
# npm writes node_modules/.package-lock.json at the end of an install.
stamp=$here/node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! "$here/package-lock.json" -nt "$stamp" ]; then
    exit 0
fi
cd "$here"
ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund \
    --loglevel=error
