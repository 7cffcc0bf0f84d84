"""Load and validate seed tasks: Self-Instruct seed JSONL, Alpaca JSON/JSONL, or a bundled set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import SeedError
from .jsonl import iter_jsonl, validate_row
from .records import Instance, SeedTask

BUNDLED = ("en", "zh")
_BOOL = TypeAdapter(bool)
"""How both seed formats read `is_classification` (true/false, yes/no, 1/0)."""


@dataclass(frozen=True)
class SeedSummary:
    """Counts a user checks before spending tokens on a seed set."""

    tasks: int
    classification: int
    instances: int

    @property
    def classification_share(self) -> float:
        return self.classification / self.tasks if self.tasks else 0.0


def bundled_seed_path(name: str) -> Path:
    """Path of a bundled seed set ("en" or "zh") inside the installed package."""
    if name not in BUNDLED:
        raise SeedError(name, None, None, f"no bundled seed set {name!r}; choose one of {BUNDLED}")
    ref = resources.files("selfinstruct") / "seeds" / name / "seed_tasks.jsonl"
    return Path(str(ref))


def load_seeds(source: str | Path) -> list[SeedTask]:
    """Read seed tasks from a bundled set name ("en", "zh") or a file in either supported format.

    Raises `SeedError` naming the file, line and field of the first problem found.
    """
    if isinstance(source, str) and source in BUNDLED:
        source = bundled_seed_path(source)
    path = Path(source)
    text = _read_text(path)
    if not text.strip():
        raise SeedError(str(path), None, None, "file is empty: expected seed tasks")
    if text.lstrip().startswith("["):
        rows = list(_json_array_rows(path, text))
    else:
        rows = list(_jsonl_rows(path))
    if not rows:
        raise SeedError(str(path), None, None, "file holds no seed tasks")
    if all("instances" not in row for _, row in rows):
        tasks = _alpaca_tasks(path, rows)
    else:
        tasks = [validate_row(SeedTask, row, path, line, SeedError) for line, row in rows]
    _check_unique_ids(path, tasks, [line for line, _ in rows] if len(rows) == len(tasks) else None)
    return tasks


def summarize(tasks: list[SeedTask]) -> SeedSummary:
    """Count tasks, classification tasks and instances."""
    return SeedSummary(
        tasks=len(tasks),
        classification=sum(t.is_classification for t in tasks),
        instances=sum(len(t.instances) for t in tasks),
    )


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SeedError(str(path), None, None, "file not found") from None
    except IsADirectoryError:
        raise SeedError(str(path), None, None, "is a directory, expected a seed file") from None
    except PermissionError:
        raise SeedError(str(path), None, None, "permission denied: cannot read the file") from None
    except OSError as exc:
        raise SeedError(str(path), None, None, f"cannot read the file: {exc.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SeedError(
            str(path), line, None, f"not valid UTF-8 (byte {exc.start}); re-save the file as UTF-8"
        ) from None


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, row in iter_jsonl(path, on_torn="error", error=SeedError):
        if not isinstance(row, dict):
            raise SeedError(str(path), number, None, "expected a JSON object on each line")
        yield number, row


def _json_array_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield the objects of a JSON array with the line each one starts on."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(str(path), exc.lineno, None, f"broken JSON: {exc.msg}") from None
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        row, end = decoder.raw_decode(text, pos)
        line = text.count("\n", 0, pos) + 1
        if not isinstance(row, dict):
            raise SeedError(str(path), line, None, "expected a JSON object for each task")
        yield line, row
        pos = end


def _alpaca_tasks(path: Path, rows: list[tuple[int, dict[str, Any]]]) -> list[SeedTask]:
    """Group Alpaca rows by instruction into seed tasks (one instance per row)."""
    by_instruction: dict[str, SeedTask] = {}
    for line, row in rows:
        fields = {"input": row.get("input", ""), "output": row.get("output")}
        example = validate_row(Instance, fields, path, line, SeedError)
        instruction = row.get("instruction")
        if not isinstance(instruction, str) or not instruction.strip():
            raise SeedError(str(path), line, "instruction", "must be a non-empty string")
        try:
            label = _BOOL.validate_python(row.get("is_classification", False))
        except ValidationError:
            raise SeedError(str(path), line, "is_classification", "must be true or false") from None
        task = by_instruction.get(instruction)
        if task is None:
            n = len(by_instruction)
            by_instruction[instruction] = SeedTask(
                id=f"alpaca_{n}",
                name=f"alpaca_{n}",
                instruction=instruction,
                instances=[example],
                is_classification=label,
            )
        else:
            task.instances.append(example)
    return list(by_instruction.values())


def _check_unique_ids(path: Path, tasks: list[SeedTask], lines: list[int] | None) -> None:
    seen: dict[str, int] = {}
    for i, task in enumerate(tasks):
        line = lines[i] if lines else None
        if task.id in seen:
            raise SeedError(
                str(path), line, "id", f"duplicate id {task.id!r} (first at line {seen[task.id]})"
            )
        seen[task.id] = line or 0
