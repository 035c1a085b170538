//! Power loss, not only kill -9: every write goes through a simulated disk that records each
//! file operation (create, write, sync, rename, directory sync, remove) while performing it. At
//! every operation index of a workload (build, append, delete, compact) the power is cut: what a
//! real disk guarantees survives — the synced data of files whose names a directory sync made
//! durable — and nothing else. The surviving directory is opened with the real reader: it must
//! verify, and hold exactly the last committed state (a commit is durable once the directory
//! sync after its MANIFEST's rename returned); before the first commit there is no database,
//! and building again in that directory succeeds.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use qabbadb::ingest::{self, Dataset};
use qabbadb::storage::io::{Io, IoFile, RealIo};
use qabbadb::{Database, Error, Options};
use rand::SeedableRng;

use crate::util::ucr;

/// One recorded file operation.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Create { path: PathBuf, file: usize },
    Write { file: usize, bytes: Vec<u8> },
    Sync { file: usize },
    Rename { from: PathBuf, to: PathBuf },
    SyncDir,
    Remove { path: PathBuf },
}

/// The simulated disk: the real file system, plus a log of every operation.
#[derive(Debug, Default)]
pub(crate) struct SimDisk {
    pub(crate) log: Mutex<Vec<Op>>,
    files: Mutex<usize>,
}

struct SimFile {
    real: Box<dyn IoFile>,
    file: usize,
    disk: Arc<SimDisk>,
}

impl IoFile for SimFile {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.real.write_all(bytes)?;
        self.disk.push(Op::Write {
            file: self.file,
            bytes: bytes.to_vec(),
        });
        Ok(())
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.real.sync()?;
        self.disk.push(Op::Sync { file: self.file });
        Ok(())
    }
}

impl SimDisk {
    fn push(&self, op: Op) {
        self.log.lock().unwrap().push(op);
    }

    fn ops(&self) -> usize {
        self.log.lock().unwrap().len()
    }
}

/// The Io handed to the database: a handle on the shared disk.
#[derive(Debug, Clone)]
pub(crate) struct Handle(pub(crate) Arc<SimDisk>);

