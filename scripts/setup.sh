#!/usr/bin/env bash
# Installs the Debian packages naqs needs, only those missing, and says what it installs.
# Idempotent: a second run installs nothing. Run as root (or with sudo available).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libhdf5-dev hdf5-tools libboost-program-options-dev libboost-context-dev libopenblas-dev
  libgtest-dev
  python3 python3-pip python3-venv python3-numpy python3-h5py python3-matplotlib
  libopenmpi-dev openmpi-bin
  slurmctld slurmd slurm-client munge
)
# libboost-context-dev: the fibers of the gpuemu tier's emulated GPU threads (emu/).
# MPI: Debian's Open MPI (CMake's NAQS_MPI=AUTO finds it). Slurm + munge: the local single-node
# cluster of scripts/slurm_local.sh for the `cluster` tests; srun's mpi/pmix plugin
# (mpi_pmix_v4.so) comes with slurmd's dependency slurm-wlm-basic-plugins.
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} Debian packages already installed"
else
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The language-model corpus (data/corpus/, git-ignored; `naqs lm`). The tests never need it, so
# a failed download is a warning here; `naqs lm train` names the script when the corpus is missing.
bash "$(dirname "$0")/fetch_corpus.sh" || echo "setup: warning: scripts/fetch_corpus.sh failed; rerun it before 'naqs lm train'"
# Atari Pong frames for the diffusion world model (data/atari/, git-ignored): ale-py in a
# virtual environment, then scripts/collect_pong.py (about 2 minutes). Tests use a synthetic
# generator, so a failure is a warning here.
bash "$(dirname "$0")/fetch_atari.sh" || echo "setup: warning: scripts/fetch_atari.sh failed; rerun it before training on Pong"
echo "setup: done"
