#!/usr/bin/env bash
# The face-aware distillation / recovery recipe of issue 13, on CPU, for anime (STYLE=... for another).
# Usage: nohup scripts/train_recipe.sh > lab_data/training/recipe.log 2>&1 &
# Every run checkpoints to lab_data/training/<name>/ and resumes exactly when the script runs again;
# the runs share one cache of teacher crops (random + face-centred), filled once before they start.
# Set STEPS_<NAME> to change a run's length (a resumed run with new steps re-stretches its cosine).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
export TF_CPP_MIN_LOG_LEVEL=2 KERAS_BACKEND="${KERAS_BACKEND:-tensorflow}"
# One thread per run: the runs go in parallel on a 2-core machine shared with other work.
export TF_NUM_INTRAOP_THREADS="${TF_NUM_INTRAOP_THREADS:-1}" TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS=1
STYLE="${STYLE:-anime}"
LOG=lab_data/training
mkdir -p "$LOG"
# The recipe: 512 px short side, 2 views (as-is; mirrored + colour jitter) x (4 random + 2 face-centred
# 160 px crops); a quarter of every batch from the face crops; L1 + 0.5 (1 - SSIM); Adam, cosine;
# whole held-out photos validated every 200 steps (PSNR + eyes/nose/mouth SSIM); best kept.
RECIPE=(--style "$STYLE" --image-side 512 --crop 160 --batch-size 8 --views 2 --crops-per-view 4
        --face-crops 2 --face-share 0.25 --l1 1.0 --ssim 0.5 --val-full --val-every 200
        --checkpoint-every 100)
STUDENTS=models/weights/students
RECOVERED=models/weights/recovered
run() {  # name, steps, args...
  local name=$1 steps=$2; shift 2
  # MAX_MINUTES: a hard stop for every run (validated, checkpointed; the same command resumes it)
  nice -n 10 python -m models distill "${RECIPE[@]}" --steps "$steps" --work-dir "$LOG/$name" \
    ${MAX_MINUTES:+--max-minutes "$MAX_MINUTES"} "$@" \
    > "$LOG/$name.log" 2>&1
}
svd_trunk() {  # SVD (spatial) of the quarter-resolution trunk to a share of its MACs
  echo "{\"mac_ratio\": $1, \"mode\": \"spatial\", \"layers\": [\"Conv_4\", \"block_0_conv1\", \"block_0_conv2\", \"block_1_conv1\", \"block_1_conv2\", \"block_2_conv1\", \"block_2_conv2\", \"block_3_conv1\", \"block_3_conv2\", \"Conv_5\"]}"
}
svd_fitted() {  # SVD fitted to the layers' outputs on portraits, ranks shared out under one model MAC budget
  echo "{\"model_mac_ratio\": $1, \"fit\": \"activations\", \"layers\": [\"Conv\", \"Conv_1\", \"Conv_2\", \"Conv_3\", \"Conv_4\", \"block_0_conv1\", \"block_0_conv2\", \"block_1_conv1\", \"block_1_conv2\", \"block_2_conv1\", \"block_2_conv2\", \"block_3_conv1\", \"block_3_conv2\", \"Conv_5\", \"Conv_6\", \"Conv_7\", \"Conv_8\"]}"
}
# 1. The shared teacher cache (one throw-away step; its output stays in lab_data, never over a shipped file).
run cache-fill 1 --student trunk --width 8 --blocks 2 --out "$LOG/cache-fill/student"
# 2. The runs in parallel (RUNS selects some; on 2 shared cores 3 at a time is about the most that pays).
# *-more: continue the shipped weights with a fresh cosine (the .json keeps what was spent before).
# Later stages of the 3x student: a warm restart from its shipped weights at a lower rate; each arm adds its loss.
BOTTLE24_RESTART=(--student bottleneck --width 24 --blocks 4 --inner 16 --lr 2e-4 --face-share 0.5
                  --init-from "$STUDENTS/bottleneck-w24-b4-i16")
