"""End to end through the CLI: an endpoint answering every stage in the fixtures' formats.

`selfinstruct run --backend openai` against the stub scripted with tests/fixtures/answers: every
real instruction reaches the pool, with no decoration, label or remark kept and nothing else in
it; every label, instance and score is read as its fixture says, and no instance is invented.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from answer_fixtures import load
from answer_run import measure, run_cli, totals

from selfinstruct.reporting.data import funnel
from selfinstruct.reporting.files import read_run
from selfinstruct.reporting.sections import funnel_table

DECORATION = ("**", "__", "Task:", "Instruction:", "任务：", "指令：", "Let me know", "希望这些")


@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_format_of_every_stage_is_read_through_the_cli(tmp_path: Path, language: str) -> None:
    script = run_cli(tmp_path, language)
    result = measure(tmp_path, script)
    figures = result["figures"]
    assert result["extra"] == []  # no remark, draft or decorated copy entered the pool
    machine = [json.loads(x) for x in (tmp_path / "machine_instructions.jsonl").open()]
    assert sorted(m["instruction"] for m in machine) == sorted(set(script.expected))
    assert not [m for m in machine if any(d in m["instruction"] for d in DECORATION)]
    assert not [m for m in machine if m["instruction"][0] in "*_`'\"「『"]
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["bootstrap"]["unwrapped"] == sum(m["unwrapped"] for m in machine) + sum(
        json.loads(x)["unwrapped"] for x in (tmp_path / "rejected.jsonl").open()
    )
    assert stats["bootstrap"]["unwrapped"] > 0
    assert stats["classify"]["unparseable"] == 0  # no label is a lucky fallback
    f = funnel(read_run(tmp_path))
    assert f.unwrapped == stats["bootstrap"]["unwrapped"]
    row = next(r for r in funnel_table(f).rows if "chat formatting" in r[0])
    assert row[1] == f"{f.unwrapped:,}"
    for stage in ("bootstrap", "classify", "instances", "judge"):
        hit, of, invented = totals(figures, stage)
        assert of > 0, stage
        assert (hit, invented) == (of, 0), (stage, figures)
    assert len(script.labels) == len(set(script.expected))  # every task was classified
    served = [f for stage in ("bootstrap", "classify", "instances", "judge") for f in load(stage)]
    thinking = [f for f in served if f["language"] == language and f["reasoning"]]
    assert {f["reasoning"] for f in thinking} >= {"inline", "field"}  # both kinds were served
    written = "\n".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*.json*"))
    for fixture in thinking:  # no line of any model's thinking is in any file of the run
        message = fixture["message"]
        thought = message.get("reasoning_content") or message.get("reasoning") or ""
        thought += (
            message["content"].split("</think>")[0] if "</think>" in message["content"] else ""
        )
        answer = message["content"].split("</think>")[-1]
        lines = (x.strip() for x in thought.replace("<think>", "").splitlines())
        for line in [x for x in lines if len(x) >= 20 and x not in answer]:
            assert line not in written, (fixture["id"], line)
