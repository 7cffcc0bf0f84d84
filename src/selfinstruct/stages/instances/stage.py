"""Instance generation: ask the model for input/output examples of every classified instruction.

Classification tasks are prompted output-first (a class label, then an input of that class), so
the model does not write inputs that all fall into one class; other tasks input-first (an input,
then its output; no Input line for a task that needs none). Few-shot prompts are our own package
data plus a few seed tasks of the same kind, decoded greedily and stopped at the sixth example or
the next task. Every response is parsed and filtered (instance_parsing, instance_filters); each
task's line in instances.jsonl carries its own counts, so the stats always add up after a crash.
With `hard_cases`, classification tasks also get a boundary-example request (hard_cases.py).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...errors import DataError
from ...llm.base import Backend, Completion, GenerationParams, Prompt
from ...llm.factory import backend_from_config
from ...llm.reasoning import cut_while_thinking
from ...runtime.records import HardCasesRecord, InstancesRecord, MachineInstruction, clip
from ...runtime.runner import Outcome, run_model_stage
from ...runtime.state import RunState, open_dir, text_digest
from ...runtime.structured import JsonAsk, json_ask
from ...runtime.thinking import REASONING_TRUNCATED
from ...sync import run_sync
from .filters import (
    OVER_MAX,
    FilteredTask,
    InstanceFilterConfig,
    filter_task,
    rejection_rows,
)
from .hard_cases import TEMPLATE as HARD_TEMPLATE
from .hard_cases import HardCasesStage, add_hard_cases
from .original import filter_original, parse_original
from .parsing import ParsedExample, instances_from_json, parse_instances
from .prompts import LABELS, MAX_EXAMPLES, InstancePrompts, Labels

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
    with open_dir(out_dir, **options) as state:
        backend = backend or backend_from_config(state.config.backend)
        return run_sync(run_stage(state, backend), backend)


async def agenerate_instances(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> InstancesResult:
    """`generate_instances` for callers who own the event loop."""
    with open_dir(out_dir, **options) as state:
        return await run_stage(state, backend or backend_from_config(state.config.backend))


@dataclass(frozen=True)
class InstancesStage:
    """Prompt and answer handling of the instances stage (pure; the runner does the rest)."""

    prompts: InstancePrompts
    filters: InstanceFilterConfig
    labels: dict[str, bool]
    params: GenerationParams
    sample: int | None = None
    """Keep a seeded random sample of this many examples (the original's), not the first ones."""
    seed: int = 0
    name: str = "instances"
    hard: dict[str, HardCasesRecord] = field(default_factory=dict)
    """Answers to the hard-case requests (`--hard-cases`), by instruction."""
    original: bool = False
    """Read answers and filter them as the original code does (`--instance-parse original`)."""
    keep_reasoning: bool = False
    """--reasoning keep: store each answer's thinking with the task's line."""
    ask: JsonAsk | None = None
    """How to ask for the examples as JSON (`--structured`), or None."""

    def build_prompt(self, record: MachineInstruction) -> Prompt:
        classification = self.labels[record.instruction]
        prompt = self.prompts.render(record.instruction, classification)
        return self.ask.prompt(prompt, int(classification)) if self.ask else prompt

    def process(self, record: MachineInstruction, completion: Completion) -> Outcome:
        classification = self.labels[record.instruction]
        if cut_while_thinking(completion):
            return self._cut_while_thinking(record, classification)
        parsed, result = self._read(record.instruction, completion, classification)
        if self.sample is not None:
            key = f"keep:{self.seed}:{record.instruction}"
            result = keep_sample(result, self.sample, random.Random(key))
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
            reasoning=completion.reasoning if self.keep_reasoning else None,
        )
        rows = rejection_rows(record.instruction, record.index, result.dropped)
        hard = self.hard.get(record.instruction)
        if hard is not None and classification:
            line = add_hard_cases(line, rows, hard, self.filters)
        return Outcome(kept=[line], rejected=rows, counts=counts_of(line))

    def _read(
        self, instruction: str, completion: Completion, classification: bool
    ) -> tuple[list[ParsedExample], FilteredTask]:
        """The examples of one answer, and what the filters keep of them."""
        text, reason = completion.text, completion.finish_reason
        if not self.original:
            parsed = instances_from_json(text, classification) if self.ask else None
            if parsed is None:
                parsed = parse_instances(
                    text, classification=classification, finish_reason=reason,
                    instruction=instruction,
                )  # fmt: skip
            return parsed, filter_task(instruction, parsed, self.filters)
        parsed = parse_original(text, classification=classification, finish_reason=reason)
        result = filter_original(instruction, parsed)
        extra = result.kept[self.filters.max_instances :]
        result.dropped += [(ParsedExample(i.input, i.output), OVER_MAX) for i in extra]
        result.kept = result.kept[: self.filters.max_instances]
        return parsed, result

    def _cut_while_thinking(self, record: MachineInstruction, classification: bool) -> Outcome:
        """A task whose answer max_tokens cut off inside the thinking: no instances, counted."""
        line = InstancesRecord(
            instruction=record.instruction, index=record.index,
            is_classification=classification, instances=[], generated=0, dropped={},
            task_dropped=REASONING_TRUNCATED, finish_reason="length", raw="",
        )  # fmt: skip
        return Outcome(kept=[line], counts=counts_of(line))


