//! `qabbadb._qabbadb`: the Python extension module over the qabbadb library.
//!
//! The Python package (`python/qabbadb`) checks and converts its inputs (dtypes, shapes,
//! contiguity) and hands this module C-contiguous float64 arrays, which are read in place: a
//! query batch is never copied. Every call that searches, builds or writes releases the GIL and
//! runs on the library's rayon pool. Library errors become the exceptions of the package
//! (`qabbadb.Error` and its subclasses), with the message the command-line tool prints.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use roaring::RoaringTreemap;

use qabbadb::ingest::Dataset;
use qabbadb::{
    Assign, BreakpointChoice, Database, Digitizer, Exactness, IndexParams, Metric, Options, Query,
    SearchResult, Target, Window,
};

create_exception!(_qabbadb, Error, PyException, "Any error of qabbadb.");
create_exception!(
    _qabbadb,
    CorruptError,
    Error,
    "A stored file does not hold what the format says (or needs a newer qabbadb)."
);
create_exception!(
    _qabbadb,
    LockedError,
    Error,
    "Another process or handle is writing to the database."
);
create_exception!(
    _qabbadb,
    InvalidInputError,
    Error,
    "Series or options that cannot be used (NaN, empty series, bad parameters)."
);
create_exception!(
    _qabbadb,
    NotFoundError,
    Error,
    "No stored series has this id (it was never given, or it was deleted)."
);
create_exception!(
    _qabbadb,
    NotADatabaseError,
    Error,
    "The path is not a qabbadb database, or not a place where one can be made."
);

/// The Python exception of a library error.
fn py_err(e: qabbadb::Error) -> PyErr {
    use qabbadb::Error as E;
    let msg = e.to_string();
    match e {
        E::Corrupt { .. } | E::UnsupportedVersion { .. } | E::Unsupported { .. } => {
            CorruptError::new_err(msg)
        }
        E::Locked(_) => LockedError::new_err(msg),
        E::Parse { .. }
        | E::InvalidInput { .. }
        | E::InvalidOptions(_)
        | E::InvalidRequest(_)
        | E::Encode(_) => InvalidInputError::new_err(msg),
        E::NotFound(_) => NotFoundError::new_err(msg),
        E::NotADatabase { .. } | E::Exists(_) | E::NotEmpty { .. } => {
            NotADatabaseError::new_err(msg)
        }
        _ => Error::new_err(msg),
    }
}

/// Series handed over by the package: one C-contiguous float64 matrix (a series a row) or a
/// list of C-contiguous float64 vectors (series of any lengths).
#[derive(FromPyObject)]
enum SeriesArg<'py> {
    Matrix(PyReadonlyArray2<'py, f64>),
    List(Vec<PyReadonlyArray1<'py, f64>>),
}

impl SeriesArg<'_> {
    /// The series as slices of the arrays, without copying.
    fn rows(&self) -> PyResult<Vec<&[f64]>> {
        let not_contiguous = || PyValueError::new_err("arrays must be C-contiguous float64");
        match self {
            SeriesArg::Matrix(m) => {
                let cols = m.as_array().ncols();
                let flat = m.as_slice().map_err(|_| not_contiguous())?;
                if cols == 0 {
                    return Ok(vec![&[][..]; m.as_array().nrows()]);
                }
                Ok(flat.chunks(cols).collect())
            }
            SeriesArg::List(v) => v
                .iter()
                .map(|a| a.as_slice().map_err(|_| not_contiguous()))
                .collect(),
        }
    }

    fn dataset(&self, labels: Option<Vec<Option<String>>>) -> PyResult<Dataset> {
        let series: Vec<Vec<f64>> = self.rows()?.into_iter().map(<[f64]>::to_vec).collect();
        let labels = match labels {
            Some(l) if l.len() != series.len() => {
                return Err(InvalidInputError::new_err(format!(
                    "{} labels for {} series",
                    l.len(),
                    series.len()
                )))
            }
            Some(l) => l,
            None => vec![None; series.len()],
        };
        Ok(Dataset { series, labels })
    }
}

