"""The run report's plots: one PNG per view, drawn with matplotlib's Agg canvas (no display).

Figures are built with `matplotlib.figure.Figure`, never pyplot, so nothing global changes and
no window opens. Chinese words are drawn with a font that has CJK glyphs (`report_fonts`: the
system's or the `[zh]`/`[report]` extra's); without one, the verb chart numbers its bars, the
report's table beside it names them, and the chart's title says which extra to install.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError
from . import fonts as report_fonts
from .data import ReportData
from .fonts import CJK_FAMILIES, cjk_font, drawable

__all__ = ["CJK_FAMILIES", "Plot", "cjk_font", "drawable", "figures", "write_plots"]

MACHINE, SEED, DROP, OTHER = "#3b6ea8", "#e0a030", "#c8553d", "#bbbbbb"
OBJECT_COLOURS = ("#5b8fc7", "#8fb4dc", "#b9d0ea", "#dbe7f4")


@dataclass(frozen=True)
class Plot:
    """One written PNG and what it shows."""

    name: str
    path: Path
    title: str


def write_plots(data: ReportData, folder: Path, only: Sequence[str] | None = None) -> list[Plot]:
    """Draw every plot the data has material for into `folder` (those named in `only`, when
    given); return them in report order."""
    folder.mkdir(parents=True, exist_ok=True)
    plots = []
    for name, title, figure in figures(data, only):
        path = folder / f"{name}.png"
        figure.savefig(path, format="png", metadata={"Software": None})
        plots.append(Plot(name, path, title))
    return plots


def figures(data: ReportData, only: Sequence[str] | None = None) -> Iterator[tuple[str, str, Any]]:
    """Each plot's name, title and matplotlib Figure (those named in `only`, when given), drawn
    with the run language's fonts."""
    _require_matplotlib()
    from matplotlib.figure import Figure

    drawers: list[tuple[str, str, Callable[[Any, ReportData], None] | None]] = [
        ("funnel", "From candidates to exported rows", _funnel),
        (
            "drops",
            "Why candidates and instances were dropped",
            _drops if _has_drops(data) else None,
        ),
        ("rouge", "Highest ROUGE-L against the pool at acceptance (paper Figure 3)", _rouge),
        ("verbs", "Leading verbs and their objects (paper Figure 2)", _verbs),
        ("lengths", f"Lengths in {data.shape.unit}: machine tasks and seed tasks", _lengths),
        ("tasks", "Instances per task, classification tasks and empty inputs", _tasks),
        ("judge", "Judge scores of kept instances", _judge if data.funnel.judged else None),
        ("tokens", "Tokens (and estimated cost) per stage", _tokens),
    ]
    with report_fonts.fonts(data.language):
        for name, title, draw in drawers:
            if draw is not None and (only is None or name in only):
                figure = Figure(figsize=(9, 4.8), dpi=100, layout="constrained")
                draw(figure, data)
                yield name, title, figure


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ModuleNotFoundError:
        raise MissingDependencyError("matplotlib", "the run report", "report") from None


