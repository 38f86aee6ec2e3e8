#!/usr/bin/env bash
# naqs lm vs its PyTorch peer on the CPU, measured in the same run: the default model of
# `naqs lm train` (d_model 128, 4 layers, MHA, Dh 32; context 256 for generation; f32) —
# training tokens/s (forward + cross entropy + backward, batch 16 x 128), cached generation
# (T = 256) and uncached generation (first 32 positions) at batch 1 and 64, at 1 and 2 threads.
# naqs (build/bench_lm) and torch (bench/peer_torch_lm.py, Debian's python3-torch) alternate
# round by round, so a change of load hits both; every row carries the 1-minute load average.
# Writes raw.csv and table.md (median over rounds, naqs/torch ratios, cached/uncached gains) into
# the output folder and prints the table. A benchmark, not a test: it never asserts timings.
#
# Usage: bench/run_lm_vs_torch.sh [--build build] [--rounds 3] [--threads "1 2"]
#          [--variant mha] [--out BUILD/lm_vs_torch] [--python /usr/bin/python3]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build rounds=3 threads="1 2" variant=mha out= python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2 ;;
    --rounds) rounds=$2 ;;
    --threads) threads=$2 ;;
    --variant) variant=$2 ;;
    --out) out=$2 ;;
    --python) python=$2 ;;
    *) echo "run_lm_vs_torch.sh: unknown option $1 (allowed: --build --rounds --threads --variant --out --python)" >&2; exit 2 ;;
  esac
  shift 2
done
[ -x "$build/bench_lm" ] || { echo "run_lm_vs_torch.sh: $build/bench_lm is missing; build first (scripts/build.sh)" >&2; exit 2; }
"$python" -c "import torch" 2>/dev/null || { echo "run_lm_vs_torch.sh: $python cannot import torch; apt-get install python3-torch" >&2; exit 2; }
out=${out:-$build/lm_vs_torch}
mkdir -p "$out"
# peer model flags for a sweep-style variant name: <mha|gqaG|mqa>[-claS][-dhD] at d_model 128
dh=$(sed -n 's/.*-dh\([0-9]*\).*/\1/p' <<<"$variant"); dh=${dh:-32}
share=$(sed -n 's/.*-cla\([0-9]*\).*/\1/p' <<<"$variant"); share=${share:-1}
heads=$((128 / dh))
case "$variant" in mqa*) kv=1 ;; gqa*) kv=$(sed -n 's/^gqa\([0-9]*\).*/\1/p' <<<"$variant") ;; *) kv=$heads ;; esac
echo "impl,metric,threads,batch,T,tokens_per_s,load,round" > "$out/raw.csv"
load() { cut -d' ' -f1 /proc/loadavg; }
for r in $(seq 1 "$rounds"); do
  for t in $threads; do
    OMP_NUM_THREADS=$t OMP_WAIT_POLICY=passive "$build/bench_lm" --variant "$variant" --steps 5 \
      | awk -F, -v r="$r" '$1=="csv" {print "naqs," $8 "," $7 "," $9 "," $10 "," $11 "," $13 "," r}' >> "$out/raw.csv"
    OMP_NUM_THREADS=$t "$python" bench/peer_torch_lm.py --threads "$t" --heads "$heads" \
      --kv-heads "$kv" --kv-share "$share" --min-seconds 1 \
      | awk -F, -v r="$r" -v l="$(load)" '$1=="torch" {print $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," l "," r}' >> "$out/raw.csv"
    echo "round $r, $t thread(s) done (load $(load))" >&2
  done
done
"$python" - "$out" <<'PY'
import csv, statistics, sys, os
out = sys.argv[1]
rows = list(csv.DictReader(open(os.path.join(out, "raw.csv"))))
med = {}
for key in {(r["impl"], r["metric"], r["threads"], r["batch"]) for r in rows}:
    v = [float(r["tokens_per_s"]) for r in rows if (r["impl"], r["metric"], r["threads"], r["batch"]) == key]
    med[key] = statistics.median(v)
loads = [float(r["load"]) for r in rows]
lines = ["| metric | batch | threads | naqs tokens/s | torch tokens/s | naqs/torch |", "|---|---|---|---|---|---|"]
for m in ("train", "cached", "uncached"):
    for b in sorted({k[3] for k in med if k[1] == m}, key=int):
        for t in sorted({k[2] for k in med}, key=int):
            n, p = med.get(("naqs", m, t, b)), med.get(("torch", m, t, b))
            if n is None or p is None: continue
            lines.append(f"| {m} | {b} | {t} | {n:.0f} | {p:.0f} | {n / p:.2f} |")
lines.append("")
lines.append("| impl | batch | threads | cached / uncached |")
lines.append("|---|---|---|---|")
for impl in ("naqs", "torch"):
    for b in sorted({k[3] for k in med if k[1] == "cached"}, key=int):
        for t in sorted({k[2] for k in med}, key=int):
            c, u = med.get((impl, "cached", t, b)), med.get((impl, "uncached", t, b))
            if c and u: lines.append(f"| {impl} | {b} | {t} | {c / u:.1f} |")
lines.append("")
lines.append(f"medians over rounds; 1-minute load average {min(loads):.2f}-{max(loads):.2f}")
open(os.path.join(out, "table.md"), "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
