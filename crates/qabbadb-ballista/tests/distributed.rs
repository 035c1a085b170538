//! A scheduler and two executors as separate processes on 127.0.0.1, a sharded k-NN query
//! through Ballista: the same answer as local DataFusion, the Rust API over one merged
//! database, and brute force; no answer twice; both executors searched shards; an executor
//! killed mid-query gives a clear error or the correct answer, never a wrong one.

use std::fs::File;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use qabbadb::ingest::Dataset;
use qabbadb::{Database, Exactness, Metric, Options, Query, Window};

#[path = "../../qabbadb-datafusion/tests/common/mod.rs"]
mod common;

use common::{gunpoint, sql_array, znorm};

const SHARDS: usize = 4;

/// A child process, killed by its id when dropped.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, exe: &str, args: &[String], log: PathBuf) -> Proc {
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(exe)
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc { name, child, log }
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Lines of ours: one per shard this process searched.
    fn shards_searched(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains("qabbadb: searched shard"))
            .count()
    }

    fn stop(&mut self) {
        // Child::kill sends SIGKILL to the child's process id.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

struct Cluster {
    scheduler: Proc,
    executors: Vec<Proc>,
    url: String,
}

fn start_cluster(dir: &Path) -> Cluster {
    let port = free_port();
    let scheduler = Proc::spawn(
        "scheduler",
        env!("CARGO_BIN_EXE_qabbadb-scheduler"),
        &[
            "--port".into(),
            port.to_string(),
            "--executor-timeout-seconds".into(),
            "6".into(),
        ],
        dir.join("scheduler.log"),
    );
    wait_for("the scheduler's port", Duration::from_secs(60), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let mut executors = Vec::new();
    for i in 0..2 {
        let work = dir.join(format!("work{i}"));
        std::fs::create_dir_all(&work).expect("work dir");
        executors.push(Proc::spawn(
            if i == 0 { "executor 0" } else { "executor 1" },
            env!("CARGO_BIN_EXE_qabbadb-executor"),
            &[
                "--scheduler-port".into(),
                port.to_string(),
                "--port".into(),
                free_port().to_string(),
                "--grpc-port".into(),
                free_port().to_string(),
                "--concurrent-tasks".into(),
                "1".into(),
                "--heartbeat-seconds".into(),
                "1".into(),
                "--work-dir".into(),
                work.display().to_string(),
            ],
            dir.join(format!("executor{i}.log")),
        ));
    }
    for e in &executors {
        wait_for(
            &format!("{} to register", e.name),
            Duration::from_secs(60),
            || e.log().contains("Executor registration succeed"),
        );
    }
    Cluster {
        scheduler,
        executors,
        url: format!("df://localhost:{port}"),
    }
}

/// (merged id, distance bits, rank) of each answer row, by rank, with no (shard, id) twice.
fn answers(batches: &[RecordBatch], offsets: &[u64]) -> Vec<(u64, u64, u32)> {
    let ids = common::shard_ids(batches);
    let unique: std::collections::HashSet<&(u32, u64)> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an answer twice: {ids:?}");
    let mut out: Vec<(u64, u64, u32)> = common::answers(batches, offsets)
        .into_iter()
        .map(|(m, d, r)| (m, d.to_bits(), r))
        .collect();
    out.sort_by_key(|a| a.2);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharded_knn_through_ballista_equals_local_and_brute_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = gunpoint();
    let opts = Options::default().keep_raw(true);
    let per = data.series.len() / SHARDS;
    let mut shards = Vec::new();
    let mut offsets = Vec::new();
    for s in 0..SHARDS {
        let (a, b) = (
            s * per,
            if s + 1 == SHARDS {
                data.series.len()
            } else {
                (s + 1) * per
            },
        );
        let path = dir.path().join(format!("shard{s}.qdb"));
        let part = Dataset {
            series: data.series[a..b].to_vec(),
            labels: data.labels[a..b].to_vec(),
        };
        Database::build(&path, &part, &opts).expect("build shard");
        shards.push(format!("'{}'", path.display()));
        offsets.push(a as u64);
    }
    let shard_list = format!("[{}]", shards.join(", "));
    let (merged, _) =
        Database::build(&dir.path().join("all.qdb"), &data, &opts).expect("build merged");
    let mut cluster = start_cluster(dir.path());
    let remote = qabbadb_ballista::remote(&cluster.url)
        .await
        .expect("connect");
    let local = SessionContext::new();
    qabbadb_datafusion::register(&local);

    let mut checked = 0;
    for (qi, window) in [
        (7usize, None),
        (120, Some(0.1)),
        (33, None),
        (181, Some(0.05)),
        (64, None),
        (150, None),
    ] {
        let mut q = data.series[qi].clone();
        for (i, v) in q.iter_mut().enumerate() {
            *v += 0.03 * (i as f64 * 0.2).cos();
        }
        let (k, metric, w) = (
            6,
            if window.is_some() { "dtw" } else { "euclidean" },
            window.map_or("NULL".to_string(), |w: f64| w.to_string()),
        );
        let sql = format!("SELECT id, distance, rank, shard FROM knn({shard_list}, {}, {k}, '{metric}', {w}, 'original')", sql_array(&q));
        let dist = remote
            .sql(&sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("ballista answer");
        let here = local
            .sql(&sql)
            .await
            .expect("plan")
            .collect()
            .await
            .expect("local answer");
        let dist = answers(&dist, &offsets);
        assert_eq!(
            dist,
            answers(&here, &offsets),
            "Ballista and local DataFusion differ: {sql}"
        );
        let m = window.map_or(Metric::Euclidean, |w| Metric::Dtw {
            window: Window::Fraction(w),
        });
        let api = merged
            .snapshot()
            .search(&Query::knn(&q, k).metric(m).exactness(Exactness::Original))
            .expect("search");
        let api: Vec<(u64, u64)> = api
            .neighbors
            .iter()
            .map(|n| (n.id.0, n.distance.to_bits()))
            .collect();
        assert_eq!(dist.iter().map(|a| (a.0, a.1)).collect::<Vec<_>>(), api);
        if window.is_none() {
            // Brute force over the z-normalised originals.
            let qn = znorm(&q);
            let mut all: Vec<(f64, u64)> = data
                .series
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    (
                        qn.iter()
                            .zip(znorm(x))
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f64>()
                            .sqrt(),
                        i as u64,
                    )
                })
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (got, (d, i)) in dist.iter().zip(&all) {
                assert_eq!(got.0, *i);
                assert!((f64::from_bits(got.1) - d).abs() <= 1e-9 * (1.0 + d));
            }
        }
        checked += 1;
    }
    // The same through the command line.
    let sql = format!(
        "SELECT id, shard, rank FROM knn({shard_list}, {}, 3, 'euclidean', NULL, 'original')",
        sql_array(&data.series[99])
    );
    let out = Command::new(env!("CARGO_BIN_EXE_qabbadb-remote"))
        .args(["--scheduler", &cluster.url, "--json", &sql])
        .output()
        .expect("run qabbadb-remote");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let here = local
        .sql(&sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("local answer");
    assert_eq!(
        lines,
        qabbadb_datafusion::output::json_lines(&here).expect("json")
    );
    assert_eq!(lines.len(), 3);
    checked += 1;
    // Every series once when k covers the collection.
    let everything = remote
        .sql(&format!(
            "SELECT id, distance, rank, shard FROM knn({shard_list}, {}, 500)",
            sql_array(&data.series[0])
        ))
        .await
        .expect("plan")
        .collect()
        .await
        .expect("answer");
    assert_eq!(answers(&everything, &offsets).len(), data.series.len());
    let work: Vec<usize> = cluster
        .executors
        .iter()
        .map(Proc::shards_searched)
        .collect();
    println!("{checked} queries checked; shards searched per executor: {work:?}");
    assert!(
        work.iter().all(|&n| n > 0),
        "both executors search shards: {work:?}"
    );
    assert_eq!(
        work.iter().sum::<usize>(),
        (checked + 1) * SHARDS,
        "each shard once per query"
    );

    // An executor killed while its shards are being searched.
    let heavy: Vec<String> = data.series.iter().take(60).map(|x| sql_array(x)).collect();
    let sql = format!(
        "SELECT query, id, distance, rank, shard FROM knn_batch({shard_list}, [{}], 3, 'dtw', 1.0, 'original')",
        heavy.join(", ")
    );
    let expected = local
        .sql(&sql)
        .await
        .expect("plan")
        .collect()
        .await
        .expect("local answer");
    let searched_before = cluster.executors[1].shards_searched();
    let tasks_before = cluster.executors[1].log().matches("Execute task").count();
    let query = {
        let remote = remote.clone();
        let sql = sql.clone();
        tokio::spawn(async move { remote.sql(&sql).await?.collect().await })
    };
    // Wait until a task of this query has reached executor 1, then kill it.
    let start = Instant::now();
    while cluster.executors[1].log().matches("Execute task").count() == tasks_before {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no task of the batch query reached executor 1"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.executors[1].stop();
    // Killed before it finished the shard it was given: its line for that shard never came.
    let mid_task = cluster.executors[1].shards_searched() == searched_before;
    let outcome = tokio::time::timeout(Duration::from_secs(120), query).await;
    let fmt = |v: &[RecordBatch]| {
        let mut rows: Vec<String> = datafusion::arrow::util::pretty::pretty_format_batches(v)
            .expect("format")
            .to_string()
            .lines()
            .map(str::to_string)
            .collect();
        rows.sort();
        rows
    };
    match outcome {
        Err(_) => panic!("no answer and no error 120 s after an executor was killed"),
        Ok(Err(join)) => panic!("the query task failed: {join}"),
        Ok(Ok(Ok(batches))) => {
            assert_eq!(
                fmt(&batches),
                fmt(&expected),
                "an answer after the kill must be the correct one"
            );
            println!("executor killed mid-query (in the middle of a shard search: {mid_task}): Ballista re-ran its work and answered correctly");
        }
        Ok(Ok(Err(e))) => {
            let msg = e.to_string();
            assert!(!msg.is_empty());
            println!("executor killed mid-query (in the middle of a shard search: {mid_task}): a clear error: {msg}");
        }
    }
    cluster.scheduler.stop();
}
