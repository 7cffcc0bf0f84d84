"""The similarity filter's pool: add instructions, decide whether a candidate is too similar.

Decisions, maximum scores, top-k lists and means are exactly what rouge-score's rougeL
fmeasure (use_stemmer=False with the English tokenizer) gives when run against every pool entry,
float rounding included; only the work is cut, by bounds that never skip an entry that matters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from ..errors import ConfigError
from .codes import TokenCodes
from .shard import TAIL_SIZE, Shard
from .tokenize import Tokenizer, tokenize_en
from .workers import ShardPool


@dataclass(frozen=True, slots=True)
class Decision:
    """Whether a candidate is rejected, its highest F against the pool and where that is."""

    reject: bool
    max_score: float
    argmax: int | None  # first pool position with max_score; None for an empty pool


class SimilarityIndex:
    """A pool of instructions answering exact ROUGE-L questions about new candidates.

    Adding is cheap: texts are tokenized at once and indexed in bulk before the next question,
    so rebuilding a pool of a million texts takes seconds (docs/similarity.md has figures).

    `workers` > 1 splits the pool over that many slices, one in this process and the rest in
    worker processes. None (the default) means 1; see docs/similarity.md for when more pay.
    `tail_size` (advanced) is how many of the newest entries of a slice are held in a growable
    index, read whole, before they are frozen into a prefix-filtered segment.
    """

    def __init__(
        self,
        tokenizer: Tokenizer = tokenize_en,
        threshold: float = 0.7,
        workers: int | None = None,
        *,
        tail_size: int = TAIL_SIZE,
    ) -> None:
        if not (isinstance(threshold, int | float) and math.isfinite(threshold)):
            raise ConfigError(f"similarity threshold must be a number, got {threshold!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"similarity threshold must be in [0, 1], got {threshold}")
        workers = 1 if workers is None else workers
        if workers < 1:
            raise ConfigError(f"similarity workers must be >= 1, got {workers}")
        if tail_size < 1:
            raise ConfigError(f"similarity tail_size must be >= 1, got {tail_size}")
        self.tokenizer = tokenizer
        self.threshold = float(threshold)
        self.workers = workers
        self._codes = TokenCodes()
        self._texts: list[str] = []
        self._local = Shard(self.threshold, tail_size)
        self._pool: ShardPool | None = None
        if workers > 1:
            self._pool = ShardPool(self.threshold, workers - 1, tail_size)

    # -- pool -----------------------------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        """The pool's texts, by position."""
        return self._texts

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, text: str) -> int:
        """Add one text to the pool; return its position."""
        return self._add_seq(text, self._codes.encode(self.tokenizer(text)))

    def add_many(self, texts: Iterable[str]) -> list[int]:
        """Add texts in order; return their positions (indexed in bulk before the next question)."""
        first = len(self._texts)
        texts = list(texts)
        encode, tokenize = self._codes.encode, self.tokenizer
        seqs = [encode(tokenize(text)) for text in texts]
        self._texts.extend(texts)
        slices = 1 if self._pool is None else self._pool.size + 1
        for slice_no in range(slices):
            part = seqs[(slice_no - first) % slices :: slices]
            if slice_no == 0:
                self._local.add_many(part)
            elif self._pool is not None:  # slices > 1 only with a pool
                self._pool.add_many(slice_no - 1, part)
        return list(range(first, len(self._texts)))

    def _add_seq(self, text: str, seq: str) -> int:
        pos = len(self._texts)
        self._texts.append(text)
        slices = 1 if self._pool is None else self._pool.size + 1
        if pos % slices == 0:
            self._local.add(seq)
        elif self._pool is not None:  # slices > 1 only with a pool
            self._pool.add(pos % slices - 1, seq)
        return pos

    def _global(self, slice_no: int, local: int) -> int:
        slices = 1 if self._pool is None else self._pool.size + 1
        return local * slices + slice_no

    # -- questions ------------------------------------------------------------------------

    def _query(self, text: str) -> str:
        return self._codes.encode_query(self.tokenizer(text))

    def check(self, text: str) -> Decision:
        """Reject iff rouge-score's F against some pool entry exceeds the threshold."""
        return self._decide(self._best(self._query(text)))

    def rejection(self, text: str) -> Decision | None:
        """check(text) if it rejects the text, else None, without working out the exact maximum
        score of an accepted candidate (which needs far more of a large pool).

        For a loop that asks most_similar() about accepted candidates anyway (its first entry is
        the maximum), this is the cheaper question; a rejection's score and argmax are exact.
        """
        seq = self._query(text)
        if self._pool is None:
            found = [self._local.rejection(seq)]
        else:
            self._pool.send_rejection([seq])
            found = [self._local.rejection(seq), *(r[0] for r in self._pool.receive())]
        results = [r if r is not None else (0.0, None) for r in found]
        if all(r is None for r in found):
            return None
        return self._decide(self._merge_best(results))

    def rejects(self, text: str) -> bool:
        """check(text).reject, as cheaply as rejection()."""
        return self.rejection(text) is not None

    def _decide(self, best: tuple[float, int | None]) -> Decision:
        score, pos = best
        return Decision(reject=score > self.threshold, max_score=score, argmax=pos)

    def _best(self, seq: str) -> tuple[float, int | None]:
        if self._pool is None:
            return self._local.best(seq)
        self._pool.send_best([seq])
        results = [self._local.best(seq)]
        results += [r[0] for r in self._pool.receive()]
        return self._merge_best(results)

    def _merge_best(self, results: Sequence[tuple[float, int | None]]) -> tuple[float, int | None]:
        best, where = 0.0, None
        for slice_no, (score, local) in enumerate(results):
            if local is None:
                continue
            pos = self._global(slice_no, local)
            if where is None or score > best or (score == best and pos < where):
                best, where = score, pos
        return best, where

    def check_many(self, texts: Iterable[str], add_accepted: bool = True) -> list[Decision]:
        """check() each text in order; with add_accepted, accepted ones join the pool at once."""
        decisions = []
        for text in texts:
            decision = self.check(text)
            if add_accepted and not decision.reject:
                self.add(text)
            decisions.append(decision)
        return decisions

    def most_similar(self, text: str, k: int = 10, floor: float = 0.0) -> list[tuple[int, float]]:
        """The k pool entries with the highest F, as (position, score), best first.

        Exact, ties by position; with fewer than k entries sharing a token with the text, the
        list is padded with zero-score entries in position order, as a sort of every score
        would be. `floor` > 0 keeps only entries with F >= floor (so possibly fewer than k): a
        bounded and, at large pools, much cheaper question.
        """
        if not 0.0 <= floor <= 1.0:
            raise ConfigError(f"most_similar floor must be in [0, 1], got {floor}")
        seq = self._query(text)
        if self._pool is None:
            return self._local.top(seq, k, floor)
        self._pool.send_top(seq, k, floor)
        lists = [self._local.top(seq, k, floor), *self._pool.receive()]
        merged = [
            (self._global(slice_no, local), score)
            for slice_no, top in enumerate(lists)
            for local, score in top
        ]
        merged.sort(key=lambda t: (-t[1], t[0]))
        return merged[:k]

    def mean_score(self, text: str, sample: int | None = None, seed: int = 0) -> float:
        """Mean F against every pool entry, as numpy's mean of the scores in pool order.

        That is how the reference scripts record it, so the float comes out bit for bit the same.
        It needs an exact score for every entry sharing a token with the text, so it costs time
        in proportion to the pool; `sample` = K instead averages the exact scores of K entries
        drawn at random (without replacement, reproducibly from `seed`): an unbiased estimate
        whose cost does not grow with the pool.
        """
        if sample is not None and sample < 1:
            raise ConfigError(f"mean_score sample must be >= 1 or None, got {sample}")
        n = len(self._texts)
        if not n:
            return 0.0
        seq = self._query(text)
        if sample is not None and sample < n:
            positions = np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
            return float(np.mean(self._scores_at(seq, positions)))
        if self._pool is None:
            return float(np.mean(self._local.all_scores(seq)))
        self._pool.send_all(seq)
        slices = self._pool.size + 1
        scores = np.empty(n, dtype=np.float64)
        for slice_no, part in enumerate([self._local.all_scores(seq), *self._pool.receive()]):
            scores[slice_no::slices] = part
        return float(np.mean(scores))

    def _scores_at(self, seq: str, positions: np.ndarray) -> np.ndarray:
        """Exact F against the entries at these (global) positions, in that order."""
        if self._pool is None:
            return self._local.scores_at(seq, positions.tolist())
        slices = self._pool.size + 1
        which = positions % slices
        parts = [(positions[which == s] // slices).tolist() for s in range(slices)]
        self._pool.send_at(seq, parts[1:])
        scores = np.empty(positions.size, dtype=np.float64)
        replies = [self._local.scores_at(seq, parts[0]), *self._pool.receive()]
        for slice_no, part in enumerate(replies):
            scores[which == slice_no] = part
        return scores

    # -- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker processes; the index stays usable in this process only if it had none."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> SimilarityIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
