"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from llama_server import LlamaServer, start_server, unavailable_reason


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
