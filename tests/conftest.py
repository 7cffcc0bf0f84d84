"""Shared pytest fixtures: the llama.cpp server, the bundled model, stub servers, child
processes and a local Ray cluster."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_server import LlamaServer, start_server, unavailable_reason

from selfinstruct.testing.openai_stub import StubServer


def require_all() -> bool:
    """True where a missing server, model or package must fail the suite, never skip (CI)."""
    return bool(os.environ.get("CI") or os.environ.get("SELFINSTRUCT_REQUIRE_ALL"))


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A llama.cpp server on the bundled SmolLM2 model (.base_url, .model), shared by the session.

    Fails when the suite must run everything (env CI or SELFINSTRUCT_REQUIRE_ALL set) and
    llama-cpp-python or the model is missing; skips otherwise.
    """
    reason = unavailable_reason()
    if reason:
        if require_all():
            pytest.fail(f"CI needs the llama.cpp server: {reason}")
        pytest.skip(reason)
    server = start_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def local_model() -> str:
    """The bundled GGUF model's path, once torch and transformers are importable for it.

    Fails when the suite must run everything; skips otherwise.
    """
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        from selfinstruct.llm.model_files import bundled_model_path

        return str(bundled_model_path())
    except Exception as exc:
        if require_all():
            pytest.fail(f"the in-process model tests need torch, transformers and the model: {exc}")
        pytest.skip(str(exc))


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Child processes a test starts; all are killed afterwards, whatever happened."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


@pytest.fixture
def stubs() -> Iterator[list[StubServer]]:
    """A list the test appends running stubs to; all are stopped afterwards."""
    servers: list[StubServer] = []
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local Ray cluster of two CPUs per module (the stages join it with ray=local)."""
    ray = __import__("ray") if require_all() else pytest.importorskip("ray")  # the [ray] extra
    src = str(Path(__file__).resolve().parents[1] / "src")
    tests = str(Path(__file__).resolve().parent)
    env = {"PYTHONPATH": os.pathsep.join([src, tests, os.environ.get("PYTHONPATH", "")])}
    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env}
    )
    try:
        yield ray
    finally:
        ray.shutdown()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line: each parser's worst time per KB, as recorded by tests/test_parsers_fuzz.py."""
    worst: dict[str, tuple[float, str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "parser_ms_per_kb":
                    parser, ms, what = value
                    if ms > worst.get(parser, (-1.0, ""))[0]:
                        worst[parser] = (ms, what)
    if worst:
        figures = ", ".join(f"{p} {ms:.4f} ms/KB ({what})" for p, (ms, what) in worst.items())
        terminalreporter.write_line(f"parser worst time per KB: {figures}")
