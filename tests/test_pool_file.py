"""`--pool FILE`: grow a dataset the user already has, so that new instructions differ from it."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from bootstrap_lists import numbered_list
from corpora import instructions
from fakes import FakeBackend, prompt_text

from selfinstruct import ConfigError, bootstrap
from selfinstruct.cli import build_parser
from selfinstruct.runtime.rundir import RunDir


def pool_file(path: Path, rows: list[str]) -> Path:
    """The user's data as ShareGPT JSONL (any format dedup reads works)."""
    lines = [
        {"conversations": [{"from": "human", "value": r}, {"from": "gpt", "value": "..."}]}
        for r in rows
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), "utf-8")
    return path


def test_pool_rows_are_compared_sampled_recorded_and_not_new_data(tmp_path: Path) -> None:
    mine = instructions(n=40)
    data = pool_file(tmp_path / "mine.jsonl", mine)
    rng = random.Random(0)

    def respond(prompt, params) -> str:
        copy = rng.choice(mine)  # a candidate equal to a row the user already has
        return numbered_list(prompt).replace("Here are more tasks:\n", f"Here:\n9. {copy}\n")

    backend = FakeBackend(respond=respond)
    out = tmp_path / "run"
    bootstrap("en", out, 8, backend, pool=data, progress=False)
    rundir = RunDir.of(out)
    machine = [json.loads(x) for x in rundir.machine_instructions.open()]
    rejected = [json.loads(x) for x in rundir.rejected.open()]
    copies = [r for r in rejected if r["instruction"] in mine]
    assert copies and all(r["reason"] == "too_similar" and r["score"] == 1.0 for r in copies)
    assert all(r["similar"] == r["instruction"] for r in copies)
    # no accepted instruction repeats, or is too close to, a row of the pool file
    assert not {m["instruction"] for m in machine} & set(mine)
    assert all(s["score"] <= 0.7 for m in machine for s in m["most_similar"])
    # before anything is accepted, the prompts' two machine instructions are pool-file rows
    first = prompt_text(backend.history[0][0])
    assert sum(row in first for row in mine) == 2
    assert all(len(set(m["prompt_instructions"]) & set(mine)) >= 1 for m in machine[:3])
    meta = json.loads(rundir.run_json.read_text())
    recorded = meta["settings"]["bootstrap"]["pool_file"]
    assert recorded["rows"] == 40 and len(recorded["sha256"]) == 16
    other = pool_file(tmp_path / "other.jsonl", mine[:20])
    with pytest.raises(ConfigError, match="pool_file"):
        bootstrap("en", out, 12, FakeBackend(respond=respond), pool=other, progress=False)


def test_the_flag_and_a_missing_file(tmp_path: Path) -> None:
    args = build_parser().parse_args(["run", "--out", "x", "--pool", "data.parquet"])
    assert args.pool == Path("data.parquet")
    with pytest.raises(Exception, match=r"missing\.jsonl: no such file"):
        bootstrap("en", tmp_path, 3, FakeBackend(respond=numbered_list),
                  pool=tmp_path / "missing.jsonl", progress=False)  # fmt: skip
