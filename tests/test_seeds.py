"""Seed loading: both formats, bundled sets, and errors that name file, line and field."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from selfinstruct import SeedError, load_seeds, summarize
from selfinstruct.cli import main

GOOD = {
    "id": "t1",
    "name": "greet",
    "instruction": "Write a greeting for a new colleague.",
    "instances": [{"input": "", "output": "Welcome aboard, we are glad you joined!"}],
    "is_classification": False,
}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_reads_seed_jsonl(tmp_path: Path) -> None:
    second = {**GOOD, "id": "t2", "is_classification": True}
    tasks = load_seeds(write_jsonl(tmp_path / "s.jsonl", [GOOD, second]))
    assert [t.id for t in tasks] == ["t1", "t2"]
    assert summarize(tasks).classification == 1


def test_reads_alpaca_json_grouping_instances(tmp_path: Path) -> None:
    rows = [
        {"instruction": "Add the numbers.", "input": "2 and 3", "output": "5"},
        {"instruction": "Add the numbers.", "input": "4 and 4", "output": "8"},
        {"instruction": "Name a color.", "input": "", "output": "Blue"},
    ]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows, indent=2), "utf-8")
    tasks = load_seeds(path)
    assert [len(t.instances) for t in tasks] == [2, 1]
    assert tasks[0].instances[1].input == "4 and 4"


@pytest.mark.parametrize(
    ("content", "line", "field"),
    [
        ('{"id": "t1", "name": "x"', 1, None),  # broken JSON
        (json.dumps({**GOOD, "instruction": "  "}), 1, "instruction"),  # empty field
        (json.dumps({k: v for k, v in GOOD.items() if k != "name"}), 1, "name"),  # missing
        (json.dumps({**GOOD, "is_classification": "maybe"}), 1, "is_classification"),  # type
        (json.dumps({**GOOD, "instances": []}), 1, "instances"),
        (
            json.dumps({**GOOD, "instances": [{"input": "a", "output": ""}]}),
            1,
            "instances.0.output",
        ),
        (json.dumps(GOOD) + "\n\n" + json.dumps(GOOD), 3, "id"),  # duplicate id
    ],
)
def test_errors_name_file_line_and_field(
    tmp_path: Path, content: str, line: int, field: str | None
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content + "\n", "utf-8")
    with pytest.raises(SeedError) as info:
        load_seeds(path)
    err = info.value
    assert (err.path, err.line, err.field) == (str(path), line, field)
    assert str(err).startswith(f"{path}:{line}")


def test_alpaca_error_names_the_line_of_the_object(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(
        '[\n  {"instruction": "A", "output": "B"},\n  {"instruction": "C"}\n]\n', "utf-8"
    )
    with pytest.raises(SeedError) as info:
        load_seeds(path)
    assert (info.value.line, info.value.field) == (3, "output")


def test_empty_file_and_wrong_encoding(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n", "utf-8")
    with pytest.raises(SeedError, match="empty"):
        load_seeds(empty)
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"id": "caf\xe9"}'.encode("latin-1"))
    with pytest.raises(SeedError, match="UTF-8") as info:
        load_seeds(latin)
    assert info.value.line == 2


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SeedError, match="not found"):
        load_seeds(tmp_path / "nope.jsonl")


@pytest.mark.parametrize(("name", "minimum"), [("en", 175), ("zh", 100)])
def test_bundled_sets_load_and_are_balanced(name: str, minimum: int) -> None:
    tasks = load_seeds(name)
    s = summarize(tasks)
    assert s.tasks >= minimum
    assert 0.2 <= s.classification_share <= 0.3
    assert all(t.instances and t.instances[0].output.strip() for t in tasks)
    assert len({t.name for t in tasks}) == s.tasks


def test_repo_seed_paths_are_the_bundled_files() -> None:
    root = Path(__file__).resolve().parents[1]
    for name in ("en", "zh"):
        assert load_seeds(root / "seeds" / name / "seed_tasks.jsonl") == load_seeds(name)


def test_cli_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seeds", "validate", "en"]) == 0
    assert "tasks" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({**GOOD, "instances": "none"}) + "\n", "utf-8")
    assert main(["seeds", "validate", str(bad)]) == 1
    assert f"{bad}:1: field 'instances'" in capsys.readouterr().err


def test_import_does_not_load_torch() -> None:
    code = "import selfinstruct, selfinstruct.cli, sys; assert 'torch' not in sys.modules, 'torch'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_two_seed_instructions_are_near_duplicates() -> None:
    """No pair in a bundled set above 0.7 ROUGE-L F.

    English: rouge-score itself (RougeScorer(["rougeL"], use_stemmer=False)). Chinese: rouge-score
    would see no tokens in most instructions, so each Han character is one token (other text as
    rouge-score's lowercase [a-z0-9] words), scored with rouge-score's own LCS F-measure.
    """
    from rouge_score import rouge_scorer, tokenizers

    from selfinstruct.similarity import tokenize_cjk_chars

    class CjkTokenizer(tokenizers.Tokenizer):
        def tokenize(self, text: str) -> list[str]:
            return tokenize_cjk_chars(text)

    for name, tokenizer in (("en", None), ("zh", CjkTokenizer())):
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=tokenizer)
        texts = [t.instruction for t in load_seeds(name)]
        worst = max(
            (scorer.score(a, b)["rougeL"].fmeasure, a, b)
            for i, a in enumerate(texts)
            for b in texts[i + 1 :]
        )
        assert worst[0] <= 0.7, f"{name}: {worst}"
        assert worst[0] > 0.2  # the tokenisation sees shared words at all
