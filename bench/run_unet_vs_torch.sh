#!/usr/bin/env bash
# naqs's diffusion world-model U-Net vs its PyTorch peer on the CPU, measured in the same run
# (issue 17's benchmark): the default world-model shape (context 4, 40x40, channels 32,64,64,
# groups 8, cond_dim 128, action_dim 16, noise_features 16; f32) — training samples/s (forward
# + backward + AdamW step, batch 32) and imagined frames/s at 3 Euler steps (1 and 64 rollouts at
# once), at 1 and 2 threads. naqs (BUILD/bench_unet) and torch (bench/peer_torch_unet.py,
# Debian's python3-torch) alternate round by round, so a change of load hits both; every row
# carries the 1-minute load average. Stops (exit 1) unless both print the same parameter count.
# Writes raw.csv and table.md (median over rounds, naqs/torch ratios, load range) into the output
# folder and prints the table. A benchmark, not a test: it never asserts timings.
#
# Usage: bench/run_unet_vs_torch.sh [--build build] [--rounds 3] [--threads "1 2"]
#          [--horizon 4] [--min-seconds 2] [--out BUILD/unet_vs_torch] [--python /usr/bin/python3]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build rounds=3 threads="1 2" horizon=4 min_seconds=2 out= python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2 ;;
    --rounds) rounds=$2 ;;
    --threads) threads=$2 ;;
    --horizon) horizon=$2 ;;
    --min-seconds) min_seconds=$2 ;;
    --out) out=$2 ;;
    --python) python=$2 ;;
    *) echo "run_unet_vs_torch.sh: unknown option $1 (allowed: --build --rounds --threads --horizon --min-seconds --out --python)" >&2; exit 2 ;;
  esac
  shift 2
done
[ -x "$build/bench_unet" ] || { echo "run_unet_vs_torch.sh: $build/bench_unet is missing; build first (scripts/build.sh)" >&2; exit 2; }
"$python" -c "import torch" 2>/dev/null || { echo "run_unet_vs_torch.sh: $python cannot import torch; apt-get install python3-torch" >&2; exit 2; }
out=${out:-$build/unet_vs_torch}
mkdir -p "$out"
common=(--batch 32 --rollouts 1,64 --horizon "$horizon" --steps 3 --min-seconds "$min_seconds")
echo "impl,metric,threads,batch,value,unit,load,round" > "$out/raw.csv"
load() { cut -d' ' -f1 /proc/loadavg; }
for r in $(seq 1 "$rounds"); do
  for t in $threads; do
    naqs_out=$(OMP_NUM_THREADS=$t OMP_WAIT_POLICY=passive "$build/bench_unet" "${common[@]}")
    torch_out=$(OMP_NUM_THREADS=$t "$python" bench/peer_torch_unet.py --threads "$t" "${common[@]}")
    np=$(sed -n 's/^params,//p' <<<"$naqs_out"); tp=$(sed -n 's/^params,//p' <<<"$torch_out")
    if [ "$np" != "$tp" ]; then
      echo "run_unet_vs_torch.sh: naqs has $np parameters but the torch peer $tp: not the same U-Net" >&2
      exit 1
    fi
    awk -F, -v r="$r" '$1=="csv" {print "naqs," $7 "," $6 "," $8 "," $9 "," $10 "," $12 "," r}' <<<"$naqs_out" >> "$out/raw.csv"
    awk -F, -v r="$r" -v l="$(load)" '$1=="torch" {print $0 "," l "," r}' <<<"$torch_out" >> "$out/raw.csv"
    echo "round $r, $t thread(s) done ($np parameters each; load $(load))" >&2
  done
done
"$python" - "$out" <<'PY'
import csv, statistics, sys, os
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "raw.csv"))))
med, load = {}, {}
for key in {(r["impl"], r["metric"], r["threads"], r["batch"]) for r in rows}:
    sel = [r for r in rows if (r["impl"], r["metric"], r["threads"], r["batch"]) == key]
    med[key] = statistics.median(float(r["value"]) for r in sel)
    load[key] = [float(r["load"]) for r in sel]
lines = ["| metric | batch | threads | naqs | torch | naqs/torch | load (1 min) |",
         "|---|---|---|---|---|---|---|"]
for m, unit in (("train", "samples/s"), ("imagine", "frames/s")):
    for b in sorted({k[3] for k in med if k[1] == m}, key=int):
        for t in sorted({k[2] for k in med}, key=int):
            n, p = med.get(("naqs", m, t, b)), med.get(("torch", m, t, b))
            if n is None or p is None: continue
            ls = load[("naqs", m, t, b)] + load[("torch", m, t, b)]
            lines.append(f"| {m} ({unit}) | {b} | {t} | {n:.1f} | {p:.1f} | {n / p:.2f} | "
                         f"{min(ls):.1f}-{max(ls):.1f} |")
lines.append("")
lines.append(f"medians over {len({r['round'] for r in rows})} rounds; f32; imagine: 3 Euler steps "
             "per frame")
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
