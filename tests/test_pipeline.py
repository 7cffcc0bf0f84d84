"""The whole pipeline: on a scripted backend (logic, resume, CLI) and for real against llama.cpp.

The real test is the issue's acceptance check: `selfinstruct run --num-instructions 20` against
the llama.cpp server on the bundled model produces an alpaca.jsonl that `datasets` loads, every
row complete, every instruction classified, and every stage's stats adding up.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets
import pytest
from fakes import FakeBackend, prompt_text
from runs import check_stats
from scripted import is_instances_prompt, respond, scripted_server

from selfinstruct.cli import main
from selfinstruct.pipeline import run
from selfinstruct.runtime.rundir import RunDir


def check_alpaca(out: Path, n: int) -> datasets.Dataset:
    """alpaca.jsonl loads with `datasets`, rows complete; every instruction carries a label."""
    ds = datasets.load_dataset(
        "json", data_files=str(out / "alpaca.jsonl"), split="train", cache_dir=str(out / ".hf")
    )
    assert ds.num_rows > 0
    assert set(ds.column_names) == {"instruction", "input", "output"}
    assert all(r["instruction"].strip() and r["output"].strip() for r in ds)
    rundir = RunDir.of(out)
    labels = [json.loads(x) for x in rundir.classification.read_text().splitlines()]
    machine = [json.loads(x) for x in rundir.machine_instructions.read_text().splitlines()]
    assert len(machine) == n
    assert {m["instruction"] for m in machine} == {r["instruction"] for r in labels}
    assert all(isinstance(r["is_classification"], bool) for r in labels)
    return ds


def test_run_on_a_fake_goes_from_seeds_to_alpaca(tmp_path: Path) -> None:
    backend = FakeBackend(respond=respond)
    result = run("en", tmp_path, 12, backend, concurrency=3, progress=False)
    assert result.bootstrap.accepted == 12
    check_stats(tmp_path, 12)
    ds = check_alpaca(tmp_path, 12)
    assert ds.num_rows == result.export.stats["examples"] == result.instances.stats["kept"]
    clf = result.classify.stats["classification"]
    assert 0 < clf < 12  # the fake says Yes to "Classify ..." tasks only


def test_rerun_and_larger_target_only_do_the_missing_work(tmp_path: Path) -> None:
    run("en", tmp_path, 6, FakeBackend(respond=respond), concurrency=2, progress=False)
    before = (tmp_path / "alpaca.jsonl").read_bytes()
    idle = FakeBackend()  # no replies at all: a complete run must not ask for any
    run("en", tmp_path, 6, idle, concurrency=2, progress=False)
    assert idle.history == [] and (tmp_path / "alpaca.jsonl").read_bytes() == before
    more = FakeBackend(respond=respond)
    run("en", tmp_path, 9, more, concurrency=2, progress=False)
    kinds = [prompt_text(p).rstrip() for p, _ in more.history]
    assert sum(k.endswith("Classification task:") for k in kinds) == 3
    assert sum(is_instances_prompt(p) for p, _ in more.history) == 3
    check_stats(tmp_path, 9)
    check_alpaca(tmp_path, 9)


def test_same_seed_same_files(tmp_path: Path) -> None:
    for name, k in (("a", 1), ("b", 4)):
        run("en", tmp_path / name, 8, FakeBackend(respond=respond), concurrency=k, progress=False)
    for f in (
        "machine_instructions.jsonl",
        "classification.jsonl",
        "instances.jsonl",
        "alpaca.jsonl",
    ):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_cli_stages_one_by_one_with_a_config_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    with scripted_server() as server:
        url = server.url
        flags = ["--base-url", url, "--no-progress"]
        assert main(["bootstrap", "--out", str(out), "--num-instructions", "5", *flags]) == 0
        config = tmp_path / "run.yaml"
        config.write_text(
            f"out: {out}\nmax-instances: 1\nprogress: false\nbackend:\n  base_url: {url}\n",
            encoding="utf-8",
        )
        assert main(["classify", "--config", str(config)]) == 0
        assert main(["instances", "--config", str(config)]) == 0
        assert main(["export", "--config", str(config), "--format", "sharegpt"]) == 0
    printed = capsys.readouterr().out
    assert "bootstrap: 5/5" in printed
    assert "classify: 5/5" in printed and "instances: 5 kept" in printed
    assert (out / "sharegpt.jsonl").exists()
    stats = json.loads((out / "stats.json").read_text())
    assert stats["instances"]["dropped"] == {"over_max_instances": 5}
    assert stats["classify"]["endpoints"][url]["requests"] == 5


def test_cli_stage_before_its_input_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "machine_instructions.jsonl").write_text(
        json.dumps({"instruction": "Say hi to the user politely.", "index": 0, "request": 0,
                    "max_rouge": 0.1, "mean_rouge": 0.0}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    with scripted_server() as server:
        argv = ["instances", "--out", str(tmp_path), "--no-progress", "--base-url", server.url]
        assert main(argv) == 2
        assert server.count == 0
    assert "selfinstruct classify" in capsys.readouterr().err


@pytest.mark.server
@pytest.mark.slow
def test_run_against_llama_cpp_server(llama_server: Any, tmp_path: Path) -> None:
    out = tmp_path / "tmp"
    argv = [
        "run", "--num-instructions", "10", "--backend", "openai",
        "--base-url", llama_server.base_url, "--model", llama_server.model,
        "--out", str(out), "--concurrency", "2", "--max-tokens", "256",
        "--instance-max-tokens", "200", "--classify-examples", "8", "--no-progress",
    ]  # fmt: skip
    assert main(argv) == 0
    stats = check_stats(out, 10)  # test_bootstrap_real takes bootstrap alone to 20
    ds = check_alpaca(out, 10)
    assert ds.num_rows == stats["export"]["examples"]


@pytest.mark.model
@pytest.mark.slow
def test_stages_in_process_on_the_bundled_model(local_model: str, tmp_path: Path) -> None:
    from selfinstruct.llm.transformers_backend import TransformersBackend
    from selfinstruct.runtime.jsonl import JsonlWriter
    from selfinstruct.runtime.records import MachineInstruction
    from selfinstruct.stages.classify.stage import classify
    from selfinstruct.stages.export.stage import export_run
    from selfinstruct.stages.instances.stage import generate_instances

    tasks = ["Convert the temperature from Celsius to Fahrenheit.", "Write a haiku about rain."]
    rundir = RunDir.of(tmp_path)
    rundir.write_meta({"seeds": "en", "language": "en"})
    with JsonlWriter(rundir.machine_instructions) as out:
        for i, text in enumerate(tasks):
            out.write(
                MachineInstruction(instruction=text, index=i, request=0, max_rouge=0, mean_rouge=0)
            )
    backend = TransformersBackend(batch_size=2)
    classify(tmp_path, backend, classify_examples=4, progress=False)
    made = generate_instances(
        tmp_path, backend, instance_max_tokens=96, instance_examples=0, progress=False
    )
    export_run(tmp_path)
    s = made.stats
    assert s["tasks"] == 2 and s["generated"] == s["kept"] + sum(s["dropped"].values())
    assert s["completion_tokens"] > 0
    labels = [json.loads(x) for x in rundir.classification.read_text().splitlines()]
    assert len(labels) == 2 and all(isinstance(r["is_classification"], bool) for r in labels)
    rows = [json.loads(x) for x in rundir.alpaca.read_text().splitlines()]
    assert len(rows) == s["kept"] > 0
    assert all(r["instruction"] in tasks and r["output"].strip() for r in rows)
