"""An immutable slice of the pool, indexed so that prefix filtering can read it (see probe.py).

Keys are ordered by rarity in the segment (fewest entries first, ties by key). Each entry keeps
its keys in that order; a posting records the key, the entry's length, the key's rank among the
entry's keys and the entry, packed into one int64 so that one sorted array holds every list:
the postings of (key, entry length) with rank below r are one contiguous range. A forward index
(entry -> key rows) gives exact overlaps for the few entries a search needs to check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OFF_BITS = 22  # entry offset within the segment
RANK_BITS = 8  # rank of the key among the entry's keys, rarest first (capped)
LEN_BITS = 8  # entry length, capped: longer entries share the last length bucket
LEN_SHIFT = OFF_BITS + RANK_BITS
ROW_SHIFT = LEN_SHIFT + LEN_BITS
OFF_MASK = (1 << OFF_BITS) - 1
RANK_CAP = (1 << RANK_BITS) - 1
LEN_CAP = (1 << LEN_BITS) - 1
MAX_ENTRIES = 1 << OFF_BITS
MAX_POSTINGS = 1 << (63 - ROW_SHIFT)  # distinct keys (rows) must fit above the shift
_RARITY_BITS = 63 - OFF_BITS - 1


def _rows_of(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(sorted distinct keys, the row of each key, how many times each row occurs)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.ones(ordered.size, dtype=bool)
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ukeys = ordered[new]
    del ordered
    rows = np.empty(keys.size, dtype=np.int64)
    rows[order] = np.cumsum(new) - 1
    counts = np.diff(np.append(np.flatnonzero(new), keys.size))
    return ukeys, rows, counts


def _ranked(rows: np.ndarray, df: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows ordered rarest first within each entry, the rank of each within its entry)."""
    by_rarity = np.lexsort((np.arange(df.size), df))
    rarity = np.empty_like(by_rarity)
    rarity[by_rarity] = np.arange(df.size)
    entry = np.repeat(np.arange(lens.size, dtype=np.int64), lens)
    # rows are grouped by entry, so sorting (entry, rarity) keeps the groups
    ranked = np.sort((entry << _RARITY_BITS) | rarity[rows])
    del entry
    rows = by_rarity[ranked & ((1 << _RARITY_BITS) - 1)]
    del ranked
    first = np.zeros(lens.size, dtype=np.int64)
    np.cumsum(lens[:-1], out=first[1:])
    rank = np.arange(rows.size, dtype=np.int64) - np.repeat(first, lens)
    return rows, rank


@dataclass(eq=False)
class Segment:
    """Entries base..base+count-1: forward index and packed postings."""

    base: int
    lens: np.ndarray  # int64 token count of each entry (= its number of keys)
    fwd: np.ndarray  # int32 rows of each entry's keys, grouped by entry, in entry order
    fstart: np.ndarray  # int64, count + 1: where each entry's keys start in fwd
    ukeys: np.ndarray  # int64 sorted distinct keys; a key's row is its index here
    starts: np.ndarray  # int64, rows + 1: where each row's postings start in comp
    comp: np.ndarray  # int64 sorted: row << ROW_SHIFT | len << LEN_SHIFT | rank << OFF_BITS | off
    mark: np.ndarray = field(init=False, repr=False)  # one bool per row: scratch, all False

    def __post_init__(self) -> None:
        self.mark = np.zeros(self.ukeys.size, dtype=bool)

    @property
    def count(self) -> int:
        return int(self.lens.size)

    @classmethod
    def build(cls, base: int, keys: np.ndarray, lens: np.ndarray) -> Segment:
        """Index entries with these keys (grouped by entry) and token counts."""
        if lens.size > MAX_ENTRIES or keys.size >= MAX_POSTINGS:
            raise ValueError("segment too large")  # callers split before this
        lens = np.asarray(lens, dtype=np.int64)
        fstart = np.zeros(lens.size + 1, dtype=np.int64)
        np.cumsum(lens, out=fstart[1:])
        ukeys, rows, df = _rows_of(keys)
        fwd = rows.astype(np.int32)
        rows, rank = _ranked(rows, df, lens)
        comp = (rows << ROW_SHIFT) | (np.minimum(rank, RANK_CAP) << OFF_BITS)
        del rows, rank
        entry = np.repeat(np.arange(lens.size, dtype=np.int64), lens)
        comp |= np.minimum(lens, LEN_CAP)[entry] << LEN_SHIFT
        comp |= entry
        del entry
        comp.sort()
        starts = np.zeros(ukeys.size + 1, dtype=np.int64)
        np.cumsum(df, out=starts[1:])
        return cls(base, lens, fwd, fstart, ukeys, starts, comp)

    def keys(self) -> np.ndarray:
        """Every entry's keys, grouped by entry (what build() was given)."""
        return self.ukeys[self.fwd]

    @staticmethod
    def merge(first: Segment, second: Segment) -> Segment:
        """One segment holding two adjacent ones."""
        return Segment.build(
            first.base,
            np.concatenate([first.keys(), second.keys()]),
            np.concatenate([first.lens, second.lens]),
        )

    # -- reading --------------------------------------------------------------------------

    def rows(self, query: np.ndarray) -> np.ndarray:
        """Rows of the query keys present here, rarest first (the order prefixes use)."""
        at = np.searchsorted(self.ukeys, query)
        ok = at < self.ukeys.size
        ok[ok] = self.ukeys[at[ok]] == query[ok]
        rows = at[ok]
        sizes = self.starts[rows + 1] - self.starts[rows]
        return rows[np.lexsort((rows, sizes))]

    def overlap(self, offsets: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Exact overlap of the query (its rows here) with entries at these offsets."""
        out = np.zeros(offsets.size, dtype=np.int64)
        keep = self.lens[offsets] > 0
        offsets = offsets[keep]
        if offsets.size == 0:
            return out
        first, sizes = self.fstart[offsets], self.lens[offsets]
        run = np.cumsum(sizes) - sizes
        at = np.repeat(first - run, sizes) + np.arange(int(run[-1] + sizes[-1]))
        self.mark[rows] = True
        try:
            hits = self.mark[self.fwd[at]]
        finally:
            self.mark[rows] = False
        out[keep] = np.add.reduceat(hits, run, dtype=np.int64)
        return out

    def all_overlaps(self, rows: np.ndarray) -> np.ndarray:
        """The overlap of the query (its rows here) with every entry, dense."""
        comp, starts = self.comp, self.starts
        pieces = [comp[starts[r] : starts[r + 1]] for r in rows.tolist()]
        if not pieces:
            return np.zeros(self.count, dtype=np.int64)
        return np.bincount(np.concatenate(pieces) & OFF_MASK, minlength=self.count)
