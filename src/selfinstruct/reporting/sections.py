"""The run report's content as plain blocks (paragraphs, tables, figures), and its text summary.

The HTML page and the Markdown file are both rendered from these sections (`report_render`),
so they always say the same thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from .data import Funnel, ReportData
from .plots import Plot
from .shape import Side

HOW_VERBS = (
    "How verbs and objects are found: as the paper does (the verb closest to the root and the "
    "head of its first direct noun object), without a parser. In English the verb opens the first "
    "imperative clause, after openers ('please', 'can you') and an introduction such as 'Given "
    "X,'; questions, statements and fragments have none; the object is the head noun of the "
    "phrase after the verb (none for a pronoun or a clause). In Chinese, jieba's part-of-speech "
    "tags: the verb after 请, 给定X， or a prepositional phrase (a light verb's noun: 进行总结), "
    "and the last noun of its object across 的 modifiers, or the noun fronted by 将/把. Agreement "
    "with hand labels of real instructions is in docs/report.md."
)


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]


@dataclass(frozen=True)
class Figure:
    file: str
    title: str


Block = Para | Table | Figure


@dataclass(frozen=True)
class Section:
    title: str
    blocks: list[Block]


def sections(data: ReportData, plots: Sequence[Plot]) -> list[Section]:
    """Every section of the report, in order."""
    figures = {p.name: Figure(p.path.name, p.title) for p in plots}

    def fig(*names: str) -> list[Block]:
        return [figures[n] for n in names if n in figures]

    return [
        Section("Run", [Para(line) for line in header(data)]),
        Section("Funnel", [funnel_table(data.funnel), *checks(data.funnel),
                           *fig("funnel", "drops", "judge")]),
        Section("Diversity", diversity_blocks(data, fig("rouge"), fig("verbs"))),
        Section("Explainable dedup", dedup_blocks(data)),
        Section("Shape of the data", shape_blocks(data, fig("lengths", "tasks"))),
        Section("Tokens and cost", tokens_blocks(data, fig("tokens"))),
    ]  # fmt: skip


def header(data: ReportData) -> list[str]:
    status = ", ".join(f"{k} {v}" for k, v in data.status.items()) or "nothing run yet"
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return [
        f"Run directory: {data.root}",
        f"Language: {data.language}; seed tasks: {data.seeds_name or 'unknown'}",
        f"Stages: {status} (as of {now}; a run still going reports what it has so far)",
    ]


def _pct(n: int, of: int) -> str:
    return f"{n / of:.1%}" if of else ""


def funnel_table(f: Funnel) -> Table:
    """Every step from requests to exported rows, each drop under the step it came from."""
    rows = [["bootstrap requests", f"{f.requests:,}", ""], ["candidates", f"{f.candidates:,}", ""]]
    rows += [
        ["  read without chat formatting", f"{f.unwrapped:,}", _pct(f.unwrapped, f.candidates)]
    ]
    rows += [[f"  rejected: {k}", f"{v:,}", _pct(v, f.candidates)] for k, v in f.rejected.items()]
    rows += [
        ["accepted instructions", f"{f.accepted:,}", _pct(f.accepted, f.candidates)],
        ["  not yet classified", f"{f.unclassified:,}", _pct(f.unclassified, f.accepted)],
        ["classified", f"{f.classified:,}", _pct(f.classified, f.accepted)],
        ["  yes (classification)", f"{f.yes:,}", _pct(f.yes, f.classified)],
        ["  no", f"{f.no:,}", _pct(f.no, f.classified)],
        ["    of which unparseable answers (labelled no)", f"{f.unparseable:,}", ""],
        ["    of which cut off while thinking (labelled no)", f"{f.cut_while_thinking:,}", ""],
        ["  waiting for instances", f"{f.waiting:,}", _pct(f.waiting, f.classified)],
        ["tasks with instances generated", f"{f.tasks:,}", _pct(f.tasks, f.classified)],
        ["instances generated", f"{f.generated:,}", ""],
    ]
    rows += [
        [f"  dropped: {k}", f"{v:,}", _pct(v, f.generated)] for k, v in f.instance_dropped.items()
    ]
    rows.append(["instances kept", f"{f.kept:,}", _pct(f.kept, f.generated)])
    rows += [
        [f"  tasks dropped: {k}", f"{v:,}", _pct(v, f.tasks)] for k, v in f.tasks_dropped.items()
    ]
    rows.append(["tasks kept", f"{f.tasks_kept:,}", _pct(f.tasks_kept, f.tasks)])
    if f.judged:
        rows.append(["instances judged", f"{f.judged:,}", _pct(f.judged, f.kept)])
        rows += [[f"  score {k}", f"{v:,}", _pct(v, f.judged)] for k, v in f.judge_scores.items()]
    if f.exported is not None:
        rows += [
            ["export: machine examples", f"{f.export_machine:,}", ""],
            ["export: seed examples", f"{f.export_seed:,}", ""],
        ]
        rows += [[f"  export dropped: {k}", f"{v:,}", ""] for k, v in f.export_dropped.items()]
        rows.append(["rows exported", f"{f.exported:,}", ""])
    else:
        rows.append(["rows exported", "not exported yet", ""])
    return Table(["step", "count", "share of the step above"], rows)


def checks(f: Funnel) -> list[Block]:
    verdict = "The numbers add up." if f.ok else "Some numbers do NOT add up (see below)."
    table = Table(
        ["identity", "left", "right", "check"],
        [[i.equation, f"{i.left:,}", f"{i.right:,}", "ok" if i.ok else f"MISMATCH {i.hint}"]
         for i in f.identities],
    )  # fmt: skip
    return [Para(verdict), table]


NOT_SCORED = (
    "Accepted instructions are scored against the pool when the bootstrap loop ends; rerun "
    "`selfinstruct bootstrap` (or `run`) on this directory to finish an interrupted run's scoring."
)


def diversity_blocks(data: ReportData, rouge: list[Block], verbs: list[Block]) -> list[Block]:
    d = data.diversity
    unscored = d.instructions - len(d.max_rouge)
    if d.median_rouge is None:
        none = "No instruction accepted yet." if not d.instructions else NOT_SCORED
        blocks: list[Block] = [Para(none)]
    else:
        low = sum(v < 0.5 for v in d.max_rouge) / len(d.max_rouge)
        threshold = f" (rejection threshold {d.threshold:g})" if d.threshold is not None else ""
        blocks = [
            Para(
                f"Median highest ROUGE-L against the pool at acceptance: {d.median_rouge:.3f}"
                f"{threshold}; {low:.0%} of the {len(d.max_rouge):,} accepted instructions are "
                "below 0.5. Lower means the pool grew in new directions."
            )
        ]
        if unscored:
            blocks.append(Para(f"{unscored:,} not scored yet are left out. {NOT_SCORED}"))
    blocks += rouge
    found = f"{d.with_verb:,} of {d.instructions:,} instructions start with a verb"
    blocks += [Para(f"{found}; {d.distinct_verbs} most common shown."), *verbs]
    if d.verb_note:
        blocks.append(Para(d.verb_note))
    rows = [
        [f"#{i}", v.verb, f"{v.count:,}", ", ".join(f"{o} ({n})" for o, n in v.objects)]
        for i, v in enumerate(d.verbs, start=1)
    ]
    if rows:
        blocks.append(Table(["rank", "verb", "instructions", "most common objects"], rows))
    blocks.append(Para(HOW_VERBS))
    return blocks


def dedup_blocks(data: ReportData) -> list[Block]:
    d = data.dedup
    blocks: list[Block] = [
        Para(
            f"{d.similar_total:,} candidates were rejected as too similar to an instruction "
            f"already in the pool. A sample of {len(d.similar)} (drawn with the run's seed, "
            "closest first): the candidate, its nearest pool entry, and their ROUGE-L F."
        )
    ]
    if d.similar:
        blocks.append(
            Table(
                ["score", "candidate", "nearest pool entry", "filter"],
                [[f"{s.score:.3f}", s.candidate, s.nearest, s.reason] for s in d.similar],
            )
        )
    if d.by_reason:
        blocks += [
            Para("One rejected candidate for every other reason:"),
            Table(
                ["reason", "candidate", "detail"],
                [[e.reason, e.text, e.detail or ""] for e in d.by_reason],
            ),
        ]  # fmt: skip
    if d.instance_drops:
        blocks += [
            Para("One dropped instance for every reason:"),
            Table(
                ["reason", "task", "instance"],
                [[e.reason, e.detail or "", e.text] for e in d.instance_drops],
            ),
        ]
    return blocks


def _median(values: Sequence[int]) -> str:
    return f"{sorted(values)[len(values) // 2]}" if values else ""


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _side(side: Side | None, unit: str) -> list[str]:
    if side is None:
        return [""] * 8
    per_task = side.instances_per_task
    return [
        f"{side.tasks:,}",
        _share(side.classification_share),
        f"{side.instances:,}",
        f"{side.instances / len(per_task):.2f}" if per_task else "",
        _share(side.empty_input_share),
        _median(side.instruction_lengths),
        _median(side.input_lengths),
        _median(side.output_lengths),
    ]


def shape_blocks(data: ReportData, figures: list[Block]) -> list[Block]:
    s = data.shape
    names = [
        "tasks", "classification tasks", "instances", "instances per task (mean)",
        "empty inputs", f"median instruction length ({s.unit})",
        f"median input length ({s.unit})", f"median output length ({s.unit})",
    ]  # fmt: skip
    mine, theirs = _side(s.machine, s.unit), _side(s.seeds, s.unit)
    table = Table(
        ["", "machine tasks", "seed tasks"],
        [[n, a, b] for n, a, b in zip(names, mine, theirs, strict=True)],
    )
    seeds = "" if s.seeds else " (the seed file could not be found, so no seed column)"
    scripts = Table(
        ["text", "writing systems (count)"],
        [[k, ", ".join(f"{w} {n:,}" for w, n in v.items()) or "none yet"]
         for k, v in s.scripts.items()],
    )  # fmt: skip
    dups = Table(["repeated exactly (case and spacing ignored)", "count"],
                 [[k, f"{v:,}"] for k, v in s.duplicates.items()])  # fmt: skip
    return [
        Para(f"Machine tasks (kept instances only) beside the seed tasks{seeds}."),
        table,
        *figures,
        Para("Language mix, by the writing system most letters are in:"),
        scripts,
        dups,
    ]


def tokens_blocks(data: ReportData, figures: list[Block]) -> list[Block]:
    t = data.tokens
    if not t.stages:
        return [Para("No tokens recorded yet."), *figures]
    rows = [
        [s.stage, s.model or "", f"{s.requests:,}", f"{s.prompt_tokens:,}",
         f"{s.completion_tokens:,}", f"{s.elapsed_s:,.0f}", _cost(s.cost)]
        for s in t.stages
    ]  # fmt: skip
    rows.append(["total", "", f"{sum(s.requests for s in t.stages):,}", f"{t.prompt_tokens:,}",
                 f"{t.completion_tokens:,}", f"{sum(s.elapsed_s for s in t.stages):,.0f}",
                 _cost(t.cost)])  # fmt: skip
    head = ["stage", "model", "requests", "prompt tokens", "completion tokens", "seconds"]
    head.append("est. cost")
    if t.reasoning_tokens:  # a thinking model: how much of the completion was thinking
        head.insert(5, "of which thinking")
        thought = [*(s.reasoning_tokens for s in t.stages), t.reasoning_tokens]
        rows = [[*r[:5], f"{n:,}", *r[5:]] for r, n in zip(rows, thought, strict=True)]
    table = Table(head, rows)
    if t.priced:
        exported = data.funnel.exported
        per_row = f"; {t.cost / exported:.6g} per exported row" if exported and t.cost else ""
        note = (
            f"Estimated cost at {t.price_input or 0:g} per million prompt tokens and "
            f"{t.price_output or 0:g} per million completion tokens{per_row}."
        )
    else:
        note = "No prices given: pass --price-input and --price-output (per million tokens)."
    return [table, Para(note), *figures]


def _cost(cost: float | None) -> str:
    return "" if cost is None else f"{cost:.4g}"


def summary(data: ReportData) -> list[str]:
    """A few lines for the terminal: the funnel, diversity, tokens and cost."""
    f, d, t = data.funnel, data.diversity, data.tokens
    rejected = ", ".join(f"{k} {v}" for k, v in f.rejected.items()) or "none"
    exported = f"{f.exported:,} rows exported" if f.exported is not None else "not exported yet"
    bad = next((i for i in f.identities if not i.ok), None)
    lines = [
        f"funnel: {f.candidates:,} candidates -> {f.accepted:,} accepted (rejected: {rejected}) "
        f"-> {f.classified:,} classified ({f.yes} yes, {f.no} no, {f.unparseable} unparseable) "
        f"-> {f.kept:,} of {f.generated:,} instances kept -> {exported}",
        "numbers add up" if bad is None else f"numbers do NOT add up: {bad}",
    ]
    if d.median_rouge is not None:
        top = ", ".join(f"{v.verb} {v.count}" for v in d.verbs[:5]) or "none found"
        lines.append(f"diversity: median ROUGE-L {d.median_rouge:.3f}; top verbs: {top}")
    cost = f"; estimated cost {t.cost:.4g}" if t.cost is not None else ""
    thinking = f" ({t.reasoning_tokens:,} thinking)" if t.reasoning_tokens else ""
    completion = f"{t.completion_tokens:,} completion{thinking}"
    lines.append(f"tokens: {t.prompt_tokens:,} prompt + {completion}{cost}")
    return lines
