"""The similarity filter's pool: add instructions, decide whether a candidate is too similar.

Decisions, maximum scores, top-k lists and means are exactly what rouge-score's rougeL
fmeasure (use_stemmer=False with the English tokenizer) gives when run against every pool entry,
float rounding included; only the work is cut, by bounds that never skip an entry that matters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType

import numpy as np

from ..errors import ConfigError
from .codes import TokenCodes
from .shard import Shard
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

    `workers` > 1 splits the pool over that many slices, one in this process and the rest in
    worker processes. None (the default) means 1: on 2 cores the messages cost more than the
    work they share out up to a 50K pool at least (see docs/similarity.md); more workers may
    pay for far larger pools on many idle cores.
    """

    def __init__(
        self,
        tokenizer: Tokenizer = tokenize_en,
        threshold: float = 0.7,
        workers: int | None = None,
    ) -> None:
        if not (isinstance(threshold, int | float) and math.isfinite(threshold)):
            raise ConfigError(f"similarity threshold must be a number, got {threshold!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"similarity threshold must be in [0, 1], got {threshold}")
        workers = 1 if workers is None else workers
        if workers < 1:
            raise ConfigError(f"similarity workers must be >= 1, got {workers}")
        self.tokenizer = tokenizer
        self.threshold = float(threshold)
        self.workers = workers
        self._codes = TokenCodes()
        self._seqs: list[str] = []
        self._texts: list[str] = []
        self._local = Shard(self.threshold)
        self._pool: ShardPool | None = None
        if workers > 1:
            self._pool = ShardPool(self.threshold, workers - 1)

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
        """Add texts in order; return their positions."""
        return [self.add(text) for text in texts]

    def _add_seq(self, text: str, seq: str) -> int:
        pos = len(self._texts)
        self._texts.append(text)
        self._seqs.append(seq)
        slices = 1 if self._pool is None else self._pool.size + 1
        if pos % slices == 0:
            self._local.add(seq)
        else:
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

    def _merge_best(self, results: list[tuple[float, int | None]]) -> tuple[float, int | None]:
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

    def most_similar(self, text: str, k: int = 10) -> list[tuple[int, float]]:
        """The k pool entries with the highest F, as (position, score), best first."""
        seq = self._query(text)
        if self._pool is None:
            return self._local.top(seq, k)
        self._pool.send_top(seq, k)
        lists = [self._local.top(seq, k), *self._pool.receive()]
        merged = [
            (self._global(slice_no, local), score)
            for slice_no, top in enumerate(lists)
            for local, score in top
        ]
        merged.sort(key=lambda t: (-t[1], t[0]))
        return merged[:k]

    def mean_score(self, text: str) -> float:
        """Mean F against every pool entry, as numpy's mean of the scores in pool order.

        That is how the reference scripts record it, so the float comes out bit for bit the same.
        """
        if not self._texts:
            return 0.0
        seq = self._query(text)
        if self._pool is None:
            return float(np.mean(self._local.all_scores(seq)))
        self._pool.send_all(seq)
        slices = self._pool.size + 1
        scores = np.empty(len(self._texts), dtype=np.float64)
        for slice_no, part in enumerate([self._local.all_scores(seq), *self._pool.receive()]):
            scores[slice_no::slices] = part
        return float(np.mean(scores))

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
