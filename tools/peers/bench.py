"""One run that measures qabbadb against its peers, side by side: codec parity with fABBA's QABBA,
storage against error beside lossless zstd and pcodec, exact search beside numpy's BLAS trick,
faiss (flat and IVF) and dtaidistance, and lower-bound tightness. Writes results.json, results.md,
BENCHMARKS.md and the plots into --out. Called by tools/bench.

Usage: python tools/peers/bench.py --qabbadb target/release/qabbadb --examples target/release/examples
       --out DIR [--quick]
"""
import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import parity  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def machine():
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // (1024 * 1024)
    except OSError:
        pass
    versions = {}
    for mod in ["numpy", "faiss", "dtaidistance", "zstandard", "matplotlib"]:
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001
            versions[mod] = "missing"
    versions["fabba"] = "1.5.3"
    try:
        import importlib.metadata as md
        versions["pcodec"] = md.version("pcodec")
        versions["fabba"] = md.version("fabba")
    except Exception:  # noqa: BLE001
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "os": platform.platform(),
            "python": platform.python_version(), "rustc": rustc, "versions": versions}


# ---------------------------------------------------------------- storage against error

def lossless_bits(series):
    """bits/value of zstd (level 19) and pcodec over the raw float64 values of a dataset."""
    import zstandard
    from pcodec import ChunkConfig, standalone
    flat = np.concatenate(series).astype(np.float64)
    z = len(zstandard.ZstdCompressor(level=19).compress(flat.tobytes()))
    p = sum(len(standalone.simple_compress(np.asarray(s, dtype=np.float64), ChunkConfig())) for s in series)
    return z * 8 / len(flat), p * 8 / len(flat)


def storage_sweep(binary, datasets, tols):
    rows = []
    for name, series in datasets:
        zb, pb = lossless_bits(series)
        rows.append({"dataset": name, "method": "zstd (lossless)", "tol": None, "bits": zb, "rmse": 0.0})
        rows.append({"dataset": name, "method": "pcodec (lossless)", "tol": None, "bits": pb, "rmse": 0.0})
        for tol in tols:
            with tempfile.TemporaryDirectory() as wd:
                ours = parity.ours(binary, series, tol * tol, "closed-loop", wd, 2)
            rows.append({"dataset": name, "method": "qabbadb", "tol": tol, "bits": ours["bits"],
                         "file_bits": ours["file_bits"], "rmse": math.sqrt(ours["mse"])})
            ref = parity.reference(series, tol * tol)
            if ref is not None:
                rows.append({"dataset": name, "method": "fABBA QABBA", "tol": tol, "bits": ref["bits"],
                             "rmse": math.sqrt(ref["mse"])})
        log(f"storage sweep: {name} done")
    return rows


# ---------------------------------------------------------------- search

def faiss_runs(d, k_list=(1, 10)):
    import faiss
    X = np.load(os.path.join(d, "data.npy"))
    Q = np.load(os.path.join(d, "fresh.npy")).astype(np.float32)
    Q = ((Q - Q.mean(1, keepdims=True)) / Q.std(1, keepdims=True)).astype(np.float32)
    out = []
    flat = faiss.IndexFlatL2(X.shape[1])
    flat.add(X)
    exact = {}
    for threads in [1, 2]:
        faiss.omp_set_num_threads(threads)
        for k in k_list:
            lat = []
            for q in Q:
                t = time.perf_counter()
                _, I = flat.search(q[None, :], k)
                lat.append((time.perf_counter() - t) * 1e3)
                exact.setdefault(k, []).append(I[0])
            out.append({"system": "faiss IndexFlatL2", "threads": threads, "k": k,
                        "median_ms": float(np.median(lat)), "p99_ms": float(np.percentile(lat, 99)), "recall": 1.0})
    nlist = max(16, int(4 * math.sqrt(X.shape[0])))
    quant = faiss.IndexFlatL2(X.shape[1])
    ivf = faiss.IndexIVFFlat(quant, X.shape[1], nlist)
    t = time.perf_counter()
    ivf.train(X[np.random.default_rng(0).choice(X.shape[0], min(X.shape[0], 50 * nlist), replace=False)])
    ivf.add(X)
    build = time.perf_counter() - t
    ivf.nprobe = 8
    faiss.omp_set_num_threads(2)
    for k in k_list:
        lat, hits = [], 0
        for i, q in enumerate(Q):
            t = time.perf_counter()
            _, I = ivf.search(q[None, :], k)
            lat.append((time.perf_counter() - t) * 1e3)
            hits += len(set(I[0]) & set(exact[k][i]))
        out.append({"system": f"faiss IVFFlat (nlist {nlist}, nprobe 8, approximate)", "threads": 2, "k": k,
                    "median_ms": float(np.median(lat)), "p99_ms": float(np.percentile(lat, 99)),
                    "recall": hits / (k * len(Q)), "build_secs": build})
    return out


