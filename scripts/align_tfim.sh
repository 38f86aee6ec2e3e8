#!/usr/bin/env bash
# Application 1 of issue 19 (docs/ML.md, "Representation alignment"): TFIM chain N = 20 at
# h = 0.5, 1, 1.5; NAQS conv1d (seeds 1, 2) and an RBM trained by `naqs vmc`, probed on 1024
# configurations drawn from the exact ground state (`naqs ed --sample`). Checkpoints along the
# training are kept by copying the checkpoint file whenever its step changes (it is replaced
# atomically every --checkpoint-every steps), so one run gives the whole trajectory.
# Usage: scripts/align_tfim.sh OUTDIR [STEPS] [EVERY]      (NAQS=path/to/naqs, JOBS=2)
set -euo pipefail
out=${1:?usage: align_tfim.sh OUTDIR [STEPS] [EVERY]}
steps=${2:-200}
every=${3:-25}
naqs=${NAQS:-build-cpu/naqs}
jobs=${JOBS:-2}
py=/usr/bin/python3
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

train() {  # h model seed
  local h=$1 model=$2 seed=$3 dir="$out/h$1/$2_s$3"
  mkdir -p "$dir"
  local args=(--L 20 --h "$h" --steps "$steps" --checkpoint-every "$every" --seed "$seed"
              --obs-samples 4096 --out "$dir/run.h5" --checkpoint "$dir/run.ckpt" --quiet)
  if [ "$model" = rbm ]; then args+=(--model rbm --alpha 1); else
    args+=(--network conv1d --width 16 --depth 2); fi
  local t0=$(date +%s)
  nice -n 10 "$naqs" vmc "${args[@]}" > "$dir/vmc.log" 2>&1 &
  local pid=$!
  # keep every checkpoint: copy it to ckpt_<step>.h5 when its step attribute changes
  $py - "$dir" "$pid" <<'PY'
import os, shutil, sys, time, h5py
d, pid = sys.argv[1], int(sys.argv[2])
seen = set()
def grab():
    p = os.path.join(d, "run.ckpt")
    if not os.path.exists(p): return
    try:
        tmp = os.path.join(d, "copy.tmp"); shutil.copyfile(p, tmp)
        with h5py.File(tmp, "r") as f: step = int(f.attrs["step"])
    except Exception: return
    if step not in seen:
        seen.add(step); os.replace(tmp, os.path.join(d, "ckpt_%05d.h5" % step))
while True:
    alive = os.path.exists("/proc/%d" % pid)
    grab()
    if not alive: break
    time.sleep(0.2)
PY
  wait "$pid"
  echo "$(( $(date +%s) - t0 ))" > "$dir/wall_seconds"
}
export -f train
export out steps every naqs py

for h in 0.5 1 1.5; do
  mkdir -p "$out/h$h"
  [ -f "$out/h$h/cfg.h5" ] || nice -n 10 "$naqs" ed --L 20 --h "$h" --sample 1024 --seed 7 \
      --out "$out/h$h/cfg.h5" > "$out/h$h/ed.log"
done
printf '%s\n' 0.5:naqs:1 0.5:naqs:2 0.5:rbm:1 1:naqs:1 1:naqs:2 1:rbm:1 1.5:naqs:1 1.5:naqs:2 \
    1.5:rbm:1 | xargs -P "$jobs" -I{} bash -c 'IFS=: read h m s <<< "{}"; train $h $m $s'
echo "trainings done: $out"
