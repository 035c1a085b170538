"""The scikit-learn estimators: scikit-learn's own estimator checks, aeon-style inputs, and the
UCR archive's published 1-NN accuracies reproduced with exact answers over the originals."""

import pickle

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from conftest import published, ucr, walks, znorm
from qabbadb.sklearn import KNeighborsTimeSeries, KNeighborsTimeSeriesClassifier

# Checks of scikit-learn's suite that do not apply to a time-series estimator, with the reason.
NOT_APPLICABLE = {
    # Each sample is z-normalised before comparison (the UCR convention for time series), so
    # the check's 2-feature Gaussian blobs become (±1, ∓1) and lose what separates them: the
    # check wants 83 % accuracy on them.
    "check_classifiers_train": "z-normalised samples",
}


@pytest.mark.parametrize("est", [KNeighborsTimeSeriesClassifier(), KNeighborsTimeSeries()],
                         ids=lambda e: type(e).__name__)
def test_scikit_learn_estimator_checks(est):
    results = check_estimator(est, on_fail=None, on_skip=None)
    failed = {r["check_name"]: str(r["exception"])[:300] for r in results if r["status"] == "failed"}
    unexpected = {k: v for k, v in failed.items() if k not in NOT_APPLICABLE}
    assert not unexpected, unexpected


@pytest.mark.parametrize("distance,window", [("euclidean", None), ("dtw", 0.1)])
def test_classifier_matches_numpy_1nn_and_takes_aeon_shapes(distance, window):
    X, y = walks(80, 50), np.arange(80) % 3
    Q = walks(25, 50, seed=7)
    params = {"window": window} if window is not None else None
    clf = KNeighborsTimeSeriesClassifier(distance=distance, distance_params=params)
    clf.fit(X[:, None, :], y)
    pred = clf.predict(Q[:, None, :])
    dist, ind = clf.kneighbors(Q, n_neighbors=3)
    assert ind.shape == (25, 3) and np.all(np.diff(dist, axis=1) >= 0)
    assert np.array_equal(pred, y[ind[:, 0]])
    if distance == "euclidean":
        d = np.sqrt(((znorm(Q)[:, None, :] - znorm(X)[None, :, :]) ** 2).sum(axis=2))
        assert np.array_equal(ind[:, 0], d.argmin(axis=1))
    proba = clf.predict_proba(Q)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(X, y) == 1.0
    # kneighbors without X: each training series is left out of its own answer.
    _, own = KNeighborsTimeSeries(n_neighbors=2).fit(X).kneighbors()
    assert not np.any(own == np.arange(80)[:, None])
    # A fitted estimator pickles with its database.
    clone = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(clone.predict(Q), pred)


def test_k_neighbors_votes_and_weights():
    X = np.vstack([walks(30, 40, seed=1), walks(30, 40, seed=2)])
    y = np.array(["a"] * 30 + ["b"] * 30)
    for weights in ("uniform", "distance"):
        clf = KNeighborsTimeSeriesClassifier(n_neighbors=5, weights=weights).fit(X, y)
        assert set(clf.predict(X)) <= {"a", "b"}
        assert clf.predict_proba(X).shape == (60, 2)
    with pytest.raises(ValueError):
        KNeighborsTimeSeriesClassifier(distance="cosine").fit(X, y)
    with pytest.raises(ValueError):
        KNeighborsTimeSeriesClassifier(distance_params={"window": 0.1}).fit(X, y)


FIXED_LENGTH = ["ArrowHead", "Beef", "CBF", "Coffee", "ECG200", "GunPoint", "ItalyPowerDemand",
                "Lightning7", "Trace"]


@pytest.mark.parametrize("name", FIXED_LENGTH)
def test_published_ucr_1nn_accuracy(name):
    ed_err, dtw_err = published()[name]
    Xtr, ytr = ucr(name, "TRAIN")
    Xte, yte = ucr(name, "TEST")
    for distance, params, err in (("euclidean", None, ed_err), ("dtw", {"window": 1.0}, dtw_err)):
        clf = KNeighborsTimeSeriesClassifier(distance=distance, distance_params=params, exact="original")
        acc = clf.fit(Xtr, ytr).score(Xte, yte)
        assert round(acc, 3) == round(1 - err, 3), (name, distance, acc, 1 - err)


@pytest.mark.parametrize("name", ["ACSF1", "ECG5000", "OSULeaf"])
def test_published_ucr_1nn_accuracy_euclidean_on_the_larger_sets(name):
    ed_err, _ = published()[name]
    Xtr, ytr = ucr(name, "TRAIN")
    Xte, yte = ucr(name, "TEST")
    acc = KNeighborsTimeSeriesClassifier(exact="original").fit(Xtr, ytr).score(Xte, yte)
    assert round(acc, 3) == round(1 - ed_err, 3), (name, acc, 1 - ed_err)
