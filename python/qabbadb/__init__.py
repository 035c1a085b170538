"""qabbadb: compressed time-series storage (QABBA) and exact similarity search.

Numpy in, numpy out::

    import numpy as np
    import qabbadb

    X = np.cumsum(np.random.default_rng(0).standard_normal((1000, 128)), axis=1)
    with qabbadb.build("walks.qdb", X, keep_raw=True) as db:
        ids, dist = db.search(X[:5], k=3)                      # (5, 3) int64 and float64
        ids, dist = db.search(X[0], k=1, metric="dtw", window=0.1, exact="original")
        back = db.get(0)                                       # the reconstruction

A database is a directory; ``qabbadb.open(path)`` opens it for reading (any number of
processes), ``qabbadb.open(path, mode="w")`` for writing (one at a time). Searches are exact:
identical to brute force over the normalised reconstructions, or over the normalised originals
with ``exact="original"`` (databases built with ``keep_raw=True``). Heavy calls release the GIL.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _qabbadb
from ._qabbadb import (
    CorruptError,
    Error,
    InvalidInputError,
    LockedError,
    NotADatabaseError,
    NotFoundError,
)

__all__ = [
    "Database",
    "build",
    "open",
    "Error",
    "CorruptError",
    "LockedError",
    "InvalidInputError",
    "NotFoundError",
    "NotADatabaseError",
]

__version__: str = _qabbadb.__version__

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Any


def _as_vector(x: Any, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "f":
        raise TypeError(f"{what}: expected float32 or float64 values, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array, got {a.ndim} dimensions")
    return np.ascontiguousarray(a, dtype=np.float64)


def _as_series(x: ArrayLike, what: str = "X") -> Tuple[Union[np.ndarray, List[np.ndarray]], bool]:
    """Series as the extension takes them: a C-contiguous float64 matrix (copied only when it is
    not one already) or a list of 1-D float64 arrays. Also says whether one 1-D series was given."""
    if isinstance(x, np.ndarray) or not isinstance(x, (list, tuple)):
        a = np.asarray(x)
        if a.dtype.kind not in "f":
            raise TypeError(f"{what}: expected float32 or float64 values, got dtype {a.dtype}")
        if a.ndim == 1:
            return np.ascontiguousarray(a, dtype=np.float64).reshape(1, -1), True
        if a.ndim == 3 and a.shape[1] == 1:
            a = a[:, 0, :]
        if a.ndim != 2:
            raise ValueError(
                f"{what}: expected a 2-D array (n_series, length) or a list of 1-D arrays, "
                f"got shape {a.shape}"
            )
        return np.ascontiguousarray(a, dtype=np.float64), False
    if len(x) == 0:
        raise ValueError(f"{what}: no series given")
    first = np.asarray(x[0])
    if first.ndim == 0:
        # A flat list of numbers is one series.
        return _as_series(np.asarray(x, dtype=float), what)
    return [_as_vector(s, f"{what}[{i}]") for i, s in enumerate(x)], False


def _labels(labels: Optional[Iterable[Any]]) -> Optional[List[Optional[str]]]:
    if labels is None:
        return None
    return [None if lab is None else str(lab) for lab in labels]


def _query_args(Q: ArrayLike, metric: str, window: Optional[float], window_points: Optional[int],
                exact: str, filter: Optional[Iterable[int]], brute_force: bool) -> Tuple[Any, bool, Tuple[Any, ...]]:
    """The queries, whether one 1-D query was given, and the search arguments after k or radius."""
    queries, single = _as_series(Q, "Q")
    if metric != "dtw" and (window is not None or window_points is not None):
        raise InvalidInputError("window and window_points apply to metric='dtw' only")
    ids = None if filter is None else [int(i) for i in filter]
    return queries, single, (metric, window, window_points, exact, ids, brute_force)


_MODES = {"r": False, "w": True}


class Database:
    """An open qabbadb database (a directory). Use :func:`build` or :func:`open` to get one.

    Usable as a context manager; ``len(db)`` is the number of live series. A read-only database
    pickles by path (the worker opens it again; segments never change); a writer does not.
    """

    def __init__(self, inner: "_qabbadb._Database") -> None:
        self._db = inner

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The database directory."""
        return str(self._db.path)

    @property
    def mode(self) -> str:
        """``"w"`` when this handle holds the writer lock, else ``"r"``."""
        return "w" if self._db.writable else "r"

    def close(self) -> None:
        """Releases the database (and the writer lock). Further calls raise :class:`Error`."""
        self._db.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __reduce__(self) -> Tuple[Any, Tuple[str, str]]:
        if self._db.writable:
            raise TypeError(
                "a writable qabbadb database cannot be pickled (one writer at a time); "
                "open it with mode='r' to share it with other processes"
            )
        return (open, (self.path, "r"))

    def __repr__(self) -> str:
        state = "closed" if self._db.closed else f"{len(self)} series"
        return f"qabbadb.Database({self.path!r}, mode={self.mode!r}, {state})"

    def __len__(self) -> int:
        return self._db.__len__()

    def refresh(self) -> None:
        """Follows commits made by another process since this handle opened (read-only use)."""
        self._db.refresh()

    # -- writing --------------------------------------------------------------------------------

    def append(self, X: ArrayLike, labels: Optional[Sequence[Any]] = None, *, refit: bool = False) -> np.ndarray:
        """Appends series (2-D array or list of 1-D arrays); returns their new ids (int64).

        They are encoded with the database's codebook unless ``refit=True``."""
        series, _ = _as_series(X)
        return self._db.append(series, _labels(labels), refit)

    def delete(self, ids: Union[int, Iterable[int]]) -> Dict[str, int]:
        """Deletes series by id. Ids already deleted are counted, not errors; ids never given
        raise :class:`NotFoundError` and nothing is deleted."""
        if isinstance(ids, (int, np.integer)):
            ids = [int(ids)]
        deleted, already = self._db.delete([int(i) for i in ids])
        return {"deleted": deleted, "already_deleted": already}

    def compact(self) -> bool:
        """Merges segments and drops deleted series (same ids); returns whether anything changed."""
        return self._db.compact()

    # -- reading --------------------------------------------------------------------------------

    def info(self) -> Dict[str, Any]:
        """What is stored: series, points, bytes, bits per point, ratio, error, parameters."""
        return json.loads(self._db.info_json())

    def ids(self) -> np.ndarray:
        """Ids of the live series, ascending (int64)."""
        return self._db.ids()

    def get(self, id: int, raw: bool = False) -> np.ndarray:
        """Series ``id`` reconstructed (float64, its stored length), or its original values with
        ``raw=True`` (databases built with ``keep_raw=True``)."""
        return self._db.get(int(id), raw)

    def label(self, id: int) -> Optional[str]:
        """The label of series ``id``."""
        return self._db.label(int(id))

    def export(self, normalized: bool = False, raw: bool = False) -> Tuple[np.ndarray, Union[np.ndarray, List[np.ndarray]], List[Optional[str]]]:
        """Every live series: ``(ids, X, labels)``, ``X`` a 2-D array when all series have one
        length, else a list. ``normalized``: z-normalised reconstructions (what search compares);
        ``raw``: the originals."""
        if normalized and raw:
            raise ValueError("normalized and raw exclude each other")
        kind = "raw" if raw else "normalized" if normalized else "reconstruction"
        ids, series, labels = self._db.export(kind)
        if series and all(len(s) == len(series[0]) for s in series):
            return ids, np.vstack(series), labels
        return ids, series, labels

    # -- search ---------------------------------------------------------------------------------

    def search(
        self,
        Q: ArrayLike,
        k: int = 10,
        *,
        metric: str = "euclidean",
        window: Optional[float] = None,
        window_points: Optional[int] = None,
        exact: str = "reconstruction",
        filter: Optional[Iterable[int]] = None,
        brute_force: bool = False,
        return_stats: bool = False,
    ) -> Any:
        """The ``k`` nearest stored series to each query, exactly.

        ``Q`` is one series (1-D) or many (2-D, or a list of 1-D arrays). Returns ``(ids,
        distances)``: int64 and float64 arrays of shape ``(len(Q), k)`` (``(k,)`` for one 1-D
        query), sorted by distance then id, padded with -1 and ``inf`` when fewer series
        qualify. ``metric`` is ``"euclidean"`` or ``"dtw"`` (Sakoe-Chiba band: ``window`` a
        fraction of the length, default 0.1, or ``window_points``); ``exact`` is
        ``"reconstruction"`` or ``"original"``; ``filter`` restricts candidates to these ids.
        With ``return_stats`` a list of per-query statistics follows."""
        queries, single, rest = _query_args(Q, metric, window, window_points, exact, filter, brute_force)
        ids, dist, stats = self._db.search(queries, int(k), *rest)
        if single:
            ids, dist = ids[0], dist[0]
        if return_stats:
            return ids, dist, json.loads(stats)
        return ids, dist

    def range(
        self,
        Q: ArrayLike,
        radius: float,
        *,
        metric: str = "euclidean",
        window: Optional[float] = None,
        window_points: Optional[int] = None,
        exact: str = "reconstruction",
        filter: Optional[Iterable[int]] = None,
        brute_force: bool = False,
        return_stats: bool = False,
    ) -> Any:
        """Every stored series within ``radius`` of each query: a list (one entry per query) of
        ``(ids, distances)`` arrays, sorted by distance then id (one pair for one 1-D query)."""
        queries, single, rest = _query_args(Q, metric, window, window_points, exact, filter, brute_force)
        ids, dist, stats = self._db.range(queries, float(radius), *rest)
        out: Any = list(zip(ids, dist))
        if single:
            out = out[0]
        if return_stats:
            return out, json.loads(stats)
        return out


