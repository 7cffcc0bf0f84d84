"""What the run report shows, computed from a run directory: the funnel, tokens and cost, and more.

Pure reading and counting, no plotting. Every number comes from the run's own files, read
through `RunDir` (what is there: a run still going, or one that was interrupted, reports what it
has so far); the stages' `stats.json` sections are used only for what the files do not hold (the
export's drop counts, each stage's stop state). The text-side views (diversity, dedup samples,
the shape of the data) live in `report_shape`, the reading in `report_files`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .files import STAGE_ORDER, RunFiles, read_run
from .shape import Dedup, Diversity, Shape, dedup_samples, diversity, shape

# -- the funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """One equation the funnel's numbers must satisfy; `ok` is False when they do not."""

    equation: str
    left: int
    right: int
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.left == self.right

    def __str__(self) -> str:
        mark = "ok" if self.ok else f"MISMATCH{': ' + self.hint if self.hint else ''}"
        return f"{self.equation}: {self.left} = {self.right} ({mark})"


@dataclass
class Funnel:
    """From bootstrap requests to exported rows, with each named drop on the way."""

    requests: int = 0
    accepted: int = 0
    unwrapped: int = 0
    """Candidates read without their chat formatting (markdown, quotes, labels, titles)."""
    rejected: dict[str, int] = field(default_factory=dict)
    classified: int = 0
    unclassified: int = 0
    yes: int = 0
    no: int = 0
    unparseable: int = 0
    cut_while_thinking: int = 0  # labelled no: cut off by max_tokens inside the thinking
    tasks: int = 0
    waiting: int = 0
    generated: int = 0
    kept: int = 0
    instance_dropped: dict[str, int] = field(default_factory=dict)
    tasks_kept: int = 0
    tasks_dropped: dict[str, int] = field(default_factory=dict)
    judged: int = 0
    judge_scores: dict[str, int] = field(default_factory=dict)
    exported: int | None = None
    export_machine: int = 0
    export_seed: int = 0
    export_dropped: dict[str, int] = field(default_factory=dict)
    identities: list[Identity] = field(default_factory=list)

    @property
    def candidates(self) -> int:
        return self.accepted + sum(self.rejected.values())

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.identities)


def funnel(run: RunFiles) -> Funnel:
    """Count every step from the files, then the identities that tie the steps together."""
    f = Funnel(requests=int(run.usage.get("bootstrap", {}).get("requests", 0)))
    f.accepted = len(run.machine)
    f.rejected = _by_count(Counter(r.reason for r in run.rejections))
    f.unwrapped = sum(m.unwrapped for m in run.machine) + sum(r.unwrapped for r in run.rejections)
    names = {m.instruction for m in run.machine}
    labels = [v for k, v in run.labels.items() if k in names]
    f.classified = len(labels)
    f.unclassified = sum(m.instruction not in run.labels for m in run.machine)
    f.yes = sum(v.is_classification for v in labels)
    f.no = f.classified - f.yes
    f.cut_while_thinking = sum(v.reasoning_truncated for v in labels)
    f.unparseable = sum(v.fallback for v in labels) - f.cut_while_thinking
    tasks = [t for k, t in run.tasks.items() if k in names]
    f.tasks = len(tasks)
    f.waiting = sum(
        m.instruction in run.labels and m.instruction not in run.tasks for m in run.machine
    )
    f.generated = sum(t.generated for t in tasks)
    f.kept = sum(len(t.instances) for t in tasks)
    f.instance_dropped = _by_count(sum((Counter(t.dropped) for t in tasks), Counter()))
    f.tasks_kept = sum(bool(t.instances) for t in tasks)
    f.tasks_dropped = _by_count(Counter(t.task_dropped for t in tasks if t.task_dropped))
    f.judged = len(run.judgements)
    scores = Counter(_verdict(j) for j in run.judgements.values())
    f.judge_scores = dict(sorted(scores.items(), reverse=True))
    export = run.stats.get("export") or {}
    if run.exported is not None:
        f.exported = run.exported
        f.export_machine = int(export.get("machine_examples", f.kept))
        f.export_seed = int(export.get("seed_examples", 0))
        f.export_dropped = export_drops(export)
    f.identities = identities(f)
    return f


def _verdict(judgement: Any) -> str:
    """A judgement's score, or why it has none."""
    if judgement.score:
        return str(judgement.score)
    return "reasoning_truncated" if judgement.reasoning_truncated else "unreadable"


def export_drops(section: dict[str, Any]) -> dict[str, int]:
    """Rows the export left out, by reason: `duplicates`, and any `dropped...` counts it wrote."""
    drops: Counter[str] = Counter()
    if section.get("duplicates"):
        drops["duplicates"] += int(section["duplicates"])
    for key, value in section.items():
        if not key.startswith("dropped"):
            continue
        if isinstance(value, dict):
            drops.update({str(k): int(v) for k, v in value.items() if isinstance(v, int)})
        elif isinstance(value, int) and not isinstance(value, bool):
            drops[key.removeprefix("dropped").strip("_") or "dropped"] += value
    return _by_count(drops)


