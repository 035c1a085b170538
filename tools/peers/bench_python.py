"""The Python section of tools/bench: the qabbadb package beside the Python peers, same data,
same run.

1. 1-NN classification (DTW, 10 % Sakoe-Chiba window, and Euclidean) of bundled UCR sets:
   qabbadb.sklearn.KNeighborsTimeSeriesClassifier (exact over the originals) against aeon's,
   tslearn's and sktime's KNeighborsTimeSeriesClassifier: fit + predict seconds and accuracy.
2. Batch k-NN search: qabbadb's Database.search against faiss IndexFlatL2.search on z-normalised
   random walks (exact over the originals on both sides).

Prints one JSON object (the results) on stdout; progress on stderr.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def znorm(X):
    mu = X.mean(axis=1, keepdims=True)
    sd = X.std(axis=1, keepdims=True)
    return np.where(sd > 0, (X - mu) / np.where(sd > 0, sd, 1), 0.0)


def load_split(name, split):
    rows = [l.rstrip("\n").rstrip("\t").split("\t")
            for l in open(os.path.join(ROOT, "tests", "data", "ucr", name, f"{name}_{split}.tsv")) if l.strip()]
    return np.array([[float(v) for v in r[1:]] for r in rows]), np.array([r[0] for r in rows])


def load(name):
    """(Xtr, ytr, Xte, yte) of a bundled UCR set, z-normalised (the archive's convention)."""
    (a, b), (c, d) = load_split(name, "TRAIN"), load_split(name, "TEST")
    return znorm(a), b, znorm(c), d


def timed(fit_predict):
    t = time.perf_counter()
    pred = fit_predict()
    return pred, time.perf_counter() - t


def classifiers(names, budget_s):
    """Each peer on each set; a peer whose previous set took over `budget_s` is skipped on the
    larger ones (noted), so the run stays bounded."""
    from qabbadb.sklearn import KNeighborsTimeSeriesClassifier as Ours

    peers = {}
    try:
        from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier as Aeon

        peers["aeon"] = lambda d, w, n: Aeon(n_neighbors=1, distance=d, distance_params=({"window": w} if d == "dtw" else None))
    except Exception as e:  # pragma: no cover
        log("aeon unavailable:", e)
    try:
        from tslearn.neighbors import KNeighborsTimeSeriesClassifier as Tslearn

        peers["tslearn"] = lambda d, w, n: Tslearn(
            n_neighbors=1, metric=d,
            metric_params=({"global_constraint": "sakoe_chiba", "sakoe_chiba_radius": int(w * n)} if d == "dtw" else None))
    except Exception as e:  # pragma: no cover
        log("tslearn unavailable:", e)
    try:
        from sktime.classification.distance_based import KNeighborsTimeSeriesClassifier as Sktime

        peers["sktime"] = lambda d, w, n: Sktime(
            n_neighbors=1, distance=d, distance_params=({"window": w} if d == "dtw" else None))
    except Exception as e:  # pragma: no cover
        log("sktime unavailable:", e)
    # Warm-up: peers that compile on first use (numba) do so before anything is timed, and every
    # library (qabbadb too) has loaded its code and started its threads.
    Xw, yw = np.cumsum(np.random.default_rng(1).standard_normal((6, 32)), axis=1), np.array(["a", "b"] * 3)
    for d in ("dtw", "euclidean"):
        Ours(distance=d, distance_params={"window": 0.1} if d == "dtw" else None).fit(Xw, yw).predict(Xw)
    for peer, make in peers.items():
        Xs = Xw[:, :, None] if peer == "tslearn" else Xw[:, None, :]
        for d in ("dtw", "euclidean"):
            try:
                make(d, 0.1, 32).fit(Xs, yw).predict(Xs)
            except Exception:
                pass
    rows = []
    slow = set()
    for name in names:
        Xtr, ytr, Xte, yte = load(name)
        n = Xtr.shape[1]
        for distance in ("dtw", "euclidean"):
            w = 0.1
            row = {"dataset": name, "train": len(Xtr), "test": len(Xte), "length": n, "distance": distance}
            ours = Ours(distance=distance, distance_params={"window": w} if distance == "dtw" else None)
            pred, secs = timed(lambda: ours.fit(Xtr, ytr).predict(Xte))
            row["qabbadb"] = {"seconds": secs, "accuracy": float(np.mean(pred == yte))}
            for peer, make in peers.items():
                if (peer, distance) in slow:
                    row[peer] = {"skipped": f"over {budget_s:.0f} s on a smaller set"}
                    continue
                # aeon and sktime take (n, channels, length), tslearn (n, length, dims).
                est = make(distance, w, n)
                shape = (lambda X: X[:, :, None]) if peer == "tslearn" else (lambda X: X[:, None, :])
                try:
                    pred, secs = timed(lambda: est.fit(shape(Xtr), ytr).predict(shape(Xte)))
                    row[peer] = {"seconds": secs, "accuracy": float(np.mean(np.asarray(pred).astype(str) == yte))}
                    if secs > budget_s:
                        slow.add((peer, distance))
                except Exception as e:  # pragma: no cover - a peer that fails is reported as such
                    row[peer] = {"error": str(e)[:200]}
            log(f"{name} {distance}: " + ", ".join(
                f"{k} {v['seconds']:.2f} s acc {v['accuracy']:.4f}" for k, v in row.items()
                if isinstance(v, dict) and "seconds" in v))
            rows.append(row)
    return rows


def batch_search(sizes, k=10, queries=100):
    import faiss
    import qabbadb

    rows = []
    for n_series in sizes:
        rng = np.random.default_rng(7)
        X = np.cumsum(rng.uniform(-1, 1, (n_series, 256)), axis=1)
        Q = X[rng.choice(n_series, queries, replace=False)] + rng.normal(0, 0.3, (queries, 256))
        Z, Qz = znorm(X).astype(np.float32), znorm(Q).astype(np.float32)
        row = {"series": n_series, "queries": queries, "k": k}
        index = faiss.IndexFlatL2(256)
        index.add(Z)
        t = time.perf_counter()
        fd, fi = index.search(Qz, k)
        row["faiss_flat_seconds"] = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            db = qabbadb.build(os.path.join(d, "w.qdb"), X, keep_raw=True, max_error=0.01)
            row["qabbadb_build_seconds"] = time.perf_counter() - t
            db.search(Q[:1], k=k, exact="original")  # the first search decodes the segment once
            t = time.perf_counter()
            ids, dist = db.search(Q, k=k, exact="original")
            row["qabbadb_seconds"] = time.perf_counter() - t
            t = time.perf_counter()
            ids_r, _ = db.search(Q, k=k)
            row["qabbadb_reconstruction_seconds"] = time.perf_counter() - t
            db.close()
        # Same answers up to float32 rounding in faiss: compare the sets of the first neighbour.
        row["first_neighbour_agreement"] = float(np.mean(ids[:, 0] == fi[:, 0]))
        log(f"batch search {n_series}: faiss {row['faiss_flat_seconds']:.3f} s, qabbadb {row['qabbadb_seconds']:.3f} s "
            f"(over reconstructions {row['qabbadb_reconstruction_seconds']:.3f} s), agreement {row['first_neighbour_agreement']:.2f}")
        rows.append(row)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    import qabbadb

    versions = {"qabbadb": qabbadb.__version__}
    for mod in ("aeon", "tslearn", "sktime", "sklearn", "faiss"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:
            pass
    names = ["GunPoint", "ECG200", "CBF"] if args.quick else ["GunPoint", "ECG200", "CBF", "Trace", "OSULeaf", "ECG5000"]
    out = {
        "versions": versions,
        "classifiers": classifiers(names, budget_s=60 if args.quick else 600),
        "batch_search": batch_search([20_000] if args.quick else [20_000, 100_000]),
    }
    json.dump(out, sys.stdout, default=float)


if __name__ == "__main__":
    main()