fn metric_of(metric: &str, window: Option<f64>, window_points: Option<usize>) -> PyResult<Metric> {
    match metric {
        "euclidean" | "ed" => Ok(Metric::Euclidean),
        "dtw" => Ok(Metric::Dtw {
            window: match window_points {
                Some(r) => Window::Points(r),
                None => Window::Fraction(window.unwrap_or(0.1)),
            },
        }),
        other => Err(InvalidInputError::new_err(format!(
            "metric must be \"euclidean\" or \"dtw\", got {other:?}"
        ))),
    }
}

fn exactness_of(exact: &str) -> PyResult<Exactness> {
    match exact {
        "reconstruction" | "reconstructed" => Ok(Exactness::Reconstructed),
        "original" => Ok(Exactness::Original),
        other => Err(InvalidInputError::new_err(format!(
            "exact must be \"reconstruction\" or \"original\", got {other:?}"
        ))),
    }
}

/// An open database, read-only or writable.
#[pyclass(name = "_Database", module = "qabbadb._qabbadb", frozen)]
struct PyDatabase {
    inner: Mutex<Option<Arc<Database>>>,
    path: PathBuf,
    writable: bool,
}

/// What every query of a batch shares.
struct BatchSpec {
    target: Target,
    metric: Metric,
    exactness: Exactness,
    filter: Option<RoaringTreemap>,
    brute_force: bool,
}

impl PyDatabase {
    /// Runs one query per row of `queries`, in parallel and without the GIL.
    fn run_batch(
        &self,
        py: Python<'_>,
        queries: &SeriesArg<'_>,
        spec: &BatchSpec,
    ) -> PyResult<Vec<SearchResult>> {
        let rows = queries.rows()?;
        let snap = self.db()?.snapshot();
        py.detach(|| {
            let batch: Vec<Query> = rows
                .iter()
                .map(|q| Query {
                    series: q,
                    target: spec.target,
                    metric: spec.metric,
                    exactness: spec.exactness,
                    filter: spec.filter.as_ref(),
                    brute_force: spec.brute_force,
                    plan: qabbadb::Plan::Auto,
                })
                .collect();
            snap.search_batch(&batch)
        })
        .map_err(py_err)
    }

    fn new(db: Database, path: PathBuf, writable: bool) -> PyDatabase {
        PyDatabase {
            inner: Mutex::new(Some(Arc::new(db))),
            path,
            writable,
        }
    }

    fn db(&self) -> PyResult<Arc<Database>> {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::new_err("the database is closed"))
    }
}

