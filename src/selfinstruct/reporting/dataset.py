"""`selfinstruct report --data FILE`: the report's views of a dataset made without a run.

Any dataset `selfinstruct dedup` reads (dataset_io). The sections that need no run: its shape
(rows, lengths, empty inputs, instances per instruction), diversity as in the paper's Figures 2
and 3 (leading verbs and their objects; each row's highest ROUGE-L against the rows before it),
exact duplicates, near duplicates with examples, and the language mix. Same plots and page as
a run's report (report_plots, report_render); no funnel, no tokens.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from pathlib import Path

from ..runtime.dataset_io import Row, Source, open_source, read_rows
from ..runtime.jsonl import write_text_atomic
from ..runtime.records import Instance, InstancesRecord, MachineInstruction
from ..similarity import SimilarityIndex, get_tokenizer
from ..text.language import detect_language
from .data import Funnel, ReportData, Tokens
from .plots import write_plots
from .render import render_html, render_markdown
from .sections import HOW_VERBS, Block, Figure, Para, Section, Table
from .shape import Dedup, DedupSample, Shape, diversity, shape

SCORED_ROWS = 50_000
"""Rows scored for ROUGE-L and verbs; a larger dataset is scored on a seeded sample of these."""
THRESHOLD = 0.7
PLOTS = ("rouge", "verbs", "lengths", "tasks")


def dataset_report(
    data: str | Path, out_dir: str | Path | None = None, *, sample: int = 12, top_verbs: int = 20
) -> tuple[ReportData, Path, Path, list, str]:
    """Write the report of the dataset `data` into `out_dir` (default: `<data>.report/`)."""
    source = open_source(data)
    rows = list(read_rows(source))
    folder = Path(out_dir) if out_dir is not None else source.path.with_name(
        source.path.name + ".report"
    )  # fmt: skip
    language = detect_language(r.instruction for r in rows[:20_000])
    scored = _scored(rows)
    machine, near = _nearest(scored, language)
    tasks = _tasks(rows)
    data_view = ReportData(
        root=source.path,
        language=language,
        seeds_name=None,
        status={},
        funnel=Funnel(),
        diversity=diversity(machine, language, THRESHOLD, top_verbs),
        dedup=Dedup(_draw(near, sample), len(near)),
        shape=_shape_of(rows, tasks, language),
        tokens=Tokens([], None, None),
    )
    plots = write_plots(data_view, folder, only=PLOTS)
    parts = sections(data_view, source, len(rows), len(scored), plots)
    title = f"selfinstruct dataset report: {source.path.name}"
    html, md = folder / "index.html", folder / "report.md"
    write_text_atomic(html, render_html(title, parts, folder, language))
    write_text_atomic(md, render_markdown(title, parts))
    lines = summary(data_view, source, len(rows))
    lines.append(f"written: {html}, {md.name} and {len(plots)} plots in {folder}")
    return data_view, html, md, plots, "\n".join(lines)


def _scored(rows: list[Row]) -> list[Row]:
    if len(rows) <= SCORED_ROWS:
        return rows
    picked = sorted(random.Random(0).sample(range(len(rows)), SCORED_ROWS))
    return [rows[i] for i in picked]


def _nearest(rows: Sequence[Row], language: str) -> tuple[list[MachineInstruction], list]:
    """Each row's highest ROUGE-L F against the rows before it (exact), and the near duplicates."""
    machine, near = [], []
    with SimilarityIndex(get_tokenizer(language), THRESHOLD) as index:
        for n, row in enumerate(rows):
            found = index.check(row.instruction) if n else None
            score = None if found is None else found.max_score
            machine.append(MachineInstruction.model_construct(
                instruction=row.instruction, index=n, request=0, max_rouge=score,
                prompt_instructions=[], most_similar=[],
            ))  # fmt: skip
            if found is not None and found.reject and found.argmax is not None:
                earlier = index.texts[found.argmax]
                near.append(DedupSample(row.instruction, earlier, found.max_score, "too_similar"))
            index.add(row.instruction)
    return machine, near


def _draw(near: list[DedupSample], k: int) -> list[DedupSample]:
    drawn = random.Random("report:data").sample(near, min(k, len(near)))
    return sorted(drawn, key=lambda s: -s.score)


def _tasks(rows: list[Row]) -> dict[str, InstancesRecord]:
    """The rows grouped by instruction, as tasks with one instance a row."""
    tasks: dict[str, InstancesRecord] = {}
    for row in rows:
        task = tasks.get(row.instruction)
        if task is None:
            task = tasks[row.instruction] = InstancesRecord.model_construct(
                instruction=row.instruction, index=len(tasks), is_classification=False,
                instances=[], generated=0, dropped={}, finish_reason="", raw="",
            )  # fmt: skip
        task.instances.append(Instance.model_construct(input=row.input, output=row.output))
    return tasks


def _shape_of(rows: list[Row], tasks: dict[str, InstancesRecord], language: str) -> Shape:
    """The run report's shape of the tasks, with repeated instructions counted over the rows."""
    unique = [
        MachineInstruction.model_construct(instruction=text, index=i, request=0)
        for i, text in enumerate(tasks)
    ]
    found = shape(unique, {}, tasks, None, language)
    distinct = {" ".join(r.instruction.casefold().split()) for r in rows}
    found.duplicates["instructions"] = len(rows) - len(distinct)
    return found


