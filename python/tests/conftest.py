"""Shared helpers: the bundled UCR data (read with numpy, independently of qabbadb) and seeded
random walks."""

import os
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
UCR = ROOT / "tests" / "data" / "ucr"


def ucr(name: str, split: str):
    """(X, y) of a bundled UCR split: labels first, tab separated, equal lengths."""
    rows = [l.split("\t") for l in (UCR / name / f"{name}_{split}.tsv").read_text().splitlines() if l.strip()]
    y = np.array([r[0] for r in rows])
    X = np.array([[float(v) for v in r[1:]] for r in rows])
    return X, y


def published():
    """{dataset: (ed_error, dtw_full_error)} from the archive's DataSummary.csv."""
    out = {}
    for line in (UCR / "published_1nn.csv").read_text().splitlines():
        if line.startswith("#") or line.startswith("dataset") or not line.strip():
            continue
        name, ed, dtw = line.split(",")[:3]
        out[name] = (float(ed), float(dtw))
    return out


def walks(n: int, length: int, seed: int = 0) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).uniform(-1, 1, (n, length)), axis=1)


def znorm(X: np.ndarray) -> np.ndarray:
    mu = X.mean(axis=1, keepdims=True)
    sd = X.std(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        Z = (X - mu) / sd
    return np.where(sd > 0, Z, 0.0)


def dtw_sq(a: np.ndarray, b: np.ndarray, r: int) -> float:
    """Banded DTW (squared), the textbook recurrence: the oracle of the tests."""
    n = len(a)
    D = np.full((n + 1, n + 1), np.inf)
    D[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(max(1, i - r), min(n, i + r) + 1):
            D[i, j] = (a[i - 1] - b[j - 1]) ** 2 + min(D[i - 1, j], D[i, j - 1], D[i - 1, j - 1])
    return float(D[n, n])


@pytest.fixture
def tmp_db(tmp_path):
    return os.fspath(tmp_path / "t.qdb")
