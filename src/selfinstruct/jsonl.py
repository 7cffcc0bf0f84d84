"""Append-only JSONL files that survive crashes: whole lines only, resumable, never rewritten."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .errors import DataError

M = TypeVar("M", bound=BaseModel)


def read_jsonl(path: str | Path, model: type[M] | None = None) -> Iterator[Any]:
    """Yield the records of a JSONL file, validated against `model` when given.

    A last line without its newline is a write cut short by a crash: it is skipped here and
    removed by `JsonlWriter` before the next append.
    """
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb") as fh:
        data = fh.read()
    lines = data.split(b"\n")
    complete = lines[:-1]  # the piece after the last newline is empty or a torn write
    for number, raw in enumerate(complete, start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(str(path), number, None, f"broken JSON line: {exc}") from None
        if model is None:
            yield row
            continue
        try:
            yield model.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise DataError(str(path), number, field, err["msg"]) from None


def count_lines(path: str | Path) -> int:
    """Number of complete, non-blank lines."""
    return sum(1 for _ in read_jsonl(path))


class JsonlWriter:
    """Appends one JSON object per line, each flushed whole, so a crash loses at most the
    line being written and never leaves a torn line behind for the next run."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        _drop_torn_tail(self.path)
        self._fh = self.path.open("ab")

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: Iterable[BaseModel | dict[str, Any]]) -> None:
        payload = b"".join(_encode(r) for r in records)
        if not payload:
            return
        self._fh.write(payload)
        self._fh.flush()
        if self._fsync:
            os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write a JSON document through a temporary file and a rename: old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _encode(record: BaseModel | dict[str, Any]) -> bytes:
    obj = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


def _drop_torn_tail(path: Path) -> None:
    """Cut a trailing partial line (no newline) left by a crash mid-write."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        data = fh.read()
        fh.truncate(data.rfind(b"\n") + 1)
