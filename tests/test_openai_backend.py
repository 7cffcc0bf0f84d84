"""OpenAIBackend against the local OpenAI-compatible stub and against a real llama.cpp server.

The protocol details and the fleet's routing are checked here; every kind of server fault, the
retry policy and the adaptive concurrency are in test_openai_faults.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import httpx2
import openai
import pytest
from llama_server import LlamaServer, free_port

from selfinstruct.errors import BackendError, ConfigError
from selfinstruct.llm.base import Completion, GenerationParams, Prompt, complete
from selfinstruct.llm.fleet import Fleet, parse_base_urls
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.testing.openai_stub import Fault, StubServer

FAST = {"backoff": (0.001, 0.01), "cooldown": (0.05, 0.1), "server": "openai"}
"""Retry and cooldown timings that keep the failure tests quick."""


def echo(prompt: str, body: dict[str, Any]) -> str:
    """The stub's reply: the prompt and the seed asked for, so tests can check order and seeds."""
    return f"{prompt}|seed={body.get('seed')}"


def stub(stubs: list[StubServer], *faults: Fault, **kwargs: Any) -> StubServer:
    kwargs.setdefault("reply", echo)
    stubs.append(StubServer(faults=faults, **kwargs).start())
    return stubs[-1]


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    return f"http://127.0.0.1:{free_port()}/v1"


def run(backend: OpenAIBackend, prompts: Sequence[Prompt], **params: Any) -> list[Completion]:
    return complete(backend, prompts, GenerationParams(**params))


# ---------------------------------------------------------------- protocol details


def test_params_passed_through_and_samples_flattened_in_prompt_order(stubs):
    server = stub(stubs)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    chat: Prompt = [{"role": "user", "content": "b"}]
    params = {"stop": ("\n\n", "###"), "temperature": 0.3, "top_p": 0.9, "max_tokens": 17}
    out = run(backend, ["a", chat], n=2, seed=7, presence_penalty=0.5, **params)
    assert [c.text for c in out] == ["a|seed=7", "a|seed=8", "b|seed=7", "b|seed=8"]
    # sent side by side, so they may arrive in any order; the answers come back in prompt order
    assert sorted(server.paths()) == ["/v1/chat/completions"] * 2 + ["/v1/completions"] * 2
    for request in server.requests:
        body = request.body
        assert body["n"] == 1 and body["model"] == "m" and body["presence_penalty"] == 0.5
        assert body["stop"] == ["\n\n", "###"] and body["max_tokens"] == 17
        assert body["temperature"] == 0.3 and body["top_p"] == 0.9
        assert request.headers["authorization"] == "Bearer sk-no-key"
    assert backend.usage.requests == 4
    assert backend.usage.prompt_tokens == sum(c.prompt_tokens for c in out) == 4
    assert backend.usage.completion_tokens == sum(c.completion_tokens for c in out) == 4


def test_finish_reason_normalised_and_model_resolved_from_server(stubs):
    server = stub(stubs, model="served-model")
    backend = OpenAIBackend(base_url=server.url, **FAST)
    out = run(backend, ["one two three four five"], max_tokens=3)
    assert [c.finish_reason for c in out] == ["length"] and out[0].completion_tokens == 3
    assert run(backend, ["x"], max_tokens=30)[0].finish_reason == "stop"
    assert backend.info.model == "served-model"
    assert backend.info.name == "openai" and backend.info.batch_size == 1


def test_usable_from_two_event_loops_in_turn(stubs):
    backend = OpenAIBackend(model="m", base_url=stub(stubs).url, **FAST)
    assert run(backend, ["x"])[0].text == run(backend, ["x"])[0].text == "x|seed=None"


def test_completion_names_its_endpoint_and_usage_is_kept_per_endpoint(stubs):
    a, b = stub(stubs, latency=0.05), stub(stubs, latency=0.05)
    backend = OpenAIBackend(model="m", base_url=[a.url, b.url], max_concurrency=4, **FAST)
    out = run(backend, [f"p{i}" for i in range(8)])
    assert {c.endpoint for c in out} == {a.url, b.url}
    by = backend.usage_by_endpoint
    assert by[a.url].requests == a.count and by[b.url].requests == b.count
    assert by[a.url].requests + by[b.url].requests == backend.usage.requests == 8
    for url in (a.url, b.url):
        mine = [c for c in out if c.endpoint == url]
        assert by[url].completion_tokens == sum(c.completion_tokens for c in mine)


