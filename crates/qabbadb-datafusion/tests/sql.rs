//! SQL over qabbadb databases through DataFusion, checked against the Rust API over one
//! database holding every shard's series and against brute force over the original values.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use datafusion::physical_plan::{collect, displayable};
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use qabbadb::ingest::Dataset;
use qabbadb::{Database, Exactness, Metric, Options, Query, Window};
use qabbadb_datafusion::QabbaPhysicalCodec;

mod common;

use common::{answers, gunpoint, sql_array, znorm};

const SHARDS: usize = 3;

struct Fixture {
    _dir: tempfile::TempDir,
    shards: Vec<PathBuf>,
    merged: Database,
    /// First id of each shard in the merged database.
    offsets: Vec<u64>,
    data: Dataset,
}

/// GunPoint (train and test, 200 series) in three shards of unequal size and in one merged
/// database, all keeping the originals.
fn fixture() -> Fixture {
    let data = gunpoint();
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options::default().keep_raw(true);
    let cuts = [0, 50, 130, data.series.len()];
    let mut shards = Vec::new();
    let mut offsets = Vec::new();
    for s in 0..SHARDS {
        let part = Dataset {
            series: data.series[cuts[s]..cuts[s + 1]].to_vec(),
            labels: data.labels[cuts[s]..cuts[s + 1]].to_vec(),
        };
        let path = dir.path().join(format!("shard{s}.qdb"));
        Database::build(&path, &part, &opts).expect("build shard");
        shards.push(path);
        offsets.push(cuts[s] as u64);
    }
    let (merged, _) =
        Database::build(&dir.path().join("all.qdb"), &data, &opts).expect("build merged");
    Fixture {
        _dir: dir,
        shards,
        merged,
        offsets,
        data,
    }
}

fn ctx() -> SessionContext {
    let ctx = SessionContext::new();
    qabbadb_datafusion::register(&ctx);
    ctx
}

fn shard_list(paths: &[PathBuf]) -> String {
    let items: Vec<String> = paths.iter().map(|p| format!("'{}'", p.display())).collect();
    format!("[{}]", items.join(", "))
}

