"""OpenAIBackend against a real llama.cpp server and against small scripted fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
import openai
import pytest
from llama_server import LlamaServer, free_port

from selfinstruct.errors import BackendError
from selfinstruct.llm.base import Completion, GenerationParams, Prompt, complete
from selfinstruct.llm.fleet import Fleet, parse_base_urls
from selfinstruct.llm.openai_backend import OpenAIBackend

FAST = {"retry_wait": (0.001, 0.01), "cooldown": (0.05, 0.1)}
"""Retry and cooldown timings that keep the failure tests quick."""


# ---------------------------------------------------------------- a scripted fake server


class FakeServer:
    """An OpenAI-compatible HTTP server that answers with the statuses in `script`, then 200s.

    A 200 completion's text is the prompt (or last chat message) followed by "|seed=<seed>", so
    tests can check ordering and parameters; error bodies echo the Authorization header, as a
    careless server might, so tests can check that the key never leaks.
    """

    def __init__(self, script: Sequence[int] = (), delay: float = 0.0) -> None:
        self.script, self.delay = list(script), delay
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @property
    def requests(self) -> int:
        return len(self.bodies)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _reply(self, path: str, body: dict[str, Any], auth: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.bodies.append(body)
            status = self.script.pop(0) if self.script else 200
        time.sleep(self.delay)
        if status != 200:
            return status, {"error": {"message": f"scripted {status} for {auth}", "type": "x"}}
        usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
        if path.endswith("/chat/completions"):
            text = f"{body['messages'][-1]['content']}|seed={body.get('seed')}"
            choice = {"index": 0, "message": {"role": "assistant", "content": text}}
            kind = "chat.completion"
        else:
            text = f"{body['prompt']}|seed={body.get('seed')}"
            choice = {"index": 0, "text": text, "logprobs": None}
            kind = "text_completion"
        choice["finish_reason"] = "length" if body.get("max_tokens") == 3 else "stop"
        head = {"id": "x", "object": kind, "created": 0, "model": body.get("model")}
        return 200, {**head, "choices": [choice], "usage": usage}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                model = {"id": "fake-model", "object": "model", "created": 0, "owned_by": "t"}
                self._send(200, {"object": "list", "data": [model]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization", "")
                self._send(*fake._reply(self.path, body, auth))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def fakes() -> Iterator[list[FakeServer]]:
    """A list the test appends FakeServers to; all are shut down afterwards."""
    servers: list[FakeServer] = []
    yield servers
    for server in servers:
        server.close()


def fake(fakes: list[FakeServer], script: Sequence[int] = (), delay: float = 0.0) -> FakeServer:
    fakes.append(FakeServer(script, delay))
    return fakes[-1]


def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (connections are refused at once)."""
    return f"http://127.0.0.1:{free_port()}/v1"


def run(backend: OpenAIBackend, prompts: Sequence[Prompt], **params: Any) -> list[Completion]:
    return complete(backend, prompts, GenerationParams(**params))


# ---------------------------------------------------------------- protocol details (fake server)


def test_params_passed_through_and_samples_flattened_in_prompt_order(fakes):
    server = fake(fakes)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    chat: Prompt = [{"role": "user", "content": "b"}]
    params = {"stop": ("\n\n", "###"), "temperature": 0.3, "top_p": 0.9, "max_tokens": 17}
    out = run(backend, ["a", chat], n=2, seed=7, presence_penalty=0.5, **params)
    assert [c.text for c in out] == ["a|seed=7", "a|seed=8", "b|seed=7", "b|seed=8"]
    for body in server.bodies:
        assert body["n"] == 1 and body["model"] == "m" and body["presence_penalty"] == 0.5
        assert body["stop"] == ["\n\n", "###"] and body["max_tokens"] == 17
        assert body["temperature"] == 0.3 and body["top_p"] == 0.9
    assert backend.usage.requests == 4
    assert backend.usage.prompt_tokens == sum(c.prompt_tokens for c in out) == 20
    assert backend.usage.completion_tokens == sum(c.completion_tokens for c in out) == 12


def test_finish_reason_normalised_and_model_resolved_from_server(fakes):
    server = fake(fakes)
    backend = OpenAIBackend(base_url=server.url, **FAST)
    assert [c.finish_reason for c in run(backend, ["a"], max_tokens=3)] == ["length"]
    assert backend.info.model == "fake-model"
    assert backend.info.name == "openai" and backend.info.batch_size == 1


def test_usable_from_two_event_loops_in_turn(fakes):
    backend = OpenAIBackend(model="m", base_url=fake(fakes).url, **FAST)
    assert run(backend, ["x"])[0].text == run(backend, ["x"])[0].text == "x|seed=None"


def test_retries_500_and_429_then_succeeds(fakes):
    server = fake(fakes, script=[500, 429])
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    assert run(backend, ["a"])[0].text == "a|seed=None"
    assert server.requests == 3 and backend.retries == 2
    assert backend.usage.requests == 1


