#!/usr/bin/env bash
# Run HERE (a Debian machine with apt), before lending work to a GPU machine that has no apt:
# downloads the few .deb packages the GPU-only build needs into .debs/ (git-ignored), to be
# carried to the GPU machine (device tool: carry [".debs"]) and unpacked by gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs
cd .debs
apt-get download libopenblas-dev libopenblas0-pthread libopenblas-pthread-dev libgfortran5 \
                 libgtest-dev libgomp1 >/dev/null
ls -1
