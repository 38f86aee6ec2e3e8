#!/usr/bin/env bash
# Installs what is missing, builds (CUDA included when the toolkit is present) and runs the
# test suite: unit, statistical and gpu tiers (gpu tests skip without a GPU). The slow tier
# is kept out: run it with `ctest --test-dir build -L slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir "${NAQS_BUILD_DIR:-build}" -L 'unit|statistical|gpu' --output-on-failure \
      -j "${NAQS_JOBS:-2}" --timeout 900