@pytest.mark.parametrize(("status", "hint"), [(401, "OPENAI_API_KEY"), (400, "model name")])
def test_client_errors_are_not_retried_and_never_show_the_key(fakes, status, hint):
    server = fake(fakes, script=[status])
    key = "sk-test-SECRET-123"
    backend = OpenAIBackend(model="m", base_url=server.url, api_key=key, **FAST)
    with pytest.raises(BackendError, match=hint) as err:
        run(backend, ["a"])
    assert server.requests == 1 and backend.retries == 0
    assert str(status) in str(err.value)
    assert key not in str(err.value) and key not in repr(err.value)
    assert err.value.__cause__ is None or key not in str(err.value.__cause__)
    assert key not in repr(backend) and key not in str(backend)


def test_missing_key_for_openai_says_what_to_set(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(BackendError, match="SELFINSTRUCT_TEST_KEY environment variable"):
        OpenAIBackend(api_key_env="SELFINSTRUCT_TEST_KEY")


def test_gives_up_after_max_retries_naming_the_endpoint(fakes):
    server = fake(fakes, script=[503] * 10)
    backend = OpenAIBackend(model="m", base_url=server.url, max_retries=2, **FAST)
    with pytest.raises(BackendError, match=server.url):
        run(backend, ["a"])
    assert server.requests == 3


def test_timeout_is_retried_then_reported(fakes):
    server = fake(fakes, delay=0.5)
    backend = OpenAIBackend(model="m", base_url=server.url, timeout=0.1, max_retries=1, **FAST)
    with pytest.raises(BackendError, match="APITimeoutError"):
        run(backend, ["a"])
    assert server.requests == 2


# ---------------------------------------------------------------- several endpoints


def test_parse_base_urls_accepts_comma_separated_and_lists():
    assert parse_base_urls(" http://a/v1/, http://b/v1 ,") == ["http://a/v1", "http://b/v1"]
    assert parse_base_urls(["http://a/v1"]) == ["http://a/v1"]


def test_fleet_picks_least_loaded_with_round_robin_ties_and_rests_failures():
    now = [0.0]
    fleet = Fleet(["a", "b", "c"], cooldown_min=5, cooldown_max=12, clock=lambda: now[0])
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
    now[0] = 12.0
    c.in_flight = 0
    assert fleet.pick() is c  # rested: probed again
    c.in_flight = 1
    assert fleet.pick() is not c  # one probe at a time
    fleet.mark_ok(c)
    assert c.failures == 0 and c.alive(now[0])


def test_dead_endpoint_is_skipped_and_probed_again_later(fakes):
    live, dead = fake(fakes), dead_url()
    backend = OpenAIBackend(model="m", base_url=f"{dead},{live.url}", max_concurrency=4, **FAST)
    out = run(backend, [str(i) for i in range(8)])
    assert [c.text for c in out] == [f"{i}|seed=None" for i in range(8)]
    down = backend.fleet.endpoints[0]
    assert live.requests == 8 and 1 <= down.sent <= 4 and down.failures == down.sent
    assert backend.retries == down.sent  # each failed attempt moved to the live endpoint
    time.sleep(0.15)  # past the cooldown
    sent_before = down.sent
    assert len(run(backend, [str(i) for i in range(4)])) == 4
    assert down.sent == sent_before + 1  # one probe, which failed and moved to the live one
    assert down.sent == backend.retries and down.failures == down.sent
    assert live.requests == 12


def test_all_endpoints_dead_raises_naming_them():
    urls = [dead_url(), dead_url()]
    backend = OpenAIBackend(model="m", base_url=urls, max_retries=3, **FAST)
    with pytest.raises(BackendError) as err:
        run(backend, ["a"])
    assert all(url in str(err.value) for url in urls)
    assert "APIConnectionError" in str(err.value)


def test_load_spread_evenly_over_equal_endpoints(fakes):
    a, b = fake(fakes, delay=0.2), fake(fakes, delay=0.2)
    backend = OpenAIBackend(model="m", base_url=[a.url, b.url], max_concurrency=8, **FAST)
    run(backend, ["p"] * 8)
    assert a.requests == b.requests == 4


def test_load_follows_the_faster_endpoint(fakes):
    fast, slow = fake(fakes, delay=0.01), fake(fakes, delay=0.4)
    backend = OpenAIBackend(model="m", base_url=[fast.url, slow.url], max_concurrency=2, **FAST)
    run(backend, ["p"] * 12)
    assert fast.requests + slow.requests == 12
    assert fast.requests >= 3 * slow.requests >= 3


# ---------------------------------------------------------------- a real llama.cpp server


class CountingTransport(httpx2.AsyncHTTPTransport):
    """Counts HTTP requests in flight and remembers the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = self.peak = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
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
