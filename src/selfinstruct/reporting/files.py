"""A run directory read once for the report: every file the stages wrote, through `RunDir`.

Reads what is there: a run still going or interrupted has some files and not others, and a
torn last line (a crash mid-write) is skipped by the JSONL reader like everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..runtime.jsonl import read_jsonl
from ..runtime.records import (
    ClassificationRecord,
    InstanceRejection,
    InstancesRecord,
    JudgeRecord,
    MachineInstruction,
    Rejection,
    SeedTask,
)
from ..runtime.rundir import RunDir
from ..runtime.seeds import BUNDLED, load_seeds
from ..stages.export.formats import data_file
from ..text.language import detect_language

STAGE_ORDER = ("bootstrap", "classify", "instances", "judge", "export")


@dataclass
class RunFiles:
    """Everything the report reads from one run directory, read once."""

    root: Path
    meta: dict[str, Any]
    stats: dict[str, Any]
    language: str
    seeds: list[SeedTask] | None
    machine: list[MachineInstruction]
    rejections: list[Rejection]
    labels: dict[str, ClassificationRecord]
    tasks: dict[str, InstancesRecord]
    instance_rejections: list[InstanceRejection]
    judgements: dict[tuple[str, int], JudgeRecord]
    exported: int | None
    usage: dict[str, dict[str, Any]]

    @property
    def seed(self) -> int:
        """The run's random seed, as recorded (42, the default, when not)."""
        for settings in (self.meta.get("settings") or {}).values():
            if isinstance(settings, dict) and isinstance(settings.get("seed"), int):
                return int(settings["seed"])
        return 42


def read_run(root: str | Path) -> RunFiles:
    """Read a run directory; a DataError naming the command to run when it holds no run."""
    rundir = RunDir.of(root, create=False)
    if not rundir.root.is_dir():
        raise DataError(str(rundir.root), None, None, "no such run directory; check --out")
    if not (rundir.run_json.exists() or rundir.machine_instructions.exists()):
        raise DataError(
            str(rundir.root), None, None,
            f"no run here yet: start one with `selfinstruct run --out {rundir.root}`",
        )  # fmt: skip
    meta, stats = rundir.read_meta(), rundir.read_stats()
    machine = rundir.read_machine()
    language = meta.get("language") or detect_language(m.instruction for m in machine)
    return RunFiles(
        root=rundir.root,
        meta=meta,
        stats=stats,
        language=language,
        seeds=_seeds(meta.get("seeds")),
        machine=machine,
        rejections=list(rundir.read_rejections()),
        labels=rundir.read_labels(),
        tasks=rundir.read_instance_tasks(),
        instance_rejections=list(read_jsonl(rundir.instances_rejected, InstanceRejection)),
        judgements=rundir.read_judgements(),
        exported=_exported(rundir.root),
        usage={stage: rundir.read_usage(stage) for stage in _ledger_stages(rundir)},
    )


def _seeds(name: Any) -> list[SeedTask] | None:
    """The run's seed tasks when they can still be found (a bundled set or an existing file)."""
    if not isinstance(name, str) or not (name in BUNDLED or Path(name).is_file()):
        return None
    try:
        return load_seeds(name)
    except DataError:
        return None


def _exported(root: Path) -> int | None:
    """Rows in the exported Alpaca files (train + validation); None before the first export.

    Counted, not validated: an export may add columns (`hard_case`) to the Alpaca fields.
    """
    train = data_file(root, "alpaca", "train")
    if not train.exists():
        return None
    validation = data_file(root, "alpaca", "validation")
    return sum(1 for path in (train, validation) for _ in read_jsonl(path))


def _ledger_stages(rundir: RunDir) -> list[str]:
    seen = {str(line.get("stage")) for line in read_jsonl(rundir.usage) if line.get("stage")}
    return sorted(seen, key=lambda s: (STAGE_ORDER.index(s) if s in STAGE_ORDER else 99, s))