UNCAPPED = 1_000_000
"""The filters' cap when a sample is kept instead: every valid example is a candidate."""


def original_stop(words: Labels) -> tuple[str, ...]:
    """The original's stops: where a sixth example would begin, and "Task:" anywhere."""
    return (f"{words.example} {MAX_EXAMPLES + 1}", words.task.strip())


def keep_sample(result: FilteredTask, k: int, rng: random.Random) -> FilteredTask:
    """At most `k` of the kept examples, drawn at random (in response order); the rest dropped."""
    if len(result.kept) <= k:
        return result
    chosen = set(rng.sample(range(len(result.kept)), k))
    extra = [ParsedExample(i.input, i.output) for n, i in enumerate(result.kept) if n not in chosen]
    kept = [i for n, i in enumerate(result.kept) if n in chosen]
    dropped = result.dropped + [(e, OVER_MAX) for e in extra]
    return FilteredTask(kept, dropped, result.task_dropped)


def counts_of(line: InstancesRecord) -> Counter[str]:
    """The named counts one task line stands for (dropped examples as `dropped.<reason>`)."""
    counts = Counter(
        tasks=1,
        classification_tasks=int(line.is_classification),
        tasks_kept=int(bool(line.instances)),
        generated=line.generated,
        kept=len(line.instances),
        truncated_responses=int(line.finish_reason == "length"),
        hard_tasks=int(line.hard_raw is not None),
        hard_kept=sum(i.hard_case for i in line.instances),
        reasoning_truncated=int(line.task_dropped == REASONING_TRUNCATED),
    )
    counts.update({f"dropped.{k}": v for k, v in line.dropped.items()})
    if line.task_dropped:
        counts[f"tasks_dropped.{line.task_dropped}"] += 1
    return counts


def _hard_summary(counts: Counter[str]) -> dict[str, Any]:
    """The hard-case counts of the stats (their drops are also in `dropped`, as `hard.*`)."""
    return {
        "hard_cases": {
            "tasks": counts["hard_tasks"],
            "kept": counts["hard_kept"],
            "dropped": _grouped(counts, "dropped.hard."),
        }
    }


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
            templates, tuple(state.seeds), words, c.examples, state.config.seed, chat,
            original=c.stop == "original",
        )  # fmt: skip
        params = GenerationParams(
            max_tokens=c.max_tokens,
            temperature=c.temperature,
            top_p=c.top_p,
            presence_penalty=c.presence_penalty,
            frequency_penalty=c.frequency_penalty,
            stop=original_stop(words) if c.stop == "original" else words.stop(),
            seed=state.config.seed,
        )
        sample = c.max_instances if c.keep == "sample" else None
        cap = UNCAPPED if sample else c.max_instances
        limits = InstanceFilterConfig(cap, c.max_input_chars, c.max_output_chars)
        notes = ("json_instances_input_first", "json_instances_output_first")
        ask = json_ask(state, backend, chat, "json_instances", notes)
        params = ask.params(params) if ask else params
        stage = InstancesStage(
            prompts,
            limits,
            labels,
            params,
            sample,
            state.config.seed,
            ask=ask,
            original=c.parse == "original",
            keep_reasoning=state.config.backend.reasoning == "keep",
        )
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
            "reasoning_truncated": counts[REASONING_TRUNCATED],
            "max_instances": c.max_instances,
            "language": state.language,
            **(_hard_summary(counts) if c.hard_cases or counts["hard_tasks"] else {}),
        }

    hard_template = state.template(HARD_TEMPLATE) if c.hard_cases else None
    hard = state.rundir.read_hard_cases() if c.hard_cases else {}

    def make_full_stage(chat: bool) -> tuple[InstancesStage, dict[str, Any]]:
        stage, settings = make_stage(chat)
        if hard_template is not None:
            settings = {**settings, "hard_template": text_digest(hard_template)}
        return replace(stage, hard=hard), settings

    def make_hard_stage(chat: bool) -> tuple[HardCasesStage, dict[str, Any]]:
        stage, settings = make_full_stage(chat)
        words = LABELS[state.language]
        params = replace(stage.params, json_schema=None)  # their answers stay text
        return HardCasesStage(hard_template or "", words, chat, params), settings

    asks = [m for m in todo if c.hard_cases and labels[m.instruction] and m.instruction not in hard]
    if asks:  # the boundary requests first, so that each task's one line holds both answers
        await run_model_stage(
            state, backend, "instances", make_hard_stage, todo=asks, done=done.values(),
            counts_of=counts_of, summarize=summarize, kept_file=state.rundir.instances_hard,
            unit="task",
        )  # fmt: skip
        hard = state.rundir.read_hard_cases()
    stats = await run_model_stage(
        state,
        backend,
        "instances",
        make_full_stage,
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
