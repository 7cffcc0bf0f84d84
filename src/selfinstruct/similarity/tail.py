"""The newest entries of a shard, before they are frozen into a Segment: a growable index.

Up to a few thousand entries, one dense pass is cheaper than prefix filtering: the overlap of
the query with every entry comes from an inverted index keyed by bag key, with frequent keys
held as dense 0/1 rows (one vector add each) and rare ones as posting lists (one bincount).
A small pool lives here entirely, so small pools cost what they always did.
"""

from __future__ import annotations

import numpy as np

_DENSE_MIN = 256  # a key turns dense once it has this many entries...
_DENSE_SHARE = 1 / 50  # ...and is held by this share of the tail: one row add beats scatter


class Growable:
    """A 1-D numpy array with amortised O(1) appends."""

    __slots__ = ("buf", "size")

    def __init__(self, dtype: type, capacity: int = 16) -> None:
        self.buf: np.ndarray = np.empty(capacity, dtype=dtype)
        self.size = 0

    def _reserve(self, end: int) -> None:
        if end > self.buf.size:
            bigger = np.empty(max(end, 2 * self.buf.size), dtype=self.buf.dtype)
            bigger[: self.size] = self.buf[: self.size]
            self.buf = bigger

    def append(self, value: int) -> None:
        self._reserve(self.size + 1)
        self.buf[self.size] = value
        self.size += 1

    def extend(self, values: np.ndarray | list[int]) -> None:
        end = self.size + len(values)
        self._reserve(end)
        self.buf[self.size : end] = values
        self.size = end

    @property
    def view(self) -> np.ndarray:
        return self.buf[: self.size]


class Tail:
    """Entries base..base+count-1 with an inverted index that grows entry by entry."""

    def __init__(self, base: int, capacity: int) -> None:
        self.base = base
        self.lens = Growable(np.int64)
        self.keys = Growable(np.int64)  # every entry's keys, grouped by entry
        self._sparse: dict[int, Growable] = {}
        self._dense_row: dict[int, int] = {}
        self._dense = np.zeros((4, capacity), dtype=np.int16)

    @property
    def count(self) -> int:
        return self.lens.size

    def add(self, keys: list[int]) -> None:
        """Append one entry given its bag keys."""
        off = self.count
        self.lens.append(len(keys))
        self.keys.extend(keys)
        dense_row, sparse = self._dense_row, self._sparse
        for key in keys:
            row = dense_row.get(key)
            if row is not None:
                self._dense[row, off] = 1
                continue
            postings = sparse.get(key)
            if postings is None:
                postings = sparse[key] = Growable(np.int32, 4)
            postings.append(off)
            if postings.size >= _DENSE_MIN and postings.size >= (off + 1) * _DENSE_SHARE:
                self._make_dense(key)

    def _make_dense(self, key: int) -> None:
        row = len(self._dense_row)
        if row >= self._dense.shape[0]:
            bigger = np.zeros((2 * row, self._dense.shape[1]), dtype=np.int16)
            bigger[:row] = self._dense
            self._dense = bigger
        self._dense[row, self._sparse.pop(key).view] = 1
        self._dense_row[key] = row

    def overlap(self, query: list[int]) -> np.ndarray:
        """The overlap (multiset intersection size) of the query's keys with every entry."""
        n = self.count
        rows: list[int] = []
        lists: list[np.ndarray] = []
        for key in query:
            row = self._dense_row.get(key)
            if row is not None:
                rows.append(row)
            elif (postings := self._sparse.get(key)) is not None:
                lists.append(postings.view)
        # each key's postings hold distinct entries, so counting them all at once is exact
        if lists:
            inter = np.bincount(np.concatenate(lists), minlength=n).astype(np.int32)
        else:
            inter = np.zeros(n, dtype=np.int32)
        for row in rows:
            inter += self._dense[row, :n]
        return inter


class TailProbe:
    """One query's view of a tail across search levels; reports each entry once."""

    def __init__(self, tail: Tail, query: list[int], m: int) -> None:
        self.base = tail.base
        self.overlap = tail.overlap(query)
        self.bound = self.overlap / (m + tail.lens.view)  # half the F bound
        self.bound[self.overlap == 0] = -1.0

    def advance(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        """(positions, overlaps) of entries not reported before whose bound reaches 2h."""
        found = np.flatnonzero(self.bound >= h - 1e-12)
        self.bound[found] = -1.0
        return found + self.base, self.overlap[found].astype(np.int64)

    def ceiling(self) -> float:
        """Half the highest F any entry not reported yet can have (-1 if none is left)."""
        return float(self.bound.max()) if self.bound.size else -1.0
