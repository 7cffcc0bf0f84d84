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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from tqdm.auto import tqdm

from .batching import chunk_size_for, complete_in_order
from .classify import check_complete
from .instance_filters import InstanceFilterConfig, filter_task
from .instance_parsing import parse_instances
from .instance_prompts import LABELS, InstancePrompts
from .jsonl import JsonlWriter, read_jsonl
from .llm.base import Backend, Completion, GenerationParams, Usage, run_closing
from .llm.factory import or_default
from .records import Instance, MachineInstruction
from .rundir import RunDir
from .runstate import SeedSource, machine_instructions, prompt_override, run_language, run_seeds
from .templates import load_template


class InstancesRecord(BaseModel):
    """One line of instances.jsonl: the kept instances of one task and what was dropped."""

    model_config = ConfigDict(extra="forbid")

    instruction: str
    index: int
    is_classification: bool
    instances: list[Instance]
    generated: int
    dropped: dict[str, int]
    task_dropped: str | None = None
    finish_reason: str
    raw: str


class InstanceRejection(BaseModel):
    """One line of instances_rejected.jsonl: a dropped example and why."""

    model_config = ConfigDict(extra="forbid")

    instruction: str
    index: int
    input: str
    output: str
    reason: str


@dataclass
class InstancesResult:
    """Counts over the whole directory after this run."""

    out_dir: Path
    tasks: int
    new: int
    stats: dict[str, object]


def generate_instances(
    out_dir: str | Path,
    backend: Backend | None = None,
    *,
    seeds: SeedSource | None = None,
    language: str | None = None,
    seed: int = 42,
    concurrency: int = 8,
    max_instances: int = 5,
    instance_examples: int = 2,
    max_tokens: int = 320,
    max_input_chars: int = 1000,
    max_output_chars: int = 1000,
    blacklist: Sequence[str] | None = None,
    prompt_dir: str | Path | None = None,
    progress: bool = True,
) -> InstancesResult:
    """Generate instances for every classified instruction in `out_dir` not yet done; append."""
    backend = or_default(backend)
    rundir = RunDir.of(out_dir)
    tasks = machine_instructions(rundir)
    labels = check_complete(rundir, [t.instruction for t in tasks])
    lang = run_language(rundir, [t.instruction for t in tasks], language)
    prompts = InstancePrompts(
        templates={
            c: load_template(name, lang, prompt_override(prompt_dir, name, lang))
            for c, name in ((True, "instances_output_first"), (False, "instances_input_first"))
        },
        seeds=tuple(run_seeds(rundir, lang, seeds)),
        labels=LABELS[lang],
        examples=instance_examples,
        seed=seed,
        chat=backend.info.chat,
    )
    config = InstanceFilterConfig(
        max_instances=max_instances,
        max_input_chars=max_input_chars,
        max_output_chars=max_output_chars,
        blacklist=tuple(blacklist) if blacklist is not None else None,
    )
    params = GenerationParams(
        max_tokens=max_tokens, temperature=0.0, stop=LABELS[lang].stop(), seed=seed
    )
    done = set(existing(rundir))
    todo = [t for t in tasks if t.instruction not in done]
    usage_before = replace(backend.usage)
    with (
        JsonlWriter(rundir.instances) as out,
        JsonlWriter(rundir.instances_rejected) as rejected,
    ):
        job = _Job(backend, prompts, params, config, labels, out, rejected)
        run_closing(backend, job.run(todo, chunk_size_for(backend, concurrency), progress))
    stats = _stats(rundir, len(tasks), config, lang, backend.usage.since(usage_before))
    rundir.update_stats("instances", stats)
    return InstancesResult(rundir.root, int(stats["tasks"]), len(todo), stats)  # type: ignore[arg-type]


@dataclass
class _Job:
    backend: Backend
    prompts: InstancePrompts
    params: GenerationParams
    config: InstanceFilterConfig
    labels: dict[str, bool]
    out: JsonlWriter
    rejected: JsonlWriter

    async def run(self, todo: list[MachineInstruction], chunk: int, progress: bool) -> None:
        rendered = [self.prompts.render(t.instruction, self.labels[t.instruction]) for t in todo]
        bar = tqdm(total=len(todo), unit="task", desc="instances", disable=not progress)
        kept = 0
        try:
            async for start, completions in complete_in_order(
                self.backend, rendered, self.params, chunk
            ):
                pairs = list(zip(todo[start:], completions, strict=False))
                records = [self.process(t, c) for t, c in pairs]
                # Task lines first: they carry the counts; the rejected file is detail only.
                self.out.write_many(r for r, _ in records)
                self.rejected.write_many(row for _, rows in records for row in rows)
                kept += sum(len(r.instances) for r, _ in records)
                bar.update(len(records))
                bar.set_postfix(instances=kept)
        finally:
            bar.close()

    def process(
        self, task: MachineInstruction, completion: Completion
    ) -> tuple[InstancesRecord, list[InstanceRejection]]:
        classification = self.labels[task.instruction]
        parsed = parse_instances(
            completion.text,
            classification=classification,
            finish_reason=completion.finish_reason,
            instruction=task.instruction,
        )
        result = filter_task(task.instruction, parsed, self.config)
        record = InstancesRecord(
            instruction=task.instruction,
            index=task.index,
            is_classification=classification,
            instances=result.kept,
            generated=len(parsed),
            dropped=result.counts,
            task_dropped=result.task_dropped,
            finish_reason=completion.finish_reason,
            raw=completion.text,
        )
        rows = [
            InstanceRejection(
                instruction=task.instruction,
                index=task.index,
                input=ex.input,
                output=ex.output,
                reason=reason,
            )
            for ex, reason in result.dropped
        ]
        return record, rows


def existing(rundir: RunDir) -> dict[str, InstancesRecord]:
    """Tasks already done, by instruction (a rerun skips them; the first line wins)."""
    rows: dict[str, InstancesRecord] = {}
    for row in read_jsonl(rundir.instances, InstancesRecord):
        rows.setdefault(row.instruction, row)
    return rows


def _stats(
    rundir: RunDir,
    instructions: int,
    config: InstanceFilterConfig,
    language: str,
    used: Usage,
) -> dict[str, object]:
    """The stage's section of stats.json, from the files (so resumed runs add up too)."""
    rows = list(existing(rundir).values())
    dropped: Counter[str] = Counter()
    for r in rows:
        dropped.update(r.dropped)
    tasks_dropped = Counter(r.task_dropped for r in rows if r.task_dropped)
    old = rundir.read_stats().get("instances", {})
    return {
        "instructions": instructions,
        "tasks": len(rows),
        "classification_tasks": sum(r.is_classification for r in rows),
        "tasks_kept": sum(1 for r in rows if r.instances),
        "tasks_dropped": dict(sorted(tasks_dropped.items())),
        "generated": sum(r.generated for r in rows),
        "kept": sum(len(r.instances) for r in rows),
        "dropped": dict(sorted(dropped.items())),
        "truncated_responses": sum(r.finish_reason == "length" for r in rows),
        "max_instances": config.max_instances,
        "language": language,
        "prompt_tokens": int(old.get("prompt_tokens", 0)) + used.prompt_tokens,
        "completion_tokens": int(old.get("completion_tokens", 0)) + used.completion_tokens,
    }
