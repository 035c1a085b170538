"""Writes the search workload as .npy (float32): N seeded z-normalised random walks of length 256
(numpy default_rng(1), standard normal steps), 100 fresh walks (seed 2) and 100 stored series plus
N(0, 0.1²) noise (seed 3).

Usage: python tools/peers/search_data.py N OUTDIR
"""
import os
import sys

import numpy as np


def walks(rng, count, n=256, chunk=100_000):
    out = np.empty((count, n), dtype=np.float32)
    for s in range(0, count, chunk):
        w = np.cumsum(rng.standard_normal((min(chunk, count - s), n)), axis=1)
        w = (w - w.mean(1, keepdims=True)) / w.std(1, keepdims=True)
        out[s:s + len(w)] = w
    return out


def main():
    count, outdir = int(sys.argv[1]), sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    data = walks(np.random.default_rng(1), count)
    np.save(os.path.join(outdir, "data.npy"), data)
    np.save(os.path.join(outdir, "fresh.npy"), walks(np.random.default_rng(2), 100))
    rng = np.random.default_rng(3)
    pick = rng.choice(count, 100, replace=False)
    noisy = data[pick] + rng.normal(0, 0.1, (100, data.shape[1])).astype(np.float32)
    np.save(os.path.join(outdir, "noisy.npy"), noisy.astype(np.float32))


if __name__ == "__main__":
    main()
