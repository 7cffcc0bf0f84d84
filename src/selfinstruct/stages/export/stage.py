"""Export a run's instances as training data: Alpaca JSONL, another trainer format, a card.

One line per instance (`instruction`, `input`, `output`), seed tasks optionally included, split
into train and validation by task (so no instruction is in both) with a seeded shuffle, rows
sorted so the same run directory always exports byte-identical files. Before the split, rows
may be filtered by the judge's scores (`min_score`) and balanced (`balance`, see balance.py);
every row left out is counted by name. Beside the data: `dataset_info.json` (LLaMA-Factory's
registry of the files) and `README.md` (a Hugging Face dataset card). Export files are derived
data: each is rewritten whole through a temporary file and a rename, never half written.
`to_dataset(DIR)` loads the result as a `datasets.Dataset` (or a `DatasetDict` with a split).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...config import ExportConfig, RunConfig
from ...errors import ConfigError, DataError, MissingDependencyError
from ...runtime.jsonl import read_jsonl, write_json_atomic, write_jsonl_atomic, write_text_atomic
from ...runtime.records import AlpacaExample, Instance, InstancesRecord, JudgeRecord
from ...runtime.state import RunState, open_dir
from .balance import Caps, Row, balance
from .card_facts import CardFacts, card_date
from .dataset_card import render_card
from .formats import data_file, encode, llama_factory_entry

CARD = "README.md"
DATASET_INFO = "dataset_info.json"


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


def score_drop(judgement: JudgeRecord | None, inst: Instance, min_score: int) -> str | None:
    """Why `--min-score` leaves an instance out (`unjudged`, `score_2`, ...), or None to keep it.

    A judgement of other text than the instance's (the instances were regenerated since) counts
    as none.
    """
    if (
        judgement is None
        or judgement.score is None
        or (judgement.input, judgement.output) != (inst.input, inst.output)
    ):
        return "unjudged"
    return f"score_{judgement.score}" if judgement.score < min_score else None


def export_run(out_dir: str | Path | RunConfig | None = None, **options: Any) -> ExportResult:
    """Write `alpaca.jsonl` (and `{format}.jsonl`, `*_validation.jsonl`, the card, the registry).

    `options` are RunConfig options (`format="messages"`, `val_ratio=0.05`, `min_score=4`,
    `balance=True`, ...).
    """
    with open_dir(out_dir, **options) as state:
        return run_stage(state)


def run_stage(state: RunState) -> ExportResult:
    """The export stage of a run: rewrite the training files from the instances."""
    c = state.config.export
    rundir = state.rundir
    state.require(rundir.instances, "instances")
    tasks = [r for r in rundir.read_instance_tasks().values() if r.instances]
    judgements = None
    if c.min_score is not None:
        state.require(rundir.judgements, "judge")
        judgements = rundir.read_judgements()
    chosen = choose_rows(state, tasks, judgements)
    rows = chosen.rows
    held_out = split_tasks([r.example.instruction for r in rows], c.val_ratio, state.config.seed)
    splits = {
        "train": [r for r in rows if r.example.instruction not in held_out],
        "validation": [r for r in rows if r.example.instruction in held_out],
    }
    hard_column = any(i.hard_case for t in tasks for i in t.instances)
    reasoning = any(r.reasoning for r in rows)
    written = write_data(rundir.root, c, splits, hard_column, reasoning)
    write_json_atomic(rundir.root / DATASET_INFO, dataset_info(written))
    files = [rundir.root / name for splits_ in written.values() for name in splits_.values()]
    files += [rundir.root / DATASET_INFO, rundir.root / CARD]
    stats: dict[str, Any] = {
        "format": c.format,
        "machine_tasks": len(tasks),
        "seed_tasks": chosen.seed_tasks,
        "machine_examples": sum(len(t.instances) for t in tasks),
        "seed_examples": chosen.seed_examples,
        "duplicates": chosen.duplicates,
        "dropped": dict(sorted(chosen.dropped.items())),
        "examples": len(rows),
        "train": len(splits["train"]),
        "validation": len(splits["validation"]),
        "validation_tasks": len(held_out),
        "hard_cases": sum(r.hard_case for r in rows),
        "min_score": c.min_score,
        "balance": c.balance,
        "unmet_caps": chosen.unmet,
        "files": [p.name for p in files],
    }
    rundir.update_stats("export", stats)
    write_card(state, len(rows), written, hard_column)
    return ExportResult(rundir.root, files, stats)


@dataclass
class Chosen:
    """The rows an export writes, and how many of each kind were left out on the way."""

    rows: list[Row]
    dropped: Counter[str]
    duplicates: int
    unmet: list[str]
    seed_tasks: int
    seed_examples: int


def choose_rows(
    state: RunState,
    tasks: Sequence[InstancesRecord],
    judgements: dict[tuple[str, int], JudgeRecord] | None,
) -> Chosen:
    """The machine rows `min_score` keeps and the seeds' rows, deduplicated, sorted, balanced."""
    c = state.config.export
    dropped: Counter[str] = Counter()
    machine = machine_rows(tasks, judgements, c.min_score, dropped)
    seed_tasks = state.seeds if c.include_seeds else []
    seeds = [
        Row(
            AlpacaExample(instruction=t.instruction, input=i.input, output=i.output),
            t.is_classification,
        )
        for t in seed_tasks
        for i in t.instances
    ]
    unique: dict[tuple[str, str, str], Row] = {}
    for row in machine + seeds:
        ex = row.example
        unique.setdefault((ex.instruction, ex.input, ex.output), row)
    rows = [unique[k] for k in sorted(unique)]
    duplicates = len(machine) + len(seeds) - len(rows)
    unmet: list[str] = []
    if c.balance:
        caps = Caps(c.max_verb_share, c.max_task_type_share, c.max_label_ratio)
        balanced = balance(rows, caps, state.language, state.config.seed)
        rows, unmet = balanced.rows, balanced.unmet
        dropped.update(balanced.dropped)
    return Chosen(rows, dropped, duplicates, unmet, len(seed_tasks), len(seeds))


