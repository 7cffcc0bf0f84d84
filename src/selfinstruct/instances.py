"""Instance generation: ask the model for input/output examples of every classified instruction.

Classification tasks are prompted output-first (a class label, then an input of that class), so
the model does not write inputs that all fall into one class; other tasks input-first (an input,
then its output; no Input line for a task that needs none). Few-shot prompts are our own package
data plus a few seed tasks of the same kind, decoded greedily and stopped at the sixth example or
the next task. Every response is parsed and filtered (instance_parsing, instance_filters); each
task's line in instances.jsonl carries its own counts, so the stats always add up after a crash.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import DataError
from .instance_filters import InstanceFilterConfig, filter_task
from .instance_parsing import parse_instances
from .instance_prompts import LABELS, InstancePrompts
from .llm.base import Backend, Completion, GenerationParams, Prompt
from .llm.factory import backend_from_config
from .records import InstanceRejection, InstancesRecord, MachineInstruction, clip
from .runner import Outcome, run_model_stage
from .runstate import RunState, open_dir, text_digest
from .sync import run_sync

TEMPLATES = {True: "instances_output_first", False: "instances_input_first"}
"""The template of a classification task (output-first) and of any other task (input-first)."""


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
    state = open_dir(out_dir, **options)
    backend = backend or backend_from_config(state.config.backend)
    return run_sync(run_stage(state, backend), backend)


async def agenerate_instances(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> InstancesResult:
    """`generate_instances` for callers who own the event loop."""
    state = open_dir(out_dir, **options)
    return await run_stage(state, backend or backend_from_config(state.config.backend))


@dataclass(frozen=True)
class InstancesStage:
    """Prompt and answer handling of the instances stage (pure; the runner does the rest)."""

    prompts: InstancePrompts
    filters: InstanceFilterConfig
    labels: dict[str, bool]
    params: GenerationParams
    name: str = "instances"

    def build_prompt(self, record: MachineInstruction) -> Prompt:
        return self.prompts.render(record.instruction, self.labels[record.instruction])

    def process(self, record: MachineInstruction, completion: Completion) -> Outcome:
        classification = self.labels[record.instruction]
        parsed = parse_instances(
            completion.text,
            classification=classification,
            finish_reason=completion.finish_reason,
            instruction=record.instruction,
        )
        result = filter_task(record.instruction, parsed, self.filters)
        line = InstancesRecord(
            instruction=record.instruction,
            index=record.index,
            is_classification=classification,
            instances=result.kept,
            generated=len(parsed),
            dropped=result.counts,
            task_dropped=result.task_dropped,
            finish_reason=completion.finish_reason,
            raw=clip(completion.text),
        )
        rows = [
            InstanceRejection(
                instruction=record.instruction,
                index=record.index,
                input=clip(ex.input),
                output=clip(ex.output),
                reason=reason,
            )
            for ex, reason in result.dropped
        ]
        return Outcome(kept=[line], rejected=rows, counts=counts_of(line))


def counts_of(line: InstancesRecord) -> Counter[str]:
    """The named counts one task line stands for (dropped examples as `dropped.<reason>`)."""
    counts = Counter(
        tasks=1,
        classification_tasks=int(line.is_classification),
        tasks_kept=int(bool(line.instances)),
        generated=line.generated,
        kept=len(line.instances),
        truncated_responses=int(line.finish_reason == "length"),
    )
    counts.update({f"dropped.{k}": v for k, v in line.dropped.items()})
    if line.task_dropped:
        counts[f"tasks_dropped.{line.task_dropped}"] += 1
    return counts


def _grouped(counts: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix) and v}


async def run_stage(state: RunState, backend: Backend) -> InstancesResult:
    """The instances stage of a run: every classified task not yet done."""
    state.require(state.rundir.machine_instructions, "bootstrap")
    state.require(state.rundir.classification, "classify")
    c = state.config.instances
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
    done = state.rundir.read_instance_tasks()
    todo = [m for m in state.machine if m.instruction not in done]

    def make_stage(chat: bool) -> tuple[InstancesStage, dict[str, Any]]:
        templates = {kind: state.template(name) for kind, name in TEMPLATES.items()}
        words = LABELS[state.language]
        prompts = InstancePrompts(
            templates, tuple(state.seeds), words, c.examples, state.config.seed, chat
        )
        params = GenerationParams(
            max_tokens=c.max_tokens,
            temperature=0.0,
            presence_penalty=c.presence_penalty,
            stop=words.stop(),
            seed=state.config.seed,
        )
        limits = InstanceFilterConfig(c.max_instances, c.max_input_chars, c.max_output_chars)
        stage = InstancesStage(prompts, limits, labels, params)
        return stage, {"templates": [text_digest(templates[k]) for k in (True, False)]}

    def summarize(counts: Counter[str]) -> dict[str, Any]:
        return {
            "instructions": len(state.machine),
            "tasks": counts["tasks"],
            "classification_tasks": counts["classification_tasks"],
            "tasks_kept": counts["tasks_kept"],
            "tasks_dropped": _grouped(counts, "tasks_dropped."),
            "generated": counts["generated"],
            "kept": counts["kept"],
            "dropped": _grouped(counts, "dropped."),
            "truncated_responses": counts["truncated_responses"],
            "max_instances": c.max_instances,
            "language": state.language,
        }

    stats = await run_model_stage(
        state,
        backend,
        "instances",
        make_stage,
        todo=todo,
        done=done.values(),
        counts_of=counts_of,
        summarize=summarize,
        kept_file=state.rundir.instances,
        rejected_file=state.rundir.instances_rejected,
        unit="task",
        postfix=lambda counts: {"instances": counts["kept"]},
    )
    return InstancesResult(state.rundir.root, int(stats["tasks"]), len(todo), stats)