def dtaidistance_runs(d, rows, queries=3):
    from dtaidistance import dtw
    X = np.load(os.path.join(d, "data.npy"))[:rows].astype(np.float64)
    Q = np.load(os.path.join(d, "fresh.npy")).astype(np.float64)[:queries]
    Q = (Q - Q.mean(1, keepdims=True)) / Q.std(1, keepdims=True)
    r = int(math.floor(0.1 * X.shape[1]))
    lat = []
    for q in Q:
        t = time.perf_counter()
        best = np.inf
        for x in X:
            # dtaidistance's window w allows |i - j| < w, so band r is window r + 1; max_dist
            # abandons past the best so far (its pruned search).
            d = dtw.distance_fast(q, x, window=r + 1, max_dist=best, use_pruning=True)
            if d < best:
                best = d
        lat.append((time.perf_counter() - t) * 1e3)
    return {"system": "dtaidistance distance_fast with max_dist (pruned, 1 thread)", "rows": rows, "window": 0.1,
            "median_ms": float(np.median(lat)), "queries": queries}


def search_runs(py, examples, sizes, dtw_rows, out):
    res = []
    for n in sizes:
        d = os.path.join(ROOT, "target", "bench-search", str(n))
        os.makedirs(d, exist_ok=True)
        if not os.path.exists(os.path.join(d, "data.npy")):
            subprocess.run([py, os.path.join(ROOT, "tools", "peers", "search_data.py"), str(n), d], check=True)
        rows = min(n, dtw_rows)
        qjson = os.path.join(d, "qabbadb.json")
        subprocess.run([os.path.join(examples, "search_bench"), os.path.join(d, "data.npy"), os.path.join(d, "fresh.npy"),
                        os.path.join(d, "noisy.npy"), qjson, str(rows)], check=True, stderr=subprocess.DEVNULL)
        njson = os.path.join(d, "numpy.json")
        subprocess.run([py, os.path.join(ROOT, "tools", "peers", "search_numpy.py"), d, njson], check=True,
                       stderr=subprocess.DEVNULL)
        entry = {"series": n, "qabbadb": json.load(open(qjson)), "numpy": json.load(open(njson)),
                 "faiss": faiss_runs(d), "dtaidistance": dtaidistance_runs(d, rows)}
        res.append(entry)
        log(f"search: {n} series done")
    return res


# ---------------------------------------------------------------- TLB

def tlb_run(examples):
    out = subprocess.run([os.path.join(examples, "tlb")], check=True, capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) == 10 and cells[0] not in ("dataset", "---"):
            try:
                rows.append({"dataset": cells[0], "word": cells[1], "breakpoints": cells[2],
                             "tlb": [float(c) for c in cells[3:]]})
            except ValueError:
                pass
    return {"markdown": out, "rows": rows, "cardinalities": [4, 8, 16, 32, 64, 128, 256]}


# ---------------------------------------------------------------- exactness and storage modes

def table_rows(markdown):
    """The body rows of a markdown table as lists of cells."""
    rows = []
    for line in markdown.splitlines():
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] in ("dataset", "---") or cells[0].startswith("---"):
            continue
        rows.append(cells)
    return rows


def exactness_run(examples, quick):
    """examples/storage_modes (bits per value of every storage mode beside zstd, pco and
    quantize+pco) and examples/ucr_1nn (1-NN accuracy over the originals against the UCR archive's
    published figures, and over reconstructions at several tolerances)."""
    modes = subprocess.run([os.path.join(examples, "storage_modes")], check=True, capture_output=True,
                           text=True).stdout
    subset = ["Beef", "Coffee", "ECG200", "GunPoint", "ItalyPowerDemand", "Trace"] if quick else []
    nn = subprocess.run([os.path.join(examples, "ucr_1nn")] + subset, check=True, capture_output=True,
                        text=True).stdout
    per_series = subprocess.run([os.path.join(examples, "bytes_per_series")], check=True, capture_output=True,
                                text=True).stdout
    return {"storage_modes": modes, "ucr_1nn": nn, "bytes_per_series": per_series}


# ---------------------------------------------------------------- plots

