"""Classification detection: is each machine instruction a classification task? Ask the model.

The answer decides how instances are generated (output-first for classification tasks). The
prompt is few-shot, with examples drawn from the run's seed tasks (which carry their own label),
decoded greedily; answers are parsed leniently in English and Chinese, and an answer that says
neither yes nor no falls back to "not classification" (input-first works for any task), counted.
"""

from __future__ import annotations

import random

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from tqdm.auto import tqdm

from .answers import parse_yes_no
from .batching import chunk_size_for, complete_in_order
from .errors import ConfigError, DataError
from .jsonl import JsonlWriter, read_jsonl
from .llm.base import Backend, ChatMessage, GenerationParams, Prompt, run_closing
from .llm.factory import or_default
from .records import SeedTask
from .rundir import RunDir
from .runstate import SeedSource, machine_instructions, prompt_override, run_language, run_seeds
from .templates import load_template

ANSWERS = {"en": ("Yes", "No"), "zh": ("是", "否")}
FALLBACK = False
"""The label given to an unparseable answer: input-first prompting suits any task."""


class ClassificationRecord(BaseModel):
    """One line of classification.jsonl: the model's verdict on one machine instruction."""

    model_config = ConfigDict(extra="forbid")

    instruction: str
    index: int
    is_classification: bool
    raw: str
    fallback: bool = False


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


def params_for(chat: bool, seed: int) -> GenerationParams:
    """Greedy and short: the answer is one word (a chat model may add a little)."""
    if chat:
        return GenerationParams(max_tokens=8, temperature=0.0, seed=seed)
    return GenerationParams(max_tokens=5, temperature=0.0, stop=("\n",), seed=seed)


@dataclass
class ClassifyResult:
    """Counts over the whole directory after this run."""

    out_dir: Path
    classified: int
    new: int
    stats: dict[str, object]


def classify(
    out_dir: str | Path,
    backend: Backend | None = None,
    *,
    seeds: SeedSource | None = None,
    language: str | None = None,
    seed: int = 42,
    concurrency: int = 8,
    examples: int = 12,
    template: str | Path | None = None,
    prompt_dir: str | Path | None = None,
    progress: bool = True,
) -> ClassifyResult:
    """Label each machine instruction in `out_dir` not yet labelled; append classification.jsonl."""
    backend = or_default(backend)
    rundir = RunDir.of(out_dir)
    todo_all = machine_instructions(rundir)
    lang = run_language(rundir, [m.instruction for m in todo_all], language)
    seed_tasks = run_seeds(rundir, lang, seeds)
    override = template or prompt_override(prompt_dir, "classify", lang)
    prompt = ClassifyPrompt.build(
        load_template("classify", lang, override),
        pick_examples(seed_tasks, examples, seed),
        lang,
        backend.info.chat,
    )
    done = _existing(rundir)
    todo = [m for m in todo_all if m.instruction not in done]
    usage_before = replace(backend.usage)
    with JsonlWriter(rundir.classification) as out:
        run_closing(backend, _run(backend, prompt, todo, out, seed, concurrency, progress))
    used = backend.usage.since(usage_before)
    old = rundir.read_stats().get("classify", {})
    rows = list(_existing(rundir).values())
    yes = sum(r.is_classification for r in rows)
    stats: dict[str, object] = {
        "instructions": len(todo_all),
        "classified": len(rows),
        "classification": yes,
        "not_classification": len(rows) - yes,
        "unparseable": sum(r.fallback for r in rows),
        "fallback_label": FALLBACK,
        "examples": examples,
        "seed_tasks": len(seed_tasks),
        "seed_classification": sum(t.is_classification for t in seed_tasks),
        "prompt_tokens": int(old.get("prompt_tokens", 0)) + used.prompt_tokens,
        "completion_tokens": int(old.get("completion_tokens", 0)) + used.completion_tokens,
        "language": lang,
    }
    rundir.update_stats("classify", stats)
    return ClassifyResult(rundir.root, len(rows), len(todo), stats)


async def _run(
    backend: Backend,
    prompt: ClassifyPrompt,
    todo: list,
    out: JsonlWriter,
    seed: int,
    concurrency: int,
    progress: bool,
) -> None:
    prompts = [prompt.render(m.instruction) for m in todo]
    params = params_for(prompt.chat, seed)
    bar = tqdm(total=len(todo), unit="inst", desc="classify", disable=not progress)
    try:
        async for start, completions in complete_in_order(
            backend, prompts, params, chunk_size_for(backend, concurrency)
        ):
            rows = []
            for record, completion in zip(todo[start:], completions, strict=False):
                verdict = parse_yes_no(completion.text)
                rows.append(
                    ClassificationRecord(
                        instruction=record.instruction,
                        index=record.index,
                        is_classification=FALLBACK if verdict is None else verdict,
                        raw=completion.text,
                        fallback=verdict is None,
                    )
                )
            out.write_many(rows)
            bar.update(len(rows))
    finally:
        bar.close()


def _existing(rundir: RunDir) -> dict[str, ClassificationRecord]:
    """Labels already on disk, by instruction (a rerun skips them)."""
    rows: dict[str, ClassificationRecord] = {}
    for row in read_jsonl(rundir.classification, ClassificationRecord):
        rows.setdefault(row.instruction, row)
    return rows


def read_labels(rundir: RunDir) -> dict[str, bool]:
    """instruction -> is_classification, for the instructions classified so far."""
    return {k: v.is_classification for k, v in _existing(rundir).items()}


def check_complete(rundir: RunDir, instructions: Sequence[str]) -> dict[str, bool]:
    """Labels for all `instructions`, or a DataError saying to run classify first."""
    labels = read_labels(rundir)
    missing = [t for t in instructions if t not in labels]
    if missing:
        raise DataError(
            str(rundir.classification),
            None,
            None,
            f"{len(missing)} instruction(s) not classified yet (first: {missing[0][:60]!r}); "
            f"run `selfinstruct classify --out {rundir.root}` first",
        )
    return labels
