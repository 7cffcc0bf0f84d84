"""Any instruction dataset a user holds, read as plain rows and written back in its own format.

Containers: JSONL, a JSON array, parquet, a `datasets` directory (`save_to_disk`). Row shapes:
Alpaca (`instruction`, `input`, `output`), ShareGPT (`conversations` of `from`/`value`), OpenAI
`messages`, TRL `prompt`/`completion`. Both are detected from the file; every row is read into
a `Row` (the instruction is the first user turn of a chat), and a bad row is a DataError naming
the file, the line (JSONL, JSON) or row (parquet, datasets) and the field.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ..errors import DataError
from .jsonl import iter_jsonl, write_json_atomic, write_jsonl_atomic

Container = Literal["jsonl", "json", "parquet", "datasets"]
SHAPES = {
    "instruction": "alpaca",
    "conversations": "sharegpt",
    "messages": "messages",
    "prompt": "prompt_completion",
}
"""The key that tells each row shape, in the order they are tried."""
USER = ("user", "human")
ASSISTANT = ("assistant", "gpt", "bot", "model")
BATCH = 10_000


@dataclass(frozen=True, slots=True)
class Row:
    """One row's texts; `index` is its 0-based position in the file, `line` where it starts
    (the 1-based row number for parquet and datasets)."""

    index: int
    line: int
    instruction: str
    input: str
    output: str
    score: float | None = None

    def text(self, compare: str = "instruction") -> str:
        """The text compared: the instruction, or with `instruction_input` the input too."""
        if compare == "instruction_input" and self.input:
            return f"{self.instruction}\n{self.input}"
        return self.instruction


@dataclass(frozen=True)
class Source:
    """A dataset file or directory, its container and its row shape."""

    path: Path
    container: Container
    shape: str

    @property
    def format(self) -> str:
        """How the summary names it: `alpaca jsonl`, `sharegpt json`, `messages parquet`."""
        return f"{self.shape} {self.container}"


def open_source(path: str | Path) -> Source:
    """Detect the container and row shape of `path`; a DataError when it is neither."""
    path = Path(path)
    if not path.exists():
        raise DataError(str(path), None, None, "no such file or directory")
    container = _container(path)
    for line, obj in _objects(path, container, None, limit=1):
        return Source(path, container, _shape(path, line, obj))
    raise DataError(str(path), None, None, "holds no rows")


def _container(path: Path) -> Container:
    if path.is_dir():
        if (path / "dataset_dict.json").exists():
            splits = ", ".join(sorted(p.name for p in path.iterdir() if p.is_dir()))
            raise DataError(str(path), None, None, f"a DatasetDict: pass one split ({splits})")
        if (path / "state.json").exists() or (path / "dataset_info.json").exists():
            return "datasets"
        raise DataError(str(path), None, None, "a directory, but not a saved `datasets` dataset")
    if path.suffix.lower() == ".parquet":
        return "parquet"
    with path.open("rb") as fh:
        head = fh.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "json" if head.startswith(b"[") else "jsonl"


def _shape(path: Path, line: int, obj: Any) -> str:
    if isinstance(obj, dict):
        for key, shape in SHAPES.items():
            if key in obj:
                return shape
        found = ", ".join(sorted(map(str, obj))) or "none"
        problem = f"no instruction field: expected one of {', '.join(SHAPES)}; found {found}"
    else:
        problem = "expected a JSON object for each row"
    raise DataError(str(path), line, None, problem)


def read_rows(source: Source, order_by: str | None = None) -> Iterator[Row]:
    """Every row of `source` in file order; `order_by` names a numeric column read as `score`."""
    columns = None
    if source.container in ("parquet", "datasets"):
        key = next(k for k, s in SHAPES.items() if s == source.shape)
        wanted = [key, "input", "output", "completion", order_by]
        columns = [c for c in dict.fromkeys(wanted) if c and c in _columns(source)]
    for index, (line, obj) in enumerate(_objects(source.path, source.container, columns)):
        yield _row(source, index, line, obj, order_by)


def _row(source: Source, index: int, line: int, obj: Any, order_by: str | None) -> Row:
    where = str(source.path)
    if not isinstance(obj, dict):
        raise DataError(where, line, None, "expected a JSON object for each row")
    if source.shape == "alpaca":
        instruction = _text(obj, "instruction", where, line, required=True)
        row_input, output = _text(obj, "input", where, line), _text(obj, "output", where, line)
    else:
        instruction, output = _chat(source.shape, obj, where, line)
        row_input = ""
    score = None
    if order_by is not None:
        score = _score(obj.get(order_by), where, line, order_by)
    return Row(index, line, instruction, row_input, output, score)


def _text(obj: dict[str, Any], key: str, where: str, line: int, required: bool = False) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise DataError(where, line, key, "must be a non-empty string" if required else "not text")
    return value


def _chat(shape: str, obj: dict[str, Any], where: str, line: int) -> tuple[str, str]:
    """The first user turn and the assistant turn after it, in any of the chat shapes."""
    key = next(k for k, s in SHAPES.items() if s == shape)
    turns = obj.get(key)
    if shape == "prompt_completion" and isinstance(turns, str):  # TRL's standard (text) form
        completion = obj.get("completion")
        if not turns.strip():
            raise DataError(where, line, key, "must be a non-empty string")
        return turns, completion if isinstance(completion, str) else ""
    if shape == "prompt_completion":
        completion = obj.get("completion")
        turns = [*(turns or []), *(completion if isinstance(completion, list) else [])]
    if not isinstance(turns, list) or not turns:
        raise DataError(where, line, key, "must be a non-empty list of turns")
    role_key, text_key = ("from", "value") if shape == "sharegpt" else ("role", "content")
    instruction, output = None, ""
    for number, turn in enumerate(turns):
        if not isinstance(turn, dict) or not isinstance(turn.get(text_key), str):
            raise DataError(where, line, f"{key}.{number}.{text_key}", "must be text")
        role = str(turn.get(role_key, "")).lower()
        if instruction is None and role in USER:
            instruction = turn[text_key]
        elif instruction is not None and role in ASSISTANT:
            output = turn[text_key]
            break
    if not instruction or not instruction.strip():
        raise DataError(where, line, key, f"no {role_key} {USER[0]!r}/{USER[1]!r} turn with text")
    return instruction, output


def _score(value: Any, where: str, line: int, column: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        problem = "missing" if value is None else f"{value!r} is not a number"
        raise DataError(where, line, column, f"{problem}: --order-by needs a number on every row")
    return float(value)


# -- containers -------------------------------------------------------------------------------


def _objects(
    path: Path, container: Container, columns: list[str] | None, limit: int | None = None
) -> Iterator[tuple[int, Any]]:
    """(line or row number, object) of each row, streamed."""
    if container == "jsonl":
        rows: Iterable[tuple[int, Any]] = iter_jsonl(path, on_torn="error")
    elif container == "json":
        rows = _json_array(path)
    else:
        rows = _arrow_rows(path, container, columns)
    for n, item in enumerate(rows):
        if limit is not None and n >= limit:
            return
        yield item


def _json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array, each with the line it starts on."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise DataError(str(path), None, None, f"not valid UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise DataError(str(path), exc.lineno, None, f"broken JSON: {exc.msg}") from None
    if not isinstance(data, list):
        raise DataError(str(path), None, None, "expected a JSON array of rows")
    decoder, pos, line, counted = json.JSONDecoder(), text.index("[") + 1, 1, 0
    for item in data:
        while text[pos] in " \t\r\n,":
            pos += 1
        line += text.count("\n", counted, pos)
        counted = pos
        yield line, item
        pos = decoder.raw_decode(text, pos)[1]


def _columns(source: Source) -> list[str]:
    return list(_arrow_schema(source.path, source.container).names)


def _arrow_schema(path: Path, container: Container) -> Any:
    if container == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path)
    return _load_dataset(path).data.schema


def _load_dataset(path: Path) -> Any:
    import datasets

    try:
        return datasets.load_from_disk(str(path))
    except (FileNotFoundError, ValueError) as exc:
        raise DataError(str(path), None, None, f"cannot load the dataset: {exc}") from None


def _arrow_rows(path: Path, container: Container, columns: list[str] | None) -> Iterator:
    if container == "parquet":
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(path).iter_batches(batch_size=BATCH, columns=columns)
    else:
        table = _load_dataset(path).data.table
        batches = (table.select(columns) if columns else table).to_batches(BATCH)
    number = 0
    for batch in batches:
        for obj in batch.to_pylist():
            number += 1
            yield number, obj


# -- writing ----------------------------------------------------------------------------------


def write_kept(source: Source, keep: set[int], dest: Path) -> int:
    """Write the rows of `source` whose index is in `keep` to `dest`, in the same format."""
    if source.container == "jsonl":
        objs = (o for i, (_, o) in enumerate(_objects(source.path, "jsonl", None)) if i in keep)
        write_jsonl_atomic(dest, objs)
    elif source.container == "json":
        rows = [o for i, (_, o) in enumerate(_json_array(source.path)) if i in keep]
        write_json_atomic(dest, rows)
    elif source.container == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(source.path)
        tmp = dest.with_name(dest.name + ".tmp")
        pq.write_table(table.take(sorted(keep)), tmp)
        os.replace(tmp, dest)
    else:
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _load_dataset(source.path).select(sorted(keep)).save_to_disk(str(tmp))
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)
    return len(keep)
