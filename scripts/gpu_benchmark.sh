#!/usr/bin/env bash
# Measure the Keras variants on a GPU machine with a non-TensorFlow Keras backend (JAX by default).
# Usage: scripts/gpu_benchmark.sh [jax|torch] [extra `python -m evaluation run` args...]
# Needs a venv with the backend's CUDA build (e.g. `pip install "jax[cuda12]"`); TensorFlow is not needed
# for Keras variants (LiteRT runs on the CPU). Writes runs/gpu_<backend>.json and .md (table + environment).
set -euo pipefail
backend="${1:-jax}"; shift || true
case "$backend" in jax|torch) ;; *) echo "backend must be jax or torch, got: $backend" >&2; exit 2;; esac
cd "$(dirname "$0")/.."
mkdir -p runs
export KERAS_BACKEND="$backend" TF_CPP_MIN_LOG_LEVEL=2
images="${DCTNET_IMAGES:-models/samples}"
python -m evaluation run --variant original --images "$images" --sizes 256,512,720,1024 \
  --groups static,latency,throughput,memory,quality --runs 30 --batches 1,4,8 \
  --json "runs/gpu_${backend}.json" --markdown "runs/gpu_${backend}.md" "$@"
python -m evaluation run --variant original --images "$images" --sizes 512,720,1024 --mixed-precision \
    --groups latency,throughput,memory,quality --runs 30 --batches 1,4,8 \
    --json "runs/gpu_${backend}_mixed.json" --markdown "runs/gpu_${backend}_mixed.md" "$@" || \
    echo "mixed precision run failed (see above); the fp32 table stands" >&2