def python_run(quick):
    """tools/peers/bench_python.py in this venv (where tools/bench installed the package)."""
    cmd = [sys.executable, os.path.join(ROOT, "tools", "peers", "bench_python.py")] + (["--quick"] if quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def plots(results, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    files = {}
    # Latency against collection size (fresh queries, 1-NN, 2 threads).
    s = results["search"]
    if s:
        sizes = [e["series"] for e in s]
        def pick(e, name, k=1):
            if name == "qabbadb":
                return next(r["median_ms"] for r in e["qabbadb"]["euclidean"] if r["k"] == k and r["queries"].startswith("fresh"))
            if name == "own scan":
                return next(r["scan_f32_median_ms"] for r in e["qabbadb"]["euclidean"] if r["k"] == k and r["queries"].startswith("fresh"))
            if name == "numpy gemv":
                return next(r["gemv_median_ms"] for r in e["numpy"]["runs"] if r["queries"] == "fresh" and r["threads"] == 2 and r["k"] == k)
            if name == "faiss flat":
                return next(r["median_ms"] for r in e["faiss"] if r["system"] == "faiss IndexFlatL2" and r["threads"] == 2 and r["k"] == k)
        fig, ax = plt.subplots(figsize=(6, 4))
        for name in ["qabbadb", "numpy gemv", "faiss flat", "own scan"]:
            ax.plot(sizes, [pick(e, name) for e in s], marker="o", label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("series (random walks of length 256)")
        ax.set_ylabel("exact 1-NN, median ms per query")
        ax.set_title("Query latency against collection size (2 threads)")
        ax.legend()
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "latency_vs_size.png"), dpi=110)
        files["latency_vs_size"] = "latency_vs_size.png"
        plt.close(fig)
    # Storage against error, averaged over datasets.
    rows = results["storage"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, marker in [("qabbadb", "o"), ("fABBA QABBA", "s")]:
        tols = sorted({r["tol"] for r in rows if r["method"] == method})
        pts = []
        for tol in tols:
            rs = [r for r in rows if r["method"] == method and r["tol"] == tol]
            pts.append((np.mean([r["bits"] for r in rs]), np.mean([r["rmse"] for r in rs])))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=method)
    for method, marker in [("zstd (lossless)", "^"), ("pcodec (lossless)", "v")]:
        b = np.mean([r["bits"] for r in rows if r["method"] == method])
        ax.axvline(b, linestyle="--", alpha=0.6, label=f"{method}: {b:.1f} bits, RMSE 0")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bits per value (symbols, centres, first values)")
    ax.set_ylabel("RMSE (z-normalised units)")
    ax.set_title("Storage against reconstruction error (mean over datasets)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "storage_vs_error.png"), dpi=110)
    files["storage_vs_error"] = "storage_vs_error.png"
    plt.close(fig)
    # TLB against cardinality.
    t = results["tlb"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for r in t["rows"]:
        if r["dataset"] == "mean":
            ax.plot(t["cardinalities"], r["tlb"], marker="o", label=f"{r['breakpoints']}, word {r['word']}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("cardinality (symbols)")
    ax.set_ylabel("mean TLB (bound / Euclidean distance)")
    ax.set_title("Lower-bound tightness on the bundled UCR datasets")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "tlb.png"), dpi=110)
    files["tlb"] = "tlb.png"
    plt.close(fig)
    # Originals against reconstructions.
    fig, axes = plt.subplots(3, 1, figsize=(7, 7))
    for ax, (name, idx) in zip(axes, [("ECG200", 0), ("GunPoint", 3), ("ACSF1", 1)]):
        series = [parity.znorm(x) for x in parity.load_ucr(name)]
        with tempfile.TemporaryDirectory() as wd:
            inp = parity.write_npy_or_tsv(series, os.path.join(wd, "in"))
            db = os.path.join(wd, "db")
            subprocess.run([results["binary"], "build", db, "--input", inp, "--tol", repr(math.sqrt(0.05)), "--no-index"],
                           check=True, capture_output=True)
            outp = os.path.join(wd, "out.tsv")
            subprocess.run([results["binary"], "export", db, "--out", outp], check=True)
            ours = parity.read_export(outp)[idx]
        from fABBA.jabba.qabba import QABBA
        q = QABBA(tol=0.05, init="agg", alpha=None, bits_for_len=8, bits_for_inc=12, verbose=0)
        strings, start = q.fit_transform(np.vstack(series), n_jobs=1, return_start_set=True)
        ref = q.inverse_transform(strings, start, n_jobs=1)[idx]
        x = series[idx]
        ax.plot(x, color="black", linewidth=1.2, label="original")
        ax.plot(ours, color="tab:blue", linewidth=1, label=f"qabbadb (RMSE {np.sqrt(np.mean((x - ours) ** 2)):.3f})")
        ax.plot(ref, color="tab:red", linewidth=1, alpha=0.8,
                label=f"fABBA QABBA ({len(ref)} points of {len(x)})")
        if len(x) > 400:
            ax.set_xlim(0, 150)
            ax.set_title(f"{name} #{idx}, fABBA tol 0.05 (first 150 of {len(x)} points)", fontsize=9)
        else:
            ax.set_title(f"{name} #{idx}, fABBA tol 0.05", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "reconstruction.png"), dpi=110)
    files["reconstruction"] = "reconstruction.png"
    plt.close(fig)
    return files


# ---------------------------------------------------------------- report

def fmt(v, spec=".2f"):
    return "n/a" if v is None else format(v, spec)


def report(results, commands):
    m = results["machine"]
    L = ["# Benchmarks", "",
         "Generated by `tools/bench" + (" --quick" if results["quick"] else "") + "` on " + time.strftime("%Y-%m-%d") +
         "; do not edit by hand — rerun the command. Timings on this machine vary by ±20–40 % between runs;",
         "ratios measured in the same run are steadier than absolute numbers.", "",
         f"**Machine**: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}. "
         f"**Versions**: {m['rustc']}; Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in sorted(m["versions"].items())) + ".",
         "", "**Commands**: " + "; ".join(f"`{c}`" for c in commands), ""]
    behind = []
    # Codec parity.
    L += ["## 1. Codec against the reference (fABBA's QABBA)", "",
          "Same data (z-normalised), same tolerance (fABBA's `tol` = qabbadb's `tol²`), greedy aggregation with "
          "automatic alpha, 8-bit lengths and 12-bit increments on both sides; qabbadb with closed-loop assignment, "
          "error budget off and no index. Bits per value count, on both sides, the zstd-compressed symbols, the "
          "centres and one 8-byte first value per series; qabbadb's whole file (lengths, means, stds, error bounds, "
          "labels) in brackets. MSE in z-normalised units against the original length.", "",
          "| dataset | tol (fABBA) | pieces ref / ours | symbols ref / ours | bits/value ref / ours (whole file) | MSE ref / ours | MSE ÷ ref | wrong length ref / ours | fit M values/s ref / ours 1 thread / 2 threads | speed-up (1 thread) |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for row in results["codec"]:
        r, c, c2 = row["reference"], row["closed_loop"], row["closed_loop_2t"]
        g = (lambda k, s: fmt(r[k], s)) if r else (lambda k, s: "n/a")
        sp = c["values_per_sec"] / r["values_per_sec"] if r else None
        ratio = c["mse"] / r["mse"] if r else None
        L.append(f"| {row['dataset']} | {row['tol_pkg']} | {g('pieces', 'd')} / {c['pieces']} | {g('symbols', 'd')} / {c['symbols']} | "
                 f"{g('bits', '.2f')} / {c['bits']:.2f} ({c['file_bits']:.2f}) | {g('mse', '.4f')} / {c['mse']:.4f} | {fmt(ratio)} | "
                 f"{g('wrong_length', '.0%')} / {c['wrong_length']:.0%} | {fmt(r and r['values_per_sec'] / 1e6)} / "
                 f"{c['values_per_sec'] / 1e6:.1f} / {c2['values_per_sec'] / 1e6:.1f} | {fmt(sp, '.1f')}× |")
        if r and c["bits"] > r["bits"] * 1.02:
            behind.append(f"storage on {row['dataset']} (tol {row['tol_pkg']}): {c['bits']:.2f} bits/value against the reference's {r['bits']:.2f} at the same tolerance and alphabet")
        if r and ratio is not None and ratio > 0.5:
            behind.append(f"error on {row['dataset']} (tol {row['tol_pkg']}): MSE {ratio:.2f} of the reference's, above the target of half")
        if sp is not None and sp < 50:
            behind.append(f"fit speed on {row['dataset']} (tol {row['tol_pkg']}): {sp:.0f}× the reference on one thread, below the target of 50×")
    L += ["", "![Original against reconstructions](docs/bench/reconstruction.png)", ""]
    # Storage sweep.
    L += ["## 2. Storage against error, beside lossless compression", "",
          "Mean over datasets, per tolerance (qabbadb's convention; fABBA at `tol²`). zstd (level 19) and pcodec store "
          "the raw float64 values losslessly.", "",
          "| method | tol | mean bits/value | mean RMSE |", "|---|---|---|---|"]
    rows = results["storage"]
    for method in ["qabbadb", "fABBA QABBA", "zstd (lossless)", "pcodec (lossless)"]:
        for tol in sorted({r["tol"] for r in rows if r["method"] == method}, key=lambda t: -1 if t is None else t):
            rs = [r for r in rows if r["method"] == method and r["tol"] == tol]
            L.append(f"| {method} | {fmt(tol, '.3f') if tol is not None else '—'} | {np.mean([r['bits'] for r in rs]):.2f} | {np.mean([r['rmse'] for r in rs]):.4f} |")
    L += ["", "![Storage against error](docs/bench/storage_vs_error.png)", ""]
    # Search.
    L += ["## 3. Exact search against brute force and approximate indexes", "",
          "Seeded z-normalised random walks of length 256; 100 fresh random-walk queries and 100 stored series plus "
          "N(0, 0.1²) noise. qabbadb answers exactly over its reconstructions; numpy, faiss and our scan answer over "
          "the raw float32 values (the same amount of work, not the same answers); faiss IVF is approximate (recall "
          "given). Single qabbadb queries use both cores; batches one query per core. A speed-up below 1× means "
          "qabbadb is slower.", ""]
    for e in results["search"]:
        q, n = e["qabbadb"], e["numpy"]
        L += [f"### {e['series']:,} series", "",
              f"qabbadb build {q['build_secs']:.1f} s, file {q['file_bytes'] / 1e6:.1f} MB ({q['bits_per_point']:.2f} bits/value) "
              f"of which index {q['index_bytes'] / 1e6:.1f} MB.", "",
              "| queries | k | qabbadb median / p99 ms | verified | batch of 100, ms/query | numpy gemv 2 threads | numpy gemm batch | faiss flat 2 threads | speed-up over gemv | batch speed-up over gemm |",
              "|---|---|---|---|---|---|---|---|---|---|"]
        for r in q["euclidean"]:
            qs = "fresh" if r["queries"].startswith("fresh") else "noisy"
            g = next(x for x in n["runs"] if x["queries"] == qs and x["threads"] == 2 and x["k"] == r["k"])
            f = next((x for x in e["faiss"] if x["system"] == "faiss IndexFlatL2" and x["threads"] == 2 and x["k"] == r["k"]), None) if qs == "fresh" else None
            s1 = g["gemv_median_ms"] / r["median_ms"]
            s2 = g["gemm_batch100_ms_per_query"] / r["batch100_ms_per_query"]
            L.append(f"| {r['queries']} | {r['k']} | {r['median_ms']:.2f} / {r['p99_ms']:.2f} | {100 * r['fraction_verified']:.2f}% | "
                     f"{r['batch100_ms_per_query']:.2f} | {g['gemv_median_ms']:.2f} | {g['gemm_batch100_ms_per_query']:.2f} | "
                     f"{fmt(f and f['median_ms'])} | {s1:.1f}× | {s2:.1f}× |")
            if s1 < 4:
                behind.append(f"single exact {r['k']}-NN on {e['series']:,} series ({qs} queries): {s1:.1f}× numpy gemv, below the target of 4×")
            if s2 < 4:
                behind.append(f"batches of 100, {r['k']}-NN on {e['series']:,} series ({qs} queries): {s2:.1f}× numpy gemm, below the target of 4×")
        ivf = [x for x in e["faiss"] if "IVF" in x["system"]]
        for x in ivf:
            L.append(f"| faiss {x['system'][6:]} | {x['k']} | {x['median_ms']:.2f} / {x['p99_ms']:.2f} | recall {x['recall']:.2f} | | | | | | |")
        L += ["", "DTW, one thread each: qabbadb's index over its reconstructions against the UCR-Suite cascade scan "
              "(LB_Kim, LB_Keogh both ways, early-abandoning DTW) over the raw values; *DTW computed* is the fraction of "
              "the collection whose DTW was started. dtaidistance: its pruned `distance_fast` over every row, 10 % window, "
              "3 fresh queries.", "",
              "| queries | window | k | qabbadb median / p99 ms | DTW computed | UCR-Suite scan median ms | scan DTW computed | dtaidistance median ms | speed-up over the scan |",
              "|---|---|---|---|---|---|---|---|---|"]
        for r in q["dtw"]:
            w = r.get("window", 0.1)
            k = r.get("k", 1)
            dt = e["dtaidistance"]["median_ms"] if r["queries"].startswith("fresh") and w == 0.1 and k == 1 else None
            ratio = r["ucr_suite_scan_median_ms"] / r["median_ms"]
            L.append(f"| {r['queries']} ({r['rows']:,} series) | {100 * w:.0f} % | {k} | {r['median_ms']:.1f} / {r['p99_ms']:.1f} | "
                     f"{100 * r['fraction_verified']:.2f}% | {r['ucr_suite_scan_median_ms']:.1f} | "
                     f"{100 * r.get('ucr_suite_fraction_dtw', float('nan')):.2f}% | {fmt(dt, '.1f')} | {ratio:.2f}× |")
            if w == 0.1 and k == 1 and ratio < 10:
                behind.append(f"DTW 1-NN at a 10 % window on {r['rows']:,} series ({r['queries']}): {ratio:.2f}× the UCR-Suite cascade scan, below the target of 10×")
        L.append("")
    L += ["![Latency against collection size](docs/bench/latency_vs_size.png)", ""]
    # TLB.
    L += ["## 4. Tightness of the lower bound: KDE (edwSAX) against Gaussian (SAX) breakpoints", "",
          "TLB = MINDIST bound / true Euclidean distance over all pairs of each bundled train split, cardinality 4 to 256 "
          "(the edwSAX paper: 0.29–0.61 at 5 symbols, 0.79–0.98 at 100, word n/2).", "",
          results["tlb"]["markdown"].strip(), "", "![TLB](docs/bench/tlb.png)", ""]
    ex = results.get("exactness")
    if ex:
        L += ["## 5. Exact answers over the originals, and error-bounded storage", "",
              "### 5.1 1-NN classification against the UCR archive's published accuracies", "",
              "Test split queried against a database of the train split (`examples/ucr_1nn`). *Original-exact*: "
              "`Exactness::Original` over a `--keep-raw` database, distances between z-normalised originals; "
              "published: 1 − the error rates of the archive's DataSummary.csv (`ED (w=0)`, `DTW (w=100)`), "
              "kept in tests/data/ucr/published_1nn.csv. The reconstructed columns answer over the reconstructions of "
              "databases built at each `tol` (file bits per value in brackets, index and series table included: "
              "small train splits are dominated by them). DodgerLoopDay has missing values (refused at ingest), "
              "GesturePebbleZ1 and PLAID variable lengths, which the archive pads before measuring: not comparable.", "",
              ex["ucr_1nn"].strip(), ""]
        mism = [r[0] for r in table_rows(ex["ucr_1nn"]) if len(r) > 11 and "NO" in r[-2] and "variable length" not in r[-2]]
        for name in mism:
            behind.append(f"1-NN accuracy over the originals on {name} differs from the published figure at the third decimal")
        L += ["### 5.2 Bits per value of the storage modes", "",
              "All bundled UCR datasets, train and test together (`examples/storage_modes`; databases without a "
              "search index). Symbolic: the default codec (mean RMSE/σ in brackets). Keep-raw: symbolic plus every "
              "original value losslessly in blocks of 64 series (the raw part in brackets). Max-error: every value "
              "within δ of the original (checked on every value in the run), δ = 1 % and 5 % of the mean σ. Peers on "
              "the same values: zstd of the f64 bytes, pco on one stream, and for the error bound uniform "
              "quantization to step 2δ coded by pco (the SZ-style baseline with the same guarantee).", "",
              ex["storage_modes"].strip(), ""]
        geo = [r for r in table_rows(ex["storage_modes"]) if r[0] == "geometric mean"]
        if geo:
            g = [float(c) for c in geo[0][2:]]
            # columns: zstd3 zstd19 pco symbolic keep-raw eb1 q1 eb5 q5
            if g[5] > g[6]:
                behind.append(f"error-bounded storage at δ = 1 % σ: {g[5]:.2f} bits/value against {g[6]:.2f} for quantization "
                              f"+ pco ({g[5] / g[6]:.1f}×; the symbolic part is the difference, bought for search)")
            if g[7] > g[8]:
                behind.append(f"error-bounded storage at δ = 5 % σ: {g[7]:.2f} bits/value against {g[8]:.2f} for quantization "
                              f"+ pco ({g[7] / g[8]:.1f}×)")
    if ex and ex.get("bytes_per_series"):
        text = ex["bytes_per_series"]
        sizes, rd = text.split("Bits per value at the same error", 1)
        L += ["### 5.3 Bytes per series by section, and bits at the same error as uniform quantization", "",
              "`examples/bytes_per_series`: every bundled UCR dataset (train and test together, labels kept) and 10,000 "
              "random walks of 256 values, built with the default options. SERIES holds the per-series metadata "
              "(FORMAT.md §4.3.2), INDEX the search index (words of 16 bytes at word length 16, a 4-byte member id "
              "and 2 KB of breakpoints per segment), the rest the header, table of contents, PARAMS, LABELS, REPORT "
              "and lossless and corrected series (LOSSLESS, CORRECTIONS).", "",
              sizes.split("\n", 2)[2].strip(), "",
              "Rate–distortion: qabbadb's symbolic mode without an index (whole database directory) against uniform "
              "scalar quantization of each z-normalised series with one step for all series, its levels coded by pco as "
              "one stream, plus 8 bytes per series for μ and σ, the step chosen by bisection so that both have the same "
              "mean RMSE/σ against the original values.", "",
              "Bits per value at the same error" + rd.rstrip(), ""]
        ucr = [r for r in table_rows(sizes) if len(r) >= 5 and not r[0].startswith("RandomWalk")]
        for col, what in ((3, "per-series metadata"), (4, "index")):
            over = [float(r[col]) for r in ucr if float(r[col]) > 10]
            if over:
                behind.append(f"{what}: {min(over):.1f}–{max(over):.1f} bytes per series on {len(over)} of {len(ucr)} "
                              "bundled UCR sets, above the target of 10")
        worse = [r for r in table_rows(rd) if len(r) == 6 and float(r[5]) > 1]
        if worse:
            behind.append(f"storage at the same error as uniform quantization + pco: more bits on {len(worse)} of "
                          f"{len(table_rows(rd))} dataset × tol rows (up to {max(float(r[5]) for r in worse):.1f}×)")
    py = results.get("python")
    if py:
        v = py["versions"]
        L += ["## 6. The Python package beside the Python peers", "",
              "### 6.1 1-NN classification", "",
              "`qabbadb.sklearn.KNeighborsTimeSeriesClassifier` (exact over the originals: its `fit` builds a `keep_raw` "
              "database, index and fsync included) against the `KNeighborsTimeSeriesClassifier` of aeon "
              f"{v.get('aeon', '?')}, tslearn {v.get('tslearn', '?')} and sktime {v.get('sktime', '?')}, on the bundled "
              "UCR sets (z-normalised), 1 neighbour, DTW with a 10 % Sakoe-Chiba window and Euclidean. Seconds of fit + "
              "predict on the whole test split, after a warm-up of every library on a toy set (the peers' numba code "
              "compiles, qabbadb loads and starts its threads); one timed run each; accuracy in brackets. "
              "Each peer uses its own defaults for threads.", "",
              "| dataset | train × test × length | distance | qabbadb | aeon | tslearn | sktime | qabbadb speed-up over aeon / tslearn / sktime |",
              "|---|---|---|---:|---:|---:|---:|---|"]
        for r in py["classifiers"]:
            cell = lambda p: (f"{r[p]['seconds']:.3f} s ({r[p]['accuracy']:.4f})" if "seconds" in r.get(p, {})
                              else r.get(p, {}).get("skipped") or r.get(p, {}).get("error", "–"))
            ups = []
            for p in ("aeon", "tslearn", "sktime"):
                ups.append(f"{r[p]['seconds'] / r['qabbadb']['seconds']:.1f}×" if "seconds" in r.get(p, {}) else "–")
                if "accuracy" in r.get(p, {}) and abs(r[p]["accuracy"] - r["qabbadb"]["accuracy"]) > 1e-9:
                    behind.append(f"1-NN {r['distance']} accuracy on {r['dataset']}: {r['qabbadb']['accuracy']:.4f} against {p}'s {r[p]['accuracy']:.4f}")
            L.append(f"| {r['dataset']} | {r['train']} × {r['test']} × {r['length']} | {r['distance']} | {cell('qabbadb')} | "
                     f"{cell('aeon')} | {cell('tslearn')} | {cell('sktime')} | {' / '.join(ups)} |")
            if r["distance"] == "dtw":
                for p in ("aeon", "tslearn"):
                    if "seconds" in r.get(p, {}) and r[p]["seconds"] / r["qabbadb"]["seconds"] < 100:
                        behind.append(f"DTW 1-NN classification on {r['dataset']}: {r[p]['seconds'] / r['qabbadb']['seconds']:.1f}× "
                                      f"{p}, below the target of 100×")
            else:
                for p in ("aeon", "tslearn", "sktime"):
                    if "seconds" in r.get(p, {}) and r[p]["seconds"] < r["qabbadb"]["seconds"]:
                        behind.append(f"Euclidean 1-NN classification on {r['dataset']}: {r['qabbadb']['seconds']:.3f} s against "
                                      f"{p}'s {r[p]['seconds']:.3f} s (qabbadb's fit builds and syncs a database)")
        L += ["", "### 6.2 Batch search from Python", "",
              "`Database.search(Q, k=10, exact=\"original\")` over a `keep_raw=True, max_error=0.01` database against faiss "
              f"{v.get('faiss', '?')} `IndexFlatL2.search` (float32, z-normalised rows; the same answers up to float32 "
              "rounding), one batch of 100 noisy copies of stored random walks of length 256.", "",
              "| series | faiss flat | qabbadb, exact over originals | qabbadb, over reconstructions | faiss ÷ qabbadb | first neighbour agrees |",
              "|---:|---:|---:|---:|---:|---:|"]
        for r in py["batch_search"]:
            ratio = r["faiss_flat_seconds"] / r["qabbadb_seconds"]
            L.append(f"| {r['series']:,} | {r['faiss_flat_seconds'] * 1e3:.1f} ms | {r['qabbadb_seconds'] * 1e3:.1f} ms | "
                     f"{r['qabbadb_reconstruction_seconds'] * 1e3:.1f} ms | {ratio:.2f}× | {r['first_neighbour_agreement']:.2f} |")
            if ratio < 1:
                behind.append(f"batch of 100 exact 10-NN from Python on {r['series']:,} series: {1 / ratio:.1f}× slower than faiss IndexFlatL2")
        L.append("")
    L += ["## Where qabbadb is behind", ""]
    # Group the codec rows (one line per kind) and list the search rows one by one.
    groups = {}
    rest = []
    for b in behind:
        kind = b.split(" on ", 1)[0]
        if kind in ("storage", "error", "fit speed"):
            groups.setdefault(kind, []).append(b)
        else:
            rest.append(b)
    codec_rows = len(results["codec"])
    speeds = [row["closed_loop"]["values_per_sec"] / row["reference"]["values_per_sec"] for row in results["codec"] if row["reference"]]
    if "fit speed" in groups:
        L.append(f"- codec fit speed: {min(speeds):.0f}–{max(speeds):.0f}× the reference on one thread (median "
                 f"{np.median(speeds):.0f}×) — below the target of 50× on {len(groups['fit speed'])} of {len(speeds)} rows.")
    if "storage" in groups:
        over = [row["closed_loop"]["bits"] / row["reference"]["bits"] - 1 for row in results["codec"] if row["reference"] and row["closed_loop"]["bits"] > row["reference"]["bits"] * 1.02]
        L.append(f"- codec storage at the same tolerance and alphabet: more bits than the reference on {len(groups['storage'])} of "
                 f"{codec_rows} rows, by {100 * min(over):.0f}–{100 * max(over):.0f} % (closed-loop assignment spreads symbols; "
                 "at no more bits than the reference the error is still lower, see appendix A).")
    for b in groups.get("error", []):
        L.append(f"- codec {b}.")
    L += [f"- {b}." for b in rest]
    if not behind:
        L.append("- nowhere in this run.")
    L.append("")
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qabbadb", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite the reports from DIR/results.json")
    ap.add_argument("--resume", action="store_true", help="reuse the phases saved in DIR/partial.json")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.report_only:
        results = json.load(open(os.path.join(args.out, "results.json")))
        write_reports(results, args.out)
        return
    quick = args.quick
    t0 = time.time()
    results = {"quick": quick, "binary": args.qabbadb, "machine": machine()}
    partial_path = os.path.join(args.out, "partial.json")
    saved = json.load(open(partial_path)) if args.resume and os.path.exists(partial_path) else {}

    def checkpoint():
        with open(partial_path, "w") as f:
            json.dump({k: results[k] for k in ("codec", "storage", "search") if k in results}, f, default=float)
    ucr_small = ["Beef", "Coffee", "ECG200", "GunPoint", "Trace"]
    names = ucr_small if quick else [n for n in parity.UCR if n not in ("GesturePebbleZ1", "PLAID")]
    datasets = [(n, [parity.znorm(x) for x in parity.load_ucr(n)]) for n in names]
    walks = (f"RandomWalk{2000 if quick else 10000}x256", parity.random_walks(2000 if quick else 10000, 256, 42))
    # 1. Codec parity.
    codec = saved.get("codec", [])
    for tol_pkg in ([0.05] if quick else [0.05, 0.01]) if not codec else []:
        for name, series in datasets + [walks]:
            with tempfile.TemporaryDirectory() as wd:
                codec.append({"dataset": name, "tol_pkg": tol_pkg, "reference": parity.reference(series, tol_pkg),
                              "closed_loop": parity.ours(args.qabbadb, series, tol_pkg, "closed-loop", wd, 1),
                              "closed_loop_2t": parity.ours(args.qabbadb, series, tol_pkg, "closed-loop", wd, 2)})
    results["codec"] = codec
    checkpoint()
    log(f"codec parity done ({time.time() - t0:.0f} s)")
    # 2. Storage against error.
    tols = [0.1, 0.2236, 0.45] if quick else [0.05, 0.1, 0.1581, 0.2236, 0.3162, 0.45]
    results["storage"] = saved.get("storage") or storage_sweep(
        args.qabbadb, datasets[:5] + [walks] if quick else datasets + [walks], tols)
    checkpoint()
    log(f"storage sweep done ({time.time() - t0:.0f} s)")
    # 3. Search.
    sizes = [10_000, 100_000] if quick else [100_000, 1_000_000]
    results["search"] = saved.get("search") or search_runs(sys.executable, args.examples, sizes, 20_000 if quick else 1_000_000, args.out)
    checkpoint()
    log(f"search done ({time.time() - t0:.0f} s)")
    # 4. TLB.
    results["tlb"] = tlb_run(args.examples)
    # 5. Exactness over the originals and storage modes.
    results["exactness"] = exactness_run(args.examples, quick)
    log(f"exactness done ({time.time() - t0:.0f} s)")
    # 6. The Python package beside the Python peers.
    results["python"] = python_run(quick)
    log(f"python done ({time.time() - t0:.0f} s)")
    plot_dir = os.path.join(args.out, "docs", "bench")
    os.makedirs(plot_dir, exist_ok=True)
    results["plots"] = plots(results, plot_dir)
    results["seconds"] = time.time() - t0
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=float)
    write_reports(results, args.out)
    log(f"done in {results['seconds']:.0f} s: {args.out}/BENCHMARKS.md, results.json, plots")


def write_reports(results, out):
    """results.md (the measured tables) and BENCHMARKS.md (those plus the appendix of separately
    measured sections in tools/peers/BENCHMARKS.appendix.md)."""
    cmd = "tools/bench" + (" --quick" if results["quick"] else "")
    md = report(results, [cmd])
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    appendix = open(os.path.join(ROOT, "tools", "peers", "BENCHMARKS.appendix.md")).read()
    with open(os.path.join(out, "BENCHMARKS.md"), "w") as f:
        f.write(md + "\n" + appendix)


if __name__ == "__main__":
    main()
