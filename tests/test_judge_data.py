"""`selfinstruct judge --data FILE`: the judge stage over a dataset made without a run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from corpora import instructions
from fakes import FakeBackend, prompt_text
from llama_server import LlamaServer

from selfinstruct import ConfigError, ajudge, judge
from selfinstruct.cli import main
from selfinstruct.runtime.rundir import RunDir


def sharegpt(path: Path, rows: list[tuple[str, str]]) -> Path:
    lines = [{"conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}
             for q, a in rows]  # fmt: skip
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), "utf-8")
    return path


def scores_by_answer(prompt, params) -> str:
    """5/5 for an answer that says "right", 1/2 otherwise, in the prompt's language."""
    text = prompt_text(prompt)
    shown = text.split("Response: ")[-1] if "Response: " in text else text.split("回答：")[-1]
    good = "right" in shown or "对" in shown
    if "有用性" in text:
        return "正确性：5分\n有用性：5分" if good else "正确性：1\n有用性：2"
    return "Correctness: 5\nHelpfulness: 5" if good else "**Correctness:** 1, **Helpfulness:** 2"


def test_every_row_is_scored_once_and_a_rerun_resumes(tmp_path: Path) -> None:
    asks = instructions(n=6)
    rows = [(q, "a right answer" if i % 2 else "wrong") for i, q in enumerate(asks)]
    rows.append((asks[0], "right again"))  # the same instruction with another answer
    data = sharegpt(tmp_path / "mine.jsonl", rows)
    out = tmp_path / "judged"
    calls = {"n": 0}

    def dies(prompt, params) -> str:
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return scores_by_answer(prompt, params)

    with pytest.raises(KeyboardInterrupt):
        judge(out, FakeBackend(respond=dies), data=data, concurrency=1, progress=False)
    before = RunDir.of(out).judgements.read_text().splitlines()
    assert 1 <= len(before) <= 4
    rest = FakeBackend(respond=scores_by_answer)
    result = judge(out, rest, data=data, progress=False)
    assert len(rest.history) == len(rows) - len(before)
    lines = [json.loads(x) for x in RunDir.of(out).judgements.read_text().splitlines()]
    assert len(lines) == len(rows) == result.judged == result.stats["instances"]
    assert sorted(line["index"] for line in lines) == list(range(len(rows)))
    for line in lines:
        question, answer = rows[line["index"]]
        assert (line["instruction"], line["output"]) == (question, answer)
        assert line["score"] == (5 if "right" in answer else 1)
    assert {(x["instruction"], x["instance"]) for x in lines if x["instruction"] == asks[0]} == {
        (asks[0], 0),
        (asks[0], 1),
    }
    idle = FakeBackend()
    assert judge(out, idle, data=data, progress=False).new == 0 and idle.history == []
    other = sharegpt(tmp_path / "other.jsonl", rows[:3])
    with pytest.raises(ConfigError, match="another dataset"):
        judge(out, idle, data=other, progress=False)


def test_chinese_rows_get_the_chinese_prompt(tmp_path: Path) -> None:
    asks = instructions("instructions_zh.jsonl", 3)
    data = sharegpt(tmp_path / "zh.jsonl", [(q, "对的回答") for q in asks])
    backend = FakeBackend(respond=scores_by_answer)
    result = asyncio.run(ajudge(tmp_path / "out", backend, data=data, progress=False))
    assert "有用性：<1-5>" in prompt_text(backend.history[0][0])
    assert result.stats["language"] == "zh" and result.stats["by_score"]["5"] == 3


@pytest.mark.server
def test_judge_data_on_llama_server(llama_server: LlamaServer, tmp_path: Path, capsys) -> None:
    asks = instructions(n=3)
    data = sharegpt(tmp_path / "mine.jsonl", [(q, "Here is my answer.") for q in asks])
    args = ["judge", "--data", str(data), "--out", str(tmp_path / "out"), "--backend", "openai",
            "--base-url", llama_server.base_url, "--model", llama_server.model, "--no-progress",
            "--concurrency", "1"]  # fmt: skip
    assert main(args) == 0
    assert capsys.readouterr().out.startswith("judge: 3/3 instances scored")
    judged = RunDir.of(tmp_path / "out").read_judgements()
    assert len(judged) == 3 and all(j.raw for j in judged.values())
