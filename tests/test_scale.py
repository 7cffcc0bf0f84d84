"""The loop at scale: group commits that report only what is on disk, a SIGKILL mid-run that
leaves whole lines and a resumable run, connection lanes that keep pools small, and the request
journal the fleet benchmark replays (benchmarks/fleet.py measures the rest)."""

from __future__ import annotations

import asyncio
import io
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from fakes import unscored
from pydantic import BaseModel

from selfinstruct.cli import main
from selfinstruct.llm.base import Completion, GenerationParams
from selfinstruct.llm.lanes import Lanes
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.runtime.jsonl import read_jsonl
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.runner import StageLog
from selfinstruct.testing.openai_stub import StubServer

CHILD = "import sys; from selfinstruct.cli import main; sys.exit(main(sys.argv[1:]))"


class Line(BaseModel):
    n: int


def answers(k: int, url: str = "http://a/v1") -> list[Completion]:
    return [Completion("x", "stop", 3, 5, url) for _ in range(k)]


def test_batches_are_committed_in_groups_and_stats_count_only_what_is_on_disk(
    tmp_path: Path,
) -> None:
    rundir = RunDir.of(tmp_path)
    kept = tmp_path / "kept.jsonl"
    log = StageLog(
        rundir, "stage", kept_file=kept, rejected_file=None, counts=Counter(),
        summarize=lambda c: {"kept": c["kept"]}, total=10, done=0, unit="x", progress=False,
        interval=3600.0,
    )  # fmt: skip
    log.append([Line(n=0)], [], {"kept": 1}, answers(2), advance=1)  # the first: at once
    for n in range(1, 5):
        log.append([Line(n=n)], [], {"kept": 1}, answers(2), advance=1)
    assert [r["n"] for r in read_jsonl(kept)] == [0]  # the rest held until the commit is due
    assert (
        rundir.read_stats()["stage"]["kept"] == 1 and rundir.read_stats()["stage"]["requests"] == 2
    )
    assert log.usage["requests"] == 10  # budgets see every answer at once
    stats = log.close("complete")
    assert [r["n"] for r in read_jsonl(kept)] == [0, 1, 2, 3, 4]
    assert stats["kept"] == 5 and stats["requests"] == 10 and stats["prompt_tokens"] == 30
    ledger = list(read_jsonl(rundir.usage))
    assert [line["requests"] for line in ledger] == [2, 8]  # one line per commit
    assert rundir.read_usage("stage")["endpoints"]["http://a/v1"]["completion_tokens"] == 50
    assert rundir.read_usage("stage")["invocations"] == 1


def test_sigkill_mid_run_leaves_whole_lines_true_stats_and_a_run_that_resumes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "run"
    machine = out / "machine_instructions.jsonl"
    with StubServer(latency=0.01, jitter=0.02, diverse=True, record=False) as server:
        common = ["bootstrap", "--out", str(out), "--base-url", server.url, "--concurrency", "64",
                  "--patience", "0", "--no-progress"]  # fmt: skip
        argv = [*common, "--num-instructions", "100000"]
        proc = subprocess.Popen([sys.executable, "-c", CHILD, *argv], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (
                not machine.exists() or machine.read_bytes().count(b"\n") < 150
            ):
                time.sleep(0.02)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(30)
            assert proc.stderr is not None
            proc.stderr.close()
        for name in ("machine_instructions.jsonl", "rejected.jsonl", "usage.jsonl"):
            data = (out / name).read_bytes()
            assert not data or data.endswith(b"\n")  # no rejection yet is an empty file
            [json.loads(line) for line in data.splitlines()]  # every line whole
        kept = list(read_jsonl(machine))
        stats = json.loads((out / "stats.json").read_text())["bootstrap"]
        assert stats["stopped"] == "running" and 0 < stats["accepted"] <= len(kept)
        assert stats["requests"] <= RunDir.of(out).read_usage("bootstrap")["requests"]
        assert main([*common, "--num-instructions", str(len(kept) + 20)]) == 0
    again = list(read_jsonl(machine))
    assert unscored(again)[: len(kept)] == kept and len(again) == len(kept) + 20
    assert all(r["max_rouge"] is not None for r in again)  # the rerun scored them all
    assert len({r["instruction"] for r in again}) == len(again)
    stats = json.loads((out / "stats.json").read_text())["bootstrap"]
    assert stats["accepted"] == len(again) and stats["stopped"] == "target_reached"


def test_near_the_target_only_the_requests_worth_sending_go_out(tmp_path: Path) -> None:
    with StubServer(latency=0.05, diverse=True) as server:
        argv = ["bootstrap", "--out", str(tmp_path), "--base-url", server.url, "--concurrency",
                "64", "--num-instructions", "400", "--no-progress"]  # fmt: skip
        assert main(argv) == 0
        sent = sum(path.endswith("/completions") for path in server.paths())
    folded = json.loads((tmp_path / "stats.json").read_text())["bootstrap"]["requests"]
    assert folded > 64 and sent - folded <= 16  # not the 64 in flight when the target is met


def test_lanes_fill_in_order_and_open_only_when_full() -> None:
    opened: list[str] = []

    def open_lane(url: str) -> tuple[str, str]:
        opened.append(url)
        return f"client{len(opened)}", f"http{len(opened)}"

    lanes = Lanes(open_lane, size=4)
    taken = [lanes.take("u") for _ in range(10)]
    assert [lane.in_flight for lane in {id(t): t for t in taken}.values()] == [4, 4, 2]
    lanes.give(taken[0])
    assert lanes.take("u") is taken[0]  # the first lane with room
    lanes.take("v")
    assert opened == ["u", "u", "u", "v"] and len(lanes.http_clients()) == 4
    shared = Lanes(open_lane, size=4, shared=True)
    assert len({id(shared.take("u")) for _ in range(10)}) == 1  # the user's one client


def test_a_hundred_requests_in_flight_at_once_over_small_lanes() -> None:
    async def go(url: str) -> tuple[int, list[Completion]]:
        backend = OpenAIBackend(model="m", base_url=url, max_concurrency=100)
        try:
            out = await backend.acomplete(["1. Do a thing.\n2."] * 100, GenerationParams())
            lanes = backend._dispatch.lanes.http_clients()
            return len(lanes), out
        finally:
            await backend.aclose()

    with StubServer(latency=0.2, record=False, gather=100) as server:
        lanes, out = asyncio.run(go(server.url))
        peak = server.peak_in_flight
    assert peak == 100 and lanes == 4 and all(c.text for c in out)


def test_the_stub_journals_each_post_for_a_replay() -> None:
    journal = io.StringIO()
    with StubServer(journal=journal, diverse=True) as server:
        backend = OpenAIBackend(model="m", base_url=server.url)
        params = GenerationParams(seed=7)
        asyncio.run(backend.acomplete([[{"role": "user", "content": "1. Sing.\n2."}]], params))
    (row,) = [json.loads(line) for line in journal.getvalue().splitlines()]
    assert row["url"] == server.url and row["path"].endswith("/chat/completions")
    assert row["body"]["seed"] == 7 and row["body"]["messages"][0]["content"].startswith("1.")
