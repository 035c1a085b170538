//! The databases a process has opened, kept open across queries.
//!
//! Opening reads a database's MANIFEST and segment tables, and the first search of a segment
//! decodes what its index needs; a long-running process (a SQL session, a Ballista executor)
//! pays that once per database, not once per query. Each use refreshes the database, so a
//! query sees the commits made since it was opened (unchanged segments are kept as they are).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use datafusion::error::{DataFusionError, Result};
use qabbadb::Database;

fn open_databases() -> &'static Mutex<HashMap<PathBuf, Arc<Database>>> {
    static OPEN: OnceLock<Mutex<HashMap<PathBuf, Arc<Database>>>> = OnceLock::new();
    OPEN.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The error of a shard, naming it.
pub(crate) fn shard_error(path: &str, e: qabbadb::Error) -> DataFusionError {
    let text = e.to_string();
    if text.contains(path) {
        DataFusionError::Execution(text)
    } else {
        DataFusionError::Execution(format!("{path}: {text}"))
    }
}

/// The database in `path`, opened read-only (no lock: writers may commit meanwhile) the first
/// time and refreshed to its newest commit afterwards.
pub fn database(path: &str) -> Result<Arc<Database>> {
    let key = PathBuf::from(path);
    let known = open_databases()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&key)
        .cloned();
    if let Some(db) = known {
        db.refresh().map_err(|e| shard_error(path, e))?;
        return Ok(db);
    }
    let db = Arc::new(Database::open_read_only(&key).map_err(|e| shard_error(path, e))?);
    open_databases()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, Arc::clone(&db));
    Ok(db)
}
