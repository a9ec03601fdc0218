#!/usr/bin/env bash
# Exports through the real binaries: the chief's export at the end of a
# job (complete, atomically named, 0001 then 0002), psc-export from a
# checkpoint equal to the chief's export of the same step, the ONNX and
# TensorFlow.js forms run in ONNX Runtime and TensorFlow.js against psc's
# own probabilities on the whole test set, int8 against float32, exports
# after every checkpoint, and damaged exports refused with their line.
# usage: export_test.sh BIN_DIR SCENARIO
BIN=$1
SCENARIO=$2
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/.." && pwd)
JOB=$SRC/examples/fashion_mnist_mlp.json
DATA=/usr/share/datasets/fashion-mnist
COMMON=(--ps 1 --workers 2 --evaluator --set data.train_limit=12000
        --set checkpoint_interval_s=0)

# train NAME MODEL_DIR [args...]: a whole job through psc-launch.
train() {
    local name=$1 dir=$2
    shift 2
    "$BIN/psc-launch" "${COMMON[@]}" --set model_dir="$dir" "$@" "$JOB" \
        >"$WORK/$name.log" 2>&1 || fail "$name: psc-launch exited $?"
}

# field VERSION_DIR EXPR: a value of model.json (EXPR indexes "m").
field() {
    python3 -c "import json,sys; m=json.load(open(sys.argv[1]+'/model.json')); print($2)" "$1"
}

verify() {
    "$BIN/psc-export" --verify "$1" >"$WORK/verify.out" 2>&1 ||
        fail "psc-export --verify $1: $(cat "$WORK/verify.out")"
}

# evaluate VERSION_DIR PROBS: psc's accuracy line; probabilities into PROBS.
evaluate() {
    "$BIN/psc-export" --evaluate "$1" --probabilities "$2" ||
        fail "psc-export --evaluate $1 failed"
}

node_setup() {
    bash "$SRC/tests/node/setup.sh" >"$WORK/npm.log" 2>&1 ||
        fail "tests/node/setup.sh failed: $(tail -n 5 "$WORK/npm.log")"
}

# runtime RUNTIME VERSION_DIR PROBS [compare.js args]: the model in ONNX
# Runtime or TensorFlow.js against psc's probabilities, every test image,
# within 1e-5 unless told otherwise.
runtime() {
    node "$SRC/tests/node/compare.js" --runtime "$1" --model "$2" \
        --images "$DATA/t10k-images-idx3-ubyte.gz" \
        --labels "$DATA/t10k-labels-idx1-ubyte.gz" \
        --probabilities "$3" --tolerance 1e-5 "${@:4}" >"$WORK/$1.out" 2>&1 ||
        fail "$1 disagrees with psc on $2: $(cat "$WORK/$1.out")"
    cat "$WORK/$1.out"
    grep -q ' 10000 examples' "$WORK/$1.out" || fail "$1 did not run the whole test set"
}

end_of_training() {
    local base=$WORK/model/export/model
    train first "$WORK/model" --set max_steps=200
    grep -q "exported step 200 to $base/0001 (float32)" "$WORK/first.log" ||
        fail "the chief did not log its export of step 200"
    [ -z "$(ls -A "$base" | grep -v '^0001$')" ] || fail "more than 0001 under $base: $(ls -A "$base")"
    verify "$base/0001"
    [ "$(field "$base/0001" "m['training']['step']")" = 200 ] || fail "0001 is not of step 200"
    [ "$(field "$base/0001" "m['outputs'][0]['class_names'][9]")" = "Ankle boot" ] ||
        fail "0001 does not name Fashion-MNIST's classes"
    local acc
    acc=$(sed -n 's/.*final test accuracy \([0-9.]*\) (evaluator).*/\1/p' "$WORK/first.log")
    [ -n "$acc" ] || fail "no final test accuracy in the log"
    python3 - "$base/0001" "$acc" <<'PY' || fail "model.json's eval is not the final evaluation"
import json, sys
m = json.load(open(sys.argv[1] + "/model.json"))
assert abs(m["training"]["eval"]["accuracy"] - float(sys.argv[2])) < 1e-4, m["training"]
assert m["inputs"][0]["shape"] == [-1, 784] and m["inputs"][0]["image_shape"] == [28, 28]
assert abs(m["inputs"][0]["preprocessing"]["scale"] - 1 / 255) < 1e-9
assert [l["units"] for l in m["layers"]] == [256, 128, 10]
for name in ("model.onnx", "tfjs/model.json", "layer0_kernel.f32"):
    assert name in m["files"], name
PY
    # The same model_dir again: resumed, trained on, exported as 0002.
    train second "$WORK/model" --set max_steps=260
    grep -q "exported step 260 to $base/0002 " "$WORK/second.log" || fail "the second job did not export 0002"
    verify "$base/0002"
    # psc-export from the checkpoint of that step equals the chief's export.
    "$BIN/psc-export" --checkpoint "$WORK/model/ckpt-260" --out "$WORK/hand" \
        >"$WORK/hand.out" || fail "psc-export --checkpoint failed"
    grep -q "to $WORK/hand/0001:" "$WORK/hand.out" || fail "psc-export did not write 0001: $(cat "$WORK/hand.out")"
    local f
    for f in $(cd "$base/0002" && find . -type f ! -name model.json); do
        cmp -s "$base/0002/$f" "$WORK/hand/0001/$f" || fail "$f differs between the chief's export and psc-export's"
    done
    python3 - "$base/0002" "$WORK/hand/0001" <<'PY' || fail "model.json differs between the two exports"
import json, sys
a, b = (json.load(open(d + "/model.json")) for d in sys.argv[1:])
ea, eb = a["training"].pop("eval"), b["training"].pop("eval")
assert a == b, (a, b)
assert ea and eb and abs(ea["accuracy"] - eb["accuracy"]) < 1e-5, (ea, eb)
PY
}

