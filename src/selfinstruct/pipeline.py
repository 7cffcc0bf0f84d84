"""The whole Self-Instruct pipeline in one call: bootstrap -> classify -> instances -> export.

The only module that knows the order of the stages. It opens the run once (configuration, seeds,
language, recorded settings) and hands the same RunState to each stage; each stage appends to
its own files, so calling `run` again on the same directory resumes wherever the last call
stopped (a crash, a Ctrl-C, a larger target) and only the missing work is sent to the model.
After a bootstrap that stopped short (stalled, exhausted, out of budget) the later stages go on
with what was accepted; the run counts as failed only when nothing was accepted at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import RunConfig
from .llm.base import Backend
from .llm.factory import backend_from_config
from .runtime.estimate import Estimate, project
from .runtime.records import SeedTask
from .runtime.state import RunState, SeedSource, call_config, open_run
from .stages.bootstrap.result import BootstrapResult, shortfall
from .stages.bootstrap.stage import run_stage as bootstrap_stage
from .stages.classify.stage import ClassifyResult
from .stages.classify.stage import run_stage as classify_stage
from .stages.export.stage import ExportResult
from .stages.export.stage import run_stage as export_stage
from .stages.instances.stage import InstancesResult
from .stages.instances.stage import run_stage as instances_stage
from .stages.judge.stage import JudgeResult
from .stages.judge.stage import run_stage as judge_stage
from .sync import run_sync


@dataclass
class RunResult:
    """The result of every stage, in order, and what the caller should hear about it."""

    out_dir: Path
    bootstrap: BootstrapResult
    classify: ClassifyResult
    instances: InstancesResult
    export: ExportResult
    warnings: list[str] = field(default_factory=list)
    judge: JudgeResult | None = None
    """The judge stage's result, when it ran (`--judge`)."""

    @property
    def ok(self) -> bool:
        """False when bootstrap accepted no instruction at all: there is no data."""
        return self.bootstrap.accepted > 0


def run(
    seeds: SeedSource | RunConfig | None = None,
    out_dir: str | Path | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    **options: Any,
) -> RunResult:
    """Run every stage into `out_dir`, resuming what is there.

    Pass a RunConfig (`run(RunConfig.from_file("run.toml"))`), or seeds, a directory and any
    RunConfig option as a keyword (`num_instructions=50`, `instance_max_tokens=200`). Without
    `backend` the one the configuration names is built (by default the embedded model,
    in-process), loaded once for all stages.
    """
    with open_run(seeds, out_dir, num_instructions=num_instructions, **options) as state:
        backend = backend or backend_from_config(state.config.backend)
        return run_sync(run_state(state, backend), backend)


async def arun(
    seeds: SeedSource | RunConfig | None = None,
    out_dir: str | Path | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    **options: Any,
) -> RunResult:
    """`run` for callers who own the event loop."""
    with open_run(seeds, out_dir, num_instructions=num_instructions, **options) as state:
        return await run_state(state, backend or backend_from_config(state.config.backend))


async def run_state(state: RunState, backend: Backend) -> RunResult:
    """Every stage, in order, on one opened run."""
    boot = await bootstrap_stage(state, backend)
    short = shortfall(boot, state.config.bootstrap.num_instructions)
    warnings = [short] if short else []
    labels = await classify_stage(state, backend)
    made = await instances_stage(state, backend)
    judged = await judge_stage(state, backend) if state.config.judge.enabled else None
    exported = export_stage(state)
    return RunResult(state.rundir.root, boot, labels, made, exported, warnings, judged)


PILOT_INSTRUCTIONS = 8
"""Instructions the cost pilot generates (and then classifies and makes instances for)."""


def estimate(
    seeds: SeedSource | RunConfig | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    *,
    pilot: int = PILOT_INSTRUCTIONS,
    **options: Any,
) -> Estimate:
    """Project requests, tokens and cost of a whole run from a pilot of `pilot` instructions.

    The pilot runs every stage in a scratch directory (the run directory is not touched) with
    the run's own settings; prices come from `price_input` / `price_output`.
    """
    config, in_memory = call_config(seeds, None, num_instructions=num_instructions, **options)
    backend = backend or backend_from_config(config.backend)
    return run_sync(_estimate(config, in_memory, backend, pilot), backend)


async def aestimate(
    seeds: SeedSource | RunConfig | None = None,
    num_instructions: int | None = None,
    backend: Backend | None = None,
    *,
    pilot: int = PILOT_INSTRUCTIONS,
    **options: Any,
) -> Estimate:
    """`estimate` for callers who own the event loop."""
    config, in_memory = call_config(seeds, None, num_instructions=num_instructions, **options)
    return await _estimate(config, in_memory, backend or backend_from_config(config.backend), pilot)


async def _estimate(
    config: RunConfig, in_memory: list[SeedTask] | None, backend: Backend, pilot: int
) -> Estimate:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="selfinstruct-pilot-") as scratch:
        trial = config.updated(
            out=scratch, num_instructions=pilot, patience=4 * pilot, token_budget=None,
            progress=False, force=True,
        )  # fmt: skip
        with RunState.open(trial, in_memory) as state:
            result = await run_state(state, backend)
            stats = state.rundir.read_stats()
    per_task = None
    if result.instances.stats.get("tasks"):
        per_task = result.instances.stats["kept"] / result.instances.stats["tasks"]
    b = config.backend
    return project(
        stats, config.bootstrap.num_instructions, b.price_input, b.price_output, per_task
    )
