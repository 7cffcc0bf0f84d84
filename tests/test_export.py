"""Export: Alpaca/ShareGPT/messages files, seeds, seeded split, determinism, to_dataset, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pytest

from selfinstruct.cli import main
from selfinstruct.errors import DataError
from selfinstruct.export import export_run, split_tasks, to_dataset
from selfinstruct.instances import InstancesRecord
from selfinstruct.jsonl import JsonlWriter
from selfinstruct.records import Instance
from selfinstruct.rundir import RunDir
from selfinstruct.seeds import load_seeds

TASKS = {
    "Square the number.": [("3", "9"), ("5", "25")],
    "Name a fruit that is red.": [("", "A strawberry."), ("", "A cherry.")],
    "Is the word a noun? Answer Yes or No.": [("table", "Yes"), ("quickly", "No")],
    "Translate the word into French.": [("cat", "chat")],
    "Write a joke about cats.": [],  # every instance dropped: not exported
}


def make_run(root: Path) -> RunDir:
    """A run directory as the instances stage leaves it (tasks in a scrambled order)."""
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": "en", "language": "en"})
    with JsonlWriter(rundir.instances) as out:
        for i, (text, pairs) in enumerate(reversed(TASKS.items())):
            out.write(
                InstancesRecord(
                    instruction=text,
                    index=i,
                    is_classification="Yes or No" in text,
                    instances=[Instance(input=a, output=b) for a, b in pairs],
                    generated=len(pairs),
                    dropped={},
                    task_dropped=None if pairs else "no_instances",
                    finish_reason="stop",
                    raw="",
                )
            )
    return rundir


def read(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def test_alpaca_rows_are_sorted_complete_and_deterministic(tmp_path: Path) -> None:
    rundir = make_run(tmp_path)
    result = export_run(tmp_path)
    rows = read(rundir.alpaca)
    assert len(rows) == 7 == result.stats["examples"] == result.stats["train"]
    assert all(set(r) == {"instruction", "input", "output"} and r["output"] for r in rows)
    assert rows == sorted(rows, key=lambda r: (r["instruction"], r["input"], r["output"]))
    assert "Write a joke about cats." not in {r["instruction"] for r in rows}
    first = rundir.alpaca.read_bytes()
    export_run(tmp_path)
    assert rundir.alpaca.read_bytes() == first
    loaded = datasets.load_dataset(
        "json", data_files=str(rundir.alpaca), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert loaded.num_rows == 7 and loaded.column_names == ["instruction", "input", "output"]


def test_seeds_included_on_request_and_stats_add_up(tmp_path: Path) -> None:
    make_run(tmp_path)
    seeds = load_seeds("en")
    result = export_run(tmp_path, include_seeds=True)
    s = result.stats
    assert s["seed_tasks"] == len(seeds)
    assert s["seed_examples"] == sum(len(t.instances) for t in seeds)
    assert s["examples"] == s["machine_examples"] + s["seed_examples"] - s["duplicates"]
    assert s["examples"] == s["train"] + s["validation"]
    assert len(read(tmp_path / "alpaca.jsonl")) == s["examples"]


def test_split_is_by_task_seeded_and_loads_as_dataset_dict(tmp_path: Path) -> None:
    make_run(tmp_path)
    result = export_run(tmp_path, val_ratio=0.25, seed=7)
    train, val = read(tmp_path / "alpaca.jsonl"), read(tmp_path / "alpaca_validation.jsonl")
    assert result.stats["validation_tasks"] == 1 and val
    assert not {r["instruction"] for r in train} & {r["instruction"] for r in val}
    ds = to_dataset(tmp_path)
    assert isinstance(ds, datasets.DatasetDict) and set(ds) == {"train", "validation"}
    assert ds["train"].num_rows + ds["validation"].num_rows == result.stats["examples"]
    tasks = list(TASKS)
    assert split_tasks(tasks, 0.5, seed=1) == split_tasks(tasks, 0.5, seed=1)
    assert len(split_tasks(tasks, 0.5, seed=1)) == 2  # round(5 * 0.5) = 2 (banker's rounding)
    export_run(tmp_path, val_ratio=0.0)
    assert not (tmp_path / "alpaca_validation.jsonl").exists()
    assert isinstance(to_dataset(tmp_path), datasets.Dataset)


def test_sharegpt_and_messages_formats_with_system_prompt(tmp_path: Path) -> None:
    make_run(tmp_path)
    export_run(tmp_path, format="sharegpt")
    conv = read(tmp_path / "sharegpt.jsonl")
    square = next(r for r in conv if r["conversations"][0]["value"].startswith("Square"))
    assert square["conversations"] == [
        {"from": "human", "value": "Square the number.\n\n3"},
        {"from": "gpt", "value": "9"},
    ]
    export_run(tmp_path, format="messages", system_prompt="You are helpful.")
    msgs = read(tmp_path / "messages.jsonl")
    fruit = next(r for r in msgs if "fruit" in r["messages"][1]["content"])
    assert [m["role"] for m in fruit["messages"]] == ["system", "user", "assistant"]
    assert fruit["messages"][0]["content"] == "You are helpful."
    assert fruit["messages"][1]["content"] == "Name a fruit that is red."  # no input, no blank line
    assert len(msgs) == len(read(tmp_path / "alpaca.jsonl")) == 7
    assert to_dataset(tmp_path, "messages").num_rows == 7


def test_to_dataset_before_export_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="selfinstruct export"):
        to_dataset(tmp_path)


def test_cli_export_with_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path)
    config = tmp_path / "export.toml"
    config.write_text(
        f'out = "{tmp_path}"\nformat = "messages"\nval-ratio = 0.25\n', encoding="utf-8"
    )
    assert main(["export", "--config", str(config), "--system-prompt", "Be brief."]) == 0
    assert "export: 7 examples" in capsys.readouterr().out
    assert (tmp_path / "messages_validation.jsonl").exists()
    assert read(tmp_path / "messages.jsonl")[0]["messages"][0]["content"] == "Be brief."
    stats = json.loads((tmp_path / "stats.json").read_text())["export"]
    assert stats["format"] == "messages" and stats["train"] + stats["validation"] == 7
