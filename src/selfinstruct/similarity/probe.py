"""One query's reading of one Segment across search levels: which entries can reach F >= s?

For a query of m tokens and an entry of n tokens, F <= 2 * overlap / (m + n), where overlap is
the multiset intersection of their tokens (an LCS is a common sub-multiset). So F >= s needs
overlap >= T(n) = ceil(s * (m + n) / 2). With keys in one order (rarest first), two key sets
sharing T keys have their first two shared keys among the first m - T + 2 of one and the first
n - T + 2 of the other (prefix filtering, as in AllPairs/PPJoin, with the l = 2 prefixes of
AdaptJoin): so only the query's rarest lists are read, over the entry lengths that can reach
T(n), and in each only the postings whose key is among the entry's rarest; an entry must be
found twice there (once, where T(n) = 1). Lowering s only widens those ranges, so a probe
remembers what it read and reads each posting once however many levels a search goes through.
The entries found get their exact overlap from the forward index.
"""

from __future__ import annotations

import math

import numpy as np

from .segment import LEN_CAP, LEN_SHIFT, OFF_BITS, OFF_MASK, RANK_CAP, ROW_SHIFT, Segment

EMPTY = np.empty(0, dtype=np.int64)
_ROUND = 1e-7  # float slack on length ranges and T(n): only ever widens what is read


def min_overlap(h: float, m: int, lens: np.ndarray) -> np.ndarray:
    """T(n): the least overlap an entry of each length needs for 2*overlap/(m+n) >= 2h (>= 1)."""
    return np.maximum(np.ceil(h * (m + lens) - _ROUND), 1).astype(np.int64)


class Probe:
    """Reads a segment for one query, level after level; reports each entry found once."""

    def __init__(self, seg: Segment, query: np.ndarray, m: int) -> None:
        self.seg, self.m = seg, m
        self.rows = seg.rows(query)
        self.heads = [row << ROW_SHIFT for row in self.rows.tolist()]
        self.lists = [0] * (LEN_CAP + 1)  # lists read, by entry length
        self.width = [0] * (LEN_CAP + 1)  # ranks read in them, by entry length
        self.once = 0  # lengths up to this are read whole: one shared key may be enough there
        self.read = EMPTY.astype(np.int32)  # offsets read so far, sorted, with repeats
        self.reported = EMPTY  # offsets reported, sorted
        self.done = False
        self.level = 1.0  # half the level of the last advance: unreported entries are below

    def ceiling(self) -> float:
        """Half the highest F any entry not reported yet can have (-1 if none is left)."""
        return -1.0 if self.done else self.level

    def advance(self, h: float) -> tuple[np.ndarray, np.ndarray]:
        """(positions, overlaps) of entries not reported before that may have 2*overlap/(m+n)
        >= 2h; together with earlier reports, they hold every entry that does."""
        p, m = self.rows.size, self.m
        self.level = h
        if p == 0 or self.done:
            self.done = True
            return EMPTY, EMPTY
        if h * (m + LEN_CAP) <= 1:  # one shared key is enough at every length
            return self._everything()
        bounds = self._ranges(h)
        if not bounds:
            return EMPTY, EMPTY
        ends = np.searchsorted(self.seg.comp, np.array(bounds, dtype=np.int64)).tolist()
        comp = self.seg.comp
        pieces = [comp[a:b] for a, b in zip(ends[::2], ends[1::2], strict=True) if b > a]
        if not pieces:
            return EMPTY, EMPTY
        values = np.concatenate(pieces)
        found = self._twice((values & OFF_MASK).astype(np.int32))
        if self.once:
            single = values[((values >> LEN_SHIFT) & LEN_CAP) <= self.once] & OFF_MASK
            found = np.concatenate([found, single.astype(np.int32)])
        return self._report(found)

    def _ranges(self, h: float) -> list[int]:
        """Bounds (start, end, start, end, ...) of the posting ranges not read yet at level 2h:
        for each entry length n that can reach T(n), the query's first p - T(n) + 2 lists, over
        the entries' first n - T(n) + 2 ranks (all lists and ranks where T(n) = 1)."""
        p, m, heads, lists, width = self.rows.size, self.m, self.heads, self.lists, self.width
        n_lo = max(1, math.ceil(h * m / (1 - h) - _ROUND))  # T(n) <= n
        n_hi = min(LEN_CAP, math.floor(p / h - m + _ROUND))  # T(n) <= p
        bounds: list[int] = []
        for n in range(n_lo, n_hi + 1):
            need = max(1, math.ceil(h * (m + n) - _ROUND))
            if need < 2:
                if n > self.once:  # newly "once": read again, whole, to catch single hits
                    lists[n] = width[n] = 0
                    self.once = n
                new_lists, new_width = p, n
            else:
                new_lists, new_width = min(p - need + 2, p), n - need + 2
            if n == LEN_CAP:  # lengths >= cap share a bucket: read all of it
                new_width = RANK_CAP + 1
            old_lists, old_width = lists[n], width[n]
            length = n << LEN_SHIFT
            end = length + (new_width << OFF_BITS)
            if new_width > old_width:  # more ranks of the lists already read
                start = length + (old_width << OFF_BITS)
                for head in heads[:old_lists]:
                    bounds += (head + start, head + end)
            for head in heads[old_lists:new_lists]:  # lists not read before, all ranks
                bounds += (head + length, head + end)
            lists[n], width[n] = max(old_lists, new_lists), max(old_width, new_width)
        return bounds

    def _twice(self, offsets: np.ndarray) -> np.ndarray:
        """The offsets read at least twice so far (with repeats; some reported before)."""
        offsets = np.sort(offsets)
        if self.read.size:  # two sorted runs: the stable sort merges them in linear time
            offsets = np.sort(np.concatenate([self.read, offsets]), kind="stable")
        self.read = offsets
        return offsets[1:][offsets[1:] == offsets[:-1]]

    def _report(self, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions and exact overlaps of the entries of `found` not reported before."""
        if found.size == 0:
            return EMPTY, EMPTY
        found = _sorted_unique(found.astype(np.int64))
        if self.reported.size:
            at = np.minimum(np.searchsorted(self.reported, found), self.reported.size - 1)
            found = found[self.reported[at] != found]
            if found.size == 0:
                return EMPTY, EMPTY
        self.reported = np.sort(np.concatenate([self.reported, found]), kind="stable")
        return found + self.seg.base, self.seg.overlap(found, self.rows)

    def _everything(self) -> tuple[np.ndarray, np.ndarray]:
        """Every entry sharing a key with the query (once, densely: this reads whole lists)."""
        self.done = True
        overlap = self.seg.all_overlaps(self.rows)
        overlap[self.reported] = 0
        found = np.flatnonzero(overlap)
        return found + self.seg.base, overlap[found]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique for int arrays, by sorting (numpy's hash-based unique is slower here)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]
