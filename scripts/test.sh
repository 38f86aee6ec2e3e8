#!/usr/bin/env bash
# Installs what is missing, builds (CUDA included when the toolkit is present) and runs the
# test suite: unit, statistical, gpu, cluster and fuzz tiers (gpu tests skip without a GPU), then
# the gpuemu tier: the gpu tests again on the host emulation of the device (NAQS_CUDA=EMU, a
# second build in build-emu/ that needs no CUDA toolkit), so every kernel runs in CI. The
# cluster tier drives a real single-node Slurm and MPI launchers: this script starts the local
# Slurm (scripts/slurm_local.sh) before ctest and stops it on exit. The slow tier is kept out:
# run it with `ctest --test-dir build -L slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# A test Slurm of our own, unless the caller points SLURM_CONF at one (NAQS_SLURM=0: none; the
# cluster tests that need it then skip).
if [ "${NAQS_SLURM:-1}" = 1 ] && [ -z "${SLURM_CONF:-}" ]; then
  trap 'bash scripts/slurm_local.sh stop' EXIT
  bash scripts/slurm_local.sh start
  eval "$(bash scripts/slurm_local.sh env)"
fi
# ctest runs two tests at once on two cores: OpenMP threads that spin while waiting would steal
# the other test's core (measured: up to 20x slower VMC tests). Passive waiting changes no result.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
status=0
ctest --test-dir "${NAQS_BUILD_DIR:-build}" -L 'unit|statistical|gpu|cluster|fuzz' --output-on-failure \
      -j "${NAQS_JOBS:-2}" --timeout 1800 || status=$?
# gpuemu: only what the gpu tier needs (NAQS_GPU_MINIMAL), its two test programs.
emu=${NAQS_EMU_BUILD_DIR:-build-emu}
cmake -S . -B "$emu" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNAQS_CUDA=EMU -DNAQS_GPU_MINIMAL=ON
cmake --build "$emu" -j "${NAQS_JOBS:-2}" --target naqs_gpu_tests naqs_emu_tests
ctest --test-dir "$emu" -L gpuemu --output-on-failure -j "${NAQS_JOBS:-2}" --timeout 1800 \
  || status=$?
exit $status