#[pymethods]
impl PyDatabase {
    /// The database directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.path.clone()
    }

    /// Whether this handle holds the writer lock.
    #[getter]
    fn writable(&self) -> bool {
        self.writable
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_none()
    }

    /// Releases the database (and its writer lock).
    fn close(&self) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).take();
    }

    fn __len__(&self) -> PyResult<usize> {
        Ok(self.db()?.snapshot().len())
    }

    /// Ids of the live series, ascending.
    fn ids<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let ids: Vec<i64> = self
            .db()?
            .snapshot()
            .ids()
            .map_err(py_err)?
            .iter()
            .map(|i| i.0 as i64)
            .collect();
        Ok(ids.into_pyarray(py))
    }

    /// Appends series (new ids, the database's codebook); returns their ids.
    #[pyo3(signature = (x, labels=None, refit=false))]
    fn append<'py>(
        &self,
        py: Python<'py>,
        x: SeriesArg<'py>,
        labels: Option<Vec<Option<String>>>,
        refit: bool,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let data = x.dataset(labels)?;
        let db = self.db()?;
        let report = py.detach(|| db.append_with(&data, refit)).map_err(py_err)?;
        let ids: Vec<i64> = report.ids.iter().map(|i| i.0 as i64).collect();
        Ok(ids.into_pyarray(py))
    }

    /// Deletes series by id; returns (deleted now, deleted already).
    fn delete(&self, py: Python<'_>, ids: Vec<u64>) -> PyResult<(u64, u64)> {
        let db = self.db()?;
        let r = py.detach(|| db.delete(&ids)).map_err(py_err)?;
        Ok((r.deleted, r.already_deleted))
    }

    /// Merges segments and drops deleted series; returns whether anything was rewritten.
    fn compact(&self, py: Python<'_>) -> PyResult<bool> {
        let db = self.db()?;
        py.detach(|| db.compact()).map_err(py_err)
    }

    /// Re-reads the MANIFEST (read-only handles following a writer).
    fn refresh(&self, py: Python<'_>) -> PyResult<()> {
        let db = self.db()?;
        py.detach(|| db.refresh()).map_err(py_err)
    }

    /// What the database stores, as JSON (the `info --json` object).
    fn info_json(&self) -> PyResult<String> {
        let info = self.db()?.snapshot().info().map_err(py_err)?;
        serde_json::to_string(&info).map_err(|e| Error::new_err(e.to_string()))
    }

    /// The reconstructed series `id` (or its original values with `raw`).
    #[pyo3(signature = (id, raw=false))]
    fn get<'py>(&self, py: Python<'py>, id: u64, raw: bool) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let snap = self.db()?.snapshot();
        let v = if raw { snap.get_raw(id) } else { snap.get(id) }.map_err(py_err)?;
        Ok(v.into_pyarray(py))
    }

    /// The label of series `id`.
    fn label(&self, id: u64) -> PyResult<Option<String>> {
        self.db()?.snapshot().label(id).map_err(py_err)
    }

    /// Every live series: `kind` is "reconstruction", "normalized" or "raw". Returns the ids,
    /// the series and the labels.
    #[allow(clippy::type_complexity)]
    fn export<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
    ) -> PyResult<(
        Bound<'py, PyArray1<i64>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        Vec<Option<String>>,
    )> {
        let snap = self.db()?.snapshot();
        let data = py
            .detach(|| match kind {
                "reconstruction" => Ok(snap.export()),
                "normalized" => Ok(snap.export_normalized()),
                "raw" => Ok(snap.export_raw()),
                _ => Err(()),
            })
            .map_err(|()| {
                InvalidInputError::new_err(format!(
                    "kind must be \"reconstruction\", \"normalized\" or \"raw\", got {kind:?}"
                ))
            })?
            .map_err(py_err)?;
        let ids: Vec<i64> = snap
            .ids()
            .map_err(py_err)?
            .iter()
            .map(|i| i.0 as i64)
            .collect();
        let series = data
            .series
            .into_iter()
            .map(|s| s.into_pyarray(py))
            .collect();
        Ok((ids.into_pyarray(py), series, data.labels))
    }

    /// The `k` nearest stored series to each query: ids (int64, -1 past the last answer) and
    /// distances (float64, inf past the last answer), both (number of queries, k), and the
    /// statistics of each query as JSON.
    #[pyo3(signature = (queries, k, metric="euclidean", window=None, window_points=None, exact="reconstruction", filter=None, brute_force=false))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        queries: SeriesArg<'py>,
        k: usize,
        metric: &str,
        window: Option<f64>,
        window_points: Option<usize>,
        exact: &str,
        filter: Option<Vec<u64>>,
        brute_force: bool,
    ) -> PyResult<(Bound<'py, PyArray2<i64>>, Bound<'py, PyArray2<f64>>, String)> {
        let metric = metric_of(metric, window, window_points)?;
        let spec = BatchSpec {
            target: Target::Knn(k),
            metric,
            exactness: exactness_of(exact)?,
            filter: filter.map(|f| f.into_iter().collect()),
            brute_force,
        };
        let results = self.run_batch(py, &queries, &spec)?;
        let mut ids = Array2::<i64>::from_elem((results.len(), k), -1);
        let mut dist = Array2::<f64>::from_elem((results.len(), k), f64::INFINITY);
        for (i, r) in results.iter().enumerate() {
            for (j, n) in r.neighbors.iter().enumerate() {
                ids[[i, j]] = n.id.0 as i64;
                dist[[i, j]] = n.distance;
            }
        }
        let stats: Vec<_> = results.iter().map(|r| r.stats).collect();
        let stats = serde_json::to_string(&stats).map_err(|e| Error::new_err(e.to_string()))?;
        Ok((ids.into_pyarray(py), dist.into_pyarray(py), stats))
    }

    /// Every stored series within `radius` of each query: per query its ids and distances
    /// (sorted by distance, then id), and the statistics as JSON.
    #[pyo3(signature = (queries, radius, metric="euclidean", window=None, window_points=None, exact="reconstruction", filter=None, brute_force=false))]
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn range<'py>(
        &self,
        py: Python<'py>,
        queries: SeriesArg<'py>,
        radius: f64,
        metric: &str,
        window: Option<f64>,
        window_points: Option<usize>,
        exact: &str,
        filter: Option<Vec<u64>>,
        brute_force: bool,
    ) -> PyResult<(
        Vec<Bound<'py, PyArray1<i64>>>,
        Vec<Bound<'py, PyArray1<f64>>>,
        String,
    )> {
        let metric = metric_of(metric, window, window_points)?;
        let spec = BatchSpec {
            target: Target::Range(radius),
            metric,
            exactness: exactness_of(exact)?,
            filter: filter.map(|f| f.into_iter().collect()),
            brute_force,
        };
        let results = self.run_batch(py, &queries, &spec)?;
        let mut ids = Vec::with_capacity(results.len());
        let mut dist = Vec::with_capacity(results.len());
        for r in &results {
            let i: Vec<i64> = r.neighbors.iter().map(|n| n.id.0 as i64).collect();
            let d: Vec<f64> = r.neighbors.iter().map(|n| n.distance).collect();
            ids.push(i.into_pyarray(py));
            dist.push(d.into_pyarray(py));
        }
        let stats: Vec<_> = results.iter().map(|r| r.stats).collect();
        let stats = serde_json::to_string(&stats).map_err(|e| Error::new_err(e.to_string()))?;
        Ok((ids, dist, stats))
    }
}

