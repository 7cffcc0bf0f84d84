"""`selfinstruct dedup`: a run's exact ROUGE-L filter over a dataset you already have.

Rows are taken in order (or best first by a score column) and each is kept unless some kept
row's rouge-score F exceeds the threshold, exactly the bootstrap pool's rule (the same
SimilarityIndex); `--semantic` adds the run's embedding filter. Every removal is a line of
`removed.jsonl` naming its nearest kept row and their score. Decisions are appended as they are
made (`removed.jsonl`, then a `progress.jsonl` checkpoint), so a rerun resumes where a crash or
Ctrl-C stopped; the kept rows are written in each input's own format when all are decided.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from tqdm.auto import tqdm

from ...config import DedupConfig
from ...errors import ConfigError
from ...runtime.dataset_io import open_source
from ...runtime.jsonl import JsonlWriter, iter_jsonl, read_jsonl
from ...similarity import SimilarityIndex, get_tokenizer
from ...text.language import detect_language
from .files import PROGRESS, REMOVED, DedupResult, finish, output_paths
from .table import Table

BATCH = 4096
"""Rows decided between two checkpoints."""


class Removal(BaseModel):
    """One line of removed.jsonl: a removed row, why, and the kept row it is too close to."""

    order: int  # position in the order rows were decided
    file: str
    line: int
    text: str  # the compared text
    reason: str  # duplicate (same tokens), too_similar (ROUGE-L) or too_similar_semantic
    score: float
    nearest: str
    nearest_file: str
    nearest_line: int


def dedup(
    inputs: str | Path | Sequence[str | Path],
    out: str | Path | None = None,
    *,
    config: DedupConfig | None = None,
    **options: Any,
) -> DedupResult:
    """Exact ROUGE-L dedup of `inputs` into `out`; `options` are DedupConfig fields."""
    config = make_dedup_config(config, out=out, **options)
    if config.out is None:
        raise ConfigError("no output directory: pass --out DIR (out=...)")
    paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    if not paths:
        raise ConfigError("no input dataset given")
    sources = [open_source(p) for p in paths]
    outputs = output_paths(sources, Path(config.out))
    table = Table.read(sources, config)
    language = config.language or detect_language(table.texts[:20_000])
    started = time.monotonic()
    decider = Decider(table, config, language)
    try:
        new = decider.run(Path(config.out))
    finally:
        decider.close()
    return finish(table, config, language, outputs, new, time.monotonic() - started)


def make_dedup_config(config: DedupConfig | None = None, **options: Any) -> DedupConfig:
    """`config` with keyword options on top (None values count as not given), validated."""
    given = {k: v for k, v in options.items() if v is not None}
    try:
        base = config.model_dump(exclude_unset=True) if config else {}
        return DedupConfig.model_validate({**base, **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = "--" + ".".join(str(p) for p in err["loc"]).replace("_", "-")
        raise ConfigError(f"dedup: {key}: {err['msg']}") from None


class Decider:
    """The kept rows so far, as a run's pool, and the loop that decides the rest."""

    def __init__(self, table: Table, config: DedupConfig, language: str) -> None:
        self.table, self.config, self.language = table, config, language
        self.tokenize = get_tokenizer(language)
        self.semantic = None
        if config.semantic:  # first: a missing model package must not leave workers behind
            from ...similarity.semantic import SemanticIndex

            self.semantic = SemanticIndex(
                config.semantic_model, config.semantic_threshold, language=language
            )
        self.index = SimilarityIndex(self.tokenize, config.threshold, config.similarity_workers)
        self.exact: dict[int, int] = {}  # hash of a kept row's tokens -> its pool position
        self.kept: list[int] = []  # pool position -> table position
        self.shortcut = config.threshold < 1.0  # same tokens: F = 1.0, a rejection below 1

    def settings(self) -> dict[str, Any]:
        """What the decisions depend on, recorded as progress.jsonl's first line."""
        data = self.config.model_dump(
            mode="json", exclude={"out", "progress", "similarity_workers"}
        )
        inputs = [str(s.path) for s in self.table.sources]
        return {**data, "language": self.language, "inputs": inputs, "rows": len(self.table.texts),
                "rows_sha256": self.table.digest()}  # fmt: skip

    def resume(self, out: Path) -> tuple[int, set[int]]:
        """Rows decided before (from the last checkpoint) and removals already written."""
        done, settings = 0, None
        for _, line in iter_jsonl(out / PROGRESS):
            if "settings" in line:
                settings = line["settings"]
            done = int(line.get("done", done))
        if settings is not None and settings != self.settings():
            raise ConfigError(
                f"{out} holds a dedup of other inputs or settings; use another --out, or "
                f"delete {out / PROGRESS} to start over"
            )
        written = {int(r["order"]) for r in read_jsonl(out / REMOVED)}
        removed = {k for k in written if k < done}
        kept = [g for k, g in enumerate(self.table.order[:done]) if k not in removed]
        self._add(kept)
        return done, written

    def _add(self, positions: list[int]) -> None:
        texts = [self.table.texts[g] for g in positions]
        first = len(self.kept)
        self.index.add_many(texts)
        if self.semantic is not None:
            self.semantic.add_many(texts)
        for offset, text in enumerate(texts):
            self.exact.setdefault(hash(tuple(self.tokenize(text))), first + offset)
        self.kept.extend(positions)

    def decide(self, k: int, g: int) -> Removal | None:
        """Why the row at table position `g` (decided `k`-th) goes, or None to keep it."""
        text = self.table.texts[g]
        tokens = self.tokenize(text)
        key = hash(tuple(tokens))
        found = self.exact.get(key) if self.shortcut and tokens else None
        if found is not None and self.tokenize(self.index.texts[found]) == tokens:
            return self._removal(k, g, "duplicate", 1.0, found)
        rejected = self.index.rejection(text)
        if rejected is not None:
            return self._removal(k, g, "too_similar", rejected.max_score, rejected.argmax)
        if self.semantic is not None:
            meaning = self.semantic.check(text)
            if meaning.reject:
                return self._removal(k, g, "too_similar_semantic", meaning.max_score,
                                     meaning.argmax)  # fmt: skip
        self.index.add(text)
        if self.semantic is not None:
            self.semantic.add(text)
        self.exact.setdefault(key, len(self.kept))
        self.kept.append(g)
        return None

    def _removal(self, k: int, g: int, reason: str, score: float, at: int | None) -> Removal:
        nearest = self.kept[at or 0]
        file, line = self.table.where(g)
        near_file, near_line = self.table.where(nearest)
        return Removal(order=k, file=file, line=line, text=self.table.texts[g], reason=reason,
                       score=score, nearest=self.table.texts[nearest], nearest_file=near_file,
                       nearest_line=near_line)  # fmt: skip

    def run(self, out: Path) -> int:
        """Decide every row not decided yet; return how many this call decided."""
        out.mkdir(parents=True, exist_ok=True)
        done, written = self.resume(out)
        total, order = len(self.table.order), self.table.order
        with (
            JsonlWriter(out / REMOVED) as removed,
            JsonlWriter(out / PROGRESS) as progress,
            tqdm(total=total, initial=done, unit="row", disable=not self.config.progress,
                 desc="dedup") as bar,
        ):  # fmt: skip
            if done == 0 and not (out / PROGRESS).stat().st_size:
                progress.write({"settings": self.settings()})
            for start in range(done, total, BATCH):
                end = min(total, start + BATCH)
                if self.semantic is not None:  # one model batch for the whole chunk
                    texts = [self.table.texts[g] for g in order[start:end]]
                    self.semantic.check_many(texts, add_accepted=False)
                gone = [self.decide(k, order[k]) for k in range(start, end)]
                removed.write_many(r for r in gone if r is not None and r.order not in written)
                progress.write({"done": end})
                bar.update(end - start)
        return total - done

    def close(self) -> None:
        self.index.close()
