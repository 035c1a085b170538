"""Type stubs of the qabbadb extension module (checked against it with mypy.stubtest)."""

import os
from typing import List, Optional, Sequence, Tuple, Union, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "_Database",
    "__version__",
    "CorruptError",
    "Error",
    "InvalidInputError",
    "LockedError",
    "NotADatabaseError",
    "NotFoundError",
    "build",
    "open",
]

__version__: str

_Series = Union[npt.NDArray[np.float64], Sequence[npt.NDArray[np.float64]]]

class Error(Exception): ...
class CorruptError(Error): ...
class LockedError(Error): ...
class InvalidInputError(Error): ...
class NotFoundError(Error): ...
class NotADatabaseError(Error): ...

@final
class _Database:
    @property
    def path(self) -> str: ...
    @property
    def writable(self) -> bool: ...
    @property
    def closed(self) -> bool: ...
    def close(self) -> None: ...
    def __len__(self) -> int: ...
    def ids(self) -> npt.NDArray[np.int64]: ...
    def append(
        self, x: _Series, labels: Optional[Sequence[Optional[str]]] = None, refit: bool = False
    ) -> npt.NDArray[np.int64]: ...
    def delete(self, ids: Sequence[int]) -> Tuple[int, int]: ...
    def compact(self) -> bool: ...
    def refresh(self) -> None: ...
    def info_json(self) -> str: ...
    def get(self, id: int, raw: bool = False) -> npt.NDArray[np.float64]: ...
    def label(self, id: int) -> Optional[str]: ...
    def export(
        self, kind: str
    ) -> Tuple[npt.NDArray[np.int64], List[npt.NDArray[np.float64]], List[Optional[str]]]: ...
    def search(
        self,
        queries: _Series,
        k: int,
        metric: str = "euclidean",
        window: Optional[float] = None,
        window_points: Optional[int] = None,
        exact: str = "reconstruction",
        filter: Optional[Sequence[int]] = None,
        brute_force: bool = False,
    ) -> Tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], str]: ...
    def range(
        self,
        queries: _Series,
        radius: float,
        metric: str = "euclidean",
        window: Optional[float] = None,
        window_points: Optional[int] = None,
        exact: str = "reconstruction",
        filter: Optional[Sequence[int]] = None,
        brute_force: bool = False,
    ) -> Tuple[List[npt.NDArray[np.int64]], List[npt.NDArray[np.float64]], str]: ...

def build(
    path: Union[str, os.PathLike[str]],
    x: _Series,
    labels: Optional[Sequence[Optional[str]]] = None,
    *,
    tol: float = 0.2,
    max_len: Optional[int] = None,
    digitize: str = "ga",
    alpha: Optional[float] = None,
    symbols: Optional[int] = None,
    seed: int = 0,
    scl: float = 1.0,
    len_bits: int = 8,
    inc_bits: int = 12,
    assign: str = "closed-loop",
    max_rmse: Optional[float] = None,
    max_error: Optional[float] = None,
    target_rmse: Optional[float] = None,
    word_len: int = 16,
    breakpoints: str = "auto",
    index: bool = True,
    keep_raw: bool = False,
) -> _Database: ...
def open(path: Union[str, os.PathLike[str]], writable: bool = False) -> _Database: ...