/// Database options from the keyword arguments of `qabbadb.build` (the flags of `qabbadb
/// build`).
#[allow(clippy::too_many_arguments)]
fn options_of(
    tol: f64,
    max_len: Option<u32>,
    digitize: &str,
    alpha: Option<f64>,
    symbols: Option<usize>,
    seed: u64,
    scl: f64,
    len_bits: u8,
    inc_bits: u8,
    assign: &str,
    max_rmse: Option<f64>,
    max_error: Option<f64>,
    target_rmse: Option<f64>,
    word_len: usize,
    breakpoints: &str,
    index: bool,
    keep_raw: bool,
) -> PyResult<Options> {
    let invalid = |m: String| InvalidInputError::new_err(m);
    let digitizer = match digitize {
        "ga" => {
            if symbols.is_some() {
                return Err(invalid(
                    "symbols sets k-means; pass digitize=\"kmeans\" (greedy aggregation takes alpha)"
                        .into(),
                ));
            }
            Digitizer::Greedy { alpha }
        }
        "kmeans" => {
            if alpha.is_some() {
                return Err(invalid(
                    "alpha sets greedy aggregation; k-means takes symbols".into(),
                ));
            }
            Digitizer::KMeans {
                k: symbols.unwrap_or(64),
                sample_rate: 0.5,
                seed,
            }
        }
        other => {
            return Err(invalid(format!(
                "digitize must be \"ga\" or \"kmeans\", got {other:?}"
            )))
        }
    };
    if max_error.is_some() && max_rmse.is_some() {
        return Err(invalid(
            "max_rmse does not apply with max_error (the residuals bound every value)".into(),
        ));
    }
    let mut o = Options::default()
        .tol(tol)
        .digitizer(digitizer)
        .max_rmse(max_rmse.unwrap_or(0.5))
        .max_error(max_error)
        .keep_raw(keep_raw)
        .assign(match assign {
            "closed-loop" => Assign::ClosedLoop,
            "nearest" => Assign::Nearest,
            other => {
                return Err(invalid(format!(
                    "assign must be \"closed-loop\" or \"nearest\", got {other:?}"
                )))
            }
        });
    o.codec.max_len = max_len;
    o.codec.target_rmse = target_rmse;
    o.codec.scl = scl;
    o.codec.len_bits = len_bits;
    o.codec.inc_bits = inc_bits;
    o.index = index
        .then(|| -> PyResult<IndexParams> {
            Ok(IndexParams {
                word_len,
                breakpoints: match breakpoints {
                    "auto" => BreakpointChoice::Auto,
                    "kde" => BreakpointChoice::Kde,
                    "gaussian" => BreakpointChoice::Gaussian,
                    other => {
                        return Err(invalid(format!(
                            "breakpoints must be \"auto\", \"kde\" or \"gaussian\", got {other:?}"
                        )))
                    }
                },
            })
        })
        .transpose()?;
    o.validate().map_err(py_err)?;
    Ok(o)
}

