#!/usr/bin/env bash
# Creates the Python venv of the peers (reference implementations and baselines) under
# target/peers-venv, from PyPI, with pinned versions. Prints the venv's python path.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/target/peers-venv"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
"$venv/bin/pip" install -q --disable-pip-version-check \
  "fabba==1.5.3" "qabba==0.2.0" "numpy" "zstandard" "threadpoolctl" \
  "faiss-cpu" "dtaidistance" "pcodec" "matplotlib" \
  "scikit-learn" "aeon" "tslearn" "sktime" "maturin>=1.16,<2" >&2
echo "$venv/bin/python"
