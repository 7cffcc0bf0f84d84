"""What the generated text looks like: diversity, explainable dedup samples and the data's shape.

Pure functions over a run's records, for the run report. Diversity follows the Self-Instruct
paper: each accepted instruction's highest ROUGE-L F against the pool when it was accepted
(Figure 3), and the leading verbs with their most common objects (Figure 2, found by
`verbs.verb_object`). Lengths count words in English and characters in Chinese.
"""

from __future__ import annotations

import ast
import random
import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import MissingDependencyError
from ..runtime.records import (
    ClassificationRecord,
    InstanceRejection,
    InstancesRecord,
    MachineInstruction,
    Rejection,
    SeedTask,
)
from ..text.language import is_han
from ..text.verbs import verb_object

# -- diversity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerbCount:
    """A leading verb, how many instructions start with it, and its most common objects."""

    verb: str
    count: int
    objects: list[tuple[str, int]]


@dataclass
class Diversity:
    """ROUGE-L of each accepted instruction against the pool, and the verb/object mix."""

    max_rouge: list[float]
    threshold: float | None
    verbs: list[VerbCount]
    with_verb: int
    instructions: int
    verb_note: str | None = None

    @property
    def median_rouge(self) -> float | None:
        return statistics.median(self.max_rouge) if self.max_rouge else None

    @property
    def distinct_verbs(self) -> int:
        return len(self.verbs)


