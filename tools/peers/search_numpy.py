"""numpy's BLAS distance trick as the brute-force baseline: ‖x‖² − 2·X·q + ‖q‖² over float32 rows,
one query by gemv, batches of 100 by gemm; exact 1-NN and 10-NN per query.

Usage: python tools/peers/search_numpy.py DIR OUT.json   (DIR from search_data.py)
"""
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits


def znorm(x):
    return (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)


def main():
    d, out = sys.argv[1], sys.argv[2]
    X = np.load(os.path.join(d, "data.npy"))
    norms = np.einsum("ij,ij->i", X, X)
    res = {"series": X.shape[0], "length": X.shape[1], "numpy": np.__version__,
           "blas": [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()], "runs": []}
    for name in ["fresh", "noisy"]:
        Q = znorm(np.load(os.path.join(d, f"{name}.npy")).astype(np.float32)).astype(np.float32)
        for threads in [1, 2]:
            with threadpool_limits(threads):
                for k in [1, 10]:
                    lat = []
                    for q in Q:
                        t = time.perf_counter()
                        dist = norms - 2.0 * (X @ q)
                        idx = np.argpartition(dist, k - 1)[:k] if k > 1 else np.array([np.argmin(dist)])
                        idx = idx[np.argsort(dist[idx])]
                        lat.append((time.perf_counter() - t) * 1e3)
                    t = time.perf_counter()
                    dist = norms[None, :] - 2.0 * (Q @ X.T)
                    if k > 1:
                        idx = np.argpartition(dist, k - 1, axis=1)[:, :k]
                    else:
                        idx = np.argmin(dist, axis=1)
                    batch = (time.perf_counter() - t) * 1e3 / len(Q)
                    res["runs"].append({"queries": name, "threads": threads, "k": k,
                                        "gemv_median_ms": float(np.median(lat)), "gemv_p99_ms": float(np.percentile(lat, 99)),
                                        "gemm_batch100_ms_per_query": batch})
                    print(res["runs"][-1], file=sys.stderr)
    with open(out, "w") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
