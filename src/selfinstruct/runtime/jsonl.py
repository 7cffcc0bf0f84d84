"""JSONL files: one reader with one torn-tail rule, and an append-only writer that survives crashes.

The torn-tail rule, used for every JSONL file selfinstruct reads: a last line without its
newline is whole when it parses as JSON, and torn (a write cut short by a crash) when it does
not. Our own append-only files skip a torn tail and `JsonlWriter` cuts it before the next
append; a user's file (seeds, training data) with a torn tail is an error naming the line.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import DataError

M = TypeVar("M", bound=BaseModel)
OnTorn = Literal["skip", "error"]


def iter_jsonl(
    path: str | Path,
    *,
    on_torn: OnTorn = "skip",
    error: type[DataError] = DataError,
) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed JSON) for each non-blank line; see the module's torn-tail rule.

    `error` is the DataError subclass raised for a broken line (SeedError for seed files).
    """
    path = Path(path)
    if not path.exists():
        return
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a BOM left by some editors
                raw = raw[3:]
            if not raw.strip():
                continue
            torn = not raw.endswith(b"\n")  # only the last line can lack its newline
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                if torn and on_torn == "skip":
                    return  # a write cut short by a crash: the writer cuts it before appending
                if torn:
                    problem = "line cut short (incomplete JSON, no newline)"
                elif isinstance(exc, UnicodeDecodeError):
                    problem = f"not valid UTF-8 (byte {exc.start}); save the file as UTF-8"
                else:
                    problem = f"broken JSON: {exc.msg}"
                raise error(str(path), number, None, problem) from None
            yield number, row


def read_jsonl(
    path: str | Path, model: type[M] | None = None, *, on_torn: OnTorn = "skip"
) -> Iterator[Any]:
    """Yield the records of a JSONL file, validated against `model` when given."""
    for number, row in iter_jsonl(path, on_torn=on_torn):
        if model is None:
            yield row
        else:
            yield validate_row(model, row, path, number)


def validate_row(
    model: type[M], row: Any, path: str | Path, line: int, error: type[DataError] = DataError
) -> M:
    """`model.model_validate(row)`, with a failure named by file, line and field."""
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        raise error(str(path), line, field, err["msg"]) from None


class JsonlWriter:
    """Appends JSON objects one per line; each `write_many` is flushed (and fsynced) whole, so a
    crash loses at most the batch being written and never leaves a torn line for the next run."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fsync = fsync
        _mend_tail(self.path)
        self._fh = self.path.open("ab")

    def write(self, record: BaseModel | dict[str, Any]) -> None:
        self.write_many([record])

    def write_many(self, records: Iterable[BaseModel | dict[str, Any]]) -> None:
        payload = b"".join(encode_line(r) for r in records)
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
    write_text_atomic(path, dumps(obj, indent=2) + "\n")


def write_text_atomic(path: str | Path, text: str | bytes) -> None:
    """Replace `path` with `text` through a temporary file and a rename."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    with _replacing(path) as fh:
        fh.write(data)


def write_jsonl_atomic(path: str | Path, rows: Iterable[BaseModel | dict[str, Any]]) -> None:
    """A whole JSONL file (derived data such as exports), written line by line to a temporary
    file and replaced in one rename (`rows` may be read from `path` itself as they are written)."""
    with _replacing(path) as fh:
        for row in rows:
            fh.write(encode_line(row))


@contextlib.contextmanager
def _replacing(path: str | Path) -> Iterator[IO[bytes]]:
    """A file that replaces `path` when the block ends without an error (old or new, never
    half); on an error `path` is left as it was and the temporary file removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` (UTF-8 as is) that never fails on lone surrogates: they become U+FFFD."""
    text = json.dumps(obj, ensure_ascii=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(_scrub(obj), ensure_ascii=False, **kwargs)
    return text


def encode_line(record: BaseModel | dict[str, Any]) -> bytes:
    """One JSONL line, newline included."""
    obj = record.model_dump(mode="json") if isinstance(record, BaseModel) else record
    return (dumps(obj) + "\n").encode("utf-8")


def scrub_text(text: str) -> str:
    """`text` with lone surrogates (which UTF-8 cannot hold) replaced by U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _scrub(obj: Any) -> Any:
    if isinstance(obj, str):
        return scrub_text(obj)
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_scrub(v) for v in obj]
    return obj


def _mend_tail(path: Path) -> None:
    """Before appending: end a whole last line with its newline, or cut a torn one."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        data = fh.read()
        start = data.rfind(b"\n") + 1
        try:
            json.loads(data[start:].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            fh.truncate(start)
            return
        fh.write(b"\n")