def diversity(
    machine: Sequence[MachineInstruction],
    language: str,
    threshold: float | None,
    top: int = 20,
    objects: int = 4,
) -> Diversity:
    """Figure 3's ROUGE-L values and Figure 2's top `top` verbs with `objects` objects each."""
    verbs: Counter[str] = Counter()
    objs: dict[str, Counter[str]] = {}
    note = None
    try:
        for m in machine:
            found = verb_object(m.instruction, language)
            if found.verb is None:
                continue
            verbs[found.verb] += 1
            if found.obj is not None:
                objs.setdefault(found.verb, Counter())[found.obj] += 1
    except MissingDependencyError as exc:
        verbs.clear()
        note = f"verbs not counted: {exc}"
    ranked = sorted(verbs.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return Diversity(
        max_rouge=[m.max_rouge for m in machine if m.max_rouge is not None],
        threshold=float(threshold) if isinstance(threshold, int | float) else None,
        verbs=[VerbCount(v, n, _top(objs.get(v, Counter()), objects)) for v, n in ranked],
        with_verb=sum(verbs.values()),
        instructions=len(machine),
        verb_note=note,
    )


def _top(counts: Counter[str], k: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


# -- explainable dedup ------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupSample:
    """A rejected candidate, the pool entry it was too close to, and their ROUGE-L F."""

    candidate: str
    nearest: str
    score: float
    reason: str


@dataclass(frozen=True)
class Example:
    """One rejected text and why, to show what a named filter catches."""

    reason: str
    text: str
    detail: str | None = None


@dataclass
class Dedup:
    """A seeded sample of similarity rejections, and one example of every other drop reason."""

    similar: list[DedupSample]
    similar_total: int
    by_reason: list[Example] = field(default_factory=list)
    instance_drops: list[Example] = field(default_factory=list)


_OLD_DETAIL = re.compile(r"^(\d+(?:\.\d+)?) vs (.+)$", re.S)
"""How older runs recorded a similarity rejection: `0.8123 vs 'the pool entry'`."""


def nearest(rejection: Rejection) -> tuple[float, str] | None:
    """(score, pool entry) of a similarity rejection, from its fields or an older run's detail."""
    if rejection.similar is not None and rejection.score is not None:
        return rejection.score, rejection.similar
    match = _OLD_DETAIL.match(rejection.detail or "")
    if not match:
        return None
    try:
        similar = ast.literal_eval(match.group(2))
    except (ValueError, SyntaxError):
        return None
    return (float(match.group(1)), similar) if isinstance(similar, str) else None


def dedup_samples(
    rejections: Iterable[Rejection],
    instance_drops: Iterable[InstanceRejection],
    k: int,
    seed: int,
) -> Dedup:
    """`k` similarity rejections drawn with the run's seed (closest first), and examples."""
    similar: list[DedupSample] = []
    first: dict[str, Example] = {}
    for r in rejections:
        found = nearest(r)
        if found is not None:
            similar.append(DedupSample(r.instruction, found[1], found[0], r.reason))
        elif r.reason not in first:
            first[r.reason] = Example(r.reason, r.instruction, r.detail)
    drawn = random.Random(f"report:{seed}").sample(similar, min(k, len(similar)))
    drops: dict[str, Example] = {}
    for d in instance_drops:
        if d.reason not in drops:
            text = f"input: {d.input}\noutput: {d.output}" if d.input else f"output: {d.output}"
            drops[d.reason] = Example(d.reason, text, d.instruction)
    return Dedup(
        similar=sorted(drawn, key=lambda s: -s.score),
        similar_total=len(similar),
        by_reason=[first[k] for k in sorted(first)],
        instance_drops=[drops[k] for k in sorted(drops)],
    )


# -- shape of the data ------------------------------------------------------------------------


@dataclass
class Side:
    """The shape of one set of tasks (the machine's, or the seeds')."""

    tasks: int = 0
    labelled: int = 0
    classification: int = 0
    instruction_lengths: list[int] = field(default_factory=list)
    input_lengths: list[int] = field(default_factory=list)
    output_lengths: list[int] = field(default_factory=list)
    instances_per_task: list[int] = field(default_factory=list)

    @property
    def instances(self) -> int:
        return len(self.output_lengths)

    @property
    def empty_inputs(self) -> int:
        return sum(n == 0 for n in self.input_lengths)

    @property
    def classification_share(self) -> float | None:
        return self.classification / self.labelled if self.labelled else None

    @property
    def empty_input_share(self) -> float | None:
        return self.empty_inputs / self.instances if self.instances else None


@dataclass
class Shape:
    """Lengths, kinds and repeats of the machine tasks, with the seed tasks beside them."""

    unit: str
    machine: Side
    seeds: Side | None
    scripts: dict[str, dict[str, int]]
    duplicates: dict[str, int]


def length(text: str, language: str) -> int:
    """Words (English) or non-space characters (Chinese)."""
    return sum(not ch.isspace() for ch in text) if language == "zh" else len(text.split())


def script(text: str) -> str:
    """The writing system most of `text`'s letters are in: Chinese, Latin, other, or none."""
    han = latin = other = 0
    for ch in text[:500]:
        if is_han(ch):
            han += 1
        elif ch.isalpha():
            if unicodedata.name(ch, "").startswith("LATIN"):
                latin += 1
            else:
                other += 1
    letters = han + latin + other
    if not letters:
        return "no letters"
    if han / letters > 0.3:
        return "Chinese"
    return "Latin" if latin >= other else "other"


def shape(
    machine: Sequence[MachineInstruction],
    labels: dict[str, ClassificationRecord],
    tasks: dict[str, InstancesRecord],
    seeds: Sequence[SeedTask] | None,
    language: str,
) -> Shape:
    """The machine tasks' shape (kept instances only), the seeds' beside it, scripts, repeats."""
    mine = Side(tasks=len(machine))
    for m in machine:
        mine.instruction_lengths.append(length(m.instruction, language))
        label = labels.get(m.instruction)
        if label is not None:
            mine.labelled += 1
            mine.classification += label.is_classification
        record = tasks.get(m.instruction)
        if record is not None:
            mine.instances_per_task.append(len(record.instances))
            for inst in record.instances:
                mine.input_lengths.append(length(inst.input, language))
                mine.output_lengths.append(length(inst.output, language))
    theirs = None
    if seeds is not None:
        theirs = Side(tasks=len(seeds), labelled=len(seeds))
        for t in seeds:
            theirs.classification += t.is_classification
            theirs.instruction_lengths.append(length(t.instruction, language))
            theirs.instances_per_task.append(len(t.instances))
            for inst in t.instances:
                theirs.input_lengths.append(length(inst.input, language))
                theirs.output_lengths.append(length(inst.output, language))
    outputs = [
        i.output for m in machine if m.instruction in tasks for i in tasks[m.instruction].instances
    ]
    return Shape(
        unit="characters" if language == "zh" else "words",
        machine=mine,
        seeds=theirs,
        scripts={
            "instructions": _by_count(Counter(script(m.instruction) for m in machine)),
            "outputs": _by_count(Counter(script(o) for o in outputs)),
        },
        duplicates=duplicates(machine, tasks, seeds or []),
    )


def duplicates(
    machine: Sequence[MachineInstruction],
    tasks: dict[str, InstancesRecord],
    seeds: Sequence[SeedTask],
) -> dict[str, int]:
    """Exact repeats (case and spacing ignored) the similarity filter and export let through."""
    seen = {_norm(t.instruction) for t in seeds}
    instructions = 0
    for m in machine:
        key = _norm(m.instruction)
        instructions += key in seen
        seen.add(key)
    examples: Counter[tuple[str, str, str]] = Counter()
    output_tasks: dict[str, set[str]] = {}
    for m in machine:
        for inst in tasks[m.instruction].instances if m.instruction in tasks else []:
            examples[(_norm(m.instruction), _norm(inst.input), _norm(inst.output))] += 1
            output_tasks.setdefault(_norm(inst.output), set()).add(m.instruction)
    return {
        "instructions": instructions,
        "examples": sum(n - 1 for n in examples.values()),
        "outputs shared by several tasks": sum(len(t) > 1 for t in output_tasks.values()),
    }


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
