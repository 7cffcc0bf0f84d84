"""Run directories for tests: one as the instances stage leaves it, a reader of its JSONL files,
and the check that every stage's stats add up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.records import Instance, InstancesRecord
from selfinstruct.runtime.rundir import RunDir

TASKS = {
    "Square the number.": [("3", "9"), ("5", "25")],
    "Name a fruit that is red.": [("", "A strawberry."), ("", "A cherry.")],
    "Is the word a noun? Answer Yes or No.": [("table", "Yes"), ("quickly", "No")],
    "Translate the word into French.": [("cat", "chat")],
    "Write a joke about cats.": [],  # every instance dropped: not exported
}


def make_instances_run(root: Path, hard: bool = False) -> RunDir:
    """A run directory as the instances stage leaves it (tasks in a scrambled order).

    `hard`: the classification task's "quickly" example is marked a hard case.
    """
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": "en", "language": "en"})
    with JsonlWriter(rundir.instances) as out:
        for i, (text, pairs) in enumerate(reversed(TASKS.items())):
            out.write(
                InstancesRecord(
                    instruction=text,
                    index=i,
                    is_classification="Yes or No" in text,
                    instances=[
                        Instance(input=a, output=b, hard_case=hard and a == "quickly")
                        for a, b in pairs
                    ],
                    generated=len(pairs),
                    dropped={},
                    task_dropped=None if pairs else "no_instances",
                    finish_reason="stop",
                    raw="",
                )
            )
    return rundir


def read_lines(path: Path) -> list[dict]:
    """The records of a JSONL file, one a line."""
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def check_stats(out: Path, n: int) -> dict[str, Any]:
    """Every stage's section adds up, and each stage saw everything the one before produced."""
    stats = json.loads((out / "stats.json").read_text())
    boot, cls, inst, exp = (stats[k] for k in ("bootstrap", "classify", "instances", "export"))
    assert boot["accepted"] == n
    assert boot["candidates"] == boot["accepted"] + sum(boot["rejected_by_reason"].values())
    assert cls["instructions"] == cls["classified"] == n
    assert cls["classified"] == cls["classification"] + cls["not_classification"]
    assert inst["tasks"] == inst["instructions"] == n
    assert inst["generated"] == inst["kept"] + sum(inst["dropped"].values())
    assert inst["tasks"] == inst["tasks_kept"] + sum(inst["tasks_dropped"].values())
    assert exp["machine_examples"] == inst["kept"]
    assert exp["examples"] == exp["train"] + exp["validation"]
    assert exp["examples"] == exp["machine_examples"] + exp["seed_examples"] - exp["duplicates"]
    return stats