def sections(
    data: ReportData, source: Source, rows: int, scored: int, plots: Sequence
) -> list[Section]:
    figures = {p.name: Figure(p.path.name, p.title) for p in plots}
    sampled = "" if scored == rows else f" (a seeded sample of {scored:,} rows)"
    head: list[Para | Table | Figure] = [
        Para(f"Dataset: {source.path} ({source.format}), {rows:,} rows; language "
             f"{data.language}; the instruction is compared (the first user turn of a chat)."),
    ]  # fmt: skip
    return [
        Section("Dataset", head),
        Section("Diversity", _diversity(data, figures, sampled)),
        Section("Near duplicates", _near(data, sampled)),
        Section("Shape of the data", _shape(data, figures)),
    ]


def _diversity(data: ReportData, figures: dict[str, Figure], sampled: str) -> list[Block]:
    d = data.diversity
    blocks: list[Block] = []
    if d.max_rouge:
        low = sum(v < 0.5 for v in d.max_rouge) / len(d.max_rouge)
        blocks.append(Para(
            f"Median highest ROUGE-L of a row against the rows before it{sampled}: "
            f"{statistics.median(d.max_rouge):.3f}; {low:.0%} are below 0.5 (paper Figure 3)."
        ))  # fmt: skip
    if "rouge" in figures:
        blocks.append(Figure(figures["rouge"].file, "Highest ROUGE-L against the rows before"))
    blocks.append(Para(f"{d.with_verb:,} of {d.instructions:,} instructions start with a verb; "
                       f"{d.distinct_verbs} most common shown (paper Figure 2)."))  # fmt: skip
    if "verbs" in figures:
        blocks.append(figures["verbs"])
    if d.verb_note:
        blocks.append(Para(d.verb_note))
    rows = [[f"#{i}", v.verb, f"{v.count:,}", ", ".join(f"{o} ({n})" for o, n in v.objects)]
            for i, v in enumerate(d.verbs, start=1)]  # fmt: skip
    if rows:
        blocks.append(Table(["rank", "verb", "instructions", "most common objects"], rows))
    return [*blocks, Para(HOW_VERBS)]


def _near(data: ReportData, sampled: str) -> list[Block]:
    d = data.dedup
    blocks: list[Block] = [Para(
        f"{d.similar_total:,} rows{sampled} have ROUGE-L above {THRESHOLD:g} to an earlier row "
        f"(exact repeats included): a run's similarity filter would reject them, and "
        f"`selfinstruct dedup` removes them. A sample of {len(d.similar)}, closest first:"
    )]  # fmt: skip
    if d.similar:
        blocks.append(
            Table(
                ["score", "row", "nearest earlier row"],
                [[f"{s.score:.3f}", s.candidate, s.nearest] for s in d.similar],
            )
        )
    return blocks


def _shape(data: ReportData, figures: dict[str, Figure]) -> list[Block]:
    s = data.shape
    m = s.machine
    per_task = m.instances_per_task
    med = lambda xs: f"{sorted(xs)[len(xs) // 2]}" if xs else ""  # noqa: E731
    table = Table(["", "rows"], [
        ["rows", f"{m.instances:,}"],
        ["distinct instructions", f"{len(per_task):,}"],
        ["rows per instruction (mean)", f"{m.instances / len(per_task):.2f}" if per_task else ""],
        ["empty inputs", f"{m.empty_input_share:.1%}" if m.empty_input_share is not None else ""],
        [f"median instruction length ({s.unit})", med(m.instruction_lengths)],
        [f"median input length ({s.unit})", med(m.input_lengths)],
        [f"median output length ({s.unit})", med(m.output_lengths)],
    ])  # fmt: skip
    scripts = Table(["text", "writing systems (count)"],
                    [[k, ", ".join(f"{w} {n:,}" for w, n in v.items()) or "none"]
                     for k, v in s.scripts.items()])  # fmt: skip
    dups = Table(["repeated exactly (case and spacing ignored)", "count"],
                 [[k, f"{v:,}"] for k, v in s.duplicates.items()])  # fmt: skip
    shown = [figures[n] for n in ("lengths", "tasks") if n in figures]
    return [table, *shown, Para("Language mix, by the writing system most letters are in:"),
            scripts, dups]  # fmt: skip


def summary(data: ReportData, source: Source, rows: int) -> list[str]:
    d, s = data.diversity, data.shape
    median = f"{statistics.median(d.max_rouge):.3f}" if d.max_rouge else "n/a"
    top = ", ".join(f"{v.verb} {v.count}" for v in d.verbs[:5]) or "none found"
    return [
        f"report of {source.path} ({source.format}, {rows:,} rows, {data.language})",
        f"diversity: median ROUGE-L to the nearest earlier row {median}; top verbs: {top}",
        f"near duplicates (ROUGE-L > {THRESHOLD:g}): {data.dedup.similar_total:,}; exact "
        f"repeats: {s.duplicates['instructions']:,} instructions, "
        f"{s.duplicates['examples']:,} whole rows",
    ]
