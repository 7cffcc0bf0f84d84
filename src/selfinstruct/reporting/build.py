"""`selfinstruct.report`: see the data before training on it.

Writes `DIR/report/index.html` (one self-contained page), `DIR/report/report.md` (the same
content) and the plots as PNG files beside them, from whatever the run directory holds: a
finished run, one still going, or one that was interrupted. Not a pipeline stage: it only reads
the run's files (`report_data`, `report_shape`), draws (`report_plots`) and writes the page
(`report_sections`, `report_render`). See docs/report.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import RunConfig
from ..errors import ConfigError
from ..runtime.jsonl import write_text_atomic
from .data import ReportData, collect
from .plots import write_plots
from .render import render_html, render_markdown
from .sections import sections, summary

REPORT_DIR = "report"


@dataclass
class ReportResult:
    """The files written, the numbers behind them, and a short text summary."""

    out_dir: Path
    html: Path
    markdown: Path
    plots: list[Path]
    data: ReportData
    summary: str

    def __str__(self) -> str:
        return self.summary


def report(
    out_dir: str | Path | RunConfig | None = None,
    *,
    data: str | Path | None = None,
    price_input: float | None = None,
    price_output: float | None = None,
    sample: int = 12,
    top_verbs: int = 20,
) -> ReportResult:
    """Write the run report of `out_dir` (a run directory, or a RunConfig naming one).

    Prices are per million prompt / completion tokens; given here they win over a RunConfig's
    `[backend] price_input` / `price_output`. `sample` is how many rejected candidates the
    dedup table shows, `top_verbs` how many leading verbs the diversity chart shows. With
    `data` (any dataset `selfinstruct dedup` reads), the views that need no run, written to
    `out_dir` (default: `<data>.report/`); see reporting/dataset.py.
    """
    if data is not None:
        from .dataset import dataset_report

        where = out_dir.out if isinstance(out_dir, RunConfig) else out_dir
        found, html, md, plots, text = dataset_report(
            data, where, sample=sample, top_verbs=top_verbs
        )
        return ReportResult(html.parent, html, md, [p.path for p in plots], found, text)
    if out_dir is None:
        raise ConfigError("nothing to report on: pass a run directory (--out DIR) or --data FILE")
    if isinstance(out_dir, RunConfig):
        config = out_dir
        if config.out is None:
            raise ConfigError("no run directory: pass --out DIR or set out = ... in the config")
        out_dir = config.out
        price_input = config.backend.price_input if price_input is None else price_input
        price_output = config.backend.price_output if price_output is None else price_output
    found = collect(
        out_dir,
        price_input=price_input,
        price_output=price_output,
        sample=sample,
        top_verbs=top_verbs,
    )
    folder = found.root / REPORT_DIR
    plots = write_plots(found, folder)
    parts = sections(found, plots)
    title = f"selfinstruct run report: {found.root.name or found.root}"
    html_path, md_path = folder / "index.html", folder / "report.md"
    write_text_atomic(html_path, render_html(title, parts, folder, found.language))
    write_text_atomic(md_path, render_markdown(title, parts))
    lines = [
        f"report of {found.root} ({found.language}; "
        + (", ".join(f"{k} {v}" for k, v in found.status.items()) or "nothing run yet")
        + ")",
        *summary(found),
        f"written: {html_path}, {md_path.name} and {len(plots)} plots in {folder}",
    ]
    return ReportResult(
        found.root, html_path, md_path, [p.path for p in plots], found, "\n".join(lines)
    )
