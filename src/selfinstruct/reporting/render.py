"""Render the report's sections as one self-contained HTML page and as Markdown.

The page embeds every PNG as a base64 `data:` URI and carries its own CSS: it opens offline,
from an e-mail attachment or a CI artefact, and loads nothing from the network. The Markdown
holds the same sections and links the PNG files that sit beside it.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

from .sections import Block, Figure, Para, Section, Table

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; vertical-align: top; text-align: left;
         white-space: pre-wrap; max-width: 420px; overflow-wrap: anywhere; }
th { background: #f4f4f4; }
td.n { text-align: right; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { color: #555; font-size: 0.9em; }
.bad { color: #b00; font-weight: bold; }
"""


def render_html(title: str, sections: Sequence[Section], folder: Path, lang: str = "en") -> str:
    """The whole page; figures are read from `folder` and embedded."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for section in sections:
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        parts += [_html_block(b, folder) for b in section.blocks]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_block(block: Block, folder: Path) -> str:
    if isinstance(block, Para):
        return f"<p>{html.escape(block.text)}</p>"
    if isinstance(block, Table):
        head = "".join(f"<th>{html.escape(h)}</th>" for h in block.headers)
        rows = "".join("<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in block.rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    data = base64.b64encode((folder / block.file).read_bytes()).decode("ascii")
    alt = html.escape(block.title)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{alt}">'
        f"<figcaption>{alt}</figcaption></figure>"
    )


def _html_cell(text: str) -> str:
    plain = text.replace(",", "").replace(".", "").replace("%", "")
    numeric = plain.isdigit() and bool(text)
    if text.startswith("MISMATCH"):
        return f'<td class="bad">{html.escape(text)}</td>'
    return f'<td class="n">{html.escape(text)}</td>' if numeric else f"<td>{html.escape(text)}</td>"


def render_markdown(title: str, sections: Sequence[Section]) -> str:
    """The same sections as Markdown; figures link the PNG files beside it."""
    lines = [f"# {title}"]
    for section in sections:
        lines += ["", f"## {section.title}"]
        for block in section.blocks:
            lines += ["", *_md_block(block)]
    return "\n".join(lines) + "\n"


def _md_block(block: Block) -> list[str]:
    if isinstance(block, Para):
        return [_md_text(block.text)]
    if isinstance(block, Figure):
        return [f"![{_md_text(block.title)}]({block.file})"]
    rows = [block.headers, ["---"] * len(block.headers), *block.rows]
    return ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]


def _md_text(text: str) -> str:
    """Plain text that Markdown shows as written (no accidental emphasis, links or HTML)."""
    for ch in "\\`*_[]<>#|":
        text = text.replace(ch, "\\" + ch)
    return text


def _md_cell(text: str) -> str:
    """One table cell: indentation kept (as no-break spaces), line breaks as <br>."""
    if text == "---" or not text.strip():
        return text or " "
    indent = len(text) - len(text.lstrip(" "))
    return "\u00a0" * indent + _md_text(text.strip()).replace("\n", "<br>")
