#!/usr/bin/env bash
# Configures and builds naqs into build/ (Release, CUDA when nvcc is found, -j2 by default).
# Usage: scripts/build.sh [extra cmake -D options...]   env: NAQS_BUILD_DIR, NAQS_JOBS
set -euo pipefail
cd "$(dirname "$0")/.."
build=${NAQS_BUILD_DIR:-build}
# nvcc is on PATH on our machines; /usr/local/cuda/bin is the toolkit's default location.
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="$PATH:/usr/local/cuda/bin"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build" -j "${NAQS_JOBS:-2}"