def write_card(
    state: RunState, rows: int, written: dict[str, dict[str, str]], hard_column: bool
) -> None:
    """The dataset card README.md, from the run's records (the stats just updated)."""
    rundir = state.rundir
    facts = CardFacts(
        language=state.language,
        seeds=state.seeds_name,
        seed_tasks=len(state.seeds),
        rows=rows,
        files=written,
        meta=rundir.read_meta(),
        stats=rundir.read_stats(),
        export=state.config.data_settings("export"),
        date=card_date(),
        hard_case_column=hard_column,
    )
    write_text_atomic(rundir.root / CARD, render_card(facts))


def machine_rows(
    tasks: Sequence[InstancesRecord],
    judgements: dict[tuple[str, int], JudgeRecord] | None,
    min_score: int | None,
    dropped: Counter[str],
) -> list[Row]:
    """Every kept instance as a row, less those `min_score` leaves out (counted in `dropped`)."""
    rows = []
    for task in tasks:
        for position, inst in enumerate(task.instances):
            if judgements is not None and min_score is not None:
                reason = score_drop(judgements.get((task.instruction, position)), inst, min_score)
                if reason:
                    dropped[reason] += 1
                    continue
            example = AlpacaExample(
                instruction=task.instruction, input=inst.input, output=inst.output
            )
            row = Row(example, task.is_classification, inst.hard_case, task.reasoning or "")
            rows.append(row)
    return rows


def write_data(
    root: Path,
    c: ExportConfig,
    splits: dict[str, list[Row]],
    hard_column: bool,
    reasoning: bool = False,
) -> dict[str, dict[str, str]]:
    """Write alpaca and `c.format`, each split; returns format -> split -> file name.

    With `reasoning` (a run kept its thinking) every row carries it (`formats.encode`)."""
    written: dict[str, dict[str, str]] = {}
    for fmt in dict.fromkeys(("alpaca", c.format)):
        for split, rows in splits.items():
            path = data_file(root, fmt, split)
            if split == "validation" and not rows:
                path.unlink(missing_ok=True)  # a stale split from an earlier export
                continue
            lines = [
                encode(
                    r.example,
                    fmt,
                    c.system_prompt,
                    {"hard_case": r.hard_case} if hard_column else None,
                    r.reasoning if reasoning else None,
                )
                for r in rows
            ]
            write_jsonl_atomic(path, lines)
            written.setdefault(fmt, {})[split] = path.name
    return written


def dataset_info(written: dict[str, dict[str, str]]) -> dict[str, Any]:
    """LLaMA-Factory's `dataset_info.json`: one entry per exported file it can read, by stem."""
    info: dict[str, Any] = {}
    for fmt, splits in written.items():
        for name in splits.values():
            entry = llama_factory_entry(fmt, name)
            if entry is not None:
                info[Path(name).stem] = entry
    return info


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
