#!/usr/bin/env bash
# Train the two default distillation students of DCT-Net (anime) on CPU and ship them.
# Usage: nohup scripts/train_students.sh > lab_data/training/train_students.log 2>&1 &
# Each run checkpoints to lab_data/training/<name>/ and resumes when started again; both runs share
# one cache of teacher outputs (lab_data/training/cache/), filled once before they start in parallel.
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}"
OUT=models/weights/students
SLIM_STEPS="${SLIM_STEPS:-2800}"
SEP_STEPS="${SEP_STEPS:-1600}"
SLIM=(--student slim --width 16 --blocks 2 --steps "$SLIM_STEPS" --out "$OUT/slim-w16-b2" --max-images 200 --crops-per-view 4 --init teacher --lr 5e-4)
SEP=(--student separable --width 32 --blocks 4 --steps "$SEP_STEPS" --out "$OUT/separable-w32-b4" --max-images 200 --crops-per-view 4 --init teacher --lr 5e-4)

# 1. Teacher targets for every (photo, view) + the first step of the slim run (fills the shared cache).
nice -n 10 python -m models distill "${SLIM[@]}" --stop-at 1
# 2. Both students in parallel (each resumes from its checkpoint when the script is run again).
nice -n 10 python -m models distill "${SLIM[@]}" > lab_data/training/slim.log 2>&1 &
SLIM_PID=$!
nice -n 10 python -m models distill "${SEP[@]}" > lab_data/training/separable.log 2>&1 &
SEP_PID=$!
wait "$SLIM_PID"
wait "$SEP_PID"
echo "done: $(date -u)"
