#!/usr/bin/env bash
# Writes the int8 exports bench_executor --int8-dir reads: for the demo LeNet-5, the MLP, and the MobileNet-style and
# ResNet-style nets, 8-bit per-channel symmetric weights with static 8-bit activations (min-max calibration on 512
# Fashion-MNIST test images), as QDQ (MODEL_qdq.onnx) and QOperator (MODEL_qop.onnx), written by lathe-cli apply.
#
# usage: bench/make_int8_models.sh [BUILD_DIR [OUT_DIR]]   (defaults: build/release, /tmp/lathe_bench/int8)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
out=${2:-/tmp/lathe_bench/int8}
mkdir -p "$out"
cat > "$out/int8.json" <<'JSON'
{"defaults": {"quant": {"bits": 8, "granularity": "per_channel", "symmetric": true}},
 "activations": {"mode": "static", "calibration": "minmax", "samples": 512}}
JSON
"$build/bench/bench_executor" --write-mlp "$out/mlp_300_100.onnx"
for model in "$root/resources/models/lenet5_fashion.onnx" "$out/mlp_300_100.onnx" \
             "$root/resources/models/mobilenet_fashion.onnx" "$root/resources/models/resnet_fashion.onnx"; do
    stem=$(basename "$model" .onnx)
    for format in qdq qop; do
        "$build/app/lathe-cli" apply "$model" --recipe "$out/int8.json" -o "$out/${stem}_$format.onnx" \
            --format $format --data idx:/usr/share/datasets/fashion-mnist --limit 1000 > "$out/${stem}_$format.log"
        echo "$out/${stem}_$format.onnx: $(grep -m1 -i 'top-1' "$out/${stem}_$format.log" || true)"
    done
done
