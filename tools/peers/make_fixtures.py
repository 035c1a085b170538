"""Writes tests/data/fixtures/fabba_pieces.json: the pieces that fABBA's compressor (PyPI
fabba 1.5.3, fABBA.jabba.compmem.compress) chooses for z-normalised real and random series, so
that the Rust tests can check that qabbadb's O(1)-per-point compressor picks the same pieces.

Run: python tools/peers/make_fixtures.py   (with the venv of tools/peers/setup.sh)
"""
import json
import os
import sys

import numpy as np
import fABBA
from fABBA.jabba.compmem import compress

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ucr(name, split="TRAIN"):
    path = os.path.join(ROOT, "tests", "data", "ucr", name, f"{name}_{split}.tsv")
    rows = [line.rstrip("\n").split("\t") for line in open(path)]
    return [np.array([float(v) for v in r[1:]]) for r in rows]


def znorm(x):
    s = x.std()
    return (x - x.mean()) / s if s > 0 else x - x.mean()


def main():
    rng = np.random.default_rng(20261122)
    series = []
    for name in ["GunPoint", "ECG200", "ACSF1", "Coffee"]:
        for x in ucr(name)[:3]:
            series.append((name, znorm(x)))
    for i in range(6):
        series.append(("random walk", znorm(np.cumsum(rng.standard_normal(300)))))
    cases = []
    for tol_pkg in [0.05, 0.01, 0.2]:
        for source, z in series:
            pieces = compress(np.ascontiguousarray(z, dtype=np.float64), tol_pkg)
            cases.append({
                "source": source,
                "tol_pkg": tol_pkg,
                "values": [float(v) for v in z],
                "pieces": [[int(p[0]), float(p[1])] for p in pieces],
            })
    out = {
        "generator": f"tools/peers/make_fixtures.py with fabba=={getattr(fABBA, '__version__', '1.5.3')}, numpy=={np.__version__}",
        "convention": "packages' tol = qabbadb tol squared; pieces are [len, inc]",
        "cases": cases,
    }
    path = os.path.join(ROOT, "tests", "data", "fixtures", "fabba_pieces.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {len(cases)} cases to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
