//! The command-line tool, end to end.

use qabbadb::Query;

use crate::util::{qabbadb, ucr};

#[test]
fn build_info_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gp.qdb");
    let db_s = db.to_str().unwrap();
    let input = ucr("GunPoint", "TRAIN");
    let (code, _, err) = qabbadb(&["build", db_s, "--input", input.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    let (code, out, err) = qabbadb(&["info", db_s, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for key in [
        "series",
        "points",
        "pieces",
        "symbols",
        "bytes",
        "bits_per_point",
        "params",
    ] {
        assert!(v.get(key).is_some(), "info --json lacks {key}: {out}");
    }
    assert_eq!(v["series"], 50);
    assert_eq!(v["points"], 50 * 150);
    let bytes: u64 = std::fs::read_dir(&db)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "LOCK")
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert_eq!(v["bytes"], bytes);
    assert!((v["bits_per_point"].as_f64().unwrap() - bytes as f64 * 8.0 / 7500.0).abs() < 1e-9);

    for ext in ["tsv", "csv", "npy"] {
        let out_path = dir.path().join(format!("out.{ext}"));
        let (code, _, err) = qabbadb(&["export", db_s, "--out", out_path.to_str().unwrap()]);
        assert_eq!(code, 0, "{ext}: {err}");
        let back = qabbadb::ingest::read(&out_path, None).unwrap();
        assert_eq!(back.len(), 50, "{ext}");
        assert!(back.series.iter().all(|s| s.len() == 150), "{ext}");
        let orig = qabbadb::ingest::read(&input, None).unwrap();
        if ext != "npy" {
            assert_eq!(back.labels, orig.labels, "{ext} keeps labels");
        }
        let db_open = qabbadb::Database::open_read_only(&db).unwrap();
        assert_eq!(
            back.series[7],
            db_open.snapshot().get(7).unwrap(),
            "{ext}: exported values are the decode"
        );
    }

    let norm = dir.path().join("norm.csv");
    let (code, _, err) = qabbadb(&[
        "export",
        db_s,
        "--out",
        norm.to_str().unwrap(),
        "--normalized",
    ]);
    assert_eq!(code, 0, "{err}");
    let back = qabbadb::ingest::read(&norm, None).unwrap();
    let db_open = qabbadb::Database::open_read_only(&db).unwrap();
    let r = db_open.snapshot().series_info().unwrap()[3];
    let x = db_open.snapshot().get(3).unwrap();
    for (a, b) in back.series[3].iter().zip(&x) {
        assert!((a - (b - r.mean) / r.std).abs() < 1e-12);
    }
}

#[test]
fn bad_input_exits_2_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    std::fs::write(&input, "1,2,3\n4,x,6\n").unwrap();
    let db = dir.path().join("x.qdb");
    let (code, _, err) = qabbadb(&[
        "build",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.csv:2:2"), "{err}");
    assert!(!db.exists(), "nothing written on error");

    let (code, _, err) = qabbadb(&["build", db.to_str().unwrap(), "--input", "nope.tsv"]);
    assert_eq!(code, 2);
    assert!(err.contains("nope.tsv"), "{err}");

    let (code, _, err) = qabbadb(&[
        "build",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--len-bits",
        "40",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("len_bits"), "{err}");

    std::fs::write(&db, b"not a database").unwrap();
    let (code, _, err) = qabbadb(&["info", db.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not a qabbadb database"), "{err}");
}

#[test]
fn kmeans_build_has_the_requested_alphabet() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("k.qdb");
    let input = ucr("ECG200", "TRAIN");
    let (code, out, err) = qabbadb(&[
        "build",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--digitize",
        "kmeans",
        "--symbols",
        "20",
        "--seed",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["symbols"], 20);
    assert_eq!(v["params"]["digitize"], "kmeans");
}

#[test]
fn demo_runs() {
    let (code, out, err) = qabbadb(&["demo"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ECG5000") && out.contains("bits per value"),
        "{out}"
    );
    // Every answer shown is checked against brute force in the demo itself.
    assert_eq!(
        out.matches("= brute force over the originals").count(),
        5,
        "{out}"
    );
    assert_eq!(out.matches("= brute force").count(), 15, "{out}");
    assert!(!out.contains("DIFFERS"), "{out}");
}

#[test]
fn query_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("q.qdb");
    let train = ucr("ECG200", "TRAIN");
    let test = ucr("ECG200", "TEST");
    let (code, _, err) = qabbadb(&[
        "build",
        db.to_str().unwrap(),
        "--input",
        train.to_str().unwrap(),
        "--word-len",
        "8",
        "--breakpoints",
        "kde",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = qabbadb(&[
        "query",
        db.to_str().unwrap(),
        "--queries",
        test.to_str().unwrap(),
        "--k",
        "3",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 100, "one line per query");
    let opened = qabbadb::Database::open_read_only(&db).unwrap();
    let queries = qabbadb::ingest::read(&test, None).unwrap();
    for (i, line) in lines.iter().enumerate().take(10) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["query"], i);
        let n = v["neighbors"].as_array().unwrap();
        assert_eq!(n.len(), 3);
        let want = opened
            .snapshot()
            .search(
                &Query::knn(&queries.series[i], 3)
                    .metric(qabbadb::Metric::Euclidean)
                    .brute_force(true),
            )
            .map(|r| r.neighbors)
            .unwrap();
        for (a, b) in n.iter().zip(&want) {
            assert_eq!(a["id"], b.id.0);
            assert_eq!(a["distance"].as_f64().unwrap(), b.distance);
            assert_eq!(
                a["label"].as_str(),
                opened.snapshot().label(b.id).unwrap().as_deref()
            );
        }
        for key in ["lower_bounds", "verified", "micros"] {
            assert!(v["stats"][key].is_u64(), "stats.{key}");
        }
    }
    let (code, out, err) = qabbadb(&[
        "query",
        db.to_str().unwrap(),
        "--queries",
        test.to_str().unwrap(),
        "--metric",
        "dtw",
        "--window-points",
        "5",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("query 99:") && out.contains("verified"),
        "{out}"
    );
    let (code, _, err) = qabbadb(&[
        "query",
        db.to_str().unwrap(),
        "--queries",
        test.to_str().unwrap(),
        "--k",
        "0",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("k must be"), "{err}");

    // The same queries as raw float64 values (--length per query) get the same answers; raw
    // values without --length, or --length for another format, are errors.
    let raw = dir.path().join("queries.f64");
    let bytes: Vec<u8> = (queries.series.iter().flatten())
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(&raw, bytes).unwrap();
    let n = queries.series[0].len().to_string();
    let (t, r) = (test.to_str().unwrap(), raw.to_str().unwrap());
    let d = db.to_str().unwrap();
    let (code, from_ucr, err) = qabbadb(&["query", d, "--queries", t, "--k", "3", "--json"]);
    assert_eq!(code, 0, "{err}");
    let args = [
        "query",
        d,
        "--queries",
        r,
        "--format",
        "f64",
        "--length",
        &n,
        "--k",
        "3",
        "--json",
    ];
    let (code, from_raw, err) = qabbadb(&args);
    assert_eq!(code, 0, "{err}");
    let answers = |out: &str| -> Vec<serde_json::Value> {
        (out.lines())
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["neighbors"].clone())
            .collect()
    };
    assert_eq!(answers(&from_raw), answers(&from_ucr));
    let (code, _, err) = qabbadb(&["query", d, "--queries", r, "--format", "f64"]);
    assert_eq!(code, 2);
    assert!(err.contains("--length"), "{err}");
    let (code, _, err) = qabbadb(&["query", d, "--queries", t, "--length", &n]);
    assert_eq!(code, 2);
    assert!(err.contains("--length applies"), "{err}");
}

#[test]
fn append_delete_get_compact_verify() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.qdb");
    let d = db.to_str().unwrap();
    let (train, test) = (ucr("Coffee", "TRAIN"), ucr("Coffee", "TEST"));
    assert_eq!(
        qabbadb(&["build", d, "--input", train.to_str().unwrap()]).0,
        0
    );
    let (code, _, err) = qabbadb(&["build", d, "--input", train.to_str().unwrap()]);
    assert_eq!(code, 2, "building over a database is refused");
    assert!(err.contains("already holds a database"), "{err}");
    let (code, out, err) = qabbadb(&["append", d, "--input", test.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (
            v["appended"].as_u64(),
            v["first_id"].as_u64(),
            v["series"].as_u64()
        ),
        (Some(28), Some(28), Some(56))
    );
    let (code, out, err) = qabbadb(&["delete", d, "--ids", "0,5-7"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("deleted 4"), "{out}");
    let (code, _, err) = qabbadb(&["get", d, "--id", "6"]);
    assert_eq!(code, 2);
    assert!(err.contains("no series with id 6"), "{err}");
    let (code, out, _) = qabbadb(&["get", d, "--id", "30", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["id"], 30);
    assert_eq!(v["values"].as_array().unwrap().len(), 286);
    assert!(v["label"].is_string());
    let (code, out, _) = qabbadb(&["info", d, "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["series"].as_u64(), v["deleted"].as_u64()),
        (Some(52), Some(4))
    );
    assert_eq!(v["segments"].as_array().unwrap().len(), 2);
    assert_eq!(qabbadb(&["compact", d]).0, 0);
    let (code, out, _) = qabbadb(&["verify", d]);
    assert_eq!(code, 0, "{out}");
    // Damage one byte of the segment: verify says so and exits 1; reads give errors.
    let seg = crate::util::segment_file(&db);
    let mut bytes = std::fs::read(&seg).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let (code, out, _) = qabbadb(&["verify", d]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("damaged:") && out.contains("checksum"),
        "{out}"
    );
    // A read that touches the damaged part is an error (a `get` reads only its series' block
    // and the series table, so a query over every series is the read that must see it).
    let (code, _, err) = qabbadb(&["query", d, "--queries", test.to_str().unwrap(), "--k", "1"]);
    assert_eq!(code, 2);
    assert!(err.contains("corrupt"), "{err}");
}

#[test]
fn max_error_bounds_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("e.qdb");
    let d = db.to_str().unwrap();
    let train = ucr("GunPoint", "TRAIN");
    let (code, _, err) = qabbadb(&[
        "build",
        d,
        "--input",
        train.to_str().unwrap(),
        "--max-error",
        "0.001",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = qabbadb(&["info", d]);
    assert!(
        out.contains("residuals") && out.contains("within 0.001 of the original"),
        "{out}"
    );
    let data = qabbadb::ingest::read(&train, None).unwrap();
    for id in [0usize, 17, 49] {
        let (code, out, _) = qabbadb(&["get", d, "--id", &id.to_string(), "--json"]);
        assert_eq!(code, 0);
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let values: Vec<f64> = v["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(values.len(), data.series[id].len());
        for (a, b) in values.iter().zip(&data.series[id]) {
            assert!((a - b).abs() <= 0.001, "id {id}: {a} vs {b}");
        }
    }
    let (code, _, err) = qabbadb(&[
        "build",
        dir.path().join("f").to_str().unwrap(),
        "--input",
        train.to_str().unwrap(),
        "--max-error=-1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("max_error"), "{err}");
}

#[test]
fn export_raw_gives_the_input_back_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.qdb");
    let d = db.to_str().unwrap();
    let train = ucr("ArrowHead", "TRAIN");
    let input = qabbadb::ingest::read(&train, None).unwrap();
    let (code, _, err) = qabbadb(&["build", d, "--input", train.to_str().unwrap(), "--keep-raw"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(qabbadb(&["delete", d, "--ids", "2,30"]).0, 0);
    let keep: Vec<usize> = (0..input.len()).filter(|&i| i != 2 && i != 30).collect();
    for name in ["back.tsv", "back.npy", "back.csv"] {
        let out = dir.path().join(name);
        let (code, _, err) = qabbadb(&["export", d, "--out", out.to_str().unwrap(), "--raw"]);
        assert_eq!(code, 0, "{err}");
        let back = qabbadb::ingest::read(&out, None).unwrap();
        assert_eq!(back.len(), keep.len(), "{name}");
        for (b, &i) in back.series.iter().zip(&keep) {
            assert!(
                b.iter()
                    .zip(&input.series[i])
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{name}: series {i} differs"
            );
            assert_eq!(b.len(), input.series[i].len());
        }
        if name != "back.npy" {
            assert_eq!(back.labels[0], input.labels[0]);
        }
    }
    // Without raw values: a clear error.
    let plain = dir.path().join("p.qdb");
    assert_eq!(
        qabbadb(&[
            "build",
            plain.to_str().unwrap(),
            "--input",
            train.to_str().unwrap()
        ])
        .0,
        0
    );
    let out = dir.path().join("x.tsv");
    let (code, _, err) = qabbadb(&[
        "export",
        plain.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--raw",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("keep-raw"), "{err}");
}

/// The header pandas writes (`DataFrame(arr).to_csv(index=False)`: `0,1,2,…`) is a header, and
/// `build` says it took one; `--header no` reads it as a series.
#[test]
fn pandas_csv_headers_are_taken_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("p.csv");
    std::fs::write(&csv, "0,1,2,3\n0.1,0.5,0.2,0.9\n0.3,0.1,0.4,0.2\n").unwrap();
    let c = csv.to_str().unwrap();
    let db = dir.path().join("p.qdb");
    let (code, out, err) = qabbadb(&["build", db.to_str().unwrap(), "--input", c]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 2 series"), "{out}");
    assert!(
        out.contains("first row taken as a header (0,1,2,3)"),
        "{out}"
    );
    let (_, out, _) = qabbadb(&["get", db.to_str().unwrap(), "--id", "0", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let first: Vec<f64> = serde_json::from_value(v["values"].clone()).unwrap();
    assert_eq!(first.len(), 4);
    assert!(
        (first[1] - 0.5).abs() < 0.2,
        "series 0 is the first data row: {first:?}"
    );
    let db2 = dir.path().join("p2.qdb");
    let (code, out, _) = qabbadb(&[
        "build",
        db2.to_str().unwrap(),
        "--input",
        c,
        "--header",
        "no",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains(": 3 series") && !out.contains("header"),
        "{out}"
    );
    // With the index column pandas writes by default, and semicolons.
    std::fs::write(&csv, ",0,1,2\n0,0.1,0.5,0.2\n1,0.3,0.1,0.4\n").unwrap();
    let db3 = dir.path().join("p3.qdb");
    let (code, out, err) = qabbadb(&["build", db3.to_str().unwrap(), "--input", c]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 2 series, 6 points"), "{out}");
    std::fs::write(&csv, "1.5;2;3\n4;5;6.5\n").unwrap();
    let db4 = dir.path().join("p4.qdb");
    let (code, out, err) = qabbadb(&["build", db4.to_str().unwrap(), "--input", c]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 2 series, 6 points"), "{out}");
}

/// Options that do not apply are refused rather than ignored, and negative numbers reach the
/// range checks.
#[test]
fn options_that_do_not_apply_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("o.qdb");
    let d = db.to_str().unwrap();
    let train = ucr("Coffee", "TRAIN");
    let t = train.to_str().unwrap();
    for (args, says) in [
        (vec!["--symbols", "20"], "--digitize kmeans"),
        (vec!["--digitize", "kmeans", "--alpha", "0.1"], "--alpha"),
        (
            vec!["--max-error", "0.01", "--max-rmse", "0.3"],
            "--max-rmse",
        ),
        (vec!["--no-index", "--word-len", "8"], "--no-index"),
        (vec!["--tol", "-0.1"], "tol"),
    ] {
        let mut a = vec!["build", d, "--input", t];
        a.extend(&args);
        let (code, _, err) = qabbadb(&a);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!db.exists(), "{args:?} left a directory");
    }
    assert_eq!(qabbadb(&["build", d, "--input", t]).0, 0);
    for (args, says) in [
        (vec!["--window", "0.2"], "--metric dtw"),
        (
            vec!["--metric", "dtw", "--window", "-0.1"],
            "window fraction must be in [0, 1]",
        ),
        (vec!["--k", "3", "--radius", "1"], "cannot be used with"),
        (vec!["--radius", "-1"], "radius must be"),
    ] {
        let mut a = vec!["query", d, "--queries", t];
        a.extend(&args);
        let (code, _, err) = qabbadb(&a);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A query of a length no stored series has: a warning, and a count in --json.
    let q = dir.path().join("short.csv");
    std::fs::write(&q, "1,2,3,4\n").unwrap();
    let (code, out, err) = qabbadb(&["query", d, "--queries", q.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        err.contains("have a length that no stored series has"),
        "{err}"
    );
    assert!(out.contains("0 neighbours"), "{out}");
    let (_, out, _) = qabbadb(&["query", d, "--queries", q.to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["stats"]["series_of_its_length"], 0);
    // compact with nothing to compact, export's summary.
    let (code, out, _) = qabbadb(&["compact", d]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to compact"), "{out}");
    let e = dir.path().join("e.csv");
    let (code, out, _) = qabbadb(&["export", d, "--out", e.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("wrote 28 reconstructed series"), "{out}");
}

/// `qabbadb sql` runs `qabbadb-sql` from beside itself or the PATH, and says how to build it
/// when neither has it.
#[test]
fn sql_without_its_program_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("qabbadb");
    std::fs::copy(env!("CARGO_BIN_EXE_qabbadb"), &exe).unwrap();
    let out = std::process::Command::new(&exe)
        .args(["sql", "SELECT 1"])
        .env("PATH", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cargo build --release -p qabbadb-datafusion"),
        "{err}"
    );
}

/// Runs the tool with `stdin` piped in.
fn qabbadb_with_input(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb"))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // The tool may stop reading early (an error): a broken pipe is its answer, not ours.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Raw float64 from standard input and float32 from a file stream into a build; the originals
/// come back bit for bit; a partial last series or a stream of CSV are errors that leave no
/// database; `append` takes raw values too.
#[test]
fn build_streams_raw_values_and_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let series: Vec<Vec<f64>> = (0..300).map(|i| crate::util::walk(i, 48)).collect();
    let f64s: Vec<u8> = series
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let db = dir.path().join("s.qdb");
    let db_s = db.to_str().unwrap();
    let (code, _, err) = qabbadb_with_input(
        &[
            "build",
            db_s,
            "--input",
            "-",
            "--format",
            "f64",
            "--length",
            "48",
            "--keep-raw",
            "--segment-series",
            "128",
        ],
        &f64s,
    );
    assert_eq!(code, 0, "{err}");
    let snap = crate::util::open_when_free(&db).snapshot();
    assert_eq!(snap.len(), 300);
    assert_eq!(
        snap.info().unwrap().segments.len(),
        3,
        "segments of 128 series"
    );
    for (i, s) in series.iter().enumerate() {
        assert_eq!(&snap.get_raw(i as u64).unwrap(), s, "series {i}");
    }
    drop(snap);

    let f32_path = dir.path().join("w.f32");
    let f32s: Vec<u8> = series
        .iter()
        .flatten()
        .flat_map(|v| (*v as f32).to_le_bytes())
        .collect();
    std::fs::write(&f32_path, &f32s).unwrap();
    let db2 = dir.path().join("t.qdb");
    let (code, _, err) = qabbadb(&[
        "build",
        db2.to_str().unwrap(),
        "--input",
        f32_path.to_str().unwrap(),
        "--format",
        "f32",
        "--length",
        "48",
        "--keep-raw",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = qabbadb(&[
        "append",
        db2.to_str().unwrap(),
        "--input",
        f32_path.to_str().unwrap(),
        "--format",
        "f32",
        "--length",
        "48",
    ]);
    assert_eq!(code, 0, "{err}");
    let snap = qabbadb::Database::open(&db2).unwrap().snapshot();
    assert_eq!(snap.len(), 600);
    let want: Vec<f64> = series[7].iter().map(|v| *v as f32 as f64).collect();
    assert_eq!(snap.get_raw(7).unwrap(), want);
    assert_eq!(snap.get_raw(307).unwrap(), want);

    let db3 = dir.path().join("u.qdb");
    let (code, _, err) = qabbadb_with_input(
        &[
            "build",
            db3.to_str().unwrap(),
            "-i",
            "-",
            "--format",
            "f64",
            "--length",
            "48",
        ],
        &f64s[..f64s.len() - 8],
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("standard input") && err.contains("inside series 300: 47 of 48 values"),
        "{err}"
    );
    assert!(!db3.join("MANIFEST").exists());
    for (args, expect) in [
        (
            vec!["--format", "npy"],
            "read with --format ucr, csv, f32 or f64",
        ),
        (vec!["--format", "f64"], "need --length"),
        (
            vec!["--format", "ucr", "--length", "4"],
            "--length applies to",
        ),
    ] {
        let mut all = vec!["build", db3.to_str().unwrap(), "-i", "-"];
        all.extend(args);
        let (code, _, err) = qabbadb_with_input(&all, b"1 2 3\n");
        assert_eq!(code, 2);
        assert!(err.contains(expect), "{err}");
    }
    // CSV rows from standard input, a row at a time: the header names the label column, and a
    // bad row in the middle names its line and column and leaves no database.
    let csv = b"label,t0,t1,t2\na,1,2,4\nb,3,1,0.5\nc,2,2,7\n";
    let db4 = dir.path().join("csv.qdb");
    let (code, out, err) = qabbadb_with_input(
        &["build", db4.to_str().unwrap(), "-i", "-", "--format", "csv"],
        csv,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("first row taken as a header"), "{out}");
    let snap = qabbadb::Database::open_read_only(&db4).unwrap().snapshot();
    assert_eq!(snap.len(), 3);
    assert_eq!(snap.label(2).unwrap().as_deref(), Some("c"));
    let db5 = dir.path().join("csv-bad.qdb");
    let (code, _, err) = qabbadb_with_input(
        &["build", db5.to_str().unwrap(), "-i", "-", "--format", "csv"],
        b"1,2,3\n4,5,6\n7,x,9\n1,1,1\n",
    );
    assert_ne!(code, 0);
    assert!(err.contains("standard input:3:2"), "{err}");
    assert!(!db5.join("MANIFEST").exists());
    // UCR lines from standard input keep their labels.
    let text = std::fs::read(crate::util::ucr("GunPoint", "TRAIN")).unwrap();
    let (code, _, err) = qabbadb_with_input(
        &["build", db3.to_str().unwrap(), "-i", "-", "--format", "ucr"],
        &text,
    );
    assert_eq!(code, 0, "{err}");
    let snap = qabbadb::Database::open(&db3).unwrap().snapshot();
    assert_eq!(snap.len(), 50);
    assert!(snap.label(0).unwrap().is_some());
}

/// A CSV file with a bad row past the first committed segments: the build fails naming the row,
/// keeps the committed segments (and says how many series they hold and where to continue), and
/// an append of the rest of the input, fixed, completes the database with every series.
#[test]
fn a_bad_row_keeps_the_committed_segments_and_append_continues() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("big.csv");
    let rows: Vec<Vec<f64>> = (0..200_000u64)
        .map(|i| {
            crate::util::walk(i, 32)
                .iter()
                .map(|v| (v * 1e3).round() / 1e3)
                .collect()
        })
        .collect();
    let line = |r: &[f64]| {
        r.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut text = String::new();
    for (i, r) in rows.iter().enumerate() {
        if i == 189_999 {
            text.push_str("1,2,3,4,5,oops\n");
        } else {
            text.push_str(&line(r));
            text.push('\n');
        }
    }
    std::fs::write(&csv, &text).unwrap();
    let db = dir.path().join("db");
    let d = db.to_str().unwrap();
    let (code, _, err) = qabbadb(&[
        "build",
        d,
        "-i",
        csv.to_str().unwrap(),
        "--segment-series",
        "50000",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("big.csv:190000:6"), "{err}");
    assert!(err.contains("keeps the 150000 series"), "{err}");
    assert!(err.contains("from series 150001 on"), "{err}");
    let snap = qabbadb::Database::open_read_only(&db).unwrap().snapshot();
    assert_eq!(snap.len(), 150_000);
    assert!(qabbadb::Database::verify(&db).is_empty());
    // The rest of the input, fixed, through standard input.
    let mut rest = String::new();
    for r in &rows[150_000..] {
        rest.push_str(&line(r));
        rest.push('\n');
    }
    let (code, _, err) = qabbadb_with_input(
        &["append", d, "-i", "-", "--format", "csv"],
        rest.as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    let snap = qabbadb::Database::open_read_only(&db).unwrap().snapshot();
    assert_eq!(snap.len(), 200_000);
    for id in [0u64, 149_999, 150_000, 189_999, 199_999] {
        let got = snap.get(id).unwrap();
        let want = &rows[id as usize];
        let (e, _) = qabbadb::codec::error_of(want, &got);
        let sigma = qabbadb::codec::Moments::of(want).std;
        assert!(e / (32f64).sqrt() <= 0.5 * sigma + 1e-9, "series {id}");
    }
}

/// UCR and CSV files are streamed into builds: files without series are still errors that leave
/// no database, and an empty line inside a UCR file names its line.
#[test]
fn streamed_text_files_without_series_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, expect) in [
        ("empty.tsv", "", "holds no series"),
        ("blank.tsv", "\n\n", "holds no series"),
        ("mid.tsv", "1 1 2 3\n\n2 3 4 5\n", "mid.tsv:2:0: empty line"),
        ("header.csv", "a,b,c\n", "only a header row"),
    ] {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        let db = dir.path().join(format!("{name}.qdb"));
        let (code, _, err) =
            qabbadb(&["build", db.to_str().unwrap(), "-i", input.to_str().unwrap()]);
        assert_ne!(code, 0, "{name}: {err}");
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!db.exists(), "{name}: no database left");
    }
}
