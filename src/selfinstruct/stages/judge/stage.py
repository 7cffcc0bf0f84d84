"""The judge stage: the run's own model scores each kept instance 1-5 for correctness, helpfulness.

Self-Instruct keeps whatever survives the heuristic filters, and the paper found almost half of
its instances flawed. Here the same backend reads each kept instance (task, input, output) with
a short rubric (`prompts/judge.{en,zh}.txt`) and a few answered seed examples
(prompt.py), greedily, and answers two numbers, read leniently by `scores.parse_scores`.
One request per instance, not one per task: the scores stay independent (a small model judging
five examples in one answer copies one score down the list and loses its place), an unreadable
answer costs one score, not five, and every request shares the rubric and the examples as a
prefix that a server's prompt cache reuses. The lines of `judgements.jsonl` carry both scores
and their minimum (`score`), which `export --min-score` filters on; an unreadable answer gets no
score and is counted as `unparseable`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...llm.base import Backend, Completion, GenerationParams, Prompt
from ...llm.reasoning import cut_while_thinking
from ...runtime.owned_backend import run_opened
from ...runtime.records import JudgeRecord, clip
from ...runtime.runner import Outcome, run_model_stage
from ...runtime.state import RunState, open_dir, text_digest
from ...runtime.structured import JsonAsk, json_ask
from ...sync import run_sync
from .data import open_data
from .items import Item, items_of
from .prompt import LABELS, JudgePrompt, Shown, pick_shots
from .scores import parse_scores, scores_from_json

TEMPLATE = "judge"


@dataclass
class JudgeResult:
    """Counts over the whole directory after this run."""

    out_dir: Path
    judged: int
    new: int
    stats: dict[str, Any]


def judge(
    out_dir: str | Path | RunConfig | None = None,
    backend: Backend | None = None,
    *,
    data: str | Path | None = None,
    **options: Any,
) -> JudgeResult:
    """Score every kept instance in `out_dir` not yet scored; append judgements.jsonl.

    `options` are RunConfig options (`judge_max_tokens=48`, ...). With `data` (any dataset
    `selfinstruct dedup` reads), its rows are scored instead, into `out_dir` (data.py).
    """
    return run_sync(ajudge(out_dir, backend, data=data, **options), closing=backend)


async def ajudge(
    out_dir: str | Path | RunConfig | None = None,
    backend: Backend | None = None,
    *,
    data: str | Path | None = None,
    **options: Any,
) -> JudgeResult:
    """`judge` for callers who own the event loop."""
    if data is None:
        return await run_opened(open_dir(out_dir, **options), backend, run_stage)
    state, items = open_data(out_dir, data, **options)
    return await run_opened(state, backend, partial(judge_items, items=items))


@dataclass(frozen=True)
class JudgeStage:
    """Prompt and answer handling of the judge stage (pure; the runner does the rest)."""

    prompt: JudgePrompt
    params: GenerationParams
    name: str = "judge"
    ask: JsonAsk | None = None
    """How to ask for the scores as JSON (`--structured`), or None."""

    def build_prompt(self, item: Item) -> Prompt:
        prompt = self.prompt.render(Shown(item.instruction, item.input, item.output))
        return self.ask.prompt(prompt) if self.ask else prompt

    def process(self, item: Item, completion: Completion) -> Outcome:
        if cut_while_thinking(completion):  # no scores to read: none given, counted
            line = JudgeRecord(
                instruction=item.instruction, index=item.index, instance=item.instance,
                input=item.input, output=item.output, reasoning_truncated=True,
            )  # fmt: skip
            return Outcome(kept=[line], counts=counts_of(line))
        # a completion prompt ends at the correctness label: put it back before reading
        start = "" if self.prompt.chat else LABELS[self.prompt.language][0]
        answer = start + completion.text
        scores = (scores_from_json(answer) if self.ask else None) or parse_scores(answer)
        line = JudgeRecord(
            instruction=item.instruction,
            index=item.index,
            instance=item.instance,
            input=item.input,
            output=item.output,
            correctness=scores.correctness,
            helpfulness=scores.helpfulness,
            score=scores.score,
            raw=clip(completion.text),
        )
        return Outcome(kept=[line], counts=counts_of(line))


def params_for(chat: bool, max_tokens: int, seed: int) -> GenerationParams:
    """Greedy and short: two numbers (a chat model may add a few words)."""
    stop = () if chat else ("\n\n",)
    return GenerationParams(max_tokens=max_tokens, temperature=0.0, stop=stop, seed=seed)


def counts_of(line: JudgeRecord) -> Counter[str]:
    """The named counts one judgement stands for."""
    truncated = int(line.reasoning_truncated)
    counts = Counter(
        judged=1, unparseable=int(line.score is None) - truncated, reasoning_truncated=truncated
    )
    if line.score is not None:
        counts[f"score.{line.score}"] += 1
    return counts


async def run_stage(state: RunState, backend: Backend) -> JudgeResult:
    """The judge stage of a run: every kept instance not scored yet."""
    state.require(state.rundir.instances, "instances")
    items = items_of(list(state.rundir.read_instance_tasks().values()))
    return await judge_items(state, backend, items)


async def judge_items(state: RunState, backend: Backend, items: list[Item]) -> JudgeResult:
    """Score the `items` not in the directory's judgements.jsonl yet (a run's, or a dataset's)."""
    c = state.config.judge
    done = state.rundir.read_judgements()
    todo = [i for i in items if (i.instruction, i.instance) not in done]

    def make_stage(chat: bool) -> tuple[JudgeStage, dict[str, Any]]:
        template = state.template(TEMPLATE)
        shots = pick_shots(state.seeds, c.examples, state.config.seed)
        prompt = JudgePrompt.build(template, shots, state.language, chat)
        params = params_for(chat, c.max_tokens, state.config.seed)
        ask = json_ask(state, backend, chat, "json_judge")
        stage = JudgeStage(prompt, ask.params(params) if ask else params, ask=ask)
        return stage, {"template": text_digest(template)}

    def summarize(counts: Counter[str]) -> dict[str, Any]:
        scored = {s: counts[f"score.{s}"] for s in range(1, 6)}
        total = sum(scored.values())
        mean = sum(s * n for s, n in scored.items()) / total if total else None
        return {
            "instances": len(items),
            "judged": counts["judged"],
            "scored": total,
            "unparseable": counts["unparseable"],
            "reasoning_truncated": counts["reasoning_truncated"],
            "by_score": {str(s): n for s, n in scored.items()},
            "mean_score": None if mean is None else round(mean, 3),
            "language": state.language,
        }

    stats = await run_model_stage(
        state,
        backend,
        "judge",
        make_stage,
        todo=todo,
        done=done.values(),
        counts_of=counts_of,
        summarize=summarize,
        kept_file=state.rundir.judgements,
        postfix=lambda counts: {"unparseable": counts["unparseable"]},
    )
    return JudgeResult(state.rundir.root, int(stats["judged"]), len(todo), stats)
