"""Append-only JSONL: whole lines only, torn tails dropped, resumable."""

from pathlib import Path

import pytest

from selfinstruct.errors import DataError
from selfinstruct.runtime.jsonl import JsonlWriter, read_jsonl, write_jsonl_atomic
from selfinstruct.runtime.records import AlpacaExample


def test_torn_last_line_is_ignored_then_cut(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    with JsonlWriter(path) as out:
        out.write({"a": 1})
        out.write_many([{"a": 2}, {"a": 3}])
    with path.open("ab") as fh:
        fh.write(b'{"a": 4, "b"')  # a crash mid-write
    assert [r["a"] for r in read_jsonl(path)] == [1, 2, 3]
    with JsonlWriter(path) as out:
        out.write({"a": 5})
    assert [r["a"] for r in read_jsonl(path)] == [1, 2, 3, 5]
    assert path.read_bytes().endswith(b"\n") and len(list(read_jsonl(path))) == 4


def test_validation_error_names_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('{"instruction": "x", "output": "y"}\n{"instruction": "x"}\n', "utf-8")
    with pytest.raises(DataError) as info:
        list(read_jsonl(path, AlpacaExample))
    assert (info.value.line, info.value.field) == (2, "output")


def test_unicode_is_kept_readable(tmp_path: Path) -> None:
    path = tmp_path / "zh.jsonl"
    with JsonlWriter(path, fsync=False) as out:
        out.write(AlpacaExample(instruction="写一首诗", output="秋风"))
    assert "写一首诗" in path.read_text("utf-8")
    assert next(read_jsonl(path, AlpacaExample)).output == "秋风"


def test_a_whole_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / "pool.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3}', encoding="utf-8")  # a torn-free last line

    def doubled_then_broken():
        for row in read_jsonl(path):  # read from the file being replaced, as it is written
            if row["a"] == 3:
                raise RuntimeError("stopped half way")
            yield {"a": row["a"] * 2}

    with pytest.raises(RuntimeError):
        write_jsonl_atomic(path, doubled_then_broken())
    assert path.read_text(encoding="utf-8") == '{"a": 1}\n{"a": 2}\n{"a": 3}'
    assert [p.name for p in tmp_path.iterdir()] == ["pool.jsonl"]  # no temporary file left
    write_jsonl_atomic(path, ({"a": row["a"] * 2} for row in read_jsonl(path)))
    assert list(read_jsonl(path)) == [{"a": 2}, {"a": 4}, {"a": 6}]
