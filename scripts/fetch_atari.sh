#!/usr/bin/env bash
# Atari Pong data for the diffusion world model (docs/ML.md) in the git-ignored data/atari/:
# a virtual environment data/atari/venv (Debian's python3 with --system-site-packages, so numpy
# and h5py come from Debian) holding the PyPI wheel ale-py 0.12.1 (GPL-2.0; the Atari ROMs ship
# inside it and it runs offline), checked against its sha256 and installed without dependencies;
# then scripts/collect_pong.py writes data/atari/pong.h5 (layout in that script). naqs never
# links ALE; the data is generated here and never committed. Idempotent: an existing pong.h5 is
# kept (delete it to collect again). Options are passed to collect_pong.py (--episodes, --steps,
# --epsilon, --seed, --test).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/atari
out=$dest/pong.h5
wheel=ale_py-0.12.1-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl
sha=ba7429074ba6ffc1555f9a41bf00bee5d427b5080253101a8fe00412ca481033
if [ -f "$out" ]; then
  echo "fetch_atari: $out already exists (delete it to collect again)"
  exit 0
fi
py=/usr/bin/python3
[ -x "$py" ] || { echo "fetch_atari: error: $py is missing; apt-get install python3 python3-venv" >&2; exit 2; }
"$py" -c "import venv, ensurepip, numpy, h5py" 2>/dev/null || {
  echo "fetch_atari: error: Debian's python3-venv, python3-numpy and python3-h5py are needed (scripts/setup.sh installs them)" >&2
  exit 2
}
mkdir -p "$dest"
venv=$dest/venv
if ! "$venv/bin/python" -c "import ale_py; assert ale_py.__version__ == '0.12.1'" 2>/dev/null; then
  rm -rf "$venv"
  "$py" -m venv --system-site-packages "$venv"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "fetch_atari: downloading the ale-py 0.12.1 wheel from PyPI"
  "$venv/bin/pip" download --quiet --no-deps --only-binary :all: ale-py==0.12.1 -d "$tmp"
  [ -f "$tmp/$wheel" ] || {
    echo "fetch_atari: error: pip did not produce $wheel (this script pins the CPython 3.11 x86-64 wheel of Debian 12; got: $(ls "$tmp"))" >&2
    exit 1
  }
  got=$(sha256sum "$tmp/$wheel" | cut -d' ' -f1)
  if [ "$got" != "$sha" ]; then
    echo "fetch_atari: error: sha256 of $wheel is $got, expected $sha" >&2
    exit 1
  fi
  "$venv/bin/pip" install --quiet --no-deps "$tmp/$wheel"
fi
nice "$venv/bin/python" scripts/collect_pong.py --out "$out" "$@"
