"""The values of an instance answer's fields: emphasis left around them, markers of no input.

Models wrap values in markdown ("**Positive**", or "**Output: y**" that leaves "y**") and mark a
task without input in many ways ("None", "<noinput>", "N/A", "无"); both are read here (pure).
"""

from __future__ import annotations

NO_INPUT = {
    "", "none", "<none>", "(none)", "n/a", "na", "no input", "<noinput>", "<no input>", "-",
    "无", "（无）", "(无)", "无输入", "没有", "空", "<无>",
}  # fmt: skip


def value_of(lines: list[str]) -> str:
    """Join a field's lines, trimming blank edges and markdown emphasis left around the value."""
    text = "\n".join(lines).strip()
    for mark in ("**", "__"):
        if not (text.startswith(mark) or text.endswith(mark)):
            continue
        count = text.count(mark)
        if count == 2 and len(text) > 4 and text.startswith(mark) and text.endswith(mark):
            text = text[2:-2].strip()  # "**y**"
        elif count % 2 and text.startswith(mark):
            text = text[2:].strip()  # "**y": emphasis opened and never closed
        elif count % 2 and text.endswith(mark):
            text = text[:-2].strip()  # "y**" left by "**Output: y**"
    return text


def is_no_input(value: str) -> bool:
    """Whether an input is a marker of no input ("None.", "N/A", "无。")."""
    return value.strip().strip("。.").strip().lower() in NO_INPUT
