"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from llama_server import LlamaServer, start_server, unavailable_reason


@pytest.fixture(scope="session")
def llama_server() -> Iterator[LlamaServer]:
    """A llama.cpp server on the bundled SmolLM2 model (.base_url, .model), shared by the session.

    Fails under CI (env CI set) when llama-cpp-python or the model is missing; skips otherwise.
    """
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the llama.cpp server: {reason}")
        pytest.skip(reason)
    server = start_server()
    try:
        yield server
    finally:
        server.stop()
