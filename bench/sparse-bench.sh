#!/usr/bin/env bash
# Sparse benchmark: the figures the sparse-models issue asks for, measured
# in one run on this machine.
#   1. accuracy: sparse_lr on the synthetic set of examples/sparse_lr_synth.json
#      (2 ps, 2 workers, sync and async) against the Bayes-optimal AUC and
#      against scikit-learn's SGDClassifier(loss="log_loss") on the same
#      features (written by psc-synth as LIBSVM) in the same passes;
#   2. throughput: the cluster's examples/s against psc-baseline, psc's own
#      sparse_lr loop in one process with no network;
#   3. bandwidth: bytes per worker step against the rows touched, and the
#      dense MLP's against its parameter count x 4.
# scikit-learn is Debian's python3-sklearn, under /usr/bin/python3.
# usage: bench/sparse-bench.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build}/bin
/usr/bin/python3 -c "import sklearn" 2>/dev/null || {
    echo "sparse-bench: needs scikit-learn: apt-get install python3-sklearn" >&2
    exit 2
}
JOB=examples/sparse_lr_synth.json
OUT=$(mktemp -d /tmp/psc-sparse-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# The set's shape, from the example job (ids as given, unhashed, so that
# scikit-learn sees the very same features).
read -r TRAIN TEST FIELDS IDS SEED EPOCHS <<<"$(python3 - "$JOB" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
print(j["synth.train_examples"], j["synth.test_examples"], j["synth.fields"],
      j["synth.ids"], j.get("seed", 42), j["epochs"])
PY
)"
SETS=(--set data.hash_buckets=${HASH_BUCKETS:-0})

launch() { # NAME ARGS...: a cluster on $JOB, model dir $OUT/NAME
    local name=$1
    shift
    "$BIN/psc-launch" --set model_dir="$OUT/$name" "${SETS[@]}" "$@" $JOB \
        >"$OUT/$name.log" 2>&1 || { tail -20 "$OUT/$name.log"; exit 1; }
}

last() { # NAME FILE FIELD: FIELD of FILE's last record
    python3 - "$OUT/$1/$2" "$3" <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r]
v = recs[-1][sys.argv[2]]
print(v if not isinstance(v, float) else "%.4f" % v)
PY
}

rate() { # NAME: training examples per second over the run
    python3 - "$OUT/$1/metrics.jsonl" <<'PY'
import json, sys
r = [r for r in map(json.loads, open(sys.argv[1])) if "loss" in r][-1]
print("%.0f" % (r["examples"] / r["wall_s"]))
PY
}

echo "== accuracy: $TRAIN examples, $FIELDS fields, $IDS ids, $EPOCHS passes"
launch sync --ps 2 --workers 2 --evaluator --set mode=sync
launch async --ps 2 --workers 2 --evaluator --set mode=async
bayes=$(sed -n 's/.*the Bayes-optimal AUC is \([0-9.]*\) .*/\1/p' "$OUT/sync.log" | head -n 1)
"$BIN/psc-synth" --examples "$TRAIN" --fields "$FIELDS" --ids "$IDS" --seed "$SEED" \
    --out "$OUT/train.svm" >/dev/null
"$BIN/psc-synth" --examples "$TEST" --first "$TRAIN" --fields "$FIELDS" --ids "$IDS" \
    --seed "$SEED" --out "$OUT/test.svm" >/dev/null
sk=$(/usr/bin/python3 - "$OUT/train.svm" "$OUT/test.svm" "$IDS" "$EPOCHS" <<'PY'
import sys, warnings
from sklearn.datasets import load_svmlight_file
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import roc_auc_score
warnings.simplefilter("ignore")  # max_iter reached: the passes are the point
n = int(sys.argv[3])
xtr, ytr = load_svmlight_file(sys.argv[1], n_features=n)
xte, yte = load_svmlight_file(sys.argv[2], n_features=n)
c = SGDClassifier(loss="log_loss", max_iter=int(sys.argv[4]), tol=None, random_state=0)
c.fit(xtr, ytr)
print("%.4f" % roc_auc_score(yte, c.predict_proba(xte)[:, 1]))
PY
)
printf "%-34s %8s %14s %12s\n" "run" "test AUC" "vs Bayes" "vs sklearn"
row() { printf "%-34s %8s %+14.4f %+12.4f\n" "$1" "$2" "$(python3 -c "print($2 - $bayes)")" "$(python3 -c "print($2 - $sk)")"; }
printf "%-34s %8s\n" "Bayes-optimal" "$bayes"
row "scikit-learn SGDClassifier" "$sk"
row "psc sync (2 ps, 2 workers)" "$(last sync eval.jsonl auc)"
row "psc async (2 ps, 2 workers)" "$(last async eval.jsonl auc)"

echo
echo "== throughput: training examples/s (one run each)"
steps=$(python3 -c "print($TRAIN * $EPOCHS // $(python3 -c "import json; print(json.load(open('$JOB'))['batch_size'])"))")
base=$("$BIN/psc-baseline" --job $JOB "${SETS[@]}" --steps "$steps" |
    python3 -c 'import json,sys; print("%.0f" % json.load(sys.stdin)["examples_per_s"])')
printf "%-34s %10s %8s\n" "run" "ex/s" "ratio"
printf "%-34s %10s %8s\n" "psc-baseline (one process)" "$base" "1.00"
for m in sync async; do
    r=$(rate $m)
    printf "%-34s %10s %8s\n" "cluster $m (2 ps, 2 workers)" "$r" "$(python3 -c "print('%.2f' % ($r / $base))")"
done

echo "where a worker's time went (sync):"
grep -h "stopping after" "$OUT/sync.log" | sed 's/^/  /'

echo
echo "== bandwidth: bytes per worker step (the sync run; the MLP demo for dense)"
"$BIN/psc-launch" --ps 1 --workers 2 --set max_steps=100 --set model_dir="$OUT/mlp" \
    examples/fashion_mnist_mlp.json >"$OUT/mlp.log" 2>&1 || { tail "$OUT/mlp.log"; exit 1; }
python3 - "$OUT/sync/metrics.jsonl" "$OUT/mlp/metrics.jsonl" <<'PY'
import json, sys
last = lambda p: [r for r in map(json.loads, open(p)) if "bytes_per_step" in r][-1]
s, d = last(sys.argv[1]), last(sys.argv[2])
rows, b = s["sparse_rows_per_step"], s["bytes_per_step"]
# Each distinct key goes out twice (pull, push: 8 bytes each) with a 4-byte
# gradient, and comes back as a 4-byte weight.
print("sparse_lr: %.0f rows touched; sent %.0f B (rows x 20 = %.0f, x%.3f), "
      "received %.0f B (rows x 4 = %.0f, x%.3f)"
      % (rows, b["sparse_pushed"], rows * 20, b["sparse_pushed"] / (rows * 20),
         b["sparse_pulled"], rows * 4, b["sparse_pulled"] / (rows * 4)))
params = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
db = d["bytes_per_step"]
print("MLP: %d parameters; sent %.0f B (params x 4 = %d, x%.4f), received %.0f B (x%.4f)"
      % (params, db["dense_pushed"], params * 4, db["dense_pushed"] / (params * 4),
         db["dense_pulled"], db["dense_pulled"] / (params * 4)))
PY