def test_retries_500_and_429_then_succeeds(stubs):
    server = stub(stubs, Fault.http(500), Fault.http(429))
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    assert run(backend, ["a"])[0].text == "a|seed=None"
    assert server.count == 3 and backend.retries == 2
    assert backend.usage.requests == 1


@pytest.mark.parametrize(("status", "hint"), [(401, "OPENAI_API_KEY"), (400, "model name")])
def test_client_errors_are_not_retried_and_never_show_the_key(stubs, status, hint):
    server = stub(stubs, Fault.http(status))
    key = "sk-test-SECRET-123"
    backend = OpenAIBackend(model="m", base_url=server.url, api_key=key, **FAST)
    with pytest.raises(BackendError, match=hint) as err:
        run(backend, ["a"])
    assert server.count == 1 and backend.retries == 0
    assert str(status) in str(err.value) and server.url in str(err.value)
    assert key not in str(err.value) and key not in repr(err.value)
    assert err.value.__cause__ is None
    assert not isinstance(err.value.__context__, openai.OpenAIError | httpx2.HTTPError)
    assert key not in repr(backend) and key not in str(backend)


def test_missing_key_for_openai_says_what_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="SELFINSTRUCT_TEST_KEY environment variable"):
        OpenAIBackend(api_key_env="SELFINSTRUCT_TEST_KEY")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"timeout": 0}, "timeout"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"retry_budget": -1}, "budget"),
        ({"backoff": (2.0, 1.0)}, "backoff"),
        ({"base_url": "localhost:8000/v1"}, "http://"),
    ],
)
def test_bad_settings_are_config_errors(kwargs, message):
    kwargs = {"base_url": "http://127.0.0.1:1/v1", **kwargs}
    with pytest.raises(ConfigError, match=message):
        OpenAIBackend(model="m", **kwargs)


def test_gives_up_after_max_attempts_naming_the_endpoint(stubs):
    server = stub(stubs, *[Fault.http(503)] * 10)
    backend = OpenAIBackend(model="m", base_url=server.url, max_attempts=3, **FAST)
    with pytest.raises(BackendError, match="gave up after 3 attempts") as err:
        run(backend, ["a"])
    assert server.url in str(err.value) and "503" in str(err.value)
    assert server.count == 3


def test_the_openai_client_carries_every_request(stubs):
    server = stub(stubs, model="served")
    transport = CountingTransport()
    client = openai.DefaultAsyncHttpxClient(transport=transport)
    backend = OpenAIBackend(base_url=server.url, http_client=client, **FAST)
    assert len(run(backend, ["a", [{"role": "user", "content": "b"}]])) == 2
    paths = server.paths()
    assert paths[0] == "/v1/models" and sorted(paths[1:]) == [
        "/v1/chat/completions",
        "/v1/completions",
    ]
    assert transport.sent == server.count == 3  # through the client passed in
    for request in server.requests:  # headers only the openai client sends
        assert request.headers["user-agent"] == f"AsyncOpenAI/Python {openai.__version__}"
        assert request.headers["x-stainless-lang"] == "python"
        assert request.headers["x-stainless-retry-count"] == "0"  # its retries are off
    assert client.is_closed  # `complete` closed the backend, and with it the client passed in


# ---------------------------------------------------------------- several endpoints


def test_parse_base_urls_accepts_comma_separated_and_lists():
    assert parse_base_urls(" http://a/v1/, http://b/v1 ,") == ["http://a/v1", "http://b/v1"]
    assert parse_base_urls(["http://a/v1"]) == ["http://a/v1"]


