#!/bin/bash
# The Pong study of docs/ML.md (issue 17): an EDM world model and a DDPM baseline of the same
# size, trained on data/atari/pong.h5 (scripts/fetch_atari.sh), then 15-step rollouts of every
# held-out episode with Euler 1, 3, 10 and Heun 3 (EDM) and Euler/DDIM 3 and 10 (DDPM), beside
# copying the last real frame; prints the table of docs/ML.md (scripts/world_model_table.py).
#   scripts/pong_study.sh [--build DIR] [--dir OUT] [--steps N] [--start S]
# --start S: the rollouts begin at frame S of every held-out episode (0: the episode's start,
# where only the agent's paddle moves until the first serve; the study's table uses 0 and 200).
# Each training runs on one thread (OMP_NUM_THREADS=1), both at once; an existing model in
# OUT is kept (delete it to train again), an interrupted one resumes from its checkpoint.
set -euo pipefail
build=build out=pong_study steps=5000 start=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2; shift 2 ;;
    --dir) out=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --start) start=$2; shift 2 ;;
    *) echo "pong_study.sh: unknown option '$1' (allowed: --build DIR, --dir OUT, --steps N, --start S)" >&2; exit 2 ;;
  esac
done
naqs=$(realpath "$build/naqs")
data=$(realpath data/atari/pong.h5)
mkdir -p "$out" && cd "$out"
model="--channels 16,32,32 --groups 4 --cond-dim 64 --action-dim 16"
train() {  # objective
  [ -f "$1.h5" ] && return 0
  local resume=""; [ -f "$1.h5.ckpt" ] && resume=--resume
  OMP_NUM_THREADS=1 /usr/bin/time -f "$1: %e s wall, %U s user" "$naqs" diffusion train \
    --data "$data" -o "$1.h5" --objective "$1" $model --train-steps "$steps" --batch 32 \
    --lr 1e-3 --checkpoint-every 250 --seed 1 --no-png $resume > "$1.log" 2>&1
}
train edm & train ddpm & wait
rollout() {  # model sampler steps [png]
  local png=--no-png; [ "${4:-}" = png ] && png=""
  /usr/bin/time -f "$1 $2 $3: %e s wall" "$naqs" diffusion rollout --checkpoint "$1.h5" \
    --data "$data" --horizon 15 --start "$start" --sampler "$2" --steps "$3" \
    -o "r${start}_$1_$2$3.h5" $png > /dev/null
}
rollout edm euler 1; rollout edm euler 3 png; rollout edm euler 10; rollout edm heun 3
rollout ddpm euler 3 png; rollout ddpm euler 10
cd - > /dev/null
r="$out/r${start}"
/usr/bin/python3 scripts/world_model_table.py "${r}_edm_euler1.h5" "${r}_edm_euler3.h5" \
  "${r}_edm_euler10.h5" "${r}_edm_heun3.h5" "${r}_ddpm_euler3.h5" "${r}_ddpm_euler10.h5"