runtimes() {
    node_setup
    train job "$WORK/model" --set max_steps=200
    local f32=$WORK/model/export/model/0001
    evaluate "$f32" "$WORK/f32.probs" >"$WORK/f32.acc"
    cat "$WORK/f32.acc"
    runtime onnx "$f32" "$WORK/f32.probs"
    runtime tfjs "$f32" "$WORK/f32.probs"
    # int8 from the same checkpoint: ONNX Runtime runs it too.
    "$BIN/psc-export" --checkpoint "$WORK/model" --out "$WORK/model/export/model" \
        --quantize int8 >"$WORK/int8.out" || fail "psc-export --quantize int8 failed"
    cat "$WORK/int8.out"
    local q=$WORK/model/export/model/0002
    verify "$q"
    [ "$(field "$q" "m['quantization']")" = int8 ] || fail "0002 is not int8"
    evaluate "$q" "$WORK/int8.probs" >"$WORK/int8.acc"
    cat "$WORK/int8.acc"
    # The graph's own arithmetic (basic), and what a user gets (all): an
    # int8 kernel fused by ONNX Runtime would also quantize the activations.
    runtime onnx "$q" "$WORK/int8.probs" --optimization basic
    runtime onnx "$q" "$WORK/int8.probs"
    local ort_acc
    ort_acc=$(sed -n 's/.*accuracy \([0-9.]*\)$/\1/p' "$WORK/onnx.out")
    python3 - "$WORK/f32.acc" "$WORK/int8.acc" "$f32" "$q" "$ort_acc" <<'PY' || fail "int8 is not within 0.5 points and 3.5x smaller"
import os, re, sys
acc = [float(re.search(r"accuracy ([0-9.]+)", open(p).read()).group(1)) for p in sys.argv[1:3]]
size = [os.path.getsize(d + "/model.onnx") for d in sys.argv[3:5]]
ort = float(sys.argv[5])
print(f"float32 {acc[0]:.4f} {size[0]} bytes, int8 {acc[1]:.4f} (ONNX Runtime {ort:.4f}) "
      f"{size[1]} bytes, {size[0] / size[1]:.2f}x smaller")
assert acc[0] > 0.75, acc
assert abs(acc[0] - acc[1]) <= 0.005 and abs(acc[0] - ort) <= 0.005, (acc, ort)
assert size[0] >= 3.5 * size[1], size
PY
}

