"""Heavy calls release the GIL; read-only databases pickle by path, writers do not."""

import pickle
import threading
import time

import numpy as np
import pytest

import qabbadb
from conftest import walks


def test_the_gil_is_released_during_a_long_search(tmp_db):
    X = walks(1500, 256)
    with qabbadb.build(tmp_db, X, index=True) as db:
        Q = walks(6, 256, seed=4)
        ticks = []
        done = threading.Event()

        def counter():
            while not done.is_set():
                ticks.append(time.perf_counter())
                time.sleep(0.001)

        t = threading.Thread(target=counter)
        t.start()
        time.sleep(0.02)
        before = len(ticks)
        start = time.perf_counter()
        db.search(Q, k=1, metric="dtw", window=1.0, brute_force=True)
        elapsed = time.perf_counter() - start
        during = len(ticks) - before
        done.set()
        t.join()
        assert elapsed > 0.2, f"the search was too short to tell ({elapsed:.3f} s)"
        # The other thread kept running (about one tick a millisecond) while Rust worked; with
        # the GIL held it would have ticked at most once.
        assert during >= max(5, int(elapsed * 100)), (during, elapsed)


def test_pickling(tmp_db):
    X = walks(100, 40)
    writer = qabbadb.build(tmp_db, X)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(writer)
    writer.close()
    reader = qabbadb.open(tmp_db)
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.path == reader.path and clone.mode == "r"
    a = reader.search(X[:3], k=2)
    b = clone.search(X[:3], k=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