def identities(f: Funnel) -> list[Identity]:
    """The equations of the funnel; each stage's input is its output plus its named drops.

    Both sides are counted separately (a task line for an unlabelled instruction, say, or an
    export older than the instances, breaks one).
    """
    rows = [
        Identity(
            "candidates = accepted + rejected", f.candidates, f.accepted + sum(f.rejected.values())
        ),
        Identity(
            "accepted = classified + not yet classified", f.accepted, f.classified + f.unclassified
        ),
        Identity("classified = yes + no", f.classified, f.yes + f.no),
        Identity(
            "classified = tasks with instances + waiting for instances",
            f.classified, f.tasks + f.waiting,
        ),
        Identity(
            "instances generated = kept + dropped",
            f.generated, f.kept + sum(f.instance_dropped.values()),
        ),
        Identity(
            "tasks = tasks kept + tasks dropped",
            f.tasks, f.tasks_kept + sum(f.tasks_dropped.values()),
        ),
    ]  # fmt: skip
    if f.exported is not None:
        stale = "the export is older than the instances: rerun `selfinstruct export`"
        rows += [
            Identity("exported machine examples = instances kept", f.export_machine, f.kept, stale),
            Identity(
                "rows exported = machine + seed examples - export drops",
                f.exported, f.export_machine + f.export_seed - sum(f.export_dropped.values()),
                "the export files do not match stats.json: rerun `selfinstruct export`",
            ),
        ]  # fmt: skip
    return rows


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return {k: v for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if v}


# -- tokens and cost ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StageTokens:
    """What one stage spent, over every invocation, from the token ledger."""

    stage: str
    model: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float
    cost: float | None
    reasoning_tokens: int = 0
    """Of the completion tokens, those spent thinking (a reasoning model's)."""


@dataclass
class Tokens:
    """Tokens per stage and, when prices are known, the estimated cost."""

    stages: list[StageTokens]
    price_input: float | None
    price_output: float | None

    @property
    def priced(self) -> bool:
        return self.price_input is not None or self.price_output is not None

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.stages)

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.stages)

    @property
    def reasoning_tokens(self) -> int:
        return sum(s.reasoning_tokens for s in self.stages)

    @property
    def cost(self) -> float | None:
        return sum(s.cost or 0.0 for s in self.stages) if self.priced else None


def tokens(run: RunFiles, price_input: float | None, price_output: float | None) -> Tokens:
    """Per-stage totals from `usage.jsonl`, priced per million tokens (a missing price is 0)."""
    priced = price_input is not None or price_output is not None
    settings = run.meta.get("settings") or {}
    stages = []
    for stage, used in run.usage.items():
        cost = None
        if priced:
            cost = (
                used["prompt_tokens"] * (price_input or 0.0)
                + used["completion_tokens"] * (price_output or 0.0)
            ) / 1e6
        stages.append(
            StageTokens(
                stage, (settings.get(stage) or {}).get("model"), int(used["requests"]),
                int(used["prompt_tokens"]), int(used["completion_tokens"]),
                float(used["elapsed_s"]), cost, int(used.get("reasoning_tokens", 0)),
            )
        )  # fmt: skip
    return Tokens(stages, price_input, price_output)


# -- the whole report -----------------------------------------------------------------------


@dataclass
class ReportData:
    """Everything the report shows about one run."""

    root: Path
    language: str
    seeds_name: str | None
    status: dict[str, str]
    funnel: Funnel
    diversity: Diversity
    dedup: Dedup
    shape: Shape
    tokens: Tokens


def collect(
    root: str | Path,
    *,
    price_input: float | None = None,
    price_output: float | None = None,
    sample: int = 12,
    top_verbs: int = 20,
    objects_per_verb: int = 4,
) -> ReportData:
    """Read the run in `root` and compute every section of the report."""
    run = read_run(root)
    threshold = ((run.meta.get("settings") or {}).get("bootstrap") or {}).get("threshold")
    return ReportData(
        root=run.root,
        language=run.language,
        seeds_name=run.meta.get("seeds"),
        status=stage_status(run),
        funnel=funnel(run),
        diversity=diversity(run.machine, run.language, threshold, top_verbs, objects_per_verb),
        dedup=dedup_samples(run.rejections, run.instance_rejections, sample, run.seed),
        shape=shape(run.machine, run.labels, run.tasks, run.seeds, run.language),
        tokens=tokens(run, price_input, price_output),
    )


def stage_status(run: RunFiles) -> dict[str, str]:
    """How each stage that has started last ended ("running": going now, or killed)."""
    status = {}
    for stage in STAGE_ORDER:
        section = run.stats.get(stage)
        if isinstance(section, dict):
            status[stage] = str(section.get("stopped", "written"))
        elif stage == "bootstrap" and run.machine:
            status[stage] = "running"
        if status.get(stage) == "running":
            status[stage] = "running (or killed)"
    return status