every_checkpoint() {
    local base=$WORK/model/export/digits
    train job "$WORK/model" --set max_steps=150 --set checkpoint_steps=50 \
        --set export_every_checkpoint=true --set model_name=digits \
        --set export_quantize=int8
    python3 - "$base" <<'PY' || fail "the exports after each checkpoint are wrong"
import json, os, sys
base = sys.argv[1]
versions = sorted(os.listdir(base))
assert all(v.isdigit() and len(v) == 4 for v in versions), versions
ms = [json.load(open(f"{base}/{v}/model.json")) for v in versions]
steps = [m["training"]["step"] for m in ms]
# Sync checkpoints are set a few versions ahead of the step they are ordered at.
assert len(versions) >= 3 and steps == sorted(set(steps)), (versions, steps)
assert 50 <= steps[0] < 100 <= steps[1] < 150 == steps[-1], steps
assert all(m["quantization"] == "int8" for m in ms)
assert ms[-1]["training"]["eval"] is not None and ms[0]["training"]["eval"] is None
PY
    local v
    for v in "$base"/*; do verify "$v"; done
}

# refused NAME CODE TEXT: psc-export --verify of $WORK/bad exits CODE
# with one line holding TEXT.
refused() {
    "$BIN/psc-export" --verify "$WORK/bad" >"$WORK/$1.out" 2>&1
    local rc=$?
    [ "$rc" -eq "$2" ] || fail "$1: --verify exited $rc, not $2: $(cat "$WORK/$1.out")"
    grep -q -- "$3" "$WORK/$1.out" || fail "$1: no line with '$3': $(cat "$WORK/$1.out")"
    [ "$(wc -l <"$WORK/$1.out")" -eq 1 ] || fail "$1: more than one line: $(cat "$WORK/$1.out")"
    echo "$1: $(cat "$WORK/$1.out")"
}

# damage HOW: a fresh copy of the export in $WORK/bad, damaged.
damage() {
    rm -rf "$WORK/bad"
    cp -r "$WORK/model/export/model/0001" "$WORK/bad"
    python3 - "$WORK/bad" "$1" <<'PY'
import json, os, sys
d, how = sys.argv[1:]
m = json.load(open(d + "/model.json"))
def flip(name, off):
    with open(f"{d}/{name}", "r+b") as f:
        f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 1]))
if how == "missing": os.remove(d + "/layer1_bias.f32")
if how == "flipped": flip("layer0_kernel.f32", 4000)
if how == "flipped_onnx": flip("model.onnx", 999)
if how == "flipped_tfjs": flip("tfjs/group1-shard1of1.bin", 7)
if how == "truncated": os.truncate(d + "/layer2_kernel.f32", 100)
if how == "shape": m["layers"][1]["kernel"]["shape"] = [256, 64]
if how == "version": m["format_version"] = 7
if how == "garbage": open(d + "/model.json", "w").write("{\"format\": ")
if how in ("shape", "version"): json.dump(m, open(d + "/model.json", "w"))
PY
}

damaged() {
    train job "$WORK/model" --set max_steps=20
    verify "$WORK/model/export/model/0001"
    damage missing; refused missing 1 "layer1_bias.f32'.*No such file"
    damage flipped; refused flipped 1 "layer0_kernel.f32' does not match its SHA-256"
    damage flipped_onnx; refused flipped_onnx 1 "model.onnx' does not match its SHA-256"
    damage flipped_tfjs; refused flipped_tfjs 1 "group1-shard1of1.bin' does not match its SHA-256"
    damage truncated; refused truncated 1 "layer2_kernel.f32' has 100 bytes, model.json says"
    damage shape; refused shape 1 "layers\[1\] disagrees with the layers"
    damage version; refused version 1 "unknown format version 7"
    damage garbage; refused garbage 1 "model.json': line 1"
    rm -rf "$WORK/bad"; mkdir "$WORK/bad"
    refused empty 1 "model.json' is missing"
    # Usage and configuration errors: exit 2 with one line.
    "$BIN/psc-export" >"$WORK/usage.out" 2>&1
    [ $? -eq 2 ] && grep -q "give one of --checkpoint" "$WORK/usage.out" || fail "no usage error: $(cat "$WORK/usage.out")"
    "$BIN/psc-export" --checkpoint "$WORK/model" --out "$WORK/x" --set class_names=a,b >"$WORK/cls.out" 2>&1
    [ $? -eq 2 ] && grep -q "class_names names 2 classes" "$WORK/cls.out" || fail "9 class names accepted: $(cat "$WORK/cls.out")"
    [ ! -e "$WORK/x" ] || fail "a refused export left $WORK/x behind"
    "$BIN/psc-export" --checkpoint "$WORK/nowhere" --out "$WORK/x" >"$WORK/nockpt.out" 2>&1
    [ $? -eq 1 ] || fail "a missing checkpoint was not refused: $(cat "$WORK/nockpt.out")"
}

case $SCENARIO in
end_of_training | runtimes | every_checkpoint | damaged) "$SCENARIO" ;;
*) fail "unknown scenario '$SCENARIO'" ;;
esac
echo "PASS: $SCENARIO"