def test_fleet_picks_least_loaded_with_round_robin_ties_and_rests_failures():
    now = [0.0]
    fleet = Fleet(["a", "b", "c"], 5, 12, max_in_flight=4, clock=lambda: now[0])
    a, b, c = fleet.endpoints
    assert [fleet.pick().url for _ in range(4)] == ["a", "b", "c", "a"]
    b.in_flight, c.in_flight = 2, 1
    assert fleet.pick() is a
    a.in_flight = 3
    assert fleet.pick() is c
    fleet.mark_failed(c)
    fleet.mark_failed(c)
    assert c.dead_until == 10 and fleet.pick() is b  # second failure doubles the rest
    fleet.mark_failed(c)
    assert c.dead_until == 12  # capped
    a.in_flight = b.in_flight = 4
    assert fleet.pick() is None and fleet.next_wake() == 12  # all full or resting
    now[0] = 12.0
    c.in_flight = 0
    assert fleet.pick() is c  # rested: probed again
    c.in_flight = 1
    assert fleet.pick() is None  # one probe at a time
    fleet.mark_ok(c)
    assert c.failures == 0 and c.alive(now[0]) and fleet.pick() is c


def test_dead_endpoint_is_skipped_and_probed_again_later(stubs):
    live, dead = stub(stubs), dead_url()
    backend = OpenAIBackend(model="m", base_url=f"{dead},{live.url}", max_concurrency=4, **FAST)
    out = run(backend, [str(i) for i in range(8)])
    assert [c.text for c in out] == [f"{i}|seed=None" for i in range(8)]
    down = backend.fleet.endpoints[0]
    assert live.count == 8 and 1 <= down.sent <= 4 and down.failures == down.sent
    assert backend.retries == down.sent  # each failed attempt moved to the live endpoint
    time.sleep(0.15)  # past the cooldown
    sent_before = down.sent
    assert len(run(backend, [str(i) for i in range(4)])) == 4
    assert down.sent == sent_before + 1  # one probe, which failed and moved to the live one
    assert down.sent == backend.retries and down.failures == down.sent
    assert live.count == 12 and {c.endpoint for c in out} == {live.url}


def test_all_endpoints_dead_raises_naming_them():
    urls = [dead_url(), dead_url()]
    backend = OpenAIBackend(model="m", base_url=urls, max_attempts=3, **FAST)
    with pytest.raises(BackendError) as err:
        run(backend, ["a"])
    assert all(url in str(err.value) for url in urls)
    assert "ConnectError" in str(err.value) and "is the server up" in str(err.value)


def test_load_spread_evenly_over_equal_endpoints(stubs):
    a, b = stub(stubs, latency=0.2), stub(stubs, latency=0.2)
    backend = OpenAIBackend(model="m", base_url=[a.url, b.url], max_concurrency=8, **FAST)
    run(backend, ["p"] * 8)
    assert a.count == b.count == 4


def test_load_follows_the_faster_endpoint(stubs):
    fast, slow = stub(stubs, latency=0.01), stub(stubs, latency=0.4)
    backend = OpenAIBackend(model="m", base_url=[fast.url, slow.url], max_concurrency=2, **FAST)
    run(backend, ["p"] * 12)
    assert fast.count + slow.count == 12
    assert fast.count >= 3 * slow.count >= 3


def test_global_cap_holds_across_endpoints(stubs):
    servers = [stub(stubs, latency=0.1) for _ in range(3)]
    backend = OpenAIBackend(
        model="m", server="openai", base_url=[s.url for s in servers], max_concurrency=5
    )
    run(backend, ["p"] * 30)
    assert sum(s.count for s in servers) == 30
    assert all(1 <= s.peak_in_flight <= 5 for s in servers)
    assert sum(s.peak_in_flight for s in servers) <= 5 + 2  # peaks need not coincide


# ---------------------------------------------------------------- a real llama.cpp server


