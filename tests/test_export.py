"""Export: formats, seeds, seeded split, determinism, min-score, balance, hard cases, card, CLI."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import datasets
import pytest
import yaml
from runs import TASKS, make_instances_run, read_lines

from selfinstruct.cli import main
from selfinstruct.errors import DataError
from selfinstruct.finetune.data import load_conversations
from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.records import AlpacaExample, JudgeRecord
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.seeds import load_seeds
from selfinstruct.stages.export.balance import Caps, Row, balance, largest_count
from selfinstruct.stages.export.stage import export_run, split_tasks, to_dataset


def test_alpaca_rows_are_sorted_complete_and_deterministic(tmp_path: Path) -> None:
    rundir = make_instances_run(tmp_path)
    result = export_run(tmp_path)
    rows = read_lines(rundir.alpaca)
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
    make_instances_run(tmp_path)
    seeds = load_seeds("en")
    result = export_run(tmp_path, include_seeds=True)
    s = result.stats
    assert s["seed_tasks"] == len(seeds)
    assert s["seed_examples"] == sum(len(t.instances) for t in seeds)
    assert s["examples"] == s["machine_examples"] + s["seed_examples"] - s["duplicates"]
    assert s["examples"] == s["train"] + s["validation"]
    assert len(read_lines(tmp_path / "alpaca.jsonl")) == s["examples"]


def test_split_is_by_task_seeded_and_loads_as_dataset_dict(tmp_path: Path) -> None:
    make_instances_run(tmp_path)
    result = export_run(tmp_path, val_ratio=0.25, seed=7)
    train, val = (
        read_lines(tmp_path / "alpaca.jsonl"),
        read_lines(tmp_path / "alpaca_validation.jsonl"),
    )
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
    make_instances_run(tmp_path)
    export_run(tmp_path, format="sharegpt")
    conv = read_lines(tmp_path / "sharegpt.jsonl")
    square = next(r for r in conv if r["conversations"][0]["value"].startswith("Square"))
    assert square["conversations"] == [
        {"from": "human", "value": "Square the number.\n\n3"},
        {"from": "gpt", "value": "9"},
    ]
    export_run(tmp_path, format="messages", system_prompt="You are helpful.")
    msgs = read_lines(tmp_path / "messages.jsonl")
    fruit = next(r for r in msgs if "fruit" in r["messages"][1]["content"])
    assert [m["role"] for m in fruit["messages"]] == ["system", "user", "assistant"]
    assert fruit["messages"][0]["content"] == "You are helpful."
    assert fruit["messages"][1]["content"] == "Name a fruit that is red."  # no input, no blank line
    assert len(msgs) == len(read_lines(tmp_path / "alpaca.jsonl")) == 7
    assert to_dataset(tmp_path, "messages").num_rows == 7


def test_to_dataset_before_export_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="selfinstruct export"):
        to_dataset(tmp_path)


def test_cli_export_with_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_instances_run(tmp_path)
    config = tmp_path / "export.toml"
    config.write_text(
        f'out = "{tmp_path}"\nformat = "messages"\nval-ratio = 0.25\n', encoding="utf-8"
    )
    assert main(["export", "--config", str(config), "--system-prompt", "Be brief."]) == 0
    assert "export: 7 examples" in capsys.readouterr().out
    assert (tmp_path / "messages_validation.jsonl").exists()
    assert read_lines(tmp_path / "messages.jsonl")[0]["messages"][0]["content"] == "Be brief."
    stats = json.loads((tmp_path / "stats.json").read_text())["export"]
    assert stats["format"] == "messages" and stats["train"] + stats["validation"] == 7


def judge(rundir: RunDir, scores: dict[tuple[str, int], int | None]) -> None:
    """judgements.jsonl as the judge stage writes it, with these scores by (task, position)."""
    tasks = rundir.read_instance_tasks()
    with JsonlWriter(rundir.judgements) as out:
        for (text, position), score in scores.items():
            inst = tasks[text].instances[position]
            output = "stale" if score == -1 else inst.output  # judged before a regeneration
            out.write(
                JudgeRecord(
                    instruction=text, index=tasks[text].index, instance=position,
                    input=inst.input, output=output, correctness=None if score is None else 5,
                    helpfulness=score if score and score > 0 else None,
                    score=score if score and score > 0 else None,
                )
            )  # fmt: skip


def test_min_score_keeps_judged_rows_and_counts_drops_by_score(tmp_path: Path) -> None:
    rundir = make_instances_run(tmp_path)
    with pytest.raises(DataError, match="selfinstruct judge"):
        export_run(tmp_path, min_score=4)
    judge(
        rundir,
        {
            ("Square the number.", 0): 5,
            ("Square the number.", 1): 2,
            ("Name a fruit that is red.", 0): 4,
            ("Name a fruit that is red.", 1): None,  # unreadable judge answer
            ("Is the word a noun? Answer Yes or No.", 0): 3,
            ("Is the word a noun? Answer Yes or No.", 1): -1,  # judged other text
        },
    )  # "Translate the word into French." has no judgement at all
    s = export_run(tmp_path, min_score=4, include_seeds=True).stats
    assert s["dropped"] == {"score_2": 1, "score_3": 1, "unjudged": 3}
    rows = read_lines(rundir.alpaca)
    machine = {(r["instruction"], r["output"]) for r in rows} - {
        (t.instruction, i.output) for t in load_seeds("en") for i in t.instances
    }
    assert machine == {("Square the number.", "9"), ("Name a fruit that is red.", "A strawberry.")}
    assert s["seed_examples"] > 0  # human-written seed rows are not judged: kept
    dropped = sum(s["dropped"].values())
    assert s["examples"] == s["machine_examples"] + s["seed_examples"] - s["duplicates"] - dropped
    assert len(rows) == s["examples"]


def rows_of(spec: list[tuple[str, bool, str, bool]]) -> list[Row]:
    return [
        Row(AlpacaExample(instruction=t, input=f"in {n}", output=o), c, h)
        for n, (t, c, o, h) in enumerate(spec)
    ]


def test_labels_are_evened_per_task_keeping_hard_cases_first() -> None:
    task = "Is this review positive? Answer Yes or No."
    rows = rows_of(
        [(task, True, "Yes", False)] * 3 + [(task, True, "yes.", True)]
        + [(task, True, "No", False)] * 2 + [("Write a poem.", False, "A poem", False)] * 3
    )  # fmt: skip
    even = balance(rows, Caps(verb_share=1, task_type_share=1, label_ratio=1))
    labels = Counter(r.example.output.rstrip(".").lower() for r in even.rows if r.is_classification)
    assert labels == {"yes": 2, "no": 2} and even.dropped == {"label_balance": 2}
    assert any(r.hard_case for r in even.rows)  # the hard case survived the cut
    assert sum(not r.is_classification for r in even.rows) == 3
    loose = balance(rows, Caps(verb_share=1, task_type_share=1, label_ratio=1.5))
    assert loose.dropped == {"label_balance": 1}  # yes keeps 3 = 1.5 x 2


def test_verb_and_task_type_caps_hold_and_are_deterministic() -> None:
    verbs = ["Write", "Explain", "List", "Describe", "Summarize", "Translate", "Classify", "Name"]
    spec = []
    for verb in verbs:
        for task in range(6 if verb == "Write" else 2):
            for k in range(3):
                spec.append((f"{verb} thing {task} please.", verb == "Classify", f"out {k}", False))
    rows = rows_of(spec)
    caps = Caps(verb_share=0.2, task_type_share=0.9, label_ratio=1)
    result = balance(rows, caps, seed=3)
    share = Counter(r.example.instruction.split()[0] for r in result.rows)
    assert share["Write"] / len(result.rows) <= 0.2 < 18 / len(rows)
    assert result.dropped["verb_cap"] == len(rows) - len(result.rows) > 0
    assert not result.unmet
    assert [r.example for r in balance(rows, caps, seed=3).rows] == [r.example for r in result.rows]
    tight = balance(rows, Caps(verb_share=1, task_type_share=0.8, label_ratio=1))
    kinds = Counter(r.is_classification for r in tight.rows)
    assert kinds[False] / len(tight.rows) <= 0.8 and tight.dropped["task_type_cap"] > 0
    assert balance(rows, Caps(verb_share=0.05, task_type_share=1)).unmet == ["verb_cap"]
    assert largest_count([10, 1], free=0, share=0.5) == 1
    assert largest_count([3, 3], free=0, share=0.5) == 3


def test_balance_in_export_counts_every_drop(tmp_path: Path) -> None:
    make_instances_run(tmp_path)
    # verbs: square 2 rows, name 2, translate 1, and "Is ..." (no verb: never dropped) 2
    s = export_run(tmp_path, balance=True, max_verb_share=0.25).stats
    assert s["dropped"] == {"verb_cap": 2} and s["unmet_caps"] == []
    instructions = Counter(r["instruction"] for r in read_lines(tmp_path / "alpaca.jsonl"))
    assert instructions["Square the number."] == instructions["Name a fruit that is red."] == 1
    assert s["examples"] == s["machine_examples"] - s["duplicates"] - sum(s["dropped"].values())
    assert len(read_lines(tmp_path / "alpaca.jsonl")) == s["examples"]


def test_hard_case_column_on_every_row_of_every_format(tmp_path: Path) -> None:
    make_instances_run(tmp_path, hard=True)
    s = export_run(tmp_path, format="messages").stats
    alpaca, messages = (
        read_lines(tmp_path / "alpaca.jsonl"),
        read_lines(tmp_path / "messages.jsonl"),
    )
    assert all(isinstance(r["hard_case"], bool) for r in alpaca + messages)
    assert [r["input"] for r in alpaca if r["hard_case"]] == ["quickly"]
    assert sum(r["hard_case"] for r in messages) == s["hard_cases"] == 1
    assert "`hard_case`" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_prompt_completion_rows_and_finetune_reads_them(tmp_path: Path) -> None:
    make_instances_run(tmp_path)
    export_run(tmp_path, format="prompt_completion", system_prompt="Be brief.")
    rows = read_lines(tmp_path / "prompt_completion.jsonl")
    square = next(r for r in rows if r["prompt"][1]["content"] == "Square the number.\n\n3")
    assert square == {
        "prompt": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Square the number.\n\n3"},
        ],
        "completion": [{"role": "assistant", "content": "9"}],
    }
    conversations = load_conversations(tmp_path / "prompt_completion.jsonl")
    assert len(conversations) == 7
    assert [m["role"] for m in conversations[0].messages] == ["system", "user", "assistant"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "Hi", "completion": []}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="prompt"):
        load_conversations(bad)


def card_header(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_dataset_card_header_body_and_loading_by_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    rundir = make_instances_run(tmp_path)
    rundir.update_stats("instances", {"generated": 9, "kept": 7, "dropped": {"duplicate": 2}})
    result = export_run(tmp_path, format="messages", val_ratio=0.25)
    header = card_header(tmp_path / "README.md")
    assert {"license", "language", "task_categories", "size_categories", "pretty_name"} <= set(
        header
    )
    assert header["language"] == ["en"] and header["task_categories"] == ["text-generation"]
    sizes = Path(datasets.__file__).parent / "utils" / "resources" / "size_categories.json"
    assert header["size_categories"] == ["n<1K"] and "n<1K" in json.loads(sizes.read_text())
    configs = {c["config_name"]: c for c in header["configs"]}
    assert set(configs) == {"alpaca", "messages"} and configs["alpaca"]["default"] is True
    for config in configs.values():
        assert all((tmp_path / f["path"]).is_file() for f in config["data_files"])
    body = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert "2023-11-14" in body and "| instances kept | 7 | duplicate: 2 |" in body
    assert f"| rows exported | {result.stats['examples']} |" in body
    loaded = datasets.load_dataset(str(tmp_path), "messages", cache_dir=str(tmp_path / "cache"))
    assert set(loaded) == {"train", "validation"}
    assert loaded["train"].num_rows == result.stats["train"]
    assert loaded["train"].column_names == ["messages"]


def test_every_export_file_is_byte_identical_on_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    make_instances_run(tmp_path, hard=True)
    options = {"format": "sharegpt", "val_ratio": 0.25, "balance": True, "include_seeds": True}
    first = export_run(tmp_path, **options)
    before = {p.name: p.read_bytes() for p in first.files}
    assert {"README.md", "dataset_info.json", "sharegpt_validation.jsonl"} <= set(before)
    again = export_run(tmp_path, **options)
    assert {p.name: p.read_bytes() for p in again.files} == before
