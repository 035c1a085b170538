#!/usr/bin/env bash
# Search benchmark: qabbadb's indexed k-NN beside brute force (our float32 scan, a UCR-Suite DTW
# cascade, numpy's BLAS gemv/gemm) on the same seeded random walks, in one run.
# Usage: tools/bench_search.sh [N=1000000] [DTW_ROWS=100000]   → target/bench-search/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${1:-1000000}"
dtw_rows="${2:-100000}"
out="$root/target/bench-search/$n"
mkdir -p "$out"
py="$(bash "$root/tools/peers/setup.sh")"
"$py" -m pip install -q threadpoolctl >&2
[ -f "$out/data.npy" ] || "$py" "$root/tools/peers/search_data.py" "$n" "$out"
(cd "$root" && cargo build --release --example search_bench >&2)
"$root/target/release/examples/search_bench" "$out/data.npy" "$out/fresh.npy" "$out/noisy.npy" "$out/qabbadb.json" "$dtw_rows"
"$py" "$root/tools/peers/search_numpy.py" "$out" "$out/numpy.json"
echo "results in $out/qabbadb.json and $out/numpy.json" >&2
