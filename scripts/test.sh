#!/usr/bin/env bash
# Installs what is missing, builds (CUDA included when the toolkit is present) and runs the
# test suite: unit, statistical and gpu tiers (gpu tests skip without a GPU). The slow tier
# is kept out: run it with `ctest --test-dir build -L slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# ctest runs two tests at once on two cores: OpenMP threads that spin while waiting would steal
# the other test's core (measured: up to 20x slower VMC tests). Passive waiting changes no result.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
ctest --test-dir "${NAQS_BUILD_DIR:-build}" -L 'unit|statistical|gpu' --output-on-failure \
      -j "${NAQS_JOBS:-2}" --timeout 1800
