"""Instance generation: ask the model for input/output examples of every classified instruction.

Classification tasks are prompted output-first (a class label, then an input of that class), so
the model does not write inputs that all fall into one class; other tasks input-first (an input,
then its output; no Input line for a task that needs none). Few-shot prompts are our own package
data plus a few seed tasks of the same kind, decoded greedily and stopped at the sixth example or
the next task. Every response is parsed and filtered (instance_parsing, instance_filters); each
task's line in instances.jsonl carries its own counts, so the stats always add up after a crash.
With `hard_cases`, classification tasks also get a boundary-example request (hard_cases.py).
The stage's parts: build.py (from the configuration), task.py (one task's request and answer),
counts.py (each line's counts and the stats).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...errors import DataError
from ...llm.base import Backend
from ...runtime.owned_backend import run_opened
from ...runtime.runner import run_model_stage
from ...runtime.state import RunState, open_dir
from ...sync import run_sync
from .build import builder_for
from .counts import counts_of, summarize


@dataclass
class InstancesResult:
    """Counts over the whole directory after this run."""

    out_dir: Path
    tasks: int
    new: int
    stats: dict[str, Any]


def generate_instances(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> InstancesResult:
    """Generate instances for every classified instruction in `out_dir` not yet done; append.

    `options` are RunConfig options (`max_instances=3`, `instance_max_tokens=200`, ...).
    """
    return run_sync(agenerate_instances(out_dir, backend, **options), closing=backend)


async def agenerate_instances(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> InstancesResult:
    """`generate_instances` for callers who own the event loop."""
    return await run_opened(open_dir(out_dir, **options), backend, run_stage)


def task_labels(state: RunState) -> dict[str, bool]:
    """Each machine instruction's label; every one must be classified already."""
    state.require(state.rundir.machine_instructions, "bootstrap")
    state.require(state.rundir.classification, "classify")
    labels = {k: v.is_classification for k, v in state.labels.items()}
    missing = [m.instruction for m in state.machine if m.instruction not in labels]
    if missing:
        raise DataError(
            str(state.rundir.classification),
            None,
            None,
            f"{len(missing)} instruction(s) not classified yet (first: {missing[0][:60]!r}); "
            f"run `selfinstruct classify --out {state.rundir.root}` first",
        )
    return labels


async def run_stage(state: RunState, backend: Backend) -> InstancesResult:
    """The instances stage of a run: every classified task not yet done."""
    labels = task_labels(state)
    done = state.rundir.read_instance_tasks()
    todo = [m for m in state.machine if m.instruction not in done]
    builder = builder_for(state, backend, labels)
    summary = partial(summarize, state)
    hard = state.config.instances.hard_cases
    asks = [m for m in todo if hard and labels[m.instruction] and m.instruction not in builder.hard]
    if asks:  # the boundary requests first, so that each task's one line holds both answers
        await run_model_stage(
            state, backend, "instances", builder.hard_stage, todo=asks, done=done.values(),
            counts_of=counts_of, summarize=summary, kept_file=state.rundir.instances_hard,
            unit="task",
        )  # fmt: skip
        builder.hard = state.rundir.read_hard_cases()
    stats = await run_model_stage(
        state, backend, "instances", builder.stage, todo=todo, done=done.values(),
        counts_of=counts_of, summarize=summary, kept_file=state.rundir.instances,
        rejected_file=state.rundir.instances_rejected, unit="task",
        postfix=lambda counts: {"instances": counts["kept"]},
    )  # fmt: skip
    return InstancesResult(state.rundir.root, int(stats["tasks"]), len(todo), stats)
