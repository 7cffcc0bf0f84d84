"""Every public entry point works where users call it: plain Python, a running loop, async code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path

import pytest
from fakes import FakeBackend
from scripted import respond

import selfinstruct
from selfinstruct import GenerationParams


def fake() -> FakeBackend:
    return FakeBackend(respond=respond)


def test_sync_entry_points_inside_a_running_event_loop(tmp_path: Path) -> None:
    """What a Jupyter cell does: call the sync API while an event loop is running."""

    async def notebook_cell() -> dict[str, object]:
        assert asyncio.get_running_loop().is_running()
        out = tmp_path / "nb"
        backend = fake()
        boot = selfinstruct.bootstrap("en", out, 4, backend, progress=False)
        labels = selfinstruct.classify(out, backend, progress=False)
        made = selfinstruct.generate_instances(out, backend, progress=False)
        exported = selfinstruct.export_run(out, format="messages")
        whole = selfinstruct.run("en", tmp_path / "whole", 3, fake(), progress=False)
        text = selfinstruct.complete(backend, ["Say hi."], GenerationParams(max_tokens=4))
        return {"boot": boot, "labels": labels, "made": made, "exported": exported,
                "whole": whole, "text": text}  # fmt: skip

    got = asyncio.run(notebook_cell())
    assert got["boot"].accepted == 4 and got["labels"].classified == 4
    assert got["made"].tasks == 4 and got["exported"].stats["examples"] > 0
    assert got["whole"].ok and got["whole"].export.stats["examples"] > 0
    assert len(got["text"]) == 1


def test_async_twins_for_callers_who_own_the_loop(tmp_path: Path) -> None:
    async def app() -> tuple[object, ...]:
        backend = fake()
        boot = await selfinstruct.abootstrap("en", tmp_path, 4, backend, progress=False)
        labels = await selfinstruct.aclassify(tmp_path, backend, progress=False)
        made = await selfinstruct.agenerate_instances(tmp_path, backend, progress=False)
        whole = await selfinstruct.arun("en", tmp_path, 6, backend, progress=False)
        text = await selfinstruct.acomplete(backend, ["Say hi."])
        return boot, labels, made, whole, text

    boot, labels, made, whole, text = asyncio.run(app())
    assert boot.accepted == 4 and labels.classified == 4 and made.tasks == 4
    assert whole.bootstrap.accepted == 6 and whole.instances.tasks == 6 and len(text) == 1
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["classify"]["classified"] == 6


def test_ctrl_c_in_a_running_loop_stops_the_worker_and_keeps_the_books(tmp_path: Path) -> None:
    """Interrupting a cell while the run is on a worker thread: the run stops, stats say so."""
    import threading

    from selfinstruct.sync import run_sync

    started = threading.Event()

    class Slow(FakeBackend):
        async def acomplete(self, prompts, params):
            if self.calls >= 3:  # a few answers, then a server that never answers
                started.set()
                await asyncio.sleep(3600)
            return await super().acomplete(prompts, params)

    from selfinstruct.runtime.state import open_run
    from selfinstruct.stages.bootstrap.stage import run_stage

    state = open_run("en", tmp_path, num_instructions=10_000, progress=False)

    async def cell() -> None:
        # As in a Jupyter kernel: SIGINT raises KeyboardInterrupt in the main thread, which is
        # waiting for the run on the worker thread (set here: a suite started in the background
        # inherits an ignored SIGINT, and asyncio.run installs its own handler).
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def interrupt() -> None:
            started.wait(10)
            pool = tmp_path / "machine_instructions.jsonl"
            for _ in range(200):  # once the answered requests are in the pool
                if pool.exists() and pool.stat().st_size:
                    break
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGINT)

        threading.Thread(target=interrupt, daemon=True).start()
        run_sync(run_stage(state, Slow(respond=respond)))  # concurrency 8: 3 calls answered

    previous = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(KeyboardInterrupt):
            asyncio.run(cell())
    finally:
        signal.signal(signal.SIGINT, previous)
    stats = json.loads((tmp_path / "stats.json").read_text())["bootstrap"]
    assert stats["stopped"] == "interrupted"
    lines = (tmp_path / "machine_instructions.jsonl").read_bytes()
    assert lines.endswith(b"\n") and stats["accepted"] == lines.count(b"\n") > 0


@pytest.mark.model
@pytest.mark.slow
def test_finetune_train_inside_a_running_loop(local_model: str, tmp_path: Path) -> None:
    from selfinstruct.finetune import train

    data = tmp_path / "alpaca.jsonl"
    rows = [
        {"instruction": f"Say the number {i}.", "input": "", "output": str(i)} for i in range(8)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")

    async def cell() -> object:
        return train(data, output_dir=tmp_path / "adapter", max_steps=1, batch_size=2,
                     grad_accum=1, max_length=64, progress=False)  # fmt: skip

    result = asyncio.run(cell())
    assert result.summary["steps"] == 1
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
