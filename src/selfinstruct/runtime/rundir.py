"""The files of one run directory and their readers: the only way stages see each other's output.

Every stage appends to its own JSONL file and resumes from it; `usage.jsonl` is the token ledger
(one line per batch of answers written, so the totals survive crashes and resumes); `run.json`
records the settings each stage started with; `stats.json` holds one section per stage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from ..errors import DataError
from ..text.redact import redact_url
from .jsonl import iter_jsonl, read_jsonl, validate_row, write_json_atomic
from .records import (
    ClassificationRecord,
    HardCasesRecord,
    InstancesRecord,
    JudgeRecord,
    MachineInstruction,
    Rejection,
)

R = TypeVar("R", bound=BaseModel)
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class RunDir:
    """Paths and readers of a run directory (`--out DIR`)."""

    root: Path

    @classmethod
    def of(cls, path: str | Path, *, create: bool = True) -> RunDir:
        root = Path(path)
        if create:
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
    def usage(self) -> Path:
        return self.root / "usage.jsonl"

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
    def instances_hard(self) -> Path:
        return self.root / "instances_hard.jsonl"

    @property
    def judgements(self) -> Path:
        return self.root / "judgements.jsonl"

    @property
    def alpaca(self) -> Path:
        return self.root / "alpaca.jsonl"

    # -- what the stages wrote ------------------------------------------------------------

    def read_machine(self) -> list[MachineInstruction]:
        """The accepted machine instructions, in the order bootstrap accepted them.

        A pool whose indexes repeat (two processes appended to it at once, before the run
        directory had its lock) is refused: resuming it would go on with two interleaved pools.
        """
        path, rows = self.machine_instructions, []
        seen: dict[int, int] = {}
        for number, row in iter_jsonl(path):
            record = validate_row(MachineInstruction, row, path, number)
            first = seen.setdefault(record.index, number)
            if first != number:
                raise DataError(
                    str(path), number, "index",
                    f"index {record.index} is also on line {first}: two processes wrote this "
                    "pool at once; start again in a new --out (this one cannot be resumed)",
                )  # fmt: skip
            rows.append(record)
        return rows

    def read_rejections(self) -> Iterator[Rejection]:
        """The candidate instructions bootstrap rejected, with their reasons."""
        return read_jsonl(self.rejected, Rejection)

    def read_labels(self) -> dict[str, ClassificationRecord]:
        """Classification verdicts by instruction (the first line of an instruction wins)."""
        return first_by_key(self.classification, ClassificationRecord, lambda row: row.instruction)

    def read_instance_tasks(self) -> dict[str, InstancesRecord]:
        """Instance-generation results by instruction (the first line of an instruction wins)."""
        return first_by_key(self.instances, InstancesRecord, lambda row: row.instruction)

    def read_hard_cases(self) -> dict[str, HardCasesRecord]:
        """Answers to the hard-case requests by instruction (the first line of each wins)."""
        return first_by_key(self.instances_hard, HardCasesRecord, lambda row: row.instruction)

    def read_judgements(self) -> dict[tuple[str, int], JudgeRecord]:
        """Judge scores by (instruction, instance position); the first line of each wins."""
        return first_by_key(
            self.judgements, JudgeRecord, lambda row: (row.instruction, row.instance)
        )

    def read_usage(self, stage: str) -> dict[str, Any]:
        """Tokens, requests and time a stage has spent over every invocation, from the ledger."""
        total: dict[str, Any] = {
            "requests": 0,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "reasoning_tokens": 0,
            "elapsed_s": 0.0,
            "invocations": 0,
            "endpoints": {},
        }
        for line in read_jsonl(self.usage):
            if line.get("stage") != stage:
                continue
            add_usage(total, line)
        return total

    def reasoning_seen(self) -> bool:
        """Whether any answer of this run so far carried reasoning (the ledger counted some)."""
        return any(int(line.get("reasoning_tokens", 0)) > 0 for line in read_jsonl(self.usage))

    # -- settings and stats ---------------------------------------------------------------

    def read_meta(self) -> dict[str, Any]:
        """The run's recorded settings (run.json); {} when absent."""
        return _read_json(self.run_json)

    def write_meta(self, meta: dict[str, Any]) -> None:
        write_json_atomic(self.run_json, meta)

    def read_stats(self) -> dict[str, Any]:
        return _read_json(self.stats)

    def update_stats(self, stage: str, stage_stats: dict[str, Any]) -> None:
        """Replace one stage's section of stats.json, keeping the others."""
        stats = _read_json(self.stats)
        stats[stage] = stage_stats
        write_json_atomic(self.stats, stats)


def first_by_key(path: Path, model: type[R], key: Callable[[R], K]) -> dict[K, R]:
    """The records of a stage's JSONL file by `key`; the first line of each key wins, so a
    line appended again later never replaces the one the stage already acted on."""
    rows: dict[K, R] = {}
    for row in read_jsonl(path, model):
        rows.setdefault(key(row), row)
    return rows


def add_usage(total: dict[str, Any], line: dict[str, Any]) -> None:
    """Add one ledger line (or another total) into `total`."""
    for key in ("requests", "prompt_tokens", "completion_tokens", "reasoning_tokens"):
        total[key] = total.get(key, 0) + int(line.get(key, 0))
    total["elapsed_s"] = round(total["elapsed_s"] + float(line.get("elapsed_s", 0.0)), 3)
    total["invocations"] += int(line.get("invocations", 0))
    for url, counts in (line.get("endpoints") or {}).items():
        mine = total["endpoints"].setdefault(  # a ledger from before URLs were redacted, too
            redact_url(url), {"requests": 0, "prompt_tokens": 0, "completion_tokens": 0}
        )
        for key in mine:
            mine[key] += int(counts.get(key, 0))


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
