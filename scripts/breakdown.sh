#!/usr/bin/env bash
# The MCMC breakdown study in one command (validation/breakdown/README.md):
#   scripts/breakdown.sh [OUT_DIR [naqs breakdown options...]]
# Builds naqs if build/naqs is missing, runs `naqs breakdown` (default: TFIM chain N=20,
# h = 0.3,0.6,0.9,1.2,1.5; a few CPU minutes), then draws OUT_DIR/breakdown.png with the system
# python (python3-h5py, python3-matplotlib from scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-breakdown-$(date -u +%Y%m%d-%H%M%S)}
[ $# -gt 0 ] && shift
exe=${NAQS_EXE:-build/naqs}
[ -x "$exe" ] || bash scripts/build.sh
"$exe" breakdown --out "$out" "$@"
/usr/bin/python3 validation/breakdown/plot_breakdown.py "$out/breakdown.h5" "$out/breakdown.png"
echo "breakdown: table above, results in $out/breakdown.h5, plot in $out/breakdown.png"
