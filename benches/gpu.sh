#!/usr/bin/env bash
# Run on a machine with a real GPU, in one go: the adapters, the self-test, the
# kernel GFLOP/s and the five training figures of both reference models on
# Vulkan. Every JSON goes into one folder (default: gpu-results/).
#
#   bash benches/gpu.sh [OUT_DIR] [EPOCHS]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gpu-results}
epochs=${2:-10}
mkdir -p "$out"
export LATENT_BACKEND=${LATENT_BACKEND:-vulkan}
export LATENT_ADAPTER=${LATENT_ADAPTER:-gpu}
cargo build --release
bin=target/release/latent
"$bin" devices | tee "$out/devices.txt"
"$bin" selftest --json "$out/selftest.json" | tail -n 3
"$bin" bench --kernels --json "$out/kernels.json"
"$bin" plan --model mlp --json "$out/plan-mlp.json"
"$bin" plan --model conv --json "$out/plan-conv.json"
"$bin" bench --model mlp --profile --json "$out/profile-mlp.json"
"$bin" bench --model conv --profile --json "$out/profile-conv.json"
"$bin" bench --model mlp --epochs "$epochs" --json "$out/bench-mlp.json"
"$bin" bench --model conv --epochs "$epochs" --json "$out/bench-conv.json"
echo "results in $out/"
