"""Which areas are the same as or next to which: the sparse relation a mutual's reach and a
tender's bidders are read from."""

from __future__ import annotations

import numpy as np

__all__ = ["Neighbours"]


class Neighbours:
    """Which areas are the same as or next to which: a sparse, symmetric relation.

    Stored as each area's sorted list of near areas, itself included (compressed rows:
    ``indptr``, ``indices``), so memory grows with the number of borders, not with the square
    of the number of areas; ``keys`` (``row * n + column``, sorted) answers membership by
    binary search.
    """

    def __init__(self, n: int, indptr: np.ndarray, indices: np.ndarray) -> None:
        self.n = n
        self.indptr = np.asarray(indptr, dtype=np.int64)
        self.indices = np.asarray(indices, dtype=np.int64)
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(self.indptr))
        self.keys = rows * n + self.indices

    @classmethod
    def from_edges(cls, n: int, a: np.ndarray, b: np.ndarray) -> Neighbours:
        """The relation of ``n`` areas with borders ``a[k]``-``b[k]`` (either order; repeats
        and self-loops allowed), every area near itself."""
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        self_ = np.arange(n, dtype=np.int64)
        keys = np.unique(np.concatenate([a * n + b, b * n + a, self_ * n + self_]))
        rows = keys // n
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
        return cls(n, indptr, keys % n)

    def contains(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Whether ``rows[k]`` is near ``cols[k]``, broadcasting as numpy does."""
        key = np.asarray(rows, dtype=np.int64) * self.n + np.asarray(cols, dtype=np.int64)
        if self.keys.size == 0:
            return np.zeros(key.shape, dtype=bool)
        at = np.minimum(np.searchsorted(self.keys, key), self.keys.size - 1)
        return self.keys[at] == key

    def of(self, area: int) -> np.ndarray:
        """The areas near ``area`` (itself included), sorted."""
        return self.indices[self.indptr[area] : self.indptr[area + 1]]

    def dense(self) -> np.ndarray:
        """The (n, n) boolean matrix (for small markets and tests only)."""
        out = np.zeros((self.n, self.n), dtype=bool)
        out.flat[self.keys] = True
        return out
