"""Cost known before a run: a pilot through every stage, projected to the whole target."""

from __future__ import annotations

from pathlib import Path

import pytest
from scripted import scripted_server

import selfinstruct
from selfinstruct.cli import main
from selfinstruct.runtime.estimate import cost_of, project


def test_projection_arithmetic() -> None:
    pilot = {
        "bootstrap": {"requests": 4, "accepted": 8, "candidates": 20, "prompt_tokens": 4000,
                      "completion_tokens": 800},
        "classify": {"requests": 8, "prompt_tokens": 1600, "completion_tokens": 16},
        "instances": {"requests": 8, "prompt_tokens": 3200, "completion_tokens": 960},
    }  # fmt: skip
    est = project(pilot, 1000, price_in=0.5, price_out=2.0)
    boot, cls, inst = est.stages
    assert est.accepted_per_request == 2.0 and est.acceptance == 0.4
    assert (
        boot.requests == 500 and boot.prompt_tokens == 500_000 and boot.completion_tokens == 100_000
    )
    assert cls.requests == 1000 and cls.prompt_tokens == 200_000
    assert inst.completion_tokens == 120_000
    assert boot.cost == pytest.approx(0.25 + 0.2)
    assert est.cost == pytest.approx(sum(s.cost for s in est.stages))
    assert est.tokens == sum(s.prompt_tokens + s.completion_tokens for s in est.stages)
    assert any("floor" in note for note in est.notes)
    assert project(pilot, 10, None, None).cost is None
    assert cost_of(1_000_000, 0, 3.0, 1.0) == 3.0


def test_estimate_runs_a_pilot_and_leaves_the_run_directory_alone(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    with scripted_server() as server:
        est = selfinstruct.estimate(
            "en", 500, base_url=server.url, price_input=1.0, price_output=4.0, out=out
        )
        pilot_requests = server.count
        argv = ["run", "--out", str(out), "--base-url", server.url, "--num-instructions", "500",
                "--price-input", "1", "--price-output", "4", "--estimate"]  # fmt: skip
        assert main(argv) == 0
    assert not out.exists()
    assert [s.stage for s in est.stages] == ["bootstrap", "classify", "instances"]
    assert 0 < pilot_requests < 60
    boot = est.stages[0]
    assert boot.requests == round(500 / est.accepted_per_request)
    assert est.cost is not None and est.cost > 0
    printed = capsys.readouterr().out
    assert "estimate for 500 instructions" in printed and "cost" in printed


def test_progress_bar_and_stats_show_tokens_and_cost_so_far(tmp_path: Path, capsys) -> None:
    from fakes import FakeBackend
    from scripted import respond

    from selfinstruct.runtime.estimate import cost_of as money

    selfinstruct.bootstrap(
        "en", tmp_path, 4, FakeBackend(respond=respond), price_input=2.0, price_output=8.0
    )
    err = capsys.readouterr().err
    stats = selfinstruct.RunDir.of(tmp_path).read_stats()["bootstrap"]
    assert stats["cost"] == pytest.approx(
        money(stats["prompt_tokens"], stats["completion_tokens"], 2.0, 8.0)
    )
    total = stats["prompt_tokens"] + stats["completion_tokens"]
    assert f"tokens={total:,}" in err and "cost=" in err
