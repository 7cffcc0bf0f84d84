"""Export a run's instances as training data: Alpaca JSONL, plus ShareGPT or chat messages.

One line per instance (`instruction`, `input`, `output`), seed tasks optionally included, split
into train and validation by task (so no instruction is in both) with a seeded shuffle, rows
sorted so the same run directory always exports byte-identical files. Export files are derived
data: each is rewritten whole through a temporary file and a rename, never half written.
`to_dataset(DIR)` loads the result as a `datasets.Dataset` (or a `DatasetDict` with a split).
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ExportFormat
from .errors import ConfigError, DataError
from .instances import existing
from .jsonl import JsonlWriter, read_jsonl
from .records import AlpacaExample
from .rundir import RunDir
from .runstate import SeedSource, machine_instructions, run_language, run_seeds

FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages")
VALIDATION_SUFFIX = "_validation"


@dataclass
class ExportResult:
    """The files written and the section added to stats.json."""

    out_dir: Path
    files: list[Path]
    stats: dict[str, object]


def data_file(out_dir: str | Path, format: str = "alpaca", split: str = "train") -> Path:
    """Path of one exported file: `alpaca.jsonl`, `messages_validation.jsonl`, ..."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    suffix = VALIDATION_SUFFIX if split == "validation" else ""
    return Path(out_dir) / f"{format}{suffix}.jsonl"


SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
"""ShareGPT's speaker names for the chat roles."""


def as_messages(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """`{"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}`."""
    turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
    turns += [
        {"role": "user", "content": example.user_turn()},
        {"role": "assistant", "content": example.output},
    ]
    return {"messages": turns}


def as_sharegpt(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """The same turns as `as_messages`, as `{"conversations": [{"from", "value"}, ...]}`."""
    turns = as_messages(example, system_prompt)["messages"]
    return {
        "conversations": [{"from": SHAREGPT_FROM[t["role"]], "value": t["content"]} for t in turns]
    }


def split_tasks(instructions: Sequence[str], val_ratio: float, seed: int) -> set[str]:
    """The instructions held out for validation: a seeded share of the tasks, at least one."""
    if not 0 <= val_ratio < 1:
        raise ConfigError(f"val_ratio must be in [0, 1), got {val_ratio}")
    tasks = sorted(set(instructions))
    if val_ratio == 0 or len(tasks) < 2:
        return set()
    random.Random(f"split:{seed}").shuffle(tasks)
    n_val = min(len(tasks) - 1, max(1, round(len(tasks) * val_ratio)))
    return set(tasks[:n_val])


def export_run(
    out_dir: str | Path,
    *,
    format: ExportFormat = "alpaca",
    include_seeds: bool = False,
    seeds: SeedSource | None = None,
    language: str | None = None,
    val_ratio: float = 0.0,
    seed: int = 42,
    system_prompt: str | None = None,
) -> ExportResult:
    """Write `alpaca.jsonl` (and `{format}.jsonl`, and `*_validation.jsonl` with a split)."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    rundir = RunDir.of(out_dir)
    machine = [(r.instruction, r.instances) for r in existing(rundir).values() if r.instances]
    seed_tasks = []
    if include_seeds:
        texts = [m.instruction for m in machine_instructions(rundir)]
        seed_tasks = run_seeds(rundir, run_language(rundir, texts, language), seeds)
    counted: dict[tuple[str, str, str], AlpacaExample] = {}
    total = {"machine": 0, "seed": 0}
    for source, tasks in (
        ("machine", machine),
        ("seed", [(t.instruction, t.instances) for t in seed_tasks]),
    ):
        for instruction, instances in tasks:
            for inst in instances:
                total[source] += 1
                row = AlpacaExample(instruction=instruction, input=inst.input, output=inst.output)
                counted.setdefault((row.instruction, row.input, row.output), row)
    rows = [counted[k] for k in sorted(counted)]
    held_out = split_tasks([r.instruction for r in rows], val_ratio, seed)
    splits = {
        "train": [r for r in rows if r.instruction not in held_out],
        "validation": [r for r in rows if r.instruction in held_out],
    }
    files: list[Path] = []
    for fmt in dict.fromkeys(("alpaca", format)):
        for split, split_rows in splits.items():
            path = data_file(rundir.root, fmt, split)
            if split == "validation" and not held_out:
                path.unlink(missing_ok=True)  # a stale split from an earlier export
                continue
            _write_atomic(path, [_encode(r, fmt, system_prompt) for r in split_rows])
            files.append(path)
    stats: dict[str, object] = {
        "format": format,
        "machine_tasks": len(machine),
        "seed_tasks": len(seed_tasks),
        "machine_examples": total["machine"],
        "seed_examples": total["seed"],
        "duplicates": total["machine"] + total["seed"] - len(rows),
        "examples": len(rows),
        "train": len(splits["train"]),
        "validation": len(splits["validation"]),
        "validation_tasks": len(held_out),
        "files": [p.name for p in files],
    }
    rundir.update_stats("export", stats)
    return ExportResult(rundir.root, files, stats)


def _encode(row: AlpacaExample, fmt: str, system_prompt: str | None) -> dict[str, Any]:
    if fmt == "sharegpt":
        return as_sharegpt(row, system_prompt)
    if fmt == "messages":
        return as_messages(row, system_prompt)
    return row.model_dump()


def _write_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Whole file through a temporary file and a rename: readers see old or new, never half."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    with JsonlWriter(tmp) as out:
        out.write_many(rows)
    tmp.touch()
    os.replace(tmp, path)


def to_dataset(out_dir: str | Path, format: str = "alpaca") -> Any:
    """The exported data as a `datasets.Dataset`, or a `DatasetDict` (train, validation)."""
    try:
        import datasets
    except ModuleNotFoundError:
        from .errors import MissingDependencyError

        raise MissingDependencyError("datasets", "to_dataset", "all") from None
    train = data_file(out_dir, format, "train")
    if not train.exists():
        raise DataError(
            str(train), None, None, f"not exported yet: run `selfinstruct export --out {out_dir}`"
        )
    parts = {"train": train, "validation": data_file(out_dir, format, "validation")}
    loaded = {name: _load(datasets, path, format) for name, path in parts.items() if path.exists()}
    if len(loaded) == 1:
        return loaded["train"]
    return datasets.DatasetDict(loaded)


def _load(datasets: Any, path: Path, format: str) -> Any:
    rows = list(read_jsonl(path))
    if not rows and format == "alpaca":  # keep the columns of an empty export
        return datasets.Dataset.from_dict({k: [] for k in AlpacaExample.model_fields})
    return datasets.Dataset.from_list(rows)