def _empty(ax: Any, text: str = "no data yet") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#777777", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _bars(ax: Any, labels: Sequence[str], values: Sequence[float], colour: str) -> None:
    """Horizontal bars, first label on top, each bar's value at its end."""
    if not values:
        _empty(ax, "none")
        return
    ys = range(len(values))[::-1]
    ax.barh(list(ys), values, color=colour)
    ax.set_yticks(list(ys), labels)
    top = max(values) or 1
    for y, v in zip(ys, values, strict=True):
        ax.text(v + top * 0.01, y, f"{v:,}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15)


def _funnel(fig: Any, d: ReportData) -> None:
    f = d.funnel
    left, right = fig.subplots(1, 2)
    _bars(
        left,
        ["candidates", "accepted", "classified", "tasks with instances", "tasks kept"],
        [f.candidates, f.accepted, f.classified, f.tasks, f.tasks_kept],
        MACHINE,
    )
    left.set_title("instructions")
    steps = [("instances generated", f.generated), ("instances kept", f.kept)]
    if f.judged:
        steps.append(("instances judged", f.judged))
    if f.exported is not None:
        steps.append(("rows exported", f.exported))
    _bars(right, [s for s, _ in steps], [n for _, n in steps], MACHINE)
    right.set_title("examples")


def _has_drops(d: ReportData) -> bool:
    f = d.funnel
    return bool(f.rejected or f.instance_dropped or f.tasks_dropped or f.export_dropped)


def _drops(fig: Any, d: ReportData) -> None:
    f = d.funnel
    left, right = fig.subplots(1, 2)
    _bars(left, list(f.rejected), list(f.rejected.values()), DROP)
    left.set_title("candidate instructions rejected")
    later = {**f.instance_dropped}
    later.update({f"task: {k}": v for k, v in f.tasks_dropped.items()})
    later.update({f"export: {k}": v for k, v in f.export_dropped.items()})
    _bars(right, list(later), list(later.values()), DROP)
    right.set_title("instances (and tasks) dropped")


def _rouge(fig: Any, d: ReportData) -> None:
    ax = fig.subplots()
    values = d.diversity.max_rouge
    if not values:
        _empty(ax)
        return
    ax.hist(values, bins=[i / 20 for i in range(21)], color=MACHINE, edgecolor="white")
    median = d.diversity.median_rouge
    ax.axvline(median, color="black", linewidth=1, label=f"median {median:.2f}")
    if d.diversity.threshold is not None:
        ax.axvline(d.diversity.threshold, color=DROP, linestyle="--", linewidth=1,
                   label=f"rejection threshold {d.diversity.threshold:g}")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel("ROUGE-L F with the most similar instruction in the pool")
    ax.set_ylabel("accepted instructions")
    ax.legend(frameon=False)


def _verbs(fig: Any, d: ReportData) -> None:
    ax = fig.subplots()
    verbs = d.diversity.verbs
    if not verbs:
        _empty(ax, d.diversity.verb_note or "no leading verbs found yet")
        return
    words = (v.verb + "".join(o for o, _ in v.objects) for v in verbs)
    named = all(report_fonts.drawable(w, d.language) for w in words)
    ys = list(range(len(verbs)))[::-1]
    for y, v in zip(ys, verbs, strict=True):
        start = 0
        for i, (obj, n) in enumerate(v.objects):
            ax.barh(y, n, left=start, color=OBJECT_COLOURS[i % len(OBJECT_COLOURS)],
                    edgecolor="white")  # fmt: skip
            if named and n >= v.count * 0.12:
                ax.text(start + n / 2, y, obj[:14], ha="center", va="center", fontsize=7)
            start += n
        if v.count > start:
            ax.barh(y, v.count - start, left=start, color=OTHER, edgecolor="white")
    labels = [v.verb if named else f"#{i}" for i, v in enumerate(verbs, start=1)]
    ax.set_yticks(ys, labels)
    ax.set_xlabel(
        "instructions starting with the verb (segments: its most common objects; grey: the rest)"
    )
    if not named:
        ax.set_title(
            f"no font with Chinese glyphs found, verbs numbered as in the table: "
            f"{report_fonts.INSTALL_HINT}",
            fontsize=8,
        )


def _hist(ax: Any, mine: Sequence[int], seeds: Sequence[int] | None, title: str) -> None:
    if not mine and not seeds:
        _empty(ax)
        ax.set_title(title)
        return
    top = max([*mine, *(seeds or []), 1])
    bins = min(30, top + 1)
    for values, colour, label in ((mine, MACHINE, "machine"), (seeds, SEED, "seed")):
        if values:
            ax.hist(values, bins=bins, range=(0, top + 1), weights=[1 / len(values)] * len(values),
                    histtype="step", linewidth=1.5, color=colour, label=label)  # fmt: skip
    ax.set_title(title)
    ax.set_ylabel("share")
    ax.legend(frameon=False)


def _lengths(fig: Any, d: ReportData) -> None:
    s = d.shape
    seeds = s.seeds
    for ax, (title, mine, theirs) in zip(
        fig.subplots(1, 3),
        [
            (
                "instruction",
                s.machine.instruction_lengths,
                seeds.instruction_lengths if seeds else None,
            ),
            ("input", s.machine.input_lengths, seeds.input_lengths if seeds else None),
            ("output", s.machine.output_lengths, seeds.output_lengths if seeds else None),
        ],
        strict=True,
    ):
        _hist(ax, mine, theirs, f"{title} ({s.unit})")


def _tasks(fig: Any, d: ReportData) -> None:
    left, right = fig.subplots(1, 2)
    s = d.shape
    sides = [("machine", s.machine, MACHINE)] + ([("seed", s.seeds, SEED)] if s.seeds else [])
    top = max([n for _, side, _ in sides for n in side.instances_per_task] + [0])
    if not s.machine.instances_per_task:
        _empty(left)
    else:
        width = 0.8 / len(sides)
        for i, (label, side, colour) in enumerate(sides):
            counts = [side.instances_per_task.count(n) / len(side.instances_per_task)
                      for n in range(top + 1)]  # fmt: skip
            left.bar([n + i * width for n in range(top + 1)], counts, width, color=colour,
                     label=label)  # fmt: skip
        left.set_xticks([n + width * (len(sides) - 1) / 2 for n in range(top + 1)],
                        [str(n) for n in range(top + 1)])  # fmt: skip
        left.set_xlabel("instances kept per task")
        left.set_ylabel("share of tasks")
        left.legend(frameon=False)
    names = ["classification tasks", "empty inputs"]
    width = 0.8 / len(sides)
    for i, (label, side, colour) in enumerate(sides):
        shares = [side.classification_share or 0.0, side.empty_input_share or 0.0]
        right.bar([n + i * width for n in range(2)], shares, width, color=colour, label=label)
    right.set_xticks([n + width * (len(sides) - 1) / 2 for n in range(2)], names)
    right.set_ylim(0, 1)
    right.set_ylabel("share")
    right.legend(frameon=False)


def _judge(fig: Any, d: ReportData) -> None:
    ax = fig.subplots()
    scores = d.funnel.judge_scores
    _bars(ax, [f"score {k}" if k.isdigit() else k for k in scores], list(scores.values()), MACHINE)
    ax.set_xlabel("instances")


def _tokens(fig: Any, d: ReportData) -> None:
    t = d.tokens
    priced = t.priced and t.stages
    axes = fig.subplots(1, 2) if priced else [fig.subplots()]
    ax = axes[0]
    if not t.stages:
        _empty(ax, "no tokens recorded yet")
        return
    names = [s.stage for s in t.stages]
    prompt = [s.prompt_tokens for s in t.stages]
    completion = [s.completion_tokens for s in t.stages]
    ax.bar(names, prompt, color=MACHINE, label="prompt")
    ax.bar(names, completion, bottom=prompt, color=SEED, label="completion")
    ax.set_ylabel("tokens")
    ax.legend(frameon=False)
    if priced:
        costs = [s.cost or 0.0 for s in t.stages]
        axes[1].bar(names, costs, color=DROP)
        axes[1].set_ylabel("estimated cost (at the prices given)")
        for x, c in enumerate(costs):
            axes[1].text(x, c, f"{c:.4g}", ha="center", va="bottom", fontsize=8)
