"""Every row of `selfinstruct dedup`'s inputs, compactly, in the order they are decided.

stage.py decides the rows in this order and files.py writes the kept ones from it.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from ...config import DedupConfig
from ...runtime.dataset_io import Source, read_rows


@dataclass
class Table:
    """Every row of every input, compactly: its text, where it comes from, in deciding order."""

    sources: list[Source]
    texts: list[str]
    source_of: array
    index_of: array
    line_of: array
    order: list[int]

    @classmethod
    def read(cls, sources: Sequence[Source], config: DedupConfig) -> Table:
        texts: list[str] = []
        source_of, index_of, line_of = array("i"), array("q"), array("q")
        scores: list[float] = []
        for number, source in enumerate(sources):
            for row in read_rows(source, config.order_by):
                texts.append(row.text(config.compare))
                source_of.append(number)
                index_of.append(row.index)
                line_of.append(row.line)
                scores.append(row.score or 0.0)
        order = list(range(len(texts)))
        if config.order_by is not None:
            sign = 1.0 if config.ascending else -1.0
            order.sort(key=lambda g: sign * scores[g])  # stable: ties keep the input order
        return cls(list(sources), texts, source_of, index_of, line_of, order)

    def where(self, g: int) -> tuple[str, int]:
        return str(self.sources[self.source_of[g]].path), int(self.line_of[g])

    def digest(self) -> str:
        """A fingerprint of the compared texts in deciding order (a rerun must see the same)."""
        h = hashlib.sha256()
        for g in self.order:
            h.update(self.texts[g].encode("utf-8", "replace") + b"\x00")
        return h.hexdigest()[:16]