/// Builds a new database in `path` (a new or empty directory) from the series `x`.
#[pyfunction]
#[pyo3(signature = (path, x, labels=None, *, tol=0.2, max_len=None, digitize="ga", alpha=None, symbols=None, seed=0, scl=1.0, len_bits=8, inc_bits=12, assign="closed-loop", max_rmse=None, max_error=None, target_rmse=None, word_len=16, breakpoints="auto", index=true, keep_raw=false))]
#[allow(clippy::too_many_arguments)]
fn build<'py>(
    py: Python<'py>,
    path: PathBuf,
    x: SeriesArg<'py>,
    labels: Option<Vec<Option<String>>>,
    tol: f64,
    max_len: Option<u32>,
    digitize: &str,
    alpha: Option<f64>,
    symbols: Option<usize>,
    seed: u64,
    scl: f64,
    len_bits: u8,
    inc_bits: u8,
    assign: &str,
    max_rmse: Option<f64>,
    max_error: Option<f64>,
    target_rmse: Option<f64>,
    word_len: usize,
    breakpoints: &str,
    index: bool,
    keep_raw: bool,
) -> PyResult<PyDatabase> {
    let options = options_of(
        tol,
        max_len,
        digitize,
        alpha,
        symbols,
        seed,
        scl,
        len_bits,
        inc_bits,
        assign,
        max_rmse,
        max_error,
        target_rmse,
        word_len,
        breakpoints,
        index,
        keep_raw,
    )?;
    let data = x.dataset(labels)?;
    let p = path.clone();
    let (db, _) = py
        .detach(|| Database::build(&p, &data, &options))
        .map_err(py_err)?;
    Ok(PyDatabase::new(db, path, true))
}

/// Opens the database in `path`, for writing (taking its lock) or for reading only.
#[pyfunction]
#[pyo3(signature = (path, writable=false))]
fn open(py: Python<'_>, path: PathBuf, writable: bool) -> PyResult<PyDatabase> {
    let p = path.clone();
    let db = py
        .detach(|| {
            if writable {
                Database::open(&p)
            } else {
                Database::open_read_only(&p)
            }
        })
        .map_err(py_err)?;
    Ok(PyDatabase::new(db, path, writable))
}

#[pymodule]
fn _qabbadb(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<PyDatabase>()?;
    m.add_function(wrap_pyfunction!(build, m)?)?;
    m.add_function(wrap_pyfunction!(open, m)?)?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("CorruptError", py.get_type::<CorruptError>())?;
    m.add("LockedError", py.get_type::<LockedError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("NotFoundError", py.get_type::<NotFoundError>())?;
    m.add("NotADatabaseError", py.get_type::<NotADatabaseError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
