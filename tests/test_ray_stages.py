"""--ray: classify and instances on a local Ray cluster make the files a run without Ray makes.

The driver alone writes the run directory; a worker killed mid-stage has its share redone by
another, so each record is in the output exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import require_all

from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.ray_executor import ACTOR_PREFIX
from selfinstruct.runtime.records import MachineInstruction
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.classify.stage import classify
from selfinstruct.stages.instances.stage import generate_instances
from selfinstruct.stages.judge.stage import judge
from selfinstruct.testing.openai_stub import StubServer

ray = __import__("ray") if require_all() else pytest.importorskip("ray")  # the [ray] extra

TASKS = [
    "Convert the temperature from Celsius to Fahrenheit.",
    "Write a haiku about rain on a tin roof.",
    "Is the number 91 a prime number?",
]


def new_run(root: Path, tasks: list[str]) -> Path:
    """A run directory holding `tasks` as its machine instructions."""
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": "en", "language": "en"})
    with JsonlWriter(rundir.machine_instructions) as out:
        for i, text in enumerate(tasks):
            out.write(
                MachineInstruction(instruction=text, index=i, request=0, max_rouge=0, mean_rouge=0)
            )
    return root


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def funnel(root: Path, stage: str) -> dict[str, Any]:
    """A stage's section of stats.json without the figures that depend on timing."""
    stats = json.loads((root / "stats.json").read_text())[stage]
    return {k: v for k, v in stats.items() if k not in ("endpoints", "elapsed_s")}


def stages(root: Path, **options: Any) -> None:
    classify(root, classify_examples=2, progress=False, **options)
    generate_instances(
        root, max_instances=2, instance_examples=1, instance_max_tokens=96, progress=False,
        **options,
    )  # fmt: skip


def test_no_cluster_at_the_address_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from selfinstruct.errors import BackendError
    from selfinstruct.runtime.ray_executor import connect

    if ray.is_initialized():  # the module's cluster must not answer for `auto`
        pytest.fail("this test runs before the cluster fixture starts one")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(BackendError, match="ray start --head"):
        connect("auto")


@pytest.mark.server
def test_ray_run_makes_the_files_of_a_local_run(
    cluster: Any, llama_server: Any, tmp_path: Path
) -> None:
    backend = {
        "base_url": [llama_server.base_url], "model": llama_server.model,
        "concurrency": 1,
    }  # fmt: skip
    plain = new_run(tmp_path / "plain", TASKS)
    on_ray = new_run(tmp_path / "ray", TASKS)
    stages(plain, **backend)
    stages(on_ray, ray="local", ray_workers=2, **backend)
    for name in ("classification.jsonl", "instances.jsonl"):
        assert lines(on_ray / name) == lines(plain / name), name
    assert len(lines(plain / "classification.jsonl")) == len(TASKS)
    for stage in ("classify", "instances"):
        assert funnel(on_ray, stage) == funnel(plain, stage)
        assert funnel(on_ray, stage)["requests"] >= len(TASKS)
    assert not ray.util.list_named_actors()  # the stage stopped its workers


def kill_a_worker_when(server: StubServer, requests: int) -> threading.Thread:
    """SIGKILL one Ray worker's process once the server has seen `requests` requests."""

    def kill() -> None:
        deadline = time.monotonic() + 30
        while server.count < requests and time.monotonic() < deadline:
            time.sleep(0.02)
        names = [n for n in ray.util.list_named_actors() if n.startswith(ACTOR_PREFIX)]
        actor = ray.get_actor(names[0])
        os.kill(ray.get(actor.pid.remote()), signal.SIGKILL)
        killed.append(names[0])

    killed: list[str] = []
    thread = threading.Thread(target=kill, daemon=True)
    thread.killed = killed  # type: ignore[attr-defined]
    thread.start()
    return thread


def test_a_killed_worker_loses_and_duplicates_nothing(cluster: Any, tmp_path: Path) -> None:
    tasks = [f"Write a short poem about the number {i} and the sea." for i in range(40)]
    with StubServer(latency=0.15) as server:
        backend = {"base_url": [server.url], "concurrency": 2}
        plain = new_run(tmp_path / "plain", tasks)
        classify(plain, classify_examples=2, progress=False, **backend)
        before = server.count
        on_ray = new_run(tmp_path / "ray", tasks)
        killer = kill_a_worker_when(server, before + 8)
        classify(on_ray, classify_examples=2, progress=False, ray="local", ray_workers=2, **backend)
        killer.join(timeout=30)
        for root, more in ((plain, {}), (on_ray, {"ray": "local", "ray_workers": 2})):
            generate_instances(root, max_instances=2, progress=False, **backend, **more)
            judge(root, progress=False, **backend, **more)
    assert killer.killed  # type: ignore[attr-defined]
    got = lines(on_ray / "classification.jsonl")
    assert sorted(r["instruction"] for r in got) == sorted(tasks)  # each once
    assert got == lines(plain / "classification.jsonl")
    assert lines(on_ray / "instances.jsonl") == lines(plain / "instances.jsonl")
    assert lines(on_ray / "judgements.jsonl") == lines(plain / "judgements.jsonl")
    for stage in ("classify", "instances", "judge"):
        assert funnel(on_ray, stage) == funnel(plain, stage)
        assert funnel(plain, stage)["requests"] >= len(tasks)


def test_the_ray_flag_alone_means_a_local_cluster() -> None:
    from selfinstruct.cli import build_parser
    from selfinstruct.cli.options import config_from_args

    parser = build_parser()
    alone = config_from_args(parser.parse_args(["classify", "--ray", "--out", "x"]))
    named = config_from_args(
        parser.parse_args(["instances", "--ray", "auto", "--ray-workers", "3"])
    )
    unset = config_from_args(parser.parse_args(["judge"]))
    assert (alone.ray, named.ray, named.ray_workers, unset.ray) == ("local", "auto", 3, None)
    assert "ray" not in alone.data_settings("classify")  # not a setting of the data


def test_without_ray_installed_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from selfinstruct.errors import MissingDependencyError
    from selfinstruct.runtime.ray_executor import connect

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"selfinstruct\[ray\]"):
        connect("local")
