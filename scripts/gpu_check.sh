#!/usr/bin/env bash
# On a machine WITH a GPU: builds the GPU-only configuration (runtime, kernels, GPU parity
# tests, benchmarks; no HDF5/Boost/CLI), runs every GPU test and the benchmarks under a hard
# timeout, and prints a summary table last. Logs go to $OUT (or ./gpu_out).
# Usage: bash scripts/gpu_check.sh [total-seconds, default 480]
# Without apt on that machine, first run scripts/gpu_debs.sh here and carry .debs/.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${1:-480}
out=${OUT:-$PWD/gpu_out}
mkdir -p "$out"
start=$(date +%s)
left() { echo $(( budget - ($(date +%s) - start) )); }

prefix=$PWD/.prefix
if [ -d .debs ] && ls .debs/*.deb >/dev/null 2>&1; then
  mkdir -p "$prefix"
  for f in .debs/*.deb; do dpkg -x "$f" "$prefix"; done
  multi=$(ls -d "$prefix"/usr/lib/*-linux-gnu 2>/dev/null | head -1)
  export CMAKE_PREFIX_PATH="$prefix/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}"
  export LD_LIBRARY_PATH="$multi:$multi/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  extra=(-DBLAS_LIBRARIES="$multi/openblas-pthread/libopenblas.so"
         -DNAQS_CBLAS_INCLUDE="$prefix/usr/include/$(basename "$multi")/openblas-pthread")
else
  extra=()
fi

status_build=FAIL; status_tests=FAIL
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
if timeout "$(left)" cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAQS_CUDA=ON \
     -DNAQS_GPU_MINIMAL=ON "${extra[@]}" >"$out/configure.log" 2>&1 &&
   timeout "$(left)" cmake --build build-gpu -j "$(nproc)" >"$out/build.log" 2>&1; then
  status_build=ok
  timeout "$(left)" ctest --test-dir build-gpu -L gpu --output-on-failure >"$out/ctest.log" 2>&1 \
    && status_tests=ok
fi
tail -n 40 "$out/build.log" 2>/dev/null | grep -E "error|Error" | head -5
grep -E "tests passed|Failed|SKIPPED|\*\*\*" "$out/ctest.log" 2>/dev/null | tail -15

bench_rows=()
for b in build-gpu/bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  t=$(left); [ "$t" -gt 10 ] || { bench_rows+=("$name skipped (time)"); continue; }
  if timeout $(( t < 120 ? t : 120 )) "$b" >"$out/$name.txt" 2>&1; then
    bench_rows+=("$name ok")
  else
    bench_rows+=("$name FAIL/timeout")
  fi
done

echo
echo "==== naqs GPU check summary ($(( $(date +%s) - start )) s) ===="
printf '%-28s %s\n' build "$status_build" "gpu tests" "$status_tests"
grep -E "^[0-9]+% tests passed" "$out/ctest.log" 2>/dev/null
for r in "${bench_rows[@]}"; do printf '%-28s %s\n' ${r%% *} "${r#* }"; done
