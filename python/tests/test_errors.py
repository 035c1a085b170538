"""Bad input raises a Python exception with the tool's message; nothing crashes."""

import os

import numpy as np
import pytest

import qabbadb
from conftest import walks


def test_bad_series_are_exceptions(tmp_path):
    p = lambda n: os.fspath(tmp_path / n)
    X = walks(20, 30)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(qabbadb.InvalidInputError, match="NaN"):
        qabbadb.build(p("nan"), bad)
    assert not os.path.exists(p("nan")), "a failed build leaves nothing"
    inf = X.copy()
    inf[0, 0] = np.inf
    with pytest.raises(qabbadb.InvalidInputError, match="infinite"):
        qabbadb.build(p("inf"), inf)
    with pytest.raises(qabbadb.InvalidInputError, match="empty"):
        qabbadb.build(p("empty"), [np.array([1.0, 2.0]), np.array([], dtype=float)])
    with pytest.raises(ValueError, match="no series"):
        qabbadb.build(p("none"), [])
    with pytest.raises(TypeError, match="dtype"):
        qabbadb.build(p("int"), np.arange(12).reshape(3, 4))
    with pytest.raises(TypeError, match="dtype"):
        qabbadb.build(p("obj"), np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="dimensions|shape"):
        qabbadb.build(p("4d"), np.zeros((2, 2, 2, 2)))
    with pytest.raises(qabbadb.InvalidInputError, match="1 labels for 20 series"):
        qabbadb.build(p("labels"), X, labels=["a"])
    with pytest.raises(qabbadb.InvalidInputError, match="tol|tolerance"):
        qabbadb.build(p("tol"), X, tol=-1.0)
    with pytest.raises(qabbadb.InvalidInputError, match="digitize"):
        qabbadb.build(p("dig"), X, digitize="nope")
    with pytest.raises(TypeError):
        qabbadb.build(p("kw"), X, not_an_option=1)


def test_bad_queries_are_exceptions(tmp_db):
    with qabbadb.build(tmp_db, walks(50, 30)) as db:
        for q, exc in (
            (np.full(30, np.nan), qabbadb.InvalidInputError),
            (np.array([], dtype=float), qabbadb.InvalidInputError),
            (np.zeros((2, 2, 2)), ValueError),
            (np.arange(30), TypeError),
        ):
            with pytest.raises(exc):
                db.search(q, k=1)
        with pytest.raises(qabbadb.InvalidInputError, match="k must be"):
            db.search(walks(1, 30)[0], k=0)
        with pytest.raises(qabbadb.InvalidInputError, match="metric"):
            db.search(walks(1, 30)[0], k=1, metric="cosine")
        with pytest.raises(qabbadb.InvalidInputError, match="window"):
            db.search(walks(1, 30)[0], k=1, window=0.2)
        with pytest.raises(qabbadb.InvalidInputError, match="window fraction"):
            db.search(walks(1, 30)[0], k=1, metric="dtw", window=-0.1)
        with pytest.raises(qabbadb.InvalidInputError, match="radius"):
            db.range(walks(1, 30)[0], -1.0)
        with pytest.raises(qabbadb.Error, match="raw values"):
            db.search(walks(1, 30)[0], k=1, exact="original")
        with pytest.raises(qabbadb.Error, match="raw values"):
            db.get(0, raw=True)
        with pytest.raises(OverflowError):
            db.get(-1)


def test_databases_that_are_not_there_locked_or_damaged(tmp_path, tmp_db):
    with pytest.raises(qabbadb.NotADatabaseError, match="no such directory"):
        qabbadb.open(os.fspath(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(qabbadb.NotADatabaseError, match="empty directory"):
        qabbadb.open(os.fspath(tmp_path / "empty"))
    with pytest.raises(ValueError, match="mode"):
        qabbadb.open(tmp_db, mode="x")
    writer = qabbadb.build(tmp_db, walks(30, 20))
    with pytest.raises(qabbadb.LockedError, match="LOCK"):
        qabbadb.open(tmp_db, mode="w")
    with pytest.raises(qabbadb.NotADatabaseError, match="already holds"):
        qabbadb.build(tmp_db, walks(3, 20))
    writer.close()
    qabbadb.open(tmp_db, mode="w").close()
    seg = [f for f in os.listdir(tmp_db) if f.endswith(".qseg")][0]
    with open(os.path.join(tmp_db, seg), "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 0xFF]))
    with pytest.raises(qabbadb.CorruptError, match="corrupt"):
        qabbadb.open(tmp_db)
