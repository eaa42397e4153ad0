#!/usr/bin/env bash
# Train on a leased GPU machine (no TensorFlow, no LiteRT, no network) within one device call.
# Here first:  python scripts/gpu_kit.py          (portraits at 512 px as WebP, their faces, the wheels)
# Then:        device run  command="scripts/gpu_train.sh"  carry=["gpu_kit"]  timeout_s=600
# Back here:   for f in <files_at>/gpu-*.tar.gz; do tar -xzf "$f" -C lab_data/gpu-runs; done, then measure with
#              scripts/recipe_table.py after copying the better ones into models/weights/students/.
# Every run is sized to the time left (BUDGET_S), keeps its best validation and a resumable checkpoint;
# the runs share the GPU (small networks: one process each, memory allocated on demand).
set -euo pipefail
cd "$(dirname "$0")/.."
KIT="${KIT:-gpu_kit}"  # the kit folder (scripts/gpu_kit.py --out)
[ -d "$KIT/portraits" ] || { echo "no $KIT/portraits: run python scripts/gpu_kit.py here and carry gpu_kit" >&2; exit 2; }
KIT="$(cd "$KIT" && pwd)"
export KERAS_BACKEND="${KERAS_BACKEND:-jax}" XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1
if ! python3 -c "import keras" 2>/dev/null; then  # the machine lacks keras: install the kit's wheels
  ls "$KIT"/wheels/*.whl > /dev/null 2>&1 || { echo "keras is missing and $KIT/wheels is empty: rebuild the kit with its wheels" >&2; exit 2; }
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$KIT"/wheels/*.whl
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export DCTNET_PORTRAITS="$KIT/portraits"
BUDGET_S="${BUDGET_S:-520}"             # seconds this script may take (a call runs at most 600)
RESULTS="${OUT:-lab_data/gpu}"           # $OUT on the device machine: what comes back
LAB="${LAB:-lab_data/gpu-runs}"      # the runs' work folders and logs
STUDENTS=models/weights/students
mkdir -p "$LAB" "$RESULTS"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$LAB/gpu.txt" 2>/dev/null || echo "no nvidia-smi" > "$LAB/gpu.txt"
# The recipe of scripts/train_recipe.sh with a GPU-sized batch (4x).
RECIPE=(--style anime --image-side 512 --crop 160 --batch-size "${BATCH:-32}" --views 2 --crops-per-view 4
        --face-crops 2 --face-share 0.5 --l1 1.0 --ssim 0.5 --lpips 1.0 --val-full --val-every 200
        --checkpoint-every 200 --data-dir "$DCTNET_PORTRAITS" --no-progress)
args_of() {  # the student of each run (RUNS selects; default: the 3x target's nearest, plain and with features)
  case $1 in
    bottleneck-w24-i16) echo --student bottleneck --width 24 --blocks 4 --inner 16 --lr 3e-4 \
                          --init-from "$STUDENTS/bottleneck-w24-b4-i16" ;;
    bottleneck-w24-i16-feat) echo --student bottleneck --width 24 --blocks 4 --inner 16 --lr 3e-4 \
                          --feature-weight 0.5 --feature-layers Conv_5,Conv_7 --init-from "$STUDENTS/bottleneck-w24-b4-i16" ;;
    bottleneck-w16-i32) echo --student bottleneck --width 16 --blocks 4 --inner 32 --lr 3e-4 \
                          --init-from "$STUDENTS/bottleneck-w16-b4-i32" ;;
    trunk-w24-b2) echo --student trunk --width 24 --blocks 2 --lr 3e-4 --init-from "$STUDENTS/trunk-w24-b2" ;;
    cache-fill) echo --student trunk --width 8 --blocks 2 --lr 1e-4 ;;
    *) echo "unknown run: $1 (known: bottleneck-w24-i16 bottleneck-w24-i16-feat bottleneck-w16-i32 trunk-w24-b2)" >&2
       return 2 ;;
  esac
}
distill() {  # name, extra args...: one `python -m models distill` of run `name`, logged
  local name=$1; shift
  # shellcheck disable=SC2046  # args_of prints words meant to split
  python3 -m models distill "${RECIPE[@]}" $(args_of "$name") --work-dir "$LAB/$name" --out "$LAB/$name/student" \
    "$@" >> "$LAB/$name.log" 2>&1 || echo "run $name failed (see $name.log)" >> "$LAB/failed.txt"
}
steps_fitting() {  # name, seconds: the steps that run reaches in that many more seconds at the pace of the
  # probe's second half (its first steps hold the compilation)
  python3 -c "import json; t=json.load(open('$LAB/$1/history.json'))['train']; a, b = t[len(t) // 2], t[-1]; \
print(int(b['step'] + $2 * (b['step'] - a['step']) / max(b['time_s'] - a['time_s'], 1e-9)))"
}
RUNS="${RUNS:-bottleneck-w24-i16 bottleneck-w24-i16-feat}"
for name in $RUNS; do args_of "$name" > /dev/null; done
# 1. The teacher's targets, once (one throw-away step; face crops from FACES.json, not the detector).
distill cache-fill --steps 1
# 2. A 200-step probe of each run side by side (compiles, measures its pace), then each run resumed with
#    the steps its pace fits into the time left, so its cosine ends inside the lease.
for name in $RUNS; do distill "$name" --steps 100000 --stop-at "${PROBE_STEPS:-200}" & done
wait
left=$(( BUDGET_S - SECONDS - 40 ))      # 40 s for the archives and the reply
(( left >= 60 )) || { echo "only $left s left after the probes: raise BUDGET_S or run fewer RUNS" | tee -a "$LAB/failed.txt"; RUNS_LEFT=""; }
for name in ${RUNS_LEFT-$RUNS}; do
  [ -f "$LAB/$name/history.json" ] || continue
  steps=$(steps_fitting "$name" "$left")
  echo "$name: $steps steps in $left s" | tee -a "$LAB/plan.txt"
  distill "$name" --steps "$steps" --max-minutes "$(python3 -c "print($left / 60)")" &
done
wait
# 3. What comes back: per run one archive (a call returns at most 8 files of 16 MiB) of its student
#    (.weights.h5 + .json with curve and hardware), history, best weights, checkpoint (to resume on the
#    next lease) and log.
for name in $RUNS; do
  [ -d "$LAB/$name" ] && tar -czf "$RESULTS/gpu-$name.tar.gz" -C "$LAB" "$name" "$name.log"
done
cp "$LAB/gpu.txt" "$LAB"/plan.txt "$RESULTS/" 2>/dev/null || true
ls -la "$RESULTS"; cat "$LAB/gpu.txt"; [ -f "$LAB/failed.txt" ] && cat "$LAB/failed.txt" || true
for name in $RUNS; do tail -c 300 "$LAB/$name.log"; echo; done
