#!/usr/bin/env bash
# naqs vs its PyTorch peer on the CPU, measured in the same run: the 1D NAQS (f32, width 16,
# depth 3, batch 256) for cached sampling, naive sampling and TFIM local energies, N in
# {32,64,128,256}, at 1 and 2 threads. The two programs alternate round by round (naqs then
# torch, for each thread count), so a change of machine load hits both; every measurement
# carries the 1-minute load average. Each program runs once per N and metric under
# /usr/bin/time, so the CPU time it used is recorded beside its wall time (cpu.csv: user +
# system over wall = the cores it kept busy, set-up included; this shows whether a second
# thread did any work). Writes
# raw.csv (one row per measurement and round), cpu.csv, log.txt (both programs' full output)
# and table.md (median and min over the rounds, naqs/torch ratios, cached/naive gains, cores
# used) into the output folder and prints the table. A benchmark, not a test: it never asserts
# timings.
#
# Usage: bench/run_naqs_vs_torch.sh [--build build] [--rounds 3] [--threads "1 2"]
#          [--sizes 32,64,128,256] [--min-seconds 0.5] [--only cached,naive,eloc]
#          [--out BUILD/naqs_vs_torch] [--python /usr/bin/python3]
# Needs build/bench_naqs_sampling and Debian's python3-torch (/usr/bin/python3). One round at
# one thread count takes ~6 minutes on a loaded 2-core machine (N = 256 dominates).
# The environment passes through to both programs: on shared (oversubscribed) cores,
# OMP_WAIT_POLICY=passive stops idle OpenMP threads spin-waiting, which otherwise makes 2 threads
# slower than 1 for naqs and torch alike; the table records the policy.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build rounds=3 threads="1 2" sizes=32,64,128,256 min_seconds=0.5
only=cached,naive,eloc out= python=/usr/bin/python3
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2 ;;
    --rounds) rounds=$2 ;;
    --threads) threads=$2 ;;
    --sizes) sizes=$2 ;;
    --min-seconds) min_seconds=$2 ;;
    --only) only=$2 ;;
    --out) out=$2 ;;
    --python) python=$2 ;;
    *) echo "run_naqs_vs_torch.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
bench="$build/bench_naqs_sampling"
out=${out:-$build/naqs_vs_torch}
[ -x "$bench" ] || { echo "run_naqs_vs_torch.sh: $bench not built" >&2; exit 2; }
mkdir -p "$out"
raw="$out/raw.csv" log="$out/log.txt" cpu="$out/cpu.csv"
: > "$log"
echo "impl,threads,N,metric,round,wall_s,user_s,sys_s" > "$cpu"
echo "impl,commit,device,threads,dtype,N,width,depth,batch,rep,load1,cached_samples_per_s,naive_samples_per_s,eloc_configs_per_s,eloc_samples_per_s" > "$raw"
common=(--width 16 --depth 3 --batch 256 --min-seconds "$min_seconds" --repeats 1)
# Keeps the CSV rows of one program's output, with the round number as the repetition.
rows() { awk -F, -v OFS=, -v r="$1" '/^(naqs|torch),/ { $10 = r; print }'; }
# timed IMPL THREADS N METRIC ROUND COMMAND...: runs the command under /usr/bin/time, appends
# its rows to raw.csv and its wall / user / system seconds to cpu.csv.
timed() {
  local impl=$1 t=$2 n=$3 metric=$4 round=$5 times
  shift 5
  times=$(mktemp)
  /usr/bin/time -f "%e,%U,%S" -o "$times" "$@" | tee -a "$log" | rows "$round" >> "$raw"
  echo "$impl,$t,$n,$metric,$round,$(tail -n 1 "$times")" >> "$cpu"
  rm -f "$times"
}
for ((round = 0; round < rounds; ++round)); do
  for t in $threads; do
    echo "# round $round, $t thread(s), load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$log"
    for n in ${sizes//,/ }; do
      for m in ${only//,/ }; do
        OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t timed naqs "$t" "$n" "$m" "$round" \
          "$bench" --dtype f32 --sizes "$n" --only "$m" "${common[@]}"
        OMP_NUM_THREADS=$t timed torch "$t" "$n" "$m" "$round" \
          "$python" bench/peer_torch_naqs.py --threads "$t" --sizes "$n" --only "$m" "${common[@]}"
      done
    done
  done
done
"$python" bench/naqs_vs_torch_table.py "$raw" "$cpu" | tee "$out/table.md"
