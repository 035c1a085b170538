"""The scale section of tools/bench (`tools/bench --scale`): seeded random walks of length 256
streamed from a generator (examples/walks) into `qabbadb build --input - --format f32`, at growing
sizes; build time, values/s and peak RSS of the build; file size and bits per value; open time,
resident memory after open and after the queries; exact Euclidean 1-NN and 10-NN latency over the
reconstructions, and over the originals on a `--keep-raw --max-error 0.01` build at one size;
numpy gemv over the same float32 values where they fit in memory (same answers checked over the
originals), and MESSI (in memory, 2 threads, SIMD) on the same file and queries when the
environment variable QABBADB_MESSI names a MESSI binary (built by the user from the SOFA
repository, patrickzib/SOFA; its code is not part of qabbadb); skipped when it is not set.

Usage: python tools/peers/scale.py --qabbadb BIN --examples DIR --out DIR
           [--sizes 1000000,10000000,50000000] [--keep-raw-size 10000000] [--gemv-max 10000000]
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np

LENGTH = 256
QUERIES = 100


def timed(cmd, stdin_cmd=None):
    """Runs `cmd` (its stdin piped from `stdin_cmd` when given) under /usr/bin/time -v; returns
    (stdout, wall seconds, peak RSS in MiB of `cmd` alone)."""
    full = ["/usr/bin/time", "-v"] + cmd
    src = subprocess.Popen(stdin_cmd, stdout=subprocess.PIPE) if stdin_cmd else None
    t = time.perf_counter()
    p = subprocess.run(full, stdin=src.stdout if src else None, capture_output=True, text=True)
    secs = time.perf_counter() - t
    if src:
        src.stdout.close()
        src.wait()
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
    return p.stdout, secs, rss


def gemv(data, queries, k):
    """Exact k-NN of every query by ‖x‖² − 2x·q (one gemv a query, float32); (ids of the first
    neighbours, median seconds a query after the first, squared distance of the k-th)."""
    norms = np.einsum("ij,ij->i", data, data)
    firsts, times = [], []
    kth = []
    for q in queries:
        t = time.perf_counter()
        d = norms - 2.0 * (data @ q)
        if k == 1:
            best = [int(np.argmin(d))]
        else:
            part = np.argpartition(d, k)[:k]
            best = part[np.argsort(d[part])].tolist()
        times.append(time.perf_counter() - t)
        firsts.append(best[0])
        kth.append(float(np.sum((data[best[-1]].astype(np.float64) - q) ** 2)))
    return firsts, float(np.median(times[1:])), kth


def messi(binary, raw, n, queries, k):
    """MESSI over the raw float32 file (in memory, MESSI-mq with SIMD, 2 threads): (wall seconds
    of the whole run, index and queries; peak RSS in MiB; median ms a query after the first;
    squared distance of the k-th neighbour of every query)."""
    cmd = [binary, "--dataset", raw, "--in-memory", "--timeseries-size", str(LENGTH),
           "--dataset-size", str(n), "--flush-limit", "300000", "--read-block", "20000",
           "--sax-cardinality", "8", "--paa-segments", "16", "--queries", queries,
           "--queries-size", str(QUERIES), "--queue-number", "2", "--cpu-type", "21",
           "--function-type", "3", "--leaf-size", "2000", "--min-leaf-size", "2000",
           "--initial-lbl-size", "2000", "--SIMD"]
    if k > 1:
        cmd += ["--topk", "--k-size", str(k)]
    out, secs, rss = timed(cmd)
    rows = []
    for line in out.splitlines()[1:]:
        cols = line.split(":")[-1].split()
        if len(cols) == 10:
            rows.append((float(cols[8]), float(cols[9])))
    rows = rows[:QUERIES]  # a last summary line repeats the total
    totals = np.array([t for _, t in rows])
    per_query = np.diff(np.concatenate([[0.0], totals])) / 1e3
    return secs, rss, float(np.median(per_query[1:])), [d for d, _ in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qabbadb", required=True)
    ap.add_argument("--examples", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="1000000,10000000,50000000")
    ap.add_argument("--keep-raw-size", type=int, default=10_000_000)
    ap.add_argument("--gemv-max", type=int, default=10_000_000)
    ap.add_argument("--gemv-queries", type=int, default=20)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    work = os.path.join(a.out, "scale-work")
    walks = os.path.join(a.examples, "walks")
    open_query = os.path.join(a.examples, "open_query")
    results = {"machine": {"cpus": os.cpu_count()}, "rows": []}

    # The generator alone, to show it is not what limits the build.
    t = time.perf_counter()
    subprocess.run([walks, "1000000"], stdout=subprocess.DEVNULL, check=True)
    results["generator_values_per_s"] = 1_000_000 * LENGTH / (time.perf_counter() - t)
    print(f"generator: {results['generator_values_per_s'] / 1e6:.0f} M values/s", file=sys.stderr)

    for n in [int(s) for s in a.sizes.split(",")]:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        fresh = os.path.join(work, "fresh.f32")
        noisy = os.path.join(work, "noisy.f32")
        with open(fresh, "wb") as f:
            subprocess.run([walks, str(QUERIES), "--seed", "2"], stdout=f, check=True)
        picks = [i * (n // QUERIES) + 7 for i in range(QUERIES)]
        with open(noisy, "wb") as f:
            subprocess.run([walks, "0", "--pick", ",".join(map(str, picks)), "--noise", "0.1"],
                           stdout=f, check=True)
        modes = [("symbolic", [])]
        if n == a.keep_raw_size:
            modes.append(("keep-raw, max-error 0.01", ["--keep-raw", "--max-error", "0.01"]))
        rows = []
        for mode, flags in modes:
            db = os.path.join(work, "db")
            shutil.rmtree(db, ignore_errors=True)
            out, secs, rss = timed(
                [a.qabbadb, "build", "-i", "-", "--format", "f32", "--length", str(LENGTH),
                 "--json"] + flags + [db],
                stdin_cmd=[walks, str(n)])
            build = json.loads(out)
            file_bytes = sum(os.path.getsize(os.path.join(db, f)) for f in os.listdir(db))
            exact = ["--exact", "original"] if flags else []
            out, _, _ = timed([open_query, db] + exact + [f"fresh={fresh}", f"noisy={noisy}"])
            q = json.loads(out)
            row = {
                "series": n, "mode": mode, "build_s": secs, "values_per_s": n * LENGTH / secs,
                "build_peak_rss_mib": rss, "file_mib": file_bytes / 2**20,
                "bits_per_value": file_bytes * 8 / (n * LENGTH), "segments": q["segments"],
                "open_ms": q["open_ms"], "rss_after_open_mib": q["rss_after_open_mib"],
                "rss_end_mib": q["rss_end_mib"], "peak_rss_mib": q["peak_rss_mib"],
                "queries": q["sets"], "build_report": build,
            }
            rows.append(row)
            print(f"{n} {mode}: build {secs:.1f} s ({row['values_per_s'] / 1e6:.1f} M values/s, "
                  f"{rss:.0f} MiB), file {row['file_mib']:.0f} MiB, open {q['open_ms']:.0f} ms, "
                  f"1-NN fresh {q['sets']['fresh/k1']['median_ms']:.2f} ms, "
                  f"RSS end {q['rss_end_mib']:.0f} MiB", file=sys.stderr)
            shutil.rmtree(db)
        if n <= a.gemv_max:
            raw = os.path.join(work, "data.f32")
            with open(raw, "wb") as f:
                subprocess.run([walks, str(n)], stdout=f, check=True)
            data = np.fromfile(raw, dtype="<f4").reshape(n, LENGTH)
            g = {}
            for name, path in [("fresh", fresh), ("noisy", noisy)]:
                qs = np.fromfile(path, dtype="<f4").reshape(-1, LENGTH)[: a.gemv_queries]
                # z-normalised like qabbadb's queries (the walks are already, up to rounding)
                qs = (qs - qs.mean(1, keepdims=True)) / qs.std(1, keepdims=True)
                for k in (1, 10):
                    firsts, med, kth = gemv(data, qs.astype(np.float32), k)
                    g[f"{name}/k{k}"] = {"median_ms": med * 1e3, "first_neighbours": firsts,
                                         "kth_sq": kth}
            del data
            if os.environ.get("QABBADB_MESSI"):
                m = {}
                for name, path in [("fresh", fresh), ("noisy", noisy)]:
                    # MESSI compares the query as given: z-normalise it as qabbadb and gemv do.
                    qs = np.fromfile(path, dtype="<f4").reshape(-1, LENGTH).astype(np.float64)
                    qs = (qs - qs.mean(1, keepdims=True)) / qs.std(1, keepdims=True)
                    path = os.path.join(work, f"{name}.normalised.f32")
                    qs.astype("<f4").tofile(path)
                    for k in (1, 10):
                        secs, rss, med, kth = messi(os.environ["QABBADB_MESSI"], raw, n, path, k)
                        ref = g[f"{name}/k{k}"]["kth_sq"]
                        agree = np.mean([abs(x - y) <= 1e-3 * max(1.0, y)
                                         for x, y in zip(kth, ref)])
                        m[f"{name}/k{k}"] = {"run_s": secs, "peak_rss_mib": rss,
                                             "median_ms": med, "agree_with_gemv": float(agree)}
                        print(f"{n} MESSI {name} k={k}: {med:.2f} ms a query, "
                              f"{rss:.0f} MiB, agree {agree:.2f}", file=sys.stderr)
                for row in rows:
                    row["messi"] = m
            else:
                print("MESSI: skipped (set QABBADB_MESSI to a MESSI binary built from the SOFA "
                      "repository)", file=sys.stderr)
            os.remove(raw)
            for row in rows:
                row["gemv"] = g
                if row["mode"] != "symbolic":
                    # Over the originals the answers must agree (up to float32 ties).
                    for key, v in g.items():
                        ours = row["queries"][key]["first_neighbours"][: a.gemv_queries]
                        row["queries"][key]["agree_with_gemv"] = float(
                            np.mean([x == y for x, y in zip(ours, v["first_neighbours"])]))
        results["rows"].extend(rows)
        with open(os.path.join(a.out, "scale.json"), "w") as f:
            json.dump(results, f, indent=1)
    shutil.rmtree(work, ignore_errors=True)
    write_markdown(results, os.path.join(a.out, "scale.md"))


def write_markdown(results, path):
    lines = [
        f"Generator alone: {results['generator_values_per_s'] / 1e6:.0f} M values/s. "
        "Query latency: median of 99 queries after the first (each query on both threads); "
        "gemv: numpy float32 `‖x‖² − 2Xq`, median of the queries after the first; MESSI: "
        "in memory, 2 threads, SIMD, leaves of 2,000, median of 99 queries after the first, "
        "z-normalised queries; agreement: the k-th distance equal to gemv's (MESSI) or the "
        "first neighbour's id (qabbadb over the originals).",
        "",
        "| series | mode | segments | build | values/s | build peak RSS | file | bits/value | open "
        "| RSS after open | 1-NN fresh (first) | 10-NN fresh | 1-NN noisy | 10-NN noisy "
        "| RSS after 400 queries | peak RSS | gemv 1-NN fresh / noisy | MESSI 1-NN fresh / noisy "
        "| MESSI 10-NN fresh / noisy | MESSI peak RSS | agree with gemv |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results["rows"]:
        q = r["queries"]
        g = r.get("gemv")
        gem = (f"{g['fresh/k1']['median_ms']:.1f} / {g['noisy/k1']['median_ms']:.1f} ms"
               if g else "does not fit")
        m = r.get("messi")
        mes = (f"{m['fresh/k1']['median_ms']:.1f} / {m['noisy/k1']['median_ms']:.1f} ms "
               f"| {m['fresh/k10']['median_ms']:.1f} / {m['noisy/k10']['median_ms']:.1f} ms "
               f"| {max(v['peak_rss_mib'] for v in m.values()):.0f} MiB "
               f"(agree {min(v['agree_with_gemv'] for v in m.values()):.2f})"
               if m else "not run | not run | –")
        agree = ", ".join(f"{k} {v['agree_with_gemv']:.2f}" for k, v in q.items()
                          if "agree_with_gemv" in v) or "–"
        lines.append(
            f"| {r['series']:,} | {r['mode']} | {r['segments']} | {r['build_s']:.1f} s "
            f"| {r['values_per_s'] / 1e6:.1f} M | {r['build_peak_rss_mib']:.0f} MiB "
            f"| {r['file_mib']:.0f} MiB | {r['bits_per_value']:.2f} | {r['open_ms']:.0f} ms "
            f"| {r['rss_after_open_mib']:.0f} MiB "
            f"| {q['fresh/k1']['median_ms']:.2f} ms ({q['fresh/k1']['first_ms']:.0f} ms) "
            f"| {q['fresh/k10']['median_ms']:.2f} ms | {q['noisy/k1']['median_ms']:.2f} ms "
            f"| {q['noisy/k10']['median_ms']:.2f} ms | {r['rss_end_mib']:.0f} MiB "
            f"| {r['peak_rss_mib']:.0f} MiB | {gem} | {mes} | {agree} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