RUNS="${RUNS:-trunk-w16-b2 trunk-w8-b2 prune-t375 prune-i625 prune-t50 svd-trunk}"
for name in $RUNS; do
  case $name in
    trunk-w16-b2) run trunk-w16-b2 "${STEPS_TRUNK16:-3000}" --student trunk --width 16 --blocks 2 --lr 5e-4 \
                    --out "$STUDENTS/trunk-w16-b2" & ;;
    trunk-w16-b2-more) run trunk-w16-b2-more "${STEPS_TRUNK16_MORE:-1800}" --student trunk --width 16 --blocks 2 \
                         --lr 3e-4 --face-share 0.5 --lpips 1.0 --init-from "$STUDENTS/trunk-w16-b2" \
                         --out "$STUDENTS/trunk-w16-b2" & ;;
    # third stage: the same loss, a lower rate, more steps (its validation was still rising)
    trunk-w16-b2-more2) run trunk-w16-b2-more2 "${STEPS_TRUNK16_MORE2:-2800}" --student trunk --width 16 --blocks 2 \
                          --lr 2e-4 --face-share 0.5 --lpips 1.0 --init-from "$STUDENTS/trunk-w16-b2" \
                          --out "$STUDENTS/trunk-w16-b2" & ;;
    # the curve's ~2x point: wider trunk, the LPIPS + face-weighted loss from the first step
    trunk-w24-b2) run trunk-w24-b2 "${STEPS_TRUNK24:-2500}" --student trunk --width 24 --blocks 2 --lr 5e-4 \
                    --face-share 0.5 --lpips 1.0 --out "$STUDENTS/trunk-w24-b2" & ;;
    # ~3x students that keep the teacher's 128-channel residual stream and all 4 blocks (the student form
    # of inner pruning): one narrows the blocks' inner convs more, the other the full-resolution layers.
    # Shipped: 4800 / 4200 steps, then resumed to these lengths (the cosine re-stretched over them).
    bottleneck-w16-i32) run bottleneck-w16-i32 "${STEPS_BOTTLE16:-8400}" --student bottleneck --width 16 --blocks 4 \
                          --inner 32 --lr 5e-4 --face-share 0.5 --lpips 1.0 \
                          --out "$STUDENTS/bottleneck-w16-b4-i32" & ;;
    bottleneck-w24-i16) run bottleneck-w24-i16 "${STEPS_BOTTLE24:-7800}" --student bottleneck --width 24 --blocks 4 \
                          --inner 16 --lr 5e-4 --face-share 0.5 --lpips 1.0 \
                          --out "$STUDENTS/bottleneck-w24-b4-i16" & ;;
    # fourth stage of the 3x student, two arms from the shipped weights (warm restart at a lower rate):
    # -more as before, -feat adds feature distillation on the trunk's and half-resolution outputs
    # (Conv_5, Conv_7; teacher activations ~0.2 mean |a|); -feat writes to lab_data, copied over if it wins
    bottleneck-w24-i16-more) run bottleneck-w24-i16-more "${STEPS_BOTTLE24_MORE:-3000}" "${BOTTLE24_RESTART[@]}" \
                               --lpips 1.0 --out "$STUDENTS/bottleneck-w24-b4-i16" & ;;
    bottleneck-w24-i16-feat) run bottleneck-w24-i16-feat "${STEPS_BOTTLE24_FEAT:-2000}" "${BOTTLE24_RESTART[@]}" \
                               --lpips 1.0 --feature-weight 0.5 --feature-layers Conv_5,Conv_7 \
                               --out "$LOG/bottleneck-w24-i16-feat/student" & ;;
    # fifth stage, two arms from the shipped (fourth-stage) weights: -more2 repeats the fourth stage's warm
    # restart; -l1ssim drops the LPIPS term (a quarter of a step's time) to see whether PSNR gains at equal
    # wall time; -l1ssim writes to lab_data, copied over if it wins (it did: the shipped fifth stage)
    bottleneck-w24-i16-more2) run bottleneck-w24-i16-more2 "${STEPS_BOTTLE24_MORE2:-4800}" "${BOTTLE24_RESTART[@]}" \
                                --lpips 1.0 --out "$STUDENTS/bottleneck-w24-b4-i16" & ;;
    bottleneck-w24-i16-l1ssim) run bottleneck-w24-i16-l1ssim "${STEPS_BOTTLE24_L1SSIM:-6400}" "${BOTTLE24_RESTART[@]}" \
                                 --out "$LOG/bottleneck-w24-i16-l1ssim/student" & ;;
    # sixth stage: the fifth (-l1ssim, shipped) repeated from its weights, another warm restart
    bottleneck-w24-i16-l1ssim2) run bottleneck-w24-i16-l1ssim2 "${STEPS_BOTTLE24_L1SSIM2:-6400}" \
                                  "${BOTTLE24_RESTART[@]}" --out "$LOG/bottleneck-w24-i16-l1ssim2/student" & ;;
    # seventh stage, two arms from the shipped (sixth-stage) weights: -l1ssim3 repeats the warm restart;
    # -face75 takes three quarters of every batch from face crops (eyes SSIM is the measure furthest short);
    # both write to lab_data, the better one is copied over the shipped weights if it beats them
    bottleneck-w24-i16-l1ssim3) run bottleneck-w24-i16-l1ssim3 "${STEPS_BOTTLE24_L1SSIM3:-6800}" \
                                  "${BOTTLE24_RESTART[@]}" --out "$LOG/bottleneck-w24-i16-l1ssim3/student" & ;;
    bottleneck-w24-i16-face75) run bottleneck-w24-i16-face75 "${STEPS_BOTTLE24_FACE75:-6800}" \
                                 "${BOTTLE24_RESTART[@]}" --face-share 0.75 \
                                 --out "$LOG/bottleneck-w24-i16-face75/student" & ;;
    # students started by least squares on the teacher's activations (--init fit, models/student_fit.py:
    # 20.6 dB before training for trunk-w16-b2 vs 14.4 from sliced kernels) with svd-a33's recipe
    # (L1 + SSIM, half of every batch from face crops, lr 3e-4); written to lab_data, copied over if they win
    trunk-w16-fit) run trunk-w16-fit "${STEPS_TRUNK16_FIT:-7000}" --student trunk --width 16 --blocks 2 \
                     --init fit --lr 3e-4 --face-share 0.5 --out "$LOG/trunk-w16-fit/student" & ;;
    # second stage of trunk-w16-fit (still rising at 25.6 dB when its time ran out, eyes drawn as smudges):
    # a fresh cosine from its weights with the LPIPS term added; copied over the shipped one if it wins
    trunk-w16-fit-lpips) run trunk-w16-fit-lpips "${STEPS_TRUNK16_FIT_LPIPS:-6000}" --student trunk --width 16 \
                           --blocks 2 --lr 2e-4 --face-share 0.5 --lpips 1.0 \
                           --init-from "$LOG/trunk-w16-fit/student" --out "$LOG/trunk-w16-fit-lpips/student" & ;;
    trunk-w12-fit) run trunk-w12-fit "${STEPS_TRUNK12_FIT:-7000}" --student trunk --width 12 --blocks 2 \
                     --init fit --lr 3e-4 --face-share 0.5 --out "$LOG/trunk-w12-fit/student" & ;;
    # both ends of the teacher kept (full resolution at 32 channels, the 128-channel stream with 4 blocks),
    # the half resolution (24) and the blocks' inner convs (20) thinned: 3.04x; fit start 20.3 dB
    fullres-w12-i20-fit) run fullres-w12-i20-fit "${STEPS_FULLRES12_FIT:-6000}" --student fullres --width 12 \
                           --blocks 4 --inner 20 --init fit --lr 3e-4 --face-share 0.5 \
                           --out "$LOG/fullres-w12-i20-fit/student" & ;;
    trunk-w8-b2) run trunk-w8-b2 "${STEPS_TRUNK8:-3000}" --student trunk --width 8 --blocks 2 --lr 5e-4 \
                   --out "$STUDENTS/trunk-w8-b2" & ;;
    prune-t375) run prune-t375 "${STEPS_PRUNE375:-2000}" --from-method prune \
                  --method-config '{"ratio": 0, "trunk_ratio": 0.375}' --lr 3e-4 --out "$RECOVERED/prune-t375" & ;;
    prune-t375-more) run prune-t375-more "${STEPS_PRUNE375_MORE:-1200}" --from-method prune \
                       --method-config '{"ratio": 0, "trunk_ratio": 0.375}' --lr 2e-4 \
                       --init-from "$RECOVERED/prune-t375" --out "$RECOVERED/prune-t375" & ;;
    prune-i625) run prune-i625 "${STEPS_PRUNEI625:-1500}" --from-method prune \
                  --method-config '{"ratio": 0, "inner_ratio": 0.625}' --lr 3e-4 --out "$RECOVERED/prune-i625" & ;;
    prune-i625-more) run prune-i625-more "${STEPS_PRUNEI625_MORE:-600}" --from-method prune \
                       --method-config '{"ratio": 0, "inner_ratio": 0.625}' --lr 1e-4 --face-share 0.5 \
                       --init-from "$RECOVERED/prune-i625" --out "$RECOVERED/prune-i625" & ;;
    prune-t50) run prune-t50 "${STEPS_PRUNE50:-2000}" --from-method prune \
                 --method-config '{"ratio": 0, "trunk_ratio": 0.5}' --lr 3e-4 --out "$RECOVERED/prune-t50" & ;;
    svd-trunk) run svd-trunk "${STEPS_SVD:-1000}" --from-method svd --method-config "$(svd_trunk 0.75)" \
                 --lr 3e-4 --out "$RECOVERED/svd-trunk" & ;;
    # the SVD curve's further points: the same trunk layers cut to 50 % and 35 % of their MACs
    svd-t50) run svd-t50 "${STEPS_SVD50:-300}" --from-method svd --method-config "$(svd_trunk 0.5)" \
               --lr 3e-4 --out "$RECOVERED/svd-t50" & ;;
    svd-t35) run svd-t35 "${STEPS_SVD35:-300}" --from-method svd --method-config "$(svd_trunk 0.35)" \
               --lr 3e-4 --out "$RECOVERED/svd-t35" & ;;
    # every conv but the 3-channel output, fitted to its outputs (PCA), ranks under a whole-model budget:
    # 3x and 4x fewer MACs start at 21.2 / 20.6 dB before any training (weight SVD at 3x: 10.4 dB; docs/compression.md)
    svd-a33) run svd-a33 "${STEPS_SVDA33:-11000}" --from-method svd --method-config "$(svd_fitted 0.33)" \
               --lr 3e-4 --face-share 0.5 --out "$RECOVERED/svd-a33" & ;;
    svd-a25) run svd-a25 "${STEPS_SVDA25:-11000}" --from-method svd --method-config "$(svd_fitted 0.25)" \
               --lr 3e-4 --face-share 0.5 --out "$RECOVERED/svd-a25" & ;;
    *) echo "unknown run $name" >&2; exit 2 ;;
  esac
done
wait
echo "done: $(date -u)"
