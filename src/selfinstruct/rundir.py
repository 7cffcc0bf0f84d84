"""The files of one run directory: every stage appends to its own file and resumes from it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataError
from .jsonl import write_json_atomic


@dataclass(frozen=True)
class RunDir:
    """Paths of a run directory (`--out DIR`)."""

    root: Path

    @classmethod
    def of(cls, path: str | Path) -> RunDir:
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    @property
    def run_json(self) -> Path:
        return self.root / "run.json"

    @property
    def machine_instructions(self) -> Path:
        return self.root / "machine_instructions.jsonl"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected.jsonl"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    @property
    def classification(self) -> Path:
        return self.root / "classification.jsonl"

    @property
    def instances(self) -> Path:
        return self.root / "instances.jsonl"

    @property
    def instances_rejected(self) -> Path:
        return self.root / "instances_rejected.jsonl"

    @property
    def alpaca(self) -> Path:
        return self.root / "alpaca.jsonl"

    def read_meta(self) -> dict[str, Any]:
        """The run's settings (seeds, language, ...) written by `bootstrap`; {} when absent."""
        return _read_json(self.run_json)

    def write_meta(self, meta: dict[str, Any]) -> None:
        write_json_atomic(self.run_json, meta)

    def update_stats(self, stage: str, stage_stats: dict[str, Any]) -> None:
        """Replace one stage's section of stats.json, keeping the others."""
        stats = _read_json(self.stats)
        stats[stage] = stage_stats
        write_json_atomic(self.stats, stats)

    def read_stats(self) -> dict[str, Any]:
        return _read_json(self.stats)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(str(path), None, None, f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DataError(str(path), None, None, "expected a JSON object")
    return data