class CountingTransport(httpx2.AsyncHTTPTransport):
    """Counts HTTP requests (all, and in flight) and remembers the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.peak = self.sent = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            response = await super().handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1


def llama(server: LlamaServer, **kwargs: Any) -> OpenAIBackend:
    return OpenAIBackend(model=server.model, base_url=server.base_url, **kwargs)


@pytest.mark.server
def test_llama_completions_and_chat_produce_text(llama_server):
    backend = llama(llama_server)
    chat: Prompt = [{"role": "user", "content": "Name a colour."}]
    out = run(backend, ["The capital of France is", chat], max_tokens=8, temperature=0)
    assert len(out) == 2
    for c in out:
        assert c.text.strip() and c.finish_reason in ("stop", "length")
        assert c.prompt_tokens > 0 and 0 < c.completion_tokens <= 8
        assert c.endpoint == llama_server.base_url


@pytest.mark.server
def test_llama_stop_sequence_and_length(llama_server):
    backend = llama(llama_server, max_concurrency=3)
    count = "1, 2, 3, 4, 5, 6,"
    free = run(backend, [count], max_tokens=12, temperature=0)[0]
    stopped = run(backend, [count], max_tokens=12, temperature=0, stop=(" 9",))[0]
    assert " 9" in free.text  # the model does count on, so the stop below is what cuts it
    assert " 9" not in stopped.text and stopped.finish_reason == "stop"
    assert stopped.text.strip().startswith("7")
    cut = run(backend, ["Once upon a time, a dragon"], max_tokens=3, temperature=0)[0]
    assert cut.finish_reason == "length" and cut.completion_tokens == 3


@pytest.mark.server
def test_llama_concurrency_bounded_and_usage_summed(llama_server):
    transport = CountingTransport()
    client = openai.DefaultAsyncHttpxClient(transport=transport)
    backend = llama(llama_server, max_concurrency=3, http_client=client)
    words = ["cat", "dog", "sun", "tree", "car", "hat", "bee", "key", "pen"]
    prompts = [f"Give me a word that rhymes with {w}." for w in words]
    out = run(backend, prompts, max_tokens=12)  # long enough that the requests overlap
    assert len(out) == 9 and 1 < transport.peak <= 3
    assert backend.usage.requests == 9
    assert backend.usage.completion_tokens == sum(c.completion_tokens for c in out) > 0
    assert backend.usage.prompt_tokens == sum(c.prompt_tokens for c in out) > 0


@pytest.mark.server
def test_llama_n_samples_and_model_lookup(llama_server):
    backend = OpenAIBackend(base_url=llama_server.base_url)
    out = run(backend, ["Hello", "Goodbye"], n=2, max_tokens=4, seed=1)
    assert len(out) == 4 and backend.usage.requests == 4
    assert backend.info.model == llama_server.model
    assert asyncio.run(backend.aresolve_model()) == llama_server.model


# ---------------------------------------------------------------- server kinds


def test_server_kind_from_the_model_list() -> None:
    from selfinstruct.llm.servers import NEUTRAL, detect

    assert detect(["vllm"]) == "vllm" and detect(["sglang"]) == "sglang"
    assert detect(["me"]) == detect(["llamacpp"]) == "llama.cpp"  # llama-cpp-python, llama-server
    assert detect(["openai", "system"]) == detect([]) == "openai"
    assert NEUTRAL["openai"] == {}
    with pytest.raises(ConfigError, match="server must be"):
        OpenAIBackend(model="m", base_url="http://127.0.0.1:9/v1", server="tgi")


@pytest.mark.server
def test_llama_cpp_gets_its_own_samplers_switched_off(llama_server: LlamaServer) -> None:
    """llama.cpp samples with top_k 40, min_p 0.05, repeat_penalty 1.1 unless told otherwise."""
    bodies: list[dict] = []

    async def record(request: httpx2.Request) -> None:
        if request.url.path.endswith("/completions"):
            bodies.append(json.loads(request.content))

    client = openai.DefaultAsyncHttpxClient(event_hooks={"request": [record]})
    backend = OpenAIBackend(
        model=llama_server.model, base_url=llama_server.base_url, http_client=client
    )
    out = run(backend, ["Count to three:"], max_tokens=4, temperature=0)
    assert len(out) == 1 and backend.server == "llama.cpp"
    assert bodies and bodies[0]["top_k"] == 0 and bodies[0]["min_p"] == 0.0
    assert bodies[0]["repeat_penalty"] == 1.0 and "repetition_penalty" not in bodies[0]
