"""`--hard-cases`: boundary examples of classification tasks, asked for, filtered, marked, counted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeBackend, prompt_text
from runs import check_stats
from scripted import respond

from selfinstruct import generate_instances, run
from selfinstruct.runtime.rundir import RunDir


def is_hard_prompt(text: str) -> bool:
    return "Write hard cases" in text


def hard_respond(prompt, params) -> str:
    """`respond`, plus boundary examples: one new, one repeating a normal input, one cut short."""
    text = prompt_text(prompt)
    if is_hard_prompt(text):
        return (
            "Class label: B\nInput: almost an A\nExample 2\nClass label: A\nInput: first\n"
            "Example 3\nClass label: A\nInput: these ones:\n"
        )
    return respond(prompt, params)


def test_hard_cases_join_classification_tasks_marked_and_counted(tmp_path: Path) -> None:
    backend = FakeBackend(respond=hard_respond)
    result = run("en", tmp_path, 8, backend, concurrency=2, hard_cases=True, progress=False)
    check_stats(tmp_path, 8)  # generated = kept + dropped and export = kept still hold
    rundir = RunDir.of(tmp_path)
    tasks = list(rundir.read_instance_tasks().values())
    clf = [t for t in tasks if t.is_classification]
    assert clf and len(clf) < len(tasks)
    hard_prompts = [p for p, _ in backend.history if is_hard_prompt(prompt_text(p))]
    assert len(hard_prompts) == len(clf)  # classification tasks only, one request each
    for task in clf:
        hard = [i for i in task.instances if i.hard_case]
        assert [(i.input, i.output) for i in hard] == [("almost an A", "B")]
        assert task.dropped["hard.duplicate"] == 1 and task.dropped["hard.dangling_colon"] == 1
        assert task.hard_raw and task.instances[0].hard_case is False
    assert not any(i.hard_case for t in tasks if not t.is_classification for i in t.instances)
    stats = result.instances.stats
    assert stats["hard_cases"] == {
        "tasks": len(clf),
        "kept": len(clf),
        "dropped": {"dangling_colon": len(clf), "duplicate": len(clf)},
    }
    rejected = [json.loads(x) for x in rundir.instances_rejected.read_text().splitlines()]
    assert sum(r["reason"] == "hard.duplicate" for r in rejected) == len(clf)
    # a rerun asks nothing: both answers of every task are on disk
    idle = FakeBackend()
    generate_instances(tmp_path, idle, hard_cases=True, progress=False)
    assert idle.history == []


def test_an_interrupted_hard_pass_resumes_without_asking_again(tmp_path: Path) -> None:
    run("en", tmp_path, 6, FakeBackend(respond=respond), progress=False)
    rundir = RunDir.of(tmp_path)
    first = rundir.instances.read_text().splitlines()
    clf = [json.loads(x) for x in first if json.loads(x)["is_classification"]]
    assert clf
    # keep the lines of the non-classification tasks only: the others are "still to do"
    rundir.instances.write_text(
        "".join(x + "\n" for x in first if not json.loads(x)["is_classification"])
    )
    calls: list[str] = []

    def fail_normal(prompt, params) -> str:
        text = prompt_text(prompt)
        calls.append("hard" if is_hard_prompt(text) else "normal")
        if not is_hard_prompt(text):
            raise RuntimeError("server went away")
        return hard_respond(prompt, params)

    with pytest.raises(RuntimeError, match="server went away"):
        generate_instances(tmp_path, FakeBackend(respond=fail_normal), hard_cases=True,
                           force=True, progress=False)  # fmt: skip
    assert calls.count("hard") == len(clf) and len(rundir.read_hard_cases()) == len(clf)
    again = FakeBackend(respond=hard_respond)
    generate_instances(tmp_path, again, hard_cases=True, progress=False)
    assert not any(is_hard_prompt(prompt_text(p)) for p, _ in again.history)
    tasks = rundir.read_instance_tasks()
    assert all(any(i.hard_case for i in tasks[c["instruction"]].instances) for c in clf)
