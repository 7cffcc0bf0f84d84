"""A whole CLI run against a stub endpoint that answers every stage with the answer-format fixtures.

The stub (selfinstruct.testing.openai_stub.StubServer) is scripted per prompt kind: bootstrap
requests get the bootstrap fixtures of the run's language in turn; a classify, instances or judge
request gets the fixture chosen for the instruction it names (instances: one of the label the
instruction was given). `measure` then compares the run directory with what each served fixture
must give, per format: real instructions in the pool, labels and instances read right, instances
invented.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from answer_fixtures import load, served

from selfinstruct.cli import main
from selfinstruct.testing.openai_stub import StubServer

_CLASSIFY_END = ("Classification task:", "是否分类任务：")
_JUDGE_WORDS = ("Helpfulness", "有用性")


@dataclass
class Script:
    """What the stub answers, and what it answered for which instruction."""

    language: str
    boot: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    judged: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        pick = [f for f in load("bootstrap") if f["language"] == self.language and served(f)]
        self.boot = pick
        self.expected = [i for f in pick for i in f["expect"]["instructions"]]
        self.cls = [f for f in load("classify") if f["language"] == self.language and served(f)]
        self.inst = [f for f in load("instances") if f["language"] == self.language and served(f)]
        self.judge = [f for f in load("judge") if f["language"] == self.language]

    def reply(self, _text: str, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or [{"content": body.get("prompt", "")}]
        last = str(messages[-1]["content"])
        whole = "\n".join(str(m["content"]) for m in messages)
        if last.rstrip().endswith(_CLASSIFY_END):
            kind = "classify"
        elif any(w in whole for w in _JUDGE_WORDS):
            kind = "judge"
        elif self._named(last) is not None and not re.search(r"^\s*\d+\.", last, re.M):
            kind = "instances"
        else:
            kind = "bootstrap"
        n = self.requests[kind]
        self.requests[kind] += 1
        return dict(getattr(self, f"_{kind}")(last, n)["message"])  # reasoning fields too

    def _named(self, text: str) -> str | None:
        found = [i for i in self.expected if " ".join(i.split()) in text]
        return max(found, key=len) if found else None

    def _bootstrap(self, _last: str, n: int) -> dict[str, Any]:
        return self.boot[n % len(self.boot)]

    def _classify(self, last: str, _n: int) -> dict[str, Any]:
        task = self._named(last) or ""
        fixture = self.cls[self.expected.index(task) % len(self.cls)] if task else self.cls[0]
        self.labels[task] = fixture
        return fixture

    def _instances(self, last: str, _n: int) -> dict[str, Any]:
        task = self._named(last) or ""
        label = self.labels[task]["expect"]["is_classification"]
        same = [f for f in self.inst if f["expect"]["classification"] == label]
        fixture = same[self.expected.index(task) % len(same)]
        self.tasks[task] = fixture
        return fixture

    def _judge(self, last: str, n: int) -> dict[str, Any]:
        fixture = self.judge[n % len(self.judge)]
        self.judged.append((last, fixture))
        return fixture


def run_cli(out: Path, language: str, judge: bool = True) -> Script:
    """`selfinstruct run --backend openai --base-url <stub>` over every stage; the script back."""
    script = Script(language)
    with StubServer(reply=script.reply) as server:
        args = [
            "run", "--seeds", language, "--out", str(out), "--backend", "openai",
            "--base-url", server.url, "--num-instructions", str(len(set(script.expected))),
            "--concurrency", "1", "--patience", str(2 * len(script.boot)), "--max-instances",
            "10", "--no-progress", *(["--judge"] if judge else []),
        ]  # fmt: skip
        code = main(args)
    assert code == 0, f"selfinstruct run exited {code}"
    return script


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def measure(out: Path, script: Script) -> dict[str, Any]:
    """Per format and overall: the figures issue 19 asks for, from the run directory."""
    pool = {m["instruction"] for m in _lines(out / "machine_instructions.jsonl")}
    figures: dict[str, Counter[str]] = defaultdict(Counter)
    for fixture in script.boot:
        c = figures[f"bootstrap/{fixture['format']}"]
        for instruction in fixture["expect"]["instructions"]:
            c["real"] += 1
            c["reached"] += instruction in pool
    extra = pool - set(script.expected)
    labels = {  # an unreadable answer's fallback label is not a label read right
        r["instruction"]: None if r["fallback"] else r["is_classification"]
        for r in _lines(out / "classification.jsonl")
    }
    for task, fixture in script.labels.items():
        c = figures[f"classify/{fixture['format']}"]
        c["answers"] += 1
        c["right"] += labels.get(task) is fixture["expect"]["is_classification"]
    kept = {r["instruction"]: r["instances"] for r in _lines(out / "instances.jsonl")}
    for task, fixture in script.tasks.items():
        c = figures[f"instances/{fixture['format']}"]
        want = {(i, o) for i, o in fixture["expect"]["instances"]}
        got = {(i["input"], i["output"]) for i in kept.get(task, [])}
        c["real"] += len(want)
        c["right"] += len(want & got)
        c["invented"] += len(got - want)
    scores = _lines(out / "judgements.jsonl")
    for record in scores:
        fixture = _judge_fixture(record, script.judged)
        c = figures[f"judge/{fixture['format']}"]
        c["answers"] += 1
        want = (fixture["expect"]["correctness"], fixture["expect"]["helpfulness"])
        c["right"] += (record["correctness"], record["helpfulness"]) == want
    return {"figures": {k: dict(v) for k, v in sorted(figures.items())}, "extra": sorted(extra)}


def _judge_fixture(
    record: dict[str, Any], judged: list[tuple[str, dict[str, Any]]]
) -> dict[str, Any]:
    """The fixture that answered the judge request for this instance (its prompt names it)."""
    tail = re.compile(r"(?:^|[\s:：])" + re.escape(record["output"].strip()) + r"\s*$")
    fits = [f for last, f in judged if tail.search(last) and record["instruction"] in last]
    return fits[-1]


def totals(figures: dict[str, dict[str, int]], stage: str) -> tuple[int, int, int]:
    """(right or reached, out of, invented) summed over one stage's formats."""
    rows = [v for k, v in figures.items() if k.startswith(stage + "/")]
    hit = sum(v.get("reached", v.get("right", 0)) for v in rows)
    of = sum(v.get("real", v.get("answers", 0)) for v in rows)
    return hit, of, sum(v.get("invented", 0) for v in rows)