async fn rows(ctx: &SessionContext, sql: &str) -> Vec<RecordBatch> {
    ctx.sql(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Textbook banded DTW (squared cost), the oracle.
fn dtw_sq(a: &[f64], b: &[f64], r: usize) -> f64 {
    let n = a.len();
    let mut m = vec![vec![f64::INFINITY; n + 1]; n + 1];
    m[0][0] = 0.0;
    for i in 1..=n {
        for j in 1..=n {
            if i.abs_diff(j) <= r {
                let d = a[i - 1] - b[j - 1];
                m[i][j] = d * d + m[i - 1][j].min(m[i][j - 1]).min(m[i - 1][j - 1]);
            }
        }
    }
    m[n][n]
}

/// The k nearest by brute force over the z-normalised originals: (id, distance).
fn brute(data: &Dataset, q: &[f64], k: usize, window: Option<f64>) -> Vec<(u64, f64)> {
    let qn = znorm(q);
    let mut all: Vec<(f64, u64)> = data
        .series
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let xn = znorm(x);
            let d = match window {
                None => qn
                    .iter()
                    .zip(&xn)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>(),
                Some(w) => dtw_sq(&qn, &xn, (w * q.len() as f64).floor() as usize),
            };
            (d.sqrt(), i as u64)
        })
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(d, i)| (i, d)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_knn_equals_one_database_and_brute_force() {
    let f = fixture();
    let ctx = ctx();
    let snap = f.merged.snapshot();
    for (qi, metric, window) in [
        (3usize, "euclidean", None),
        (77, "euclidean", None),
        (150, "dtw", Some(0.1)),
        (11, "dtw", Some(0.05)),
    ] {
        // A stored series with a bump: its own shard does not hold all the near neighbours.
        let mut q = f.data.series[qi].clone();
        for (i, v) in q.iter_mut().enumerate() {
            *v += 0.05 * ((i as f64) * 0.3).sin();
        }
        let k = 7;
        let sql = match window {
            None => format!(
                "SELECT id, label, distance, rank, shard FROM knn({}, {}, {k}, 'euclidean', NULL, 'original')",
                shard_list(&f.shards),
                sql_array(&q)
            ),
            Some(w) => format!(
                "SELECT * FROM knn({}, {}, {k}, '{metric}', {w}, 'original')",
                shard_list(&f.shards),
                sql_array(&q)
            ),
        };
        let got = answers(&rows(&ctx, &sql).await, &f.offsets);
        let m = match window {
            None => Metric::Euclidean,
            Some(w) => Metric::Dtw {
                window: Window::Fraction(w),
            },
        };
        let api = snap
            .search(&Query::knn(&q, k).metric(m).exactness(Exactness::Original))
            .expect("search");
        let api: Vec<(u64, f64)> = api.neighbors.iter().map(|n| (n.id.0, n.distance)).collect();
        let got_pairs: Vec<(u64, f64)> = got.iter().map(|&(i, d, _)| (i, d)).collect();
        assert_eq!(got_pairs, api, "{sql}");
        assert_eq!(
            got.iter().map(|a| a.2).collect::<Vec<_>>(),
            (1..=k as u32).collect::<Vec<_>>()
        );
        let oracle = brute(&f.data, &q, k, window);
        for ((gi, gd), (bi, bd)) in got_pairs.iter().zip(&oracle) {
            assert_eq!(gi, bi, "query {qi} {metric}: {got_pairs:?} vs {oracle:?}");
            assert!((gd - bd).abs() <= 1e-9 * (1.0 + bd), "{gd} vs {bd}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knn_batch_equals_one_knn_per_query_and_labels_come_along() {
    let f = fixture();
    let ctx = ctx();
    let queries: Vec<&Vec<f64>> = [5usize, 60, 140, 199]
        .iter()
        .map(|&i| &f.data.series[i])
        .collect();
    let list = format!(
        "[{}]",
        queries
            .iter()
            .map(|q| sql_array(q))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let batch = rows(
        &ctx,
        &format!(
            "SELECT query, id, label, distance, rank, shard FROM knn_batch({}, {list}, 4, 'dtw', 0.1) ORDER BY query, rank",
            shard_list(&f.shards)
        ),
    )
    .await;
    let mut per_query: Vec<Vec<(u64, f64, u32)>> = vec![Vec::new(); queries.len()];
    for b in &batch {
        let qcol = b.column(0).as_primitive::<UInt32Type>();
        let labels = b.column(2).as_string::<i32>();
        let one = answers(std::slice::from_ref(b), &f.offsets);
        for (i, a) in one.into_iter().enumerate() {
            assert_eq!(
                Some(labels.value(i).to_string()),
                f.data.labels[a.0 as usize],
                "the label of merged id {}",
                a.0
            );
            per_query[qcol.value(i) as usize].push(a);
        }
    }
    for (qi, q) in queries.iter().enumerate() {
        let single = answers(
            &rows(
                &ctx,
                &format!(
                    "SELECT * FROM knn({}, {}, 4, 'dtw', 0.1)",
                    shard_list(&f.shards),
                    sql_array(q)
                ),
            )
            .await,
            &f.offsets,
        );
        assert_eq!(per_query[qi], single, "query {qi}");
        assert_eq!(single.len(), 4);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_partition_per_shard_and_no_answer_twice() {
    let f = fixture();
    let ctx = ctx();
    let q = sql_array(&f.data.series[20]);
    let df = ctx
        .sql(&format!(
            "SELECT id, shard FROM knn({}, {q}, 200)",
            shard_list(&f.shards)
        ))
        .await
        .expect("plan");
    let plan = df.create_physical_plan().await.expect("physical plan");
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(text.contains("KnnShardExec"), "{text}");
    let shard_exec = find(&plan, "KnnShardExec").expect("KnnShardExec in the plan");
    assert_eq!(
        shard_exec.properties().partitioning.partition_count(),
        SHARDS,
        "{text}"
    );
    let out = collect(plan, ctx.task_ctx()).await.expect("run");
    let ids = common::shard_ids(&out);
    let unique: std::collections::HashSet<&(u32, u64)> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an answer twice");
    let n = ids.len();
    // k = the whole collection: every series of every shard once.
    assert_eq!(n, f.data.series.len());
}

fn find(
    plan: &Arc<dyn datafusion::physical_plan::ExecutionPlan>,
    name: &str,
) -> Option<Arc<dyn datafusion::physical_plan::ExecutionPlan>> {
    if plan.name() == name {
        return Some(Arc::clone(plan));
    }
    plan.children().into_iter().find_map(|c| find(c, name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_survive_the_codec_and_answer_the_same() {
    let f = fixture();
    let ctx = ctx();
    for sql in [
        format!(
            "SELECT id, distance, shard FROM knn({}, {}, 5)",
            shard_list(&f.shards),
            sql_array(&f.data.series[9])
        ),
        format!(
            "SELECT shard, id, label FROM qabbadb({}) WHERE id < 3 OR id = 70 ORDER BY shard, id",
            shard_list(&f.shards)
        ),
    ] {
        let plan = ctx
            .sql(&sql)
            .await
            .expect("plan")
            .create_physical_plan()
            .await
            .expect("physical");
        let codec = QabbaPhysicalCodec::default();
        let bytes =
            physical_plan_to_bytes_with_extension_codec(Arc::clone(&plan), &codec).expect("encode");
        let back = physical_plan_from_bytes_with_extension_codec(&bytes, &ctx.task_ctx(), &codec)
            .expect("decode");
        let a = collect(plan, ctx.task_ctx()).await.expect("run");
        let b = collect(back, ctx.task_ctx()).await.expect("run decoded");
        let fmt = |v: &[RecordBatch]| {
            datafusion::arrow::util::pretty::pretty_format_batches(v)
                .map(|t| t.to_string())
                .expect("format")
        };
        assert_eq!(fmt(&a), fmt(&b), "{sql}");
        assert!(a.iter().map(|b| b.num_rows()).sum::<usize>() > 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_series_table_pushes_id_filters_and_reads_what_get_returns() {
    let f = fixture();
    let ctx = ctx();
    qabbadb_datafusion::register_table(
        &ctx,
        "gp",
        f.shards.iter().map(|p| p.display().to_string()).collect(),
    )
    .expect("register");
    let sql = "SELECT shard, id, label, \"values\", raw FROM gp WHERE id IN (2, 40, 75) AND id >= 3 ORDER BY shard, id";
    let plan = ctx
        .sql(sql)
        .await
        .expect("plan")
        .create_physical_plan()
        .await
        .expect("physical");
    let text = displayable(plan.as_ref()).indent(true).to_string();
    assert!(
        !text.contains("FilterExec"),
        "the id filter is applied by the scan:\n{text}"
    );
    assert!(text.contains("ids=Some([(40, 40), (75, 75)])"), "{text}");
    let out = collect(plan, ctx.task_ctx()).await.expect("run");
    let mut got = Vec::new();
    for b in &out {
        let shard = b.column(0).as_primitive::<UInt32Type>();
        let id = b.column(1).as_primitive::<UInt64Type>();
        let values = b.column(3).as_list::<i32>();
        let raw = b.column(4).as_list::<i32>();
        for i in 0..b.num_rows() {
            let s = shard.value(i) as usize;
            let db = Database::open_read_only(&f.shards[s]).expect("open");
            let snap = db.snapshot();
            let v = values.value(i);
            assert_eq!(
                v.as_primitive::<Float64Type>().values().to_vec(),
                snap.get(id.value(i)).expect("get")
            );
            let r = raw.value(i);
            let merged = f.offsets[s] + id.value(i);
            assert_eq!(
                r.as_primitive::<Float64Type>().values().to_vec(),
                f.data.series[merged as usize]
            );
            got.push((s, id.value(i)));
        }
    }
    // Shard 0 has ids 0..50, shard 1 0..80, shard 2 0..70.
    assert_eq!(got, vec![(0, 40), (1, 40), (1, 75), (2, 40)]);
    let count = rows(&ctx, "SELECT count(*) AS n FROM gp").await;
    assert_eq!(
        count[0]
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0),
        200
    );
    let limited = rows(&ctx, "SELECT id FROM gp LIMIT 5").await;
    assert_eq!(limited.iter().map(|b| b.num_rows()).sum::<usize>(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_are_clear_errors() {
    let f = fixture();
    let ctx = ctx();
    let db = format!("'{}'", f.shards[0].display());
    let q = sql_array(&f.data.series[0]);
    for (sql, expect) in [
        (format!("SELECT * FROM knn({db}, {q}, 0)"), "at least 1"),
        (format!("SELECT * FROM knn({db}, {q})"), "3 to 6 arguments"),
        (
            format!("SELECT * FROM knn({db}, {q}, 3, 'cosine')"),
            "unknown metric 'cosine'",
        ),
        (
            format!("SELECT * FROM knn({db}, {q}, 3, 'dtw', 1.5)"),
            "[0, 1]",
        ),
        (
            format!("SELECT * FROM knn({db}, {q}, 3, 'euclidean', 0.1)"),
            "window applies to dtw only",
        ),
        (
            format!("SELECT * FROM knn({db}, 'abc', 3)"),
            "array of numbers",
        ),
        (format!("SELECT * FROM knn({db}, [], 3)"), "empty"),
        (
            format!("SELECT * FROM knn({db}, {q}, 3, 'dtw', 0.1, 'exactly')"),
            "unknown exactness",
        ),
        (format!("SELECT * FROM knn(42, {q}, 3)"), "must be a string"),
        (format!("SELECT * FROM knn_batch({db}, {q}, 3)"), "query 0"),
    ] {
        let err = match ctx.sql(&sql).await {
            Err(e) => e.to_string(),
            Ok(df) => match df.collect().await {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{sql} was accepted"),
            },
        };
        assert!(err.contains(expect), "{sql}: {err}");
    }
    // A missing database fails when the plan runs, naming the path.
    let missing = f.shards[0].with_file_name("nowhere.qdb");
    let err = ctx
        .sql(&format!(
            "SELECT * FROM knn('{}', {q}, 3)",
            missing.display()
        ))
        .await
        .expect("plans")
        .collect()
        .await
        .expect_err("no database");
    assert!(err.to_string().contains("nowhere.qdb"), "{err}");
    // Original-exact search of a database without the originals says so.
    let dir = tempfile::tempdir().expect("tempdir");
    let lossy = dir.path().join("lossy.qdb");
    Database::build(&lossy, &gunpoint(), &Options::default()).expect("build");
    let err = ctx
        .sql(&format!(
            "SELECT * FROM knn('{}', {q}, 3, 'euclidean', NULL, 'original')",
            lossy.display()
        ))
        .await
        .expect("plans")
        .collect()
        .await
        .expect_err("no raw values");
    assert!(err.to_string().contains("lossy.qdb"), "{err}");
}

/// The `qabbadb-sql` program: several statements, text and JSON lines, registered tables,
/// errors with exit code 2.
#[test]
fn the_sql_program_prints_tables_and_json_lines() {
    let f = fixture();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_qabbadb-sql"))
            .args(args)
            .output()
            .expect("run qabbadb-sql");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let table = format!(
        "gp={}",
        f.shards
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let q = sql_array(&f.data.series[42]);
    let (code, out, err) = run(&[
        "--json",
        "--table",
        &table,
        &format!(
            "SELECT count(*) AS n FROM gp; SELECT id, shard, rank FROM knn({}, {q}, 2, 'euclidean', NULL, 'original')",
            shard_list(&f.shards)
        ),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines[0]["n"], 200);
    // Series 42 of the merged collection is in shard 0 and finds itself first.
    assert_eq!(
        lines[1],
        serde_json::json!({"id": 42, "shard": 0, "rank": 1})
    );
    assert_eq!(lines.len(), 3);
    let (code, out, err) = run(&[
        "--table",
        &table,
        "SELECT id FROM gp WHERE id = 3 AND shard = 1",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("| id |") && out.contains("| 3  |"), "{out}");
    let (code, _, err) = run(&["SELECT * FROM knn('/nowhere/x.qdb', [1, 2, 3], 1)"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nowhere/x.qdb"), "{err}");
    let (code, _, err) = run(&["--table", "bad", "SELECT 1"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("NAME=DB"), "{err}");
}

/// A query taken from a database by a scalar subquery: a stored original finds itself first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_can_come_from_a_subquery() {
    let f = fixture();
    let ctx = ctx();
    let sql = format!(
        "SELECT id, distance, rank, shard FROM knn({}, (SELECT raw FROM qabbadb('{}') WHERE id = 5), 3, 'euclidean', NULL, 'original')",
        shard_list(&f.shards),
        f.shards[1].display()
    );
    let got = answers(&rows(&ctx, &sql).await, &f.offsets);
    assert_eq!(got[0], (f.offsets[1] + 5, 0.0, 1), "{got:?}");
    let oracle = brute(
        &f.data,
        &f.data.series[(f.offsets[1] + 5) as usize],
        3,
        None,
    );
    assert_eq!(
        got.iter().map(|a| a.0).collect::<Vec<_>>(),
        oracle.iter().map(|o| o.0).collect::<Vec<_>>()
    );
    let err = ctx
        .sql(&format!(
            "SELECT * FROM knn({}, (SELECT raw FROM qabbadb('{}') WHERE id < 5), 3)",
            shard_list(&f.shards),
            f.shards[1].display()
        ))
        .await
        .expect_err("five rows");
    assert!(err.to_string().contains("one row of one column"), "{err}");
    // knn_batch takes one query per row of a subquery: a table of queries.
    let batch = rows(
        &ctx,
        &format!(
            "SELECT query, id, distance, rank, shard FROM knn_batch({}, (SELECT raw FROM qabbadb('{}') WHERE id IN (1, 2, 3)), 1, 'dtw', 0.1, 'original') ORDER BY query",
            shard_list(&f.shards),
            f.shards[2].display()
        ),
    )
    .await;
    let firsts = answers(&batch, &f.offsets);
    assert_eq!(firsts.len(), 3);
    let mut ids: Vec<u64> = firsts.iter().map(|a| a.0).collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![f.offsets[2] + 1, f.offsets[2] + 2, f.offsets[2] + 3]
    );
}
