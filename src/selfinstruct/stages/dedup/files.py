"""What `selfinstruct dedup` writes: each input's kept rows in its own format, and dedup.json.

The decisions themselves are in `removed.jsonl` and `progress.jsonl` (stage.py); these files are
written from them once every row is decided.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import DedupConfig
from ...errors import ConfigError
from ...runtime.dataset_io import Source, write_kept
from ...runtime.jsonl import read_jsonl, write_json_atomic
from .table import Table

PROGRESS, REMOVED, SUMMARY = "progress.jsonl", "removed.jsonl", "dedup.json"


@dataclass
class DedupResult:
    """The counts over every row, the files written, and dedup.json's content."""

    out_dir: Path
    rows: int
    kept: int
    removed: int
    new: int
    files: list[Path]
    summary: dict[str, Any]


def output_paths(sources: Sequence[Source], out: Path) -> list[Path]:
    """Where each input's kept rows go: DIR/<its name>, numbered when two names clash."""
    names = [s.path.name for s in sources]
    paths = []
    for number, (source, name) in enumerate(zip(sources, names, strict=True)):
        dest = out / (name if names.count(name) == 1 else f"{number}_{name}")
        if dest.resolve() == source.path.resolve():
            raise ConfigError(f"--out {out} would overwrite the input {source.path}: pick another")
        paths.append(dest)
    return paths


def finish(
    table: Table,
    config: DedupConfig,
    language: str,
    outputs: list[Path],
    new: int,
    elapsed: float,
) -> DedupResult:
    """Write each input's kept rows and dedup.json from the decisions on disk."""
    out = Path(config.out or ".")
    removals = {int(r["order"]): r for r in read_jsonl(out / REMOVED)}
    gone = {table.order[k] for k in removals if k < len(table.order)}
    reasons = Counter(r["reason"] for r in removals.values())
    inputs = []
    for number, (source, dest) in enumerate(zip(table.sources, outputs, strict=True)):
        mine = [g for g in range(len(table.texts)) if table.source_of[g] == number]
        keep = {int(table.index_of[g]) for g in mine if g not in gone}
        write_kept(source, keep, dest)
        inputs.append({"path": str(source.path), "format": source.format, "rows": len(mine),
                       "kept": len(keep), "removed": len(mine) - len(keep),
                       "written": str(dest)})  # fmt: skip
    rows = len(table.texts)
    summary = {
        "rows": rows,
        "kept": rows - len(gone),
        "removed": len(gone),
        "by_reason": dict(sorted(reasons.items())),
        "compared": "instruction + input" if config.compare == "instruction_input"
        else "instruction",
        "threshold": config.threshold,
        "language": language,
        "tokens": "one per Han character, [a-z0-9] runs" if language == "zh"
        else "rouge-score's (lowercase [a-z0-9] runs, no stemming)",
        "order_by": config.order_by,
        "best": None if config.order_by is None else ("lowest" if config.ascending else "highest"),
        "semantic": config.semantic,
        "inputs": inputs,
        "decided_this_run": new,
        "elapsed_s": round(elapsed, 3),
        "rows_per_s": round(new / elapsed, 1) if elapsed > 0 else None,
    }  # fmt: skip
    write_json_atomic(out / SUMMARY, summary)
    return DedupResult(out, rows, rows - len(gone), len(gone), new, outputs, summary)
