"""Exact ROUGE-L search over one slice of the pool: bounds pick the entries, exact LCS decides.

The newest entries live in a Tail (an index that grows entry by entry and is read densely: the
whole pool, while it is small); once it holds `tail_size` entries it is frozen into an immutable
Segment, read by prefix filtering (probe.py). Segments merge as they accumulate, like the levels
of a log-structured merge tree, so there are few. A question "which entries can reach F >= s?"
costs little when s is high, so every search starts at the threshold and lowers s only as far
as the answer needs: the maximum is exact once some entry scores >= s (no entry outside the
candidates can beat it), a top-k list once k entries do. Adds are lazy: they are indexed in one
batch before the next question, so a loop of add() costs about what add_many() does.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq

from .keys import bag_key_list, many_bag_keys
from .probe import Probe, min_overlap
from .rouge import fmeasure, fmeasure_array
from .segment import MAX_POSTINGS, Segment
from .tail import Growable, Tail, TailProbe

_EPS = 1e-9  # bounds are compared with this slack; exact scores decide, never the slack
TAIL_SIZE = 16384  # the tail becomes a segment at this many entries
_FANOUT = 4  # the last two segments merge once the newer holds a quarter of the older
_SEGMENT_MAX = 1 << 22  # entries per segment
_STEP = 0.15  # how far a search lowers its level when nothing reached the current one
_FLOOR = 0.1  # at or below this level, score every entry that shares a token with the query
_EVERY = 1e-12  # the level (halved) that means "overlap >= 1"
_PROBE = 8  # a search also scores this many entries below its level (plus k): where to go next
_LOOP_MAX = 8  # fewer pairs than this: one call each beats a cdist call
_lcs = LCSseq.similarity


class Shard:
    """A slice of the pool with local positions 0..len-1; answers exact ROUGE-L questions."""

    def __init__(self, threshold: float, tail_size: int = TAIL_SIZE) -> None:
        self.threshold = threshold
        self.tail_size = tail_size
        self._seqs: list[str] = []
        self._lens = Growable(np.int64)
        self._segments: list[Segment] = []
        self._tail = Tail(0, tail_size)

    def __len__(self) -> int:
        return len(self._seqs)

    # -- building -------------------------------------------------------------------------

    def add(self, seq: str) -> int:
        """Add one entry (indexed before the next question); return its local position."""
        self._seqs.append(seq)
        return len(self._seqs) - 1

    def add_many(self, seqs: Iterable[str]) -> None:
        """Add entries in order (indexed together before the next question)."""
        self._seqs.extend(seqs)

    def sync(self) -> None:
        """Index the entries added since the last question."""
        done = self._lens.size
        new = self._seqs[done:]
        if not new:
            return
        tail = self._tail
        if tail.count + len(new) < self.tail_size:
            for seq in new:
                entry = bag_key_list(seq)
                tail.add(entry)
                self._lens.append(len(entry))
            return
        keys, lens = many_bag_keys(new)
        self._lens.extend(lens)
        self._freeze(
            tail.base,
            np.concatenate([tail.keys.view, keys]),
            np.concatenate([tail.lens.view, lens]),
        )
        self._tail = Tail(len(self._seqs), self.tail_size)

    def _freeze(self, base: int, keys: np.ndarray, lens: np.ndarray) -> None:
        """Turn entries into segments (split to fit the size limits), merging as they come."""
        ends = np.cumsum(lens)
        first = 0
        while first < lens.size:
            before = int(ends[first - 1]) if first else 0
            last = min(
                lens.size,
                first + _SEGMENT_MAX,
                int(np.searchsorted(ends, before + MAX_POSTINGS - 1, side="right")),
            )
            last = max(last, first + 1)
            self._segments.append(
                Segment.build(base + first, keys[before : ends[last - 1]], lens[first:last])
            )
            self._merge_last_segments()
            first = last

    def _merge_last_segments(self) -> None:
        segs = self._segments
        while len(segs) >= 2 and segs[-1].count * _FANOUT >= segs[-2].count:
            a, b = segs[-2], segs[-1]
            if a.count + b.count > _SEGMENT_MAX or a.fwd.size + b.fwd.size >= MAX_POSTINGS:
                return
            segs[-2:] = [Segment.merge(a, b)]

    # -- exact scores ---------------------------------------------------------------------

    def scores(
        self, seq: str, positions: np.ndarray, overlaps: np.ndarray | None = None
    ) -> np.ndarray:
        """Exact rouge-score F of the query against the entries at these local positions."""
        m, seqs = len(seq), self._seqs
        if positions.size <= _LOOP_MAX:
            return np.array(
                [fmeasure(_lcs(seq, seqs[i]), m, len(seqs[i])) for i in positions.tolist()],
                dtype=np.float64,
            )
        if overlaps is None:
            lcs, todo = np.ones(positions.size, dtype=np.int64), np.arange(positions.size)
        else:  # an overlap of 0 or 1 is the LCS
            lcs, todo = np.minimum(overlaps, 1), np.flatnonzero(overlaps > 1)
        if todo.size:
            choices = [seqs[i] for i in positions[todo].tolist()]
            lcs[todo] = process.cdist([seq], choices, scorer=_lcs, dtype=np.int32)[0]
        return fmeasure_array(lcs, m, self._lens.buf[positions])

    def _search(self, seq: str, k: int, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Exact scores of a set of entries that holds the k best (all entries with F > 0 when
        fewer than k have it): lower the level until k scored entries reach it, and not below
        `floor` (then it holds every entry reaching the floor). k = 0: the entries that may
        reach the threshold, and no more."""
        m = len(seq)
        keys = bag_key_list(seq)
        query = np.array(keys, dtype=np.int64)
        probes: list[Probe | TailProbe] = [Probe(seg, query, m) for seg in self._segments]
        if self._tail.count:
            probes.append(TailProbe(self._tail, keys, m))
        pos, f = [], []  # scored, by level
        wait_pos, wait_ov = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        level = max(self.threshold, floor)
        while True:
            h = (level - _EPS) / 2 if level > _FLOOR else _EVERY
            found = [probe.advance(h) for probe in probes]
            wait_pos = np.concatenate([wait_pos, *(p for p, _ in found)])
            wait_ov = np.concatenate([wait_ov, *(o for _, o in found)])
            go = wait_ov >= min_overlap(h, m, self._lens.buf[wait_pos])
            pos.append(wait_pos[go])
            f.append(self.scores(seq, wait_pos[go], wait_ov[go]))
            wait_pos, wait_ov = wait_pos[~go], wait_ov[~go]
            if k == 0:  # rejects(): the entries that may exceed the threshold, nothing more
                return pos[0], f[0]
            scored = np.concatenate(f)
            if level <= max(_FLOOR, floor) or np.count_nonzero(scored >= level) >= k:
                return np.concatenate(pos), scored
            if wait_pos.size:  # score the closest few below the level: where to go next
                bound = wait_ov / (m + self._lens.buf[wait_pos])
                near = np.arange(wait_pos.size)
                if near.size > _PROBE + k:
                    near = np.argpartition(-bound, _PROBE + k)[: _PROBE + k]
                pos.append(wait_pos[near])
                f.append(self.scores(seq, wait_pos[near], wait_ov[near]))
                keep = np.ones(wait_pos.size, dtype=bool)
                keep[near] = False
                wait_pos, wait_ov = wait_pos[keep], wait_ov[keep]
                scored = np.concatenate(f)
            kth = -1.0
            if scored.size >= k:
                kth = float(np.partition(scored, scored.size - k)[scored.size - k])
            # no entry left unscored can score above `ceiling`
            ceiling = 2 * max(probe.ceiling() for probe in probes) if probes else -1.0
            if wait_pos.size:
                waiting = wait_ov / (m + self._lens.buf[wait_pos])
                ceiling = max(ceiling, 2 * float(waiting.max()))
            if kth > ceiling:
                return np.concatenate(pos), scored
            level = max(kth, min(level - _STEP, ceiling), floor)

    def _dense_search(self, seq: str, k: int) -> tuple[np.ndarray, np.ndarray]:
        """_search() for a slice that is all tail: its overlaps, so all bounds, are known."""
        m = len(seq)
        overlap = self._tail.overlap(bag_key_list(seq))
        half = overlap / (m + self._lens.view)  # half the F bound
        order = np.flatnonzero(half >= (self.threshold - _EPS) / 2)  # may reject, or hold top k
        f = self.scores(seq, order, overlap[order])
        if k == 0 or np.count_nonzero(f >= self.threshold) >= k:
            return order, f
        if k == 1:  # the best of the highest bound is a floor the maximum reaches
            top = int(np.argmax(half))
            if overlap[top] == 0:
                return order, f
            best = max(float(f.max(initial=-1.0)), float(self.scores(seq, np.array([top]))[0]))
            order = np.flatnonzero(half >= best / 2 - _EPS)
            return order, self.scores(seq, order, overlap[order])
        # the k-th best of the highest bounds is a floor every result reaches
        probe = min(int(np.count_nonzero(overlap)), _PROBE * k)
        if probe == 0:
            return order, f
        taken = np.zeros(overlap.size, dtype=bool)
        taken[order] = True
        first = np.argpartition(-half, probe - 1)[:probe]
        first = first[~taken[first]]
        taken[first] = True
        order = np.concatenate([order, first])
        f = np.concatenate([f, self.scores(seq, first, overlap[first])])
        kth = float(np.partition(f, f.size - k)[f.size - k]) if f.size >= k else 0.0
        rest = np.flatnonzero((half >= kth / 2 - _EPS) & (overlap > 0) & ~taken)
        order = np.concatenate([order, rest])
        f = np.concatenate([f, self.scores(seq, rest, overlap[rest])])
        return order, f

    def rejection(self, seq: str) -> tuple[float, int] | None:
        """(exact maximum F, first local position with it) if it exceeds the threshold, else None:
        check() without working out the maximum of an accepted candidate."""
        self.sync()
        if not self._seqs or not seq:
            return None
        pos, f = self._search(seq, 0) if self._segments else self._dense_search(seq, 0)
        if not f.size or float(f.max()) <= self.threshold:
            return None
        best = float(f.max())  # every entry that can exceed the threshold was scored
        return best, int(pos[f == best].min())

    def best(self, seq: str) -> tuple[float, int | None]:
        """Exact maximum F over the slice and the first local position reaching it."""
        self.sync()
        if not self._seqs:
            return 0.0, None
        if not seq:
            return 0.0, 0
        pos, f = self._search(seq, 1) if self._segments else self._dense_search(seq, 1)
        if not f.size:
            return 0.0, 0
        best = float(f.max())
        return best, int(pos[f == best].min())

    def top(self, seq: str, k: int, floor: float = 0.0) -> list[tuple[int, float]]:
        """The k best (local position, exact F), by score then position; with floor > 0, only
        those with F >= floor (fewer than k if fewer reach it)."""
        self.sync()
        k = min(k, len(self._seqs))
        if k <= 0:
            return []
        if not seq:
            pos, f = np.empty(0, np.int64), np.empty(0)
        elif self._segments:
            pos, f = self._search(seq, k, floor)
        else:
            pos, f = self._dense_search(seq, k)
        order = np.lexsort((pos, -f))[:k]
        result = list(zip(pos[order].tolist(), f[order].tolist(), strict=True))
        if floor > 0:
            return [(i, score) for i, score in result if score >= floor]
        if len(result) < k:  # every other entry scores 0: pad in position order
            taken = set(pos.tolist())
            zeros = (i for i in range(len(self._seqs)) if i not in taken)
            result += [(next(zeros), 0.0) for _ in range(k - len(result))]
        return result

    def scores_at(self, seq: str, positions: list[int]) -> np.ndarray:
        """Exact F against the entries at these local positions."""
        self.sync()
        at = np.asarray(positions, dtype=np.int64)
        if not seq:
            return np.zeros(at.size, dtype=np.float64)
        keys = bag_key_list(seq)
        query = np.array(keys, dtype=np.int64)
        overlap = np.zeros(at.size, dtype=np.int64)
        for seg in self._segments:
            inside = (at >= seg.base) & (at < seg.base + seg.count)
            if inside.any():
                overlap[inside] = seg.overlap(at[inside] - seg.base, seg.rows(query))
        inside = at >= self._tail.base
        if inside.any():
            overlap[inside] = self._tail.overlap(keys)[at[inside] - self._tail.base]
        return self.scores(seq, at, overlap)

    def all_scores(self, seq: str) -> np.ndarray:
        """Exact F against every entry, in position order (LCS only where the overlap exceeds 1)."""
        self.sync()
        n, m = len(self._seqs), len(seq)
        scores = np.zeros(n, dtype=np.float64)
        if n == 0 or m == 0:
            return scores
        keys = bag_key_list(seq)
        query = np.array(keys, dtype=np.int64)
        parts = [seg.all_overlaps(seg.rows(query)) for seg in self._segments]
        overlap = np.concatenate([*parts, self._tail.overlap(keys)])
        one = np.flatnonzero(overlap == 1)
        more = np.flatnonzero(overlap > 1)
        scores[one] = fmeasure_array(np.ones(one.size), m, self._lens.buf[one])
        scores[more] = self.scores(seq, more, overlap[more])
        return scores