def build(path: PathLike, X: ArrayLike, labels: Optional[Sequence[Any]] = None, **options: Any) -> Database:
    """Builds a new database in ``path`` (a new or empty directory) from ``X``: a 2-D array
    ``(n_series, length)`` of float32/float64, or a list of 1-D arrays of any lengths.

    Options mirror ``qabbadb build``: ``tol`` (0.2), ``max_len``, ``digitize`` ("ga" or
    "kmeans"), ``alpha``, ``symbols``, ``seed``, ``scl``, ``len_bits`` (8), ``inc_bits`` (12),
    ``assign`` ("closed-loop" or "nearest"), ``max_rmse`` (0.5), ``max_error`` (δ: every value
    within δ of the original), ``target_rmse`` (instead of ``tol``: the mean RMSE/σ to meet with
    the fewest bytes; the build picks ``tol`` on a sample), ``word_len`` (16), ``breakpoints`` ("auto", "kde", "gaussian"),
    ``index`` (True), ``keep_raw`` (False: keep the originals losslessly too)."""
    series, _ = _as_series(X)
    return Database(_qabbadb.build(os.fspath(path), series, _labels(labels), **options))


def open(path: PathLike, mode: str = "r") -> Database:  # noqa: A001 - the package's verb
    """Opens the database in ``path``: ``mode="r"`` to read (no lock), ``"w"`` to write."""
    if mode not in _MODES:
        raise ValueError(f"mode must be 'r' or 'w', got {mode!r}")
    return Database(_qabbadb.open(os.fspath(path), _MODES[mode]))
