"""Classify a bundled UCR dataset with qabbadb from Python, and plot originals against their
stored reconstructions.

    python examples/python/classify_ucr.py [DATASET] [--plot out.png]

Needs the qabbadb package (``pip install .`` at the repository root, or ``tools/test --python``,
which installs it into target/py-venv), scikit-learn, and matplotlib for the plot.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import qabbadb
from qabbadb.sklearn import KNeighborsTimeSeriesClassifier

UCR = Path(__file__).resolve().parents[2] / "tests" / "data" / "ucr"


def load(name, split):
    rows = [l.split("\t") for l in (UCR / name / f"{name}_{split}.tsv").read_text().splitlines() if l.strip()]
    return np.array([[float(v) for v in r[1:]] for r in rows]), np.array([r[0] for r in rows])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset", nargs="?", default="GunPoint")
    ap.add_argument("--plot", help="write a PNG of originals against reconstructions")
    args = ap.parse_args()
    Xtr, ytr = load(args.dataset, "TRAIN")
    Xte, yte = load(args.dataset, "TEST")
    print(f"{args.dataset}: {len(Xtr)} training and {len(Xte)} test series of length {Xtr.shape[1]}")

    for distance, params in (("euclidean", None), ("dtw", {"window": 0.1})):
        clf = KNeighborsTimeSeriesClassifier(distance=distance, distance_params=params)
        t = time.perf_counter()
        acc = clf.fit(Xtr, ytr).score(Xte, yte)
        print(f"  1-NN {distance:<9} accuracy {acc:.4f}  ({time.perf_counter() - t:.2f} s fit + predict)")

    with tempfile.TemporaryDirectory() as d:
        with qabbadb.build(os.path.join(d, "train.qdb"), Xtr, labels=ytr) as db:
            info = db.info()
            print(f"  stored in {info['bytes']} bytes: {info['bits_per_point']:.2f} bits per value "
                  f"({info['ratio_vs_f64']:.1f}x smaller than float64), mean RMSE/std {info['mean_relative_rmse']:.3f}")
            ids, dist = db.search(Xte[:3], k=3, metric="dtw", window=0.1)
            for i in range(3):
                labels = [db.label(j) for j in ids[i]]
                print(f"  test series {i} (class {yte[i]}): nearest {ids[i].tolist()} classes {labels}")
            if args.plot:
                import matplotlib

                matplotlib.use("Agg")
                import matplotlib.pyplot as plt

                fig, axes = plt.subplots(2, 2, figsize=(10, 5), sharex=True)
                for ax, i in zip(axes.flat, (0, 1, 2, 3)):
                    ax.plot(Xtr[i], label="original", lw=1.5)
                    ax.plot(db.get(i), label="reconstruction", lw=1, ls="--")
                    ax.set_title(f"series {i}, class {ytr[i]}")
                axes[0, 0].legend()
                fig.suptitle(f"{args.dataset}: originals and their qabbadb reconstructions (tol 0.2)")
                fig.tight_layout()
                fig.savefig(args.plot, dpi=100)
                print(f"  wrote {args.plot}")


if __name__ == "__main__":
    sys.exit(main())
