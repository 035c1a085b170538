//! What the engine costs: 1-NN Euclidean latency over one collection stored as 1, 2 and 4
//! shards, through the embedded API, local DataFusion (`knn` in SQL) and Ballista (a scheduler
//! and two executors on 127.0.0.1), in one run.
//!
//! ```sh
//! cargo build --release -p qabbadb-ballista --bins --examples
//! target/release/examples/shards_bench [SERIES] [QUERIES]   # default 1,000,000 and 30
//! ```
//!
//! Random walks of length 256 (z-normalised by the search), fresh random-walk queries, default
//! options (answers exact over the reconstructions). The databases are built once under
//! `target/bench-shards/`. The scheduler and executors are the release binaries beside this
//! example.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{UInt32Type, UInt64Type};
use datafusion::prelude::SessionContext;
use qabbadb::{BulkOptions, Database, Options, Query};

const LEN: usize = 256;

/// splitmix64: a seeded stream of u64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A random walk with uniform steps in [−1, 1).
    fn walk(&mut self) -> Vec<f64> {
        let mut x = 0.0;
        (0..LEN)
            .map(|_| {
                x += (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0;
                x
            })
            .collect()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The shard directories of `n` series in `shards` contiguous parts, built if missing.
fn shard_set(root: &Path, n: usize, shards: usize) -> qabbadb::Result<Vec<PathBuf>> {
    let per = n.div_ceil(shards);
    let mut out = Vec::new();
    let mut rng = Rng(7);
    for s in 0..shards {
        let path = root.join(format!("{n}-of-{shards}-{s}.qdb"));
        let count = per.min(n - s * per);
        if path.join("MANIFEST").exists() {
            for _ in 0..count {
                rng.walk();
            }
        } else {
            let t = Instant::now();
            let mut load =
                Database::bulk_loader(&path, &Options::default(), BulkOptions::default())?;
            for _ in 0..count {
                load.push(rng.walk(), None)?;
            }
            load.finish()?;
            eprintln!(
                "built {} ({count} series) in {:.1} s",
                path.display(),
                t.elapsed().as_secs_f64()
            );
        }
        out.push(path);
    }
    Ok(out)
}

fn sql(paths: &[PathBuf], q: &[f64]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("'{}'", p.display())).collect();
    let values: Vec<String> = q.iter().map(|v| format!("{v:?}")).collect();
    format!(
        "SELECT id, distance, shard FROM knn([{}], [{}], 1)",
        list.join(", "),
        values.join(", ")
    )
}

fn first(batches: &[RecordBatch]) -> Option<(u32, u64)> {
    batches.iter().find(|b| b.num_rows() > 0).map(|b| {
        (
            b.column(2).as_primitive::<UInt32Type>().value(0),
            b.column(0).as_primitive::<UInt64Type>().value(0),
        )
    })
}

struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(50050)
}

fn start_ballista(bin: &Path, logs: &Path) -> anyhow::Result<(Procs, String)> {
    let port = free_port();
    let log = |name: &str| -> anyhow::Result<Stdio> {
        Ok(Stdio::from(std::fs::File::create(logs.join(name))?))
    };
    let mut procs = Procs(vec![Command::new(bin.join("qabbadb-scheduler"))
        .args(["--port", &port.to_string()])
        .stdout(log("scheduler.log")?)
        .stderr(Stdio::null())
        .spawn()?]);
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(30),
            "the scheduler did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..2 {
        procs.0.push(
            Command::new(bin.join("qabbadb-executor"))
                .args([
                    "--scheduler-port",
                    &port.to_string(),
                    "--port",
                    &free_port().to_string(),
                    "--grpc-port",
                    &free_port().to_string(),
                ])
                .stdout(log(&format!("executor{i}.log"))?)
                .stderr(Stdio::null())
                .spawn()?,
        );
    }
    for i in 0..2 {
        let start = Instant::now();
        while !std::fs::read_to_string(logs.join(format!("executor{i}.log")))?
            .contains("registration succeed")
        {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "executor {i} did not register"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok((procs, format!("df://localhost:{port}")))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let nq: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-shards");
    std::fs::create_dir_all(&root)?;
    let bin = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("no directory above the example"))?;
    let mut qrng = Rng(1_000_003);
    let queries: Vec<Vec<f64>> = (0..nq).map(|_| qrng.walk()).collect();
    let (_procs, url) = start_ballista(&bin, &root)?;
    let remote = qabbadb_ballista::remote(&url).await?;
    let local = SessionContext::new();
    qabbadb_datafusion::register(&local);
    println!("| shards | series per shard | embedded API, 1 database ms | embedded API, slowest shard ms | local DataFusion ms | Ballista, 2 executors ms | Ballista ÷ embedded |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut embedded_ms = f64::NAN;
    for shards in [1usize, 2, 4] {
        let paths = shard_set(&root, n, shards)?;
        let dbs: Vec<Database> = paths
            .iter()
            .map(|p| Database::open_read_only(p))
            .collect::<qabbadb::Result<_>>()?;
        // Warm-up: open, decode what search needs, in every engine.
        for db in &dbs {
            db.snapshot().search(&Query::knn(&queries[0], 1))?;
        }
        local
            .sql(&sql(&paths, &queries[0]))
            .await?
            .collect()
            .await?;
        remote
            .sql(&sql(&paths, &queries[0]))
            .await?
            .collect()
            .await?;
        let (mut slowest, mut one, mut df, mut ba) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for q in &queries {
            let mut worst = 0.0f64;
            for db in &dbs {
                let t = Instant::now();
                db.snapshot().search(&Query::knn(q, 1))?;
                worst = worst.max(t.elapsed().as_secs_f64() * 1e3);
            }
            slowest.push(worst);
            if shards == 1 {
                one.push(worst);
            }
            let t = Instant::now();
            let a = local.sql(&sql(&paths, q)).await?.collect().await?;
            df.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let b = remote.sql(&sql(&paths, q)).await?.collect().await?;
            ba.push(t.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(first(&a) == first(&b), "Ballista and DataFusion disagree");
        }
        if shards == 1 {
            embedded_ms = median(&mut one);
        }
        let ballista = median(&mut ba);
        println!(
            "| {shards} | {} | {embedded_ms:.2} | {:.2} | {:.2} | {ballista:.2} | {:.1}× |",
            n.div_ceil(shards),
            median(&mut slowest),
            median(&mut df),
            ballista / embedded_ms
        );
    }
    Ok(())
}
