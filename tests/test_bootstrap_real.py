"""The bootstrap loop end to end on the real bundled model: via llama.cpp's server and in-process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from llama_server import LlamaServer
from rouge_score import rouge_scorer

from selfinstruct import load_seeds
from selfinstruct.cli import main
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.bootstrap.filters import PAPER_BLACKLIST

pytestmark = pytest.mark.slow


def check_run(out: Path, n: int) -> dict:
    """The issue's acceptance checks on a finished run directory; returns its stats."""
    rundir = RunDir.of(out)
    records = [json.loads(line) for line in rundir.machine_instructions.read_text().splitlines()]
    assert len(records) == n
    texts = [r["instruction"] for r in records]
    pool = [t.instruction for t in load_seeds("en")] + texts
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    for i, text in enumerate(texts):
        earlier = pool[: len(pool) - len(texts) + i]
        later = texts[i + 1 :]
        worst = max(scorer.score(other, text)["rougeL"].fmeasure for other in earlier + later)
        assert worst <= 0.7, text
    blacklisted = re.compile(r"\b(" + "|".join(map(re.escape, PAPER_BLACKLIST)) + r")\b", re.I)
    assert not [t for t in texts if blacklisted.search(t)]
    assert all(len(t.split()) > 3 for t in texts)
    stats = json.loads(rundir.stats.read_text())["bootstrap"]
    assert stats["accepted"] == n and stats["stopped"] == "target_reached"
    assert stats["candidates"] == stats["accepted"] + sum(stats["rejected_by_reason"].values())
    assert stats["rejected"] == len(rundir.rejected.read_text().splitlines())
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0
    return stats


@pytest.mark.server
def test_cli_bootstrap_20_against_llama_server(llama_server: LlamaServer, tmp_path: Path) -> None:
    args = [
        "bootstrap", "--seeds", "en", "--out", str(tmp_path), "--num-instructions", "20",
        "--backend", "openai", "--base-url", llama_server.base_url, "--model", llama_server.model,
        "--concurrency", "4", "--seed", "1", "--max-tokens", "400", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    check_run(tmp_path, 20)
    settings = json.loads(RunDir.of(tmp_path).run_json.read_text())["settings"]["bootstrap"]
    assert (settings["backend"], settings["model"]) == ("openai", llama_server.model)
    # rerunning the same command finds the target reached and changes nothing
    before = RunDir.of(tmp_path).machine_instructions.read_text()
    assert main(args) == 0
    assert RunDir.of(tmp_path).machine_instructions.read_text() == before


@pytest.mark.model
def test_cli_bootstrap_in_process_transformers(local_model: str, tmp_path: Path) -> None:
    args = [
        "bootstrap", "--seeds", "en", "--out", str(tmp_path), "--num-instructions", "3",
        "--backend", "transformers", "--concurrency", "4", "--batch-size", "4",
        "--seed", "3", "--max-tokens", "160", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    check_run(tmp_path, 3)
    settings = json.loads(RunDir.of(tmp_path).run_json.read_text())["settings"]["bootstrap"]
    assert settings["backend"] == "transformers" and settings["chat"] is True