impl Io for Handle {
    fn create(&self, path: &Path) -> std::io::Result<Box<dyn IoFile>> {
        let real = RealIo.create(path)?;
        let file = {
            let mut n = self.0.files.lock().unwrap();
            *n += 1;
            *n
        };
        self.0.push(Op::Create {
            path: path.to_path_buf(),
            file,
        });
        Ok(Box::new(SimFile {
            real,
            file,
            disk: self.0.clone(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> std::io::Result<()> {
        RealIo.rename(from, to)?;
        self.0.push(Op::Rename {
            from: from.to_path_buf(),
            to: to.to_path_buf(),
        });
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> std::io::Result<()> {
        RealIo.sync_dir(dir)?;
        self.0.push(Op::SyncDir);
        Ok(())
    }

    fn remove(&self, path: &Path) -> std::io::Result<()> {
        RealIo.remove(path)?;
        self.0.push(Op::Remove {
            path: path.to_path_buf(),
        });
        Ok(())
    }
}

/// What survives a power cut after the first `cut` operations: the synced bytes of every file
/// whose name the last directory sync made durable. The LOCK is written (and synced) outside
/// the seam, before the build's first directory sync: it survives once that sync happened.
pub(crate) fn survivors(log: &[Op], cut: usize, lock: &[u8]) -> BTreeMap<String, Vec<u8>> {
    survivors_from(&BTreeMap::new(), log, cut, lock)
}

/// [`survivors`] of a directory that already held `initial` (durable) files when the log began.
pub(crate) fn survivors_from(
    initial: &BTreeMap<PathBuf, Vec<u8>>,
    log: &[Op],
    cut: usize,
    lock: &[u8],
) -> BTreeMap<String, Vec<u8>> {
    replay(initial, log, cut, lock, None)
}

/// What may survive a power cut in the adversarial mode: everything the strict mode keeps, and
/// any subset of the operations that no sync made durable — creations, renames and removals
/// since the last directory sync applied or lost, independently; unsynced writes torn at
/// 512-byte sectors (each sector of the unsynced tail landed or zero, the file cut anywhere in
/// it).
fn adversarial_survivors(
    log: &[Op],
    cut: usize,
    lock: &[u8],
    rng: &mut rand_chacha::ChaCha8Rng,
) -> BTreeMap<String, Vec<u8>> {
    replay(&BTreeMap::new(), log, cut, lock, Some(rng))
}

/// The disk after `log[..cut]` over `initial`. Name changes up to the last directory sync are
/// durable; later ones are lost (strict, `rng` None) or each drawn as landed or lost; file data
/// is what the last sync of the file made durable, plus (adversarial) a torn unsynced tail.
fn replay(
    initial: &BTreeMap<PathBuf, Vec<u8>>,
    log: &[Op],
    cut: usize,
    lock: &[u8],
    mut rng: Option<&mut rand_chacha::ChaCha8Rng>,
) -> BTreeMap<String, Vec<u8>> {
    use rand::Rng;
    let last_sync = log[..cut]
        .iter()
        .rposition(|op| matches!(op, Op::SyncDir))
        .map_or(0, |i| i + 1);
    let mut data: BTreeMap<usize, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    let mut names: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for (i, (path, bytes)) in initial.iter().enumerate() {
        // Initial files get ids no recorded file has.
        let file = usize::MAX - i;
        data.insert(file, (bytes.clone(), bytes.clone()));
        names.insert(path.clone(), file);
    }
    for (i, op) in log[..cut].iter().enumerate() {
        let lands = i < last_sync || rng.as_mut().is_some_and(|r| r.gen_bool(0.5));
        match op {
            Op::Create { path, file } => {
                data.insert(*file, (Vec::new(), Vec::new()));
                if lands {
                    names.insert(path.clone(), *file);
                }
            }
            Op::Write { file, bytes } => data.get_mut(file).unwrap().0.extend_from_slice(bytes),
            Op::Sync { file } => {
                let d = data.get_mut(file).unwrap();
                d.1 = d.0.clone();
            }
            Op::Rename { from, to } => {
                if lands {
                    if let Some(f) = names.remove(from) {
                        names.insert(to.clone(), f);
                    }
                }
            }
            Op::SyncDir => {}
            Op::Remove { path } => {
                if lands {
                    names.remove(path);
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    for (p, f) in names {
        let (all, synced) = &data[&f];
        let mut bytes = synced.clone();
        if let Some(rng) = rng.as_mut().filter(|_| all.len() > synced.len()) {
            let end = rng.gen_range(synced.len()..=all.len());
            bytes.extend_from_slice(&all[synced.len()..end]);
            for sector in (synced.len() / 512 * 512..end).step_by(512) {
                if sector >= synced.len() && rng.gen_bool(0.5) {
                    let e = (sector + 512).min(end);
                    bytes[sector..e].iter_mut().for_each(|b| *b = 0);
                }
            }
        }
        out.insert(p.file_name().unwrap().to_string_lossy().into_owned(), bytes);
    }
    if !initial.is_empty() || last_sync > 0 {
        out.insert("LOCK".into(), lock.to_vec());
    }
    out
}

type State = BTreeMap<u64, (Option<String>, Vec<u64>)>;

fn state_of(db: &Database) -> State {
    let snap = db.snapshot();
    snap.ids()
        .unwrap()
        .into_iter()
        .map(|id| {
            (
                id.0,
                (
                    snap.label(id).unwrap(),
                    snap.get(id).unwrap().iter().map(|v| v.to_bits()).collect(),
                ),
            )
        })
        .collect()
}

#[test]
fn power_cut_at_every_operation_keeps_the_last_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let disk = Arc::new(SimDisk::default());
    let io: Arc<dyn Io> = Arc::new(Handle(disk.clone()));
    let train = ingest::read(&ucr("ECG200", "TRAIN"), None).unwrap();
    let part = |a: usize, b: usize| Dataset {
        series: train.series[a..b].to_vec(),
        labels: train.labels[a..b].to_vec(),
    };
    let options = Options::default().keep_raw(true);

    // The workload; after each operation, the committed state and where the log stood.
    let mut committed: Vec<(usize, State)> = Vec::new();
    let (db, _) = Database::build_through(&dir, &part(0, 60), &options, io.clone()).unwrap();
    committed.push((disk.ops(), state_of(&db)));
    db.append(&part(60, 80)).unwrap();
    committed.push((disk.ops(), state_of(&db)));
    db.delete(&[3, 5, 61]).unwrap();
    committed.push((disk.ops(), state_of(&db)));
    drop(db);
    let db = Database::open_through(&dir, io.clone()).unwrap();
    db.compact().unwrap();
    committed.push((disk.ops(), state_of(&db)));
    db.delete(&[10]).unwrap();
    committed.push((disk.ops(), state_of(&db)));
    drop(db);
    let log = disk.log.lock().unwrap().clone();
    let lock = std::fs::read(dir.join("LOCK")).unwrap();

    // Where each commit became durable: the directory sync right after the MANIFEST's rename.
    let mut durable_at = Vec::new();
    for (i, op) in log.iter().enumerate() {
        if let Op::SyncDir = op {
            if matches!(log.get(i.wrapping_sub(1)), Some(Op::Rename { to, .. }) if to.ends_with("MANIFEST"))
            {
                durable_at.push(i + 1);
            }
        }
    }
    assert_eq!(
        durable_at.len(),
        committed.len(),
        "one MANIFEST commit per operation"
    );
    for (k, (ops_after, _)) in committed.iter().enumerate() {
        assert!(durable_at[k] <= *ops_after);
    }

    // Adversarial mode: the same cut points, each with several seeded draws of what else landed.
    // A commit whose MANIFEST rename happened before the cut may or may not show.
    let renamed_at: Vec<usize> = durable_at.iter().map(|&at| at - 1).collect();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut draws = 0;
    for cut in 0..=log.len() {
        for _ in 0..6 {
            let files = adversarial_survivors(&log, cut, &lock, &mut rng);
            let here = tmp.path().join(format!("adv{cut}-{draws}"));
            std::fs::create_dir(&here).unwrap();
            for (name, bytes) in &files {
                std::fs::write(here.join(name), bytes).unwrap();
            }
            let newest = renamed_at.iter().rposition(|&at| at <= cut);
            let oldest = durable_at.iter().rposition(|&at| at <= cut);
            let committed_here =
                newest.filter(|_| oldest.is_some() || here.join("MANIFEST").exists());
            if let Some(newest) = committed_here {
                let problems = Database::verify(&here);
                assert!(problems.is_empty(), "cut {cut} (adversarial): {problems:?}");
                let db = crate::util::open_when_free(&here);
                let got = state_of(&db);
                let allowed: Vec<usize> = (oldest.unwrap_or(0)..=newest).collect();
                assert!(
                    allowed.iter().any(|&k| got == committed[k].1),
                    "cut {cut} (adversarial): not the state of commits {allowed:?}"
                );
                db.append(&part(80, 82)).unwrap();
            } else {
                match Database::open_read_only(&here) {
                    Err(Error::NotADatabase { .. }) => {}
                    Err(e) => panic!("cut {cut} (adversarial): {e}"),
                    Ok(_) => panic!("cut {cut} (adversarial): a database before the first commit"),
                }
                let (db, _) = Database::build(&here, &part(0, 60), &options).unwrap();
                assert_eq!(state_of(&db), committed[0].1, "cut {cut}: rebuilt state");
            }
            std::fs::remove_dir_all(&here).unwrap();
            draws += 1;
        }
    }
    println!("{draws} adversarial power cuts");

    let mut checked = 0;
    for cut in 0..=log.len() {
        let files = survivors(&log, cut, &lock);
        let here = tmp.path().join(format!("cut{cut}"));
        std::fs::create_dir(&here).unwrap();
        for (name, bytes) in &files {
            std::fs::write(here.join(name), bytes).unwrap();
        }
        let expected = durable_at.iter().rposition(|&at| at <= cut);
        match expected {
            None => {
                // Cut before the build's commit: no database, and building again works.
                let e = Database::open_read_only(&here).unwrap_err();
                assert!(matches!(e, Error::NotADatabase { .. }), "cut {cut}: {e}");
                let (db, _) = Database::build(&here, &part(0, 60), &options).unwrap();
                assert_eq!(state_of(&db), committed[0].1, "cut {cut}: rebuilt state");
            }
            Some(k) => {
                let problems = Database::verify(&here);
                assert!(problems.is_empty(), "cut {cut}: {problems:?}");
                let db = crate::util::open_when_free(&here);
                assert!(
                    state_of(&db) == committed[k].1,
                    "cut {cut}: not the state of commit {k}"
                );
                // The writer can go on from here.
                db.append(&part(80, 82)).unwrap();
            }
        }
        std::fs::remove_dir_all(&here).unwrap();
        checked += 1;
    }
    assert!(checked > 40, "only {checked} cut points");
    println!(
        "{checked} power cuts over {} operations, {} commits",
        log.len(),
        committed.len()
    );
}
