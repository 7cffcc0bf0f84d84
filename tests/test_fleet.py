"""Several endpoints behind one `--base-url`: a real llama.cpp server plus a dead port.

The flags go through the CLI's parser, `config_from_args` and `backend_from_config` (so through
`make_backend`), the way `selfinstruct bootstrap --base-url A,B` builds its backend. The scripted-server tests of the
fleet's policy live in test_openai_backend.py; these check it against a real server.
"""

from __future__ import annotations

import argparse
import time

import pytest
from llama_server import LlamaServer, free_port

from selfinstruct.cli.options import add_options, config_from_args
from selfinstruct.llm.base import GenerationParams, complete
from selfinstruct.llm.factory import backend_from_config
from selfinstruct.llm.openai_backend import OpenAIBackend

pytestmark = pytest.mark.server
PARAMS = GenerationParams(max_tokens=4, temperature=0)


def backend_for(base_url: str, model: str, concurrency: int) -> OpenAIBackend:
    """The backend the CLI builds for `--backend openai --base-url ... --concurrency K`."""
    parser = argparse.ArgumentParser()
    add_options(parser, ["backend"], run_wide=())
    argv = [
        "--backend",
        "openai",
        "--base-url",
        base_url,
        "--model",
        model,
        "--server",
        "llama.cpp",
    ]
    args = parser.parse_args([*argv, "--concurrency", str(concurrency)])
    backend = backend_from_config(config_from_args(args).backend)
    assert isinstance(backend, OpenAIBackend)
    return backend


def test_dead_endpoint_skipped_then_probed_again(llama_server: LlamaServer):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = backend_for(f"{dead}, {llama_server.base_url}", llama_server.model, 3)
    backend.fleet.cooldown_min = backend.fleet.cooldown_max = 0.5  # keep the test short
    down, live = backend.fleet.endpoints
    assert (down.url, live.url) == (dead, llama_server.base_url)

    out = complete(backend, [f"Count to {i}:" for i in range(6)], PARAMS)
    assert len(out) == 6 and all(c.completion_tokens > 0 for c in out)
    assert 1 <= down.sent <= 3 and down.failures == down.sent  # tried, failed, rested
    assert live.sent == 6 and backend.retries == down.sent  # each failure moved to the live one
    assert {c.endpoint for c in out} == {llama_server.base_url}
    assert backend.usage_by_endpoint[dead].requests == 0

    time.sleep(0.6)  # past the cooldown: the dead endpoint gets one probe, then rests again
    before = down.sent
    assert len(complete(backend, ["Say hi."] * 3, PARAMS)) == 3
    assert down.sent == before + 1 and live.sent == 9


def test_requests_spread_by_load_over_live_endpoints(llama_server: LlamaServer):
    # two names for the same server make two endpoints of equal speed
    other = llama_server.base_url.replace("127.0.0.1", "localhost")
    backend = backend_for(f"{llama_server.base_url},{other}", llama_server.model, 4)
    out = complete(backend, [f"Name a fruit ({i})." for i in range(8)], PARAMS)
    assert len(out) == 8 and backend.retries == 0
    a, b = backend.fleet.endpoints
    assert a.sent + b.sent == 8 and min(a.sent, b.sent) >= 2  # both kept busy
    assert a.in_flight == b.in_flight == 0
    assert [backend.usage_by_endpoint[e.url].requests for e in (a, b)] == [a.sent, b.sent]
