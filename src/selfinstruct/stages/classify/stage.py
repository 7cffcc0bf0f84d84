"""Classification detection: is each machine instruction a classification task? Ask the model.

The answer decides how instances are generated (output-first for classification tasks). The
prompt is few-shot, with examples drawn from the run's seed tasks (which carry their own label),
decoded greedily; answers are parsed leniently in English and Chinese, and an answer that says
neither yes nor no falls back to "not classification" (input-first works for any task), counted.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...config import RunConfig
from ...errors import ConfigError
from ...llm.base import Backend, ChatMessage, Completion, GenerationParams, Prompt
from ...llm.reasoning import cut_while_thinking
from ...runtime.owned_backend import run_opened
from ...runtime.records import ClassificationRecord, MachineInstruction, SeedTask, clip
from ...runtime.runner import Outcome, run_model_stage
from ...runtime.state import RunState, open_dir, text_digest
from ...runtime.structured import JsonAsk, json_ask
from ...sync import run_sync
from .answers import label_from_json, parse_yes_no

ANSWERS = {"en": ("Yes", "No"), "zh": ("是", "否")}
FALLBACK = False
"""The label given to an unparseable answer: input-first prompting suits any task."""


@dataclass(frozen=True)
class ClassifyPrompt:
    """A filled-in few-shot template; `query` is the template's tail, repeated per example.

    For a completion model the examples are one text; for a chat model each example is a
    user turn answered by an assistant turn, which small chat models follow far better.
    """

    intro: str
    shots: tuple[tuple[str, str], ...]
    query: str
    answers: tuple[str, str]
    chat: bool

    @classmethod
    def build(
        cls,
        template: str,
        examples: Sequence[tuple[str, bool]],
        language: str,
        chat: bool,
    ) -> ClassifyPrompt:
        """Render the examples in the same shape as the question that ends the template."""
        if "{examples}" not in template or "{instruction}" not in template:
            raise ConfigError("a classify template needs {examples} and then {instruction}")
        head, tail = template.split("{examples}", 1)
        query = tail.strip()
        answers = ANSWERS[language]
        shots = tuple((_fill(query, text), answers[0 if yes else 1]) for text, yes in examples)
        return cls(head.strip(), shots, query, answers, chat)

    @property
    def header(self) -> str:
        """The intro and the answered examples as one text (the completion prompt's head)."""
        blocks = [q + _sep(q) + a for q, a in self.shots]
        return "\n\n".join([self.intro, *blocks]) if blocks else self.intro

    def render(self, instruction: str) -> Prompt:
        question = _fill(self.query, instruction)
        if not self.chat:
            return f"{self.header}\n\n{question}".rstrip()
        turns: list[ChatMessage] = []
        for q, a in (*self.shots, (question, None)):
            content = f"{self.intro}\n\n{q}" if not turns else q
            turns.append({"role": "user", "content": content.strip()})
            if a is not None:
                turns.append({"role": "assistant", "content": a})
        return turns


def _fill(query: str, instruction: str) -> str:
    return query.replace("{instruction}", " ".join(instruction.split()))


def _sep(query: str) -> str:
    return "" if query.endswith(("：", "？")) else " "


def pick_examples(seeds: Sequence[SeedTask], k: int, seed: int) -> list[tuple[str, bool]]:
    """`k` seed instructions with their labels, half of them classification, in seeded order."""
    rng = random.Random(f"classify:{seed}")
    yes = [t.instruction for t in seeds if t.is_classification]
    no = [t.instruction for t in seeds if not t.is_classification]
    n_yes = min(len(yes), k // 2)
    n_no = min(len(no), k - n_yes)
    n_yes = min(len(yes), k - n_no)
    chosen = [(t, True) for t in rng.sample(yes, n_yes)] + [
        (t, False) for t in rng.sample(no, n_no)
    ]
    rng.shuffle(chosen)
    return chosen


ORIGINAL_YES = ("Yes", "yes", "YES")
"""The original code's whole test for a classification task: the stripped answer is one of these."""


CHAT_MAX_TOKENS = 16
"""A chat model's budget: room for "Yes, this is a classification task." or a JSON answer."""


def params_for(chat: bool, seed: int, style: str = "ours") -> GenerationParams:
    """Greedy and short: the answer is one word (a chat model may add a little, or answer JSON:
    `{"是否分类任务": "否"}` takes a dozen tokens)."""
    if style == "original":
        return GenerationParams(max_tokens=3, temperature=0.0, stop=("\n", "Task"), seed=seed)
    if chat:
        return GenerationParams(max_tokens=CHAT_MAX_TOKENS, temperature=0.0, seed=seed)
    return GenerationParams(max_tokens=5, temperature=0.0, stop=("\n",), seed=seed)


@dataclass
class ClassifyResult:
    """Counts over the whole directory after this run."""

    out_dir: Path
    classified: int
    new: int
    stats: dict[str, Any]


def classify(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> ClassifyResult:
    """Label each machine instruction in `out_dir` not yet labelled; append classification.jsonl.

    `options` are RunConfig options (`classify_examples=8`, `seed=1`, ...); seeds and language
    default to the run's own.
    """
    return run_sync(aclassify(out_dir, backend, **options), closing=backend)


async def aclassify(
    out_dir: str | Path | RunConfig | None = None, backend: Backend | None = None, **options: Any
) -> ClassifyResult:
    """`classify` for callers who own the event loop."""
    return await run_opened(open_dir(out_dir, **options), backend, run_stage)


@dataclass(frozen=True)
class ClassifyStage:
    """Prompt and answer handling of the classify stage (pure; the runner does the rest)."""

    prompt: ClassifyPrompt
    params: GenerationParams
    style: str = "ours"
    name: str = "classify"
    ask: JsonAsk | None = None
    """How to ask for the label as JSON (`--structured`), or None."""

    def build_prompt(self, record: MachineInstruction) -> Prompt:
        prompt = self.prompt.render(record.instruction)
        return self.ask.prompt(prompt) if self.ask else prompt

    def process(self, record: MachineInstruction, completion: Completion) -> Outcome:
        if cut_while_thinking(completion):  # no answer to read: the fallback label, counted
            line = ClassificationRecord(
                instruction=record.instruction, index=record.index, is_classification=FALLBACK,
                raw="", fallback=True, reasoning_truncated=True,
            )  # fmt: skip
            return Outcome(kept=[line], counts=counts_of(line))
        verdict = label_from_json(completion.text) if self.ask else None
        if verdict is None:
            verdict = self.read_text(completion.text)
        line = ClassificationRecord(
            instruction=record.instruction,
            index=record.index,
            is_classification=FALLBACK if verdict is None else verdict,
            raw=clip(completion.text),
            fallback=verdict is None,
        )
        return Outcome(kept=[line], counts=counts_of(line))

    def read_text(self, text: str) -> bool | None:
        """The label of a text answer, as the style reads it (None: unparseable)."""
        if self.style == "original":
            return text.strip() in ORIGINAL_YES
        return parse_yes_no(text)


def counts_of(line: ClassificationRecord) -> Counter[str]:
    """The named counts one classification line stands for."""
    kind = "classification" if line.is_classification else "not_classification"
    truncated = int(line.reasoning_truncated)
    return Counter(
        {kind: 1, "unparseable": int(line.fallback) - truncated, "reasoning_truncated": truncated}
    )


async def run_stage(state: RunState, backend: Backend) -> ClassifyResult:
    """The classify stage of a run: label what is not labelled yet."""
    state.require(state.rundir.machine_instructions, "bootstrap")
    c = state.config.classify
    done = state.labels
    todo = [m for m in state.machine if m.instruction not in done]

    def make_stage(chat: bool) -> tuple[ClassifyStage, dict[str, Any]]:
        template = state.template("classify")
        examples = pick_examples(state.seeds, c.examples, state.config.seed)
        prompt = ClassifyPrompt.build(template, examples, state.language, chat)
        params = params_for(chat, state.config.seed, c.style)
        ask = json_ask(state, backend, chat, "json_classify")
        if ask is not None:  # the examples answer in the JSON the question asks for
            shots = tuple((q, ask.answer(a == prompt.answers[0])) for q, a in prompt.shots)
            prompt = replace(prompt, shots=shots)
        stage = ClassifyStage(prompt, ask.params(params) if ask else params, c.style, ask=ask)
        return stage, {"template": text_digest(template)}

    def summarize(counts: Counter[str]) -> dict[str, Any]:
        return {
            "instructions": len(state.machine),
            "classified": counts["classification"] + counts["not_classification"],
            "classification": counts["classification"],
            "not_classification": counts["not_classification"],
            "unparseable": counts["unparseable"],
            "reasoning_truncated": counts["reasoning_truncated"],
            "fallback_label": FALLBACK,
            "examples": c.examples,
            "seed_tasks": len(state.seeds),
            "seed_classification": sum(t.is_classification for t in state.seeds),
            "language": state.language,
        }

    try:
        stats = await run_model_stage(
            state,
            backend,
            "classify",
            make_stage,
            todo=todo,
            done=done.values(),
            counts_of=counts_of,
            summarize=summarize,
            kept_file=state.rundir.classification,
        )
    finally:
        state.forget("labels")
    return ClassifyResult(state.rundir.root, int(stats["classified"]), len(todo), stats)
