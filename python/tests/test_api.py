"""The package end to end: building, reading, writing, searching, against numpy brute force
and against the library's own brute force."""

import numpy as np
import pytest

import qabbadb
from conftest import dtw_sq, walks, znorm


def brute_knn(Z, q, k):
    """Euclidean k-NN by numpy over z-normalised rows; ties by index."""
    qz = znorm(q[None, :])[0]
    d = np.sqrt(((Z - qz) ** 2).sum(axis=1))
    order = np.lexsort((np.arange(len(d)), d))[:k]
    return order, d[order]


def test_build_search_equals_numpy_brute_force(tmp_db):
    X = walks(500, 96)
    with qabbadb.build(tmp_db, X) as db:
        assert len(db) == 500 and db.mode == "w"
        ids, Z, _ = db.export(normalized=True)
        assert np.array_equal(ids, np.arange(500))
        Q = walks(20, 96, seed=1)
        got_ids, got_d = db.search(Q, k=5)
        assert got_ids.shape == (20, 5) and got_ids.dtype == np.int64
        assert got_d.dtype == np.float64
        for i, q in enumerate(Q):
            want_ids, want_d = brute_knn(Z, q, 5)
            assert np.array_equal(got_ids[i], want_ids)
            np.testing.assert_allclose(got_d[i], want_d, rtol=1e-9)
        # The library's brute force gives the same answers, bit for bit.
        bi, bd = db.search(Q, k=5, brute_force=True)
        assert np.array_equal(bi, got_ids) and np.array_equal(bd, got_d)


def test_dtw_equals_the_textbook_recurrence(tmp_db):
    X = walks(60, 40)
    with qabbadb.build(tmp_db, X) as db:
        _, Z, _ = db.export(normalized=True)
        q = walks(1, 40, seed=3)[0]
        ids, dist = db.search(q, k=3, metric="dtw", window=0.1)
        assert ids.shape == (3,)
        qz = znorm(q[None, :])[0]
        d = np.sqrt([dtw_sq(qz, z, 4) for z in Z])
        order = np.lexsort((np.arange(len(d)), d))[:3]
        assert np.array_equal(ids, order)
        np.testing.assert_allclose(dist, d[order], rtol=1e-9)
        ids2, _ = db.search(q, k=3, metric="dtw", window_points=4)
        assert np.array_equal(ids, ids2)


def test_dtypes_and_layouts_give_the_same_answers(tmp_db):
    X = walks(200, 64)
    with qabbadb.build(tmp_db, X) as db:
        Q = walks(8, 64, seed=2)
        want = db.search(Q, k=4)
        for variant in (
            np.asfortranarray(Q),
            np.repeat(Q, 2, axis=1)[:, ::2],
            list(Q),
            [list(map(float, q)) for q in Q],
        ):
            got = db.search(variant, k=4)
            assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
        # float32 queries are read as the float64 values they hold.
        q32 = Q.astype(np.float32)
        a = db.search(q32, k=4)
        b = db.search(q32.astype(np.float64), k=4)
        assert np.array_equal(a[0], b[0])


def test_series_of_different_lengths_labels_and_float32(tmp_db):
    rng = np.random.default_rng(5)
    X = [np.cumsum(rng.standard_normal(n)).astype(np.float32) for n in (30, 50, 30, 70, 50)]
    with qabbadb.build(tmp_db, X, labels=["a", "b", "a", "c", None]) as db:
        assert len(db) == 5
        assert [len(db.get(i)) for i in range(5)] == [30, 50, 30, 70, 50]
        assert db.label(1) == "b" and db.label(4) is None
        ids, series, labels = db.export()
        assert isinstance(series, list) and labels == ["a", "b", "a", "c", None]
        # Only series of the query's length are candidates; missing answers are padded.
        ids, dist = db.search(X[0].astype(np.float64), k=3)
        assert ids[0] == 0 and set(ids[:2]) == {0, 2} and ids[2] == -1 and np.isinf(dist[2])


def test_write_path_and_info(tmp_db):
    X = walks(120, 50)
    db = qabbadb.build(tmp_db, X[:100], labels=[str(i % 3) for i in range(100)], keep_raw=True)
    new = db.append(X[100:], labels=["x"] * 20)
    assert np.array_equal(new, np.arange(100, 120))
    assert db.delete([3, 4, 4]) == {"deleted": 2, "already_deleted": 0}
    assert db.delete(3) == {"deleted": 0, "already_deleted": 1}
    with pytest.raises(qabbadb.NotFoundError):
        db.delete([500])
    assert len(db) == 118
    assert db.compact() is True
    assert db.compact() is False
    assert db.delete(3) == {"deleted": 0, "already_deleted": 1}
    info = db.info()
    assert info["series"] == 118 and info["params"]["keep_raw"] is True
    assert info["bits_per_point"] > 0 and info["segments"][0]["series"] == 118
    # Originals come back bit for bit; the reconstruction is close.
    assert np.array_equal(db.get(7, raw=True), X[7])
    assert np.sqrt(np.mean((db.get(7) - X[7]) ** 2)) < 0.5 * X[7].std()
    with pytest.raises(qabbadb.NotFoundError):
        db.get(3)
    db.close()
    with pytest.raises(qabbadb.Error):
        len(db)
    with qabbadb.open(tmp_db) as r:
        assert len(r) == 118 and r.mode == "r"
        assert np.array_equal(r.ids(), np.delete(np.arange(120), [3, 4]))
        with pytest.raises(qabbadb.Error, match="read-only"):
            r.append(X[:1])


def test_original_exact_and_filters_and_range(tmp_db):
    X = walks(300, 64)
    with qabbadb.build(tmp_db, X, keep_raw=True, max_error=0.01) as db:
        Z = znorm(X)
        q = X[17] + np.random.default_rng(9).normal(0, 0.05, 64)
        ids, dist = db.search(q, k=5, exact="original")
        want_ids, want_d = brute_knn(Z, q, 5)
        assert np.array_equal(ids, want_ids)
        np.testing.assert_allclose(dist, want_d, rtol=1e-9)
        even = [i for i in range(300) if i % 2 == 0]
        fids, _ = db.search(q, k=5, exact="original", filter=even)
        assert all(i % 2 == 0 for i in fids)
        radius = float(dist[2]) * 1.0000001
        (rids, rd), stats = db.range(q, radius, exact="original", return_stats=True)
        assert np.array_equal(rids, ids[:3])
        assert stats[0]["candidates"] == 300
        many = db.range(X[:4], 1.0)
        assert len(many) == 4 and all(r[0][0] == i for i, r in enumerate(many))
        _, _, stats = db.search(X[:2], k=1, return_stats=True)
        assert len(stats) == 2 and stats[0]["verified"] >= 1


def test_target_rmse_picks_the_tolerance(tmp_path):
    """``target_rmse`` instead of ``tol``: the stored series meet the target (the whole set is
    the sample here), and a looser target gives a coarser tolerance and a smaller database."""
    X = walks(200, 128)
    sizes = []
    for target in (0.05, 0.2):
        path = tmp_path / f"t{target}"
        with qabbadb.build(path, X, target_rmse=target) as db:
            info = db.info()
            assert info["mean_relative_rmse"] <= target
            assert info["params"]["target_rmse"] == target
            sizes.append((info["params"]["tol"], info["bytes"]))
    assert sizes[0][0] < sizes[1][0] and sizes[0][1] > sizes[1][1]
    with pytest.raises(qabbadb.InvalidInputError, match="target_rmse"):
        qabbadb.build(tmp_path / "bad", X, target_rmse=-1.0)
