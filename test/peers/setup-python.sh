#!/usr/bin/env bash
# Creates the Python test peers' venv (moto server, the AWS CLI) from PyPI in a cache outside the
# repository, named by a hash of the pins and the interpreter. Re-runs are a no-op once it exists.
# Usage: setup-python.sh (prints the venv dir); setup-python.sh --where (prints it, creates nothing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
CACHE="${IRSA_PEER_CACHE:-$HOME/.cache/irsa-anywhere/peers}"
PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "setup-python: $PYTHON is required (apt-get install python3 python3-venv)" >&2; exit 1; }
pyver="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
hash="$({ cat "$here/python-requirements.txt"; echo "python $pyver"; } | sha256sum | cut -c1-12)"
OUT="$CACHE/py-$hash"
if [ "${1:-}" = "--where" ]; then echo "$OUT"; exit 0; fi
if [ -x "$OUT/bin/moto_server" ] && [ -x "$OUT/bin/aws" ] && [ -f "$OUT/.complete" ]; then echo "$OUT"; exit 0; fi
start=$(date +%s)
rm -rf "$OUT"
mkdir -p "$CACHE"
"$PYTHON" -m venv "$OUT" || { echo "setup-python: '$PYTHON -m venv' failed (apt-get install python3-venv)" >&2; exit 1; }
"$OUT/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$here/python-requirements.txt" >&2
"$OUT/bin/aws" --version >&2
touch "$OUT/.complete"
echo "setup-python: venv $OUT (python $pyver) created in $(( $(date +%s) - start ))s" >&2
echo "$OUT"
