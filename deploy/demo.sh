#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and trains
# the Fashion-MNIST MLP on a local cluster (1 ps, 2 workers, a chief and an
# evaluator), then says where the curves are.
set -euo pipefail
cd "$(dirname "$0")/.."
bash deploy/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
model_dir=${PSC_DEMO_MODEL_DIR:-psc-model/demo}
rm -rf "$model_dir"
start=$SECONDS
build/bin/psc-launch --ps 1 --workers 2 --evaluator \
    --set model_dir="$model_dir" "$@" examples/fashion_mnist_mlp.json
acc=$(tail -n 1 "$model_dir/eval.jsonl" | sed -E 's/.*"accuracy": ([0-9.]+).*/\1/')
printf '\ndemo: final test accuracy %s after %d s\n' "$acc" $((SECONDS - start))
echo "demo: training curve   $model_dir/metrics.jsonl (step, wall_s, loss, examples_per_s, dropped, staleness)"
echo "demo: evaluation curve $model_dir/eval.jsonl (step, wall_s, loss, accuracy)"
echo "demo: trained model    $model_dir/$(sed -E 's/.*"(.*)"/\1/' "$model_dir/checkpoint") (see: build/bin/psc-ckpt $model_dir)"
