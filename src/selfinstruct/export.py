"""Export a run's instances as training data: Alpaca JSONL, plus ShareGPT or chat messages.

One line per instance (`instruction`, `input`, `output`), seed tasks optionally included, split
into train and validation by task (so no instruction is in both) with a seeded shuffle, rows
sorted so the same run directory always exports byte-identical files. Export files are derived
data: each is rewritten whole through a temporary file and a rename, never half written.
`to_dataset(DIR)` loads the result as a `datasets.Dataset` (or a `DatasetDict` with a split).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import ConfigError, DataError, MissingDependencyError
from .formats import data_file, encode
from .jsonl import read_jsonl, write_jsonl_atomic
from .records import AlpacaExample
from .runstate import RunState, open_dir


@dataclass
class ExportResult:
    """The files written and the section added to stats.json."""

    out_dir: Path
    files: list[Path]
    stats: dict[str, Any]


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


def export_run(out_dir: str | Path | RunConfig | None = None, **options: Any) -> ExportResult:
    """Write `alpaca.jsonl` (and `{format}.jsonl`, and `*_validation.jsonl` with a split).

    `options` are RunConfig options (`format="messages"`, `val_ratio=0.05`, ...).
    """
    return run_stage(open_dir(out_dir, **options))


def run_stage(state: RunState) -> ExportResult:
    """The export stage of a run: rewrite the training files from the instances."""
    c = state.config.export
    rundir = state.rundir
    state.require(rundir.instances, "instances")
    tasks = rundir.read_instance_tasks()
    machine = [(r.instruction, r.instances) for r in tasks.values() if r.instances]
    seed_tasks = [(t.instruction, t.instances) for t in state.seeds] if c.include_seeds else []
    counted: dict[tuple[str, str, str], AlpacaExample] = {}
    total = {"machine": 0, "seed": 0}
    for source, items in (("machine", machine), ("seed", seed_tasks)):
        for instruction, instances in items:
            for inst in instances:
                total[source] += 1
                row = AlpacaExample(instruction=instruction, input=inst.input, output=inst.output)
                counted.setdefault((row.instruction, row.input, row.output), row)
    rows = [counted[k] for k in sorted(counted)]
    held_out = split_tasks([r.instruction for r in rows], c.val_ratio, state.config.seed)
    splits = {
        "train": [r for r in rows if r.instruction not in held_out],
        "validation": [r for r in rows if r.instruction in held_out],
    }
    files: list[Path] = []
    for fmt in dict.fromkeys(("alpaca", c.format)):
        for split, split_rows in splits.items():
            path = data_file(rundir.root, fmt, split)
            if split == "validation" and not held_out:
                path.unlink(missing_ok=True)  # a stale split from an earlier export
                continue
            write_jsonl_atomic(path, [encode(r, fmt, c.system_prompt) for r in split_rows])
            files.append(path)
    stats: dict[str, Any] = {
        "format": c.format,
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


def to_dataset(out_dir: str | Path, format: str = "alpaca") -> Any:
    """The exported data as a `datasets.Dataset`, or a `DatasetDict` (train, validation)."""
    try:
        import datasets
    except ModuleNotFoundError:
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
