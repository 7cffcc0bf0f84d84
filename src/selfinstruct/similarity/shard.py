"""Exact ROUGE-L search over one slice of the pool: bag-overlap bounds first, exact LCS after.

Each entry is a string of token codes. For a query of m tokens and an entry of n tokens,
LCS <= |bag(query) & bag(entry)| (multiset intersection), so F <= 2*overlap/(m+n). The overlap
with every entry comes from an inverted index keyed by (token, occurrence number): the k-th
occurrence of a token is its own key, which turns multiset intersection into set intersection.
Keys held by many entries are kept as dense 0/1 rows (one vector add each), rare ones as posting
lists. Exact LCS (rapidfuzz, bit-parallel) runs only on entries whose bound can matter.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from .rouge import fmeasure, fmeasure_array

_OCCURRENCE_SHIFT = 21  # code points are < 2**21
_DENSE_MIN = 256  # a key turns dense once it has this many entries...
_DENSE_SHARE = 1 / 50  # ...and is held by this share of the slice: one row add beats scatter
_EPS = 1e-9  # bounds are compared with this slack; exact scores decide, never the slack
_TOP_PROBE = 8  # top(): exact scores for this many times k of the highest bounds first
_LOOP_MAX = 8  # fewer pairs than this: one call each beats a cdist call
_lcs = LCSseq.similarity


def bag_keys(seq: str) -> list[int]:
    """(code, occurrence) keys of a code string, packed into ints."""
    seen: dict[str, int] = {}
    keys = []
    for ch in seq:
        k = seen.get(ch, 0)
        seen[ch] = k + 1
        keys.append(ord(ch) | (k << _OCCURRENCE_SHIFT))
    return keys


class _Growable:
    """A 1-D numpy array with amortised O(1) append."""

    __slots__ = ("buf", "size")

    def __init__(self, dtype: type, capacity: int = 8) -> None:
        self.buf = np.empty(capacity, dtype=dtype)
        self.size = 0

    def append(self, value: object) -> None:
        if self.size == len(self.buf):
            bigger = np.empty(2 * len(self.buf), dtype=self.buf.dtype)
            bigger[: self.size] = self.buf
            self.buf = bigger
        self.buf[self.size] = value
        self.size += 1

    @property
    def view(self) -> np.ndarray:
        return self.buf[: self.size]


class Shard:
    """A slice of the pool with local positions 0..len-1; answers exact ROUGE-L questions."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._seqs = _Growable(object)
        self._lens = _Growable(np.int32)
        # lens * (threshold - eps) / 2: the overlap an entry needs for its bound to reach threshold
        self._need = _Growable(np.float64)
        self._sparse: dict[int, _Growable] = {}
        self._dense_row: dict[int, int] = {}
        self._dense = np.zeros((4, 64), dtype=np.int16)

    def __len__(self) -> int:
        return self._seqs.size

    # -- building -------------------------------------------------------------------------

    def add(self, seq: str) -> int:
        """Add one entry; return its local position."""
        pos = self._seqs.size
        self._seqs.append(seq)
        self._lens.append(len(seq))
        self._need.append(len(seq) * (self.threshold - _EPS) / 2)
        if pos >= self._dense.shape[1]:
            self._grow_dense(cols=2 * self._dense.shape[1])
        for key in bag_keys(seq):
            row = self._dense_row.get(key)
            if row is not None:
                self._dense[row, pos] = 1
                continue
            postings = self._sparse.get(key)
            if postings is None:
                postings = self._sparse[key] = _Growable(np.int32, 4)
            postings.append(pos)
            if postings.size >= _DENSE_MIN and postings.size >= (pos + 1) * _DENSE_SHARE:
                self._make_dense(key)
        return pos

    def _grow_dense(self, rows: int | None = None, cols: int | None = None) -> None:
        r, c = self._dense.shape
        bigger = np.zeros((rows or r, cols or c), dtype=np.int16)
        bigger[:r, :c] = self._dense
        self._dense = bigger

    def _make_dense(self, key: int) -> None:
        row = len(self._dense_row)
        if row >= self._dense.shape[0]:
            self._grow_dense(rows=2 * self._dense.shape[0])
        self._dense[row, self._sparse.pop(key).view] = 1
        self._dense_row[key] = row

    # -- bounds ---------------------------------------------------------------------------

    def overlap(self, seq: str) -> np.ndarray:
        """Multiset intersection size of the query's bag with every entry's bag."""
        n = self._seqs.size
        rows: list[int] = []
        lists: list[np.ndarray] = []
        dense_row, sparse = self._dense_row, self._sparse
        for key in bag_keys(seq):
            row = dense_row.get(key)
            if row is not None:
                rows.append(row)
            else:
                postings = sparse.get(key)
                if postings is not None:
                    lists.append(postings.buf[: postings.size])
        # each key's postings hold distinct positions, so counting them all at once is exact
        if len(lists) > 1:
            inter = np.bincount(np.concatenate(lists), minlength=n).astype(np.int32)
        elif lists:
            inter = np.zeros(n, dtype=np.int32)
            inter[lists[0]] = 1
        else:
            inter = np.zeros(n, dtype=np.int32)
        dense = self._dense
        for row in rows:
            inter += dense[row, :n]
        return inter

    # -- exact scores ---------------------------------------------------------------------

    def scores(self, seq: str, positions: np.ndarray) -> np.ndarray:
        """Exact rouge-score F of the query against the entries at these local positions."""
        seqs = self._seqs.buf
        m = len(seq)
        if positions.size <= _LOOP_MAX:
            return np.array(
                [fmeasure(_lcs(seq, seqs[i]), m, len(seqs[i])) for i in positions.tolist()],
                dtype=np.float64,
            )
        lcs = process.cdist([seq], seqs[positions].tolist(), scorer=_lcs, dtype=np.int32)[0]
        return fmeasure_array(lcs, m, self._lens.buf[positions])

    def best(self, seq: str) -> tuple[float, int | None]:
        """Exact maximum F over the slice and the first local position reaching it."""
        n = self._seqs.size
        if n == 0:
            return 0.0, None
        m = len(seq)
        if m == 0:
            return 0.0, 0
        inter = self.overlap(seq)
        # Entries whose bound reaches the threshold: the only ones that can reject the query.
        need = self._need.buf[:n] + m * (self.threshold - _EPS) / 2
        near = np.flatnonzero(inter >= need)
        best = -1.0
        if near.size:
            f = self.scores(seq, near)
            best = float(f.max())
            if best > self.threshold:
                # every entry outside `near` has F < threshold < best: the maximum is exact
                return best, int(near[np.argmax(f)])
        # Accepted: find the exact maximum by scoring every entry whose bound reaches a score
        # already seen (starting from the entry with the highest bound).
        half = inter / (self._lens.buf[:n] + m)
        if best < 0:
            top = int(np.argmax(half))
            if half[top] == 0:
                return 0.0, 0
            best = float(self.scores(seq, np.array([top]))[0])
        cands = np.flatnonzero(half >= best / 2 - _EPS)
        f = self.scores(seq, cands)
        return float(f.max()), int(cands[np.argmax(f)])

    def top(self, seq: str, k: int) -> list[tuple[int, float]]:
        """The k best (local position, exact F), by score then position."""
        n = self._seqs.size
        k = min(k, n)
        if k <= 0:
            return []
        m = len(seq)
        inter = self.overlap(seq) if m else np.zeros(n, dtype=np.int16)
        half = inter / (self._lens.buf[:n] + m) if m else inter.astype(np.float64)
        nonzero = int(np.count_nonzero(inter))
        if nonzero <= k:
            cands = np.flatnonzero(inter)
        else:
            # the k-th best exact score among the highest bounds is a floor every result reaches
            probe = min(nonzero, _TOP_PROBE * k)
            first = np.argpartition(-half, probe - 1)[:probe]
            kth = float(np.partition(self.scores(seq, first), probe - k)[probe - k])
            cands = np.flatnonzero(half >= kth / 2 - _EPS)
        f = self.scores(seq, cands)
        ranked = sorted(zip(cands.tolist(), f.tolist(), strict=True), key=lambda t: (-t[1], t[0]))
        result = ranked[:k]
        if len(result) < k:  # pad with zero-score entries in position order
            taken = {pos for pos, _ in result}
            zeros = (pos for pos in range(n) if pos not in taken)
            result += [(next(zeros), 0.0) for _ in range(k - len(result))]
        return result

    def all_scores(self, seq: str) -> np.ndarray:
        """Exact F against every entry, in position order (LCS only where the overlap exceeds 1)."""
        n = self._seqs.size
        scores = np.zeros(n, dtype=np.float64)
        m = len(seq)
        if n == 0 or m == 0:
            return scores
        inter = self.overlap(seq)
        one = np.flatnonzero(inter == 1)  # overlap 1 means LCS 1 exactly
        more = np.flatnonzero(inter > 1)
        scores[one] = fmeasure_array(np.ones(one.size), m, self._lens.buf[one])
        scores[more] = self.scores(seq, more)
        return scores
