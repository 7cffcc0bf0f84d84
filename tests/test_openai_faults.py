"""Every fault a server can produce, against OpenAIBackend: retried, or one clear BackendError.

All against the local stub (selfinstruct.testing.openai_stub) on 127.0.0.1: malformed and garbled
bodies, dropped connections, Retry-After, backoff and its time budget, whole-request timeouts, the
API key echoed back, and the adaptive per-endpoint concurrency. The stub's own behaviour comes
first.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import json
import logging
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rouge_score import rouge_scorer

from selfinstruct.errors import BackendError
from selfinstruct.llm.base import Completion, GenerationParams, complete
from selfinstruct.llm.dispatcher import MALFORMED_LIMIT
from selfinstruct.llm.failures import refusal
from selfinstruct.llm.fleet import Fleet
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.responses import mask
from selfinstruct.llm.retry import RetryPolicy, parse_duration, retry_after
from selfinstruct.testing.openai_stub import Fault, StubServer, count_tokens, task_list

FAST = {"backoff": (0.01, 0.05), "cooldown": (0.05, 0.1), "server": "openai"}
KEY = "sk-proj-T3stK3y0123456789abcdefSECRET"
CHAT_PROMPT = (
    "Here are some tasks from the collection:\n\n1. Write a poem.\n2. Explain tax.\n\n"
    "Continue the list with new tasks, numbered from 3 up to 10. Guidelines: ..."
)
COMPLETION_PROMPT = (
    "The numbered list below collects instructions.\n\n1. Write a poem.\n2. Explain tax.\n3."
)


def stub(stubs: list[StubServer], *faults: Fault, **kwargs: Any) -> StubServer:
    stubs.append(StubServer(faults=faults, **kwargs).start())
    return stubs[-1]


def run(backend: OpenAIBackend, prompts: list[Any], **params: Any) -> list[Completion]:
    return complete(backend, prompts, GenerationParams(**params))


def gaps(server: StubServer) -> list[float]:
    """Seconds between consecutive requests' arrivals."""
    times = [r.at for r in server.requests]
    return [b - a for a, b in itertools.pairwise(times)]


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception and everything in its __cause__ / __context__ chain."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


# ---------------------------------------------------------------- the stub itself


def test_stub_continues_the_numbering_of_chat_and_completion_prompts():
    chat = task_list(CHAT_PROMPT, seed=1)
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", chat, re.M)]
    assert numbers == list(range(3, 3 + len(numbers))) and 5 <= len(numbers) <= 8
    completion = task_list(COMPLETION_PROMPT, seed=1)
    assert completion.startswith(" ") and not completion.startswith(" 3.")  # inside item 3
    numbers = [int(n) for n in re.findall(r"^(\d+)\. ", completion, re.M)]
    assert numbers == list(range(4, 4 + len(numbers))) and 4 <= len(numbers) <= 7
    assert task_list(CHAT_PROMPT, seed=1) == chat and task_list(CHAT_PROMPT, seed=2) != chat
    chinese = task_list("下面是一些任务：\n1. 写一首诗。\n请接着写，编号从 3 到 10。" * 3)
    assert re.match(r"^(以下是新的任务：\n)?3\. ", chinese)


def test_stub_tasks_are_varied_and_sometimes_bait_the_filters():
    items = [
        line.split(". ", 1)[1]
        for seed in range(30)
        for line in task_list(CHAT_PROMPT, seed).splitlines()
        if ". " in line and line[0].isdigit()
    ]
    assert len(set(items)) >= 0.95 * len(items) >= 150
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    sample = random.Random(0).sample(items, 60)
    scores = [
        scorer.score(a, b)["rougeL"].fmeasure for i, a in enumerate(sample) for b in sample[:i]
    ]
    assert sum(s > 0.7 for s in scores) < 0.02 * len(scores)
    assert any(len(item.split()) < 4 or "image" in item for item in items)


def test_stub_answers_like_openai_and_records_requests(stubs):
    server = stub(stubs, latency=0.01)
    backend = OpenAIBackend(model="m", server="openai", base_url=server.url, api_key=KEY)
    out = run(backend, [COMPLETION_PROMPT, [{"role": "user", "content": CHAT_PROMPT}]])
    assert out[0].prompt_tokens == count_tokens(COMPLETION_PROMPT)
    assert out[1].completion_tokens == count_tokens(out[1].text) > 10
    assert [c.finish_reason for c in out] == ["stop", "stop"]
    cut = run(backend, [COMPLETION_PROMPT], max_tokens=5)[0]
    assert cut.finish_reason == "length" and cut.completion_tokens == 5
    assert server.count == 3 and server.statuses == {200: 3}
    chat = [r for r in server.requests if r.path == "/v1/chat/completions"]  # sent side by side
    assert len(chat) == 1 and chat[0].body["messages"][0]["content"] == CHAT_PROMPT
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"


def test_stub_holds_a_thousand_connections_at_once(stubs):
    server = stub(stubs, latency=0.2, gather=1000)
    body = json.dumps({"model": "m", "prompt": "1. a\n2.", "max_tokens": 5}).encode()
    request = (
        f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(request)
        status = await reader.readline()
        writer.close()
        return status

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one() for _ in range(1000)))

    statuses = asyncio.run(main())
    assert statuses == [b"HTTP/1.1 200 OK\r\n"] * 1000
    assert server.peak_in_flight == 1000


# ---------------------------------------------------------------- every fault is survived


@pytest.mark.parametrize(
    "fault",
    [
        Fault.truncated(),
        Fault.cut(),
        Fault.empty_choices(),
        Fault.html(),
        Fault.html(502),
        Fault.close(),
        Fault.reset(),
        Fault.garbage(),
        Fault.http(500),
        Fault.http(502),
        Fault.http(503),
        Fault.http(504),
        Fault.http(408),
        Fault.http(409),
        Fault.http(429),
    ],
    ids=lambda f: f"{f.kind}{f.status if f.kind in ('http', 'html') else ''}",
)
def test_each_transient_fault_is_retried_then_answered(stubs, fault):
    server = stub(stubs, fault, fault)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    out = run(backend, [CHAT_PROMPT])
    assert out[0].text == task_list(CHAT_PROMPT, "0:None:0")  # the third request's answer
    assert server.count == 3 and backend.retries == 2 and backend.usage.requests == 1


def test_model_lookup_survives_faults_too(stubs):
    server = stub(stubs, Fault.html(), Fault.truncated(), Fault.http(503), model="served")
    backend = OpenAIBackend(base_url=server.url, **FAST)
    assert asyncio.run(backend.aresolve_model()) == "served" and server.count == 4


@pytest.mark.parametrize("fault", [Fault.bad_utf8(), Fault.surrogate()], ids=lambda f: f.kind)
def test_garbled_text_becomes_replacement_characters(stubs, fault):
    server = stub(stubs, fault)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    text = run(backend, [[{"role": "user", "content": "hi"}]])[0].text
    assert "\ufffd" in text and not re.search("[\ud800-\udfff]", text)
    assert json.dumps({"text": text}, ensure_ascii=False).encode("utf-8")  # writable as JSONL
    assert server.count == 1


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        (Fault.truncated(), "not valid JSON"),
        (Fault.empty_choices(), "no choices"),
        (Fault.html(), "HTML page"),
    ],
    ids=["truncated", "empty_choices", "html"],
)
def test_a_server_that_keeps_garbling_gets_one_clear_line(stubs, fault, said):
    server = stub(stubs, fault_fn=lambda n: fault)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    with pytest.raises(BackendError) as err:
        run(backend, ["a"])
    message = str(err.value)
    assert "\n" not in message and server.url in message and "answered 200" in message
    assert said in message and "/v1" in message  # what it saw, and what to check
    assert server.count == MALFORMED_LIMIT
    assert err.value.__cause__ is None
    assert not any(
        isinstance(e, ValueError | LookupError | AttributeError) for e in chain(err.value)
    )


# ---------------------------------------------------------------- Retry-After and backoff


def test_retry_after_in_seconds_is_honoured(stubs):
    server = stub(stubs, Fault.http(503, retry_after="1"), Fault.http(429, retry_after="0.5"))
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    run(backend, ["a"])
    first, second = gaps(server)
    assert 1.0 <= first < 2.5 and 0.5 <= second < 2.0


def test_retry_after_as_an_http_date_is_honoured(stubs):
    when = email.utils.formatdate(time.time() + 2.0, usegmt=True)  # whole seconds: 1-2 s away
    server = stub(stubs, Fault.http(503, retry_after=when))
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    run(backend, ["a"])
    assert 0.9 <= gaps(server)[0] < 3.5


def test_retry_after_is_capped(stubs):
    server = stub(stubs, Fault.http(429, retry_after="3600"))
    backend = OpenAIBackend(model="m", base_url=server.url, retry_after_cap=0.3, **FAST)
    run(backend, ["a"])
    assert 0.3 <= gaps(server)[0] < 1.5


def test_backoff_grows_exponentially_against_a_single_endpoint(stubs):
    server = stub(stubs, *[Fault.http(503)] * 4)
    backend = OpenAIBackend(model="m", server="openai", base_url=server.url, backoff=(0.1, 10.0))
    run(backend, ["a"])
    waits = gaps(server)
    for i, wait in enumerate(waits):  # the i-th wait is in [cap/2, cap], cap = 0.1 * 2**i
        assert 0.05 * 2**i <= wait < 0.1 * 2**i + 0.3
    assert waits[3] > waits[0] * 3


def test_connection_failures_back_off_too(stubs):
    server = stub(stubs, Fault.reset(), Fault.close(), Fault.reset())
    backend = OpenAIBackend(model="m", server="openai", base_url=server.url, backoff=(0.1, 10.0))
    run(backend, ["a"])
    assert [round(w, 1) >= 0.05 * 2**i for i, w in enumerate(gaps(server))] == [True] * 3


def test_default_policy_rides_out_two_minutes_whatever_the_jitter():
    policy = RetryPolicy()
    for draw in (lambda: 0.0, lambda: 0.999, random.Random(1).random):
        attempts, elapsed = 1, 0.0  # every attempt fails at once: only the waits count
        while (wait := policy.next_wait(attempts, elapsed, rand=draw)) is not None:
            elapsed += wait
            attempts += 1
        assert elapsed >= 120 and elapsed == policy.budget  # the last try lands at the budget
        assert attempts <= policy.max_attempts


def test_policy_gives_up_on_attempts_or_budget_and_honours_retry_after():
    policy = RetryPolicy(max_attempts=3, budget=10, backoff_min=1, backoff_max=4)
    assert policy.next_wait(3, 0.0) is None and policy.next_wait(1, 10.0) is None
    assert 0.5 <= policy.next_wait(1, 0.0) <= 1 and 1 <= policy.next_wait(2, 0.0) <= 2
    assert policy.next_wait(1, 0.0, retry_after=5) == 5  # longer than the backoff
    assert policy.next_wait(1, 0.0, retry_after=500) == 10  # capped, then cut to the budget
    assert policy.next_wait(1, 9.5) == 0.5


def test_retry_after_and_rate_limit_headers_are_parsed():
    now = 1_700_000_000.0
    assert retry_after({"retry-after": "5"}) == 5.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert retry_after({"retry-after": date}, now=now) == pytest.approx(30)
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None
    quota = {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s"}
    assert retry_after(quota) == 360.0
    assert retry_after({**quota, "x-ratelimit-remaining-requests": "3"}) is None
    assert [parse_duration(t) for t in ("20ms", "1h2m3.5s", "7", "x")] == [0.02, 3723.5, 7, None]


def test_a_short_outage_is_ridden_out_and_a_long_one_is_not(stubs):
    server = stub(stubs)
    server.outage(1.0)  # connections refused for a second
    backend = OpenAIBackend(
        model="m", server="openai", base_url=server.url, retry_budget=4, backoff=(0.1, 0.5)
    )
    start = time.monotonic()
    assert len(run(backend, ["a", "b"])) == 2
    assert time.monotonic() - start >= 0.9 and backend.retries >= 2
    server.outage(3.0, Fault.http(503))
    backend = OpenAIBackend(
        model="m", server="openai", base_url=server.url, retry_budget=1, backoff=(0.1, 0.5)
    )
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"answered 503.*gave up after \d+ attempts over 1 s"):
        run(backend, ["a"])
    assert 0.9 <= time.monotonic() - start < 3.0  # gave up before the 3 s outage ended


def test_whole_request_timeout_bounds_a_slow_drip(stubs):
    server = stub(stubs, Fault.drip(0.05))  # a ~500-byte body would take ~25 s
    backend = OpenAIBackend(model="m", base_url=server.url, timeout=0.5, **FAST)
    start = time.monotonic()
    assert run(backend, ["a"])[0].text  # the drip is cut off, the retry answers
    assert time.monotonic() - start < 6 and server.count == 2  # not the drip's 25 s
    server.fault_fn = lambda n: Fault.drip(0.05)
    backend = OpenAIBackend(model="m", base_url=server.url, timeout=0.5, max_attempts=2, **FAST)
    start = time.monotonic()
    with pytest.raises(BackendError, match=r"did not answer within 0\.5 s.*request timeout"):
        run(backend, ["a"])
    assert time.monotonic() - start < 6


# ---------------------------------------------------------------- the API key never shows


@pytest.mark.parametrize(
    "fault",
    [Fault.http(s) for s in (400, 401, 403, 404, 413, 422, 429, 500, 501, 503)]
    + [Fault.html(200), Fault.html(500), Fault.http(307, headers={"Location": "x"})],
    ids=lambda f: f"{f.kind}{f.status}",
)
def test_the_key_never_shows_whatever_the_server_echoes(stubs, caplog, fault):
    server = stub(stubs, fault_fn=lambda n: fault)
    backend = OpenAIBackend(model="m", base_url=server.url, api_key=KEY, max_attempts=2, **FAST)
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendError) as err:
        run(backend, ["a"])
    shown = [str(e) for e in chain(err.value)] + [repr(e) for e in chain(err.value)]
    shown += [caplog.text, repr(backend), str(backend)]
    fragments = [KEY[i : i + 8] for i in range(len(KEY) - 7)]
    assert not any(f in text for text in shown for f in fragments)
    assert server.requests[0].headers["authorization"] == f"Bearer {KEY}"  # it was sent
    assert str(fault.status) in str(err.value) and server.url in str(err.value)


def test_a_long_key_is_masked_before_the_message_is_cut(stubs):
    key = "sk-" + "".join(random.Random(3).choices("abcdefghijk0123456789", k=400))
    server = stub(stubs, fault_fn=lambda n: Fault.http(400))
    backend = OpenAIBackend(model="m", server="openai", base_url=server.url, api_key=key)
    with pytest.raises(BackendError) as err:
        run(backend, ["a"])
    message = str(err.value)
    assert "***" in message and "Bearer" in message  # the echo was there, masked
    assert not any(key[i : i + 8] in message for i in range(len(key) - 8))


def test_mask_hides_the_key_and_any_long_fragment_of_it():
    key = "sk-abcdefghijklmnopqrstuvwxyz0123"
    assert mask(f"auth: Bearer {key}!", key) == "auth: Bearer ***!"
    assert mask(f"cut at {key[:14]}", key) == "cut at ***"  # a server's own cut
    assert mask(f"tail {key[-9:]} end", key) == "tail *** end"
    assert mask("sk-abcd and 0123 are fine", key) == "sk-abcd and 0123 are fine"
    assert mask("nothing here", "") == "nothing here"


# ---------------------------------------------------------------- errors that say what to do


def test_rate_limit_error_names_the_real_flag(stubs):
    server = stub(stubs, fault_fn=lambda n: Fault.http(429, retry_after="0"))
    backend = OpenAIBackend(model="m", base_url=server.url, max_attempts=2, **FAST)
    with pytest.raises(BackendError) as err:
        run(backend, ["a"])
    message = str(err.value)
    assert "--concurrency" in message and "concurrency=" in message
    assert "max_concurrency" not in message and "429" in message


@pytest.mark.parametrize(
    ("fault", "hint"),
    [
        (Fault.http(401), "OPENAI_API_KEY environment variable"),
        (Fault.http(403), "may not use this model"),
        (Fault.http(404), "check the model name ('m')"),
        (Fault.http(413), "too large"),
        (Fault.http(422), "generation parameters"),
        (Fault.http(501), "chat and completion mode"),
        (Fault.http(308, headers={"Location": "https://elsewhere/v1/completions"}), "redirects"),
    ],
    ids=lambda x: str(x.status) if isinstance(x, Fault) else "",
)
def test_final_statuses_are_not_retried_and_say_what_to_do(stubs, fault, hint):
    server = stub(stubs, fault)
    backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
    with pytest.raises(BackendError, match=re.escape(hint)) as err:
        run(backend, ["a"])
    assert server.count == 1 and f"answered {fault.status}" in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("status", "headers", "verdict"),
    [
        (429, {}, (True, False, True)),
        (503, {}, (True, True, False)),
        (503, {"retry-after": "2"}, (True, True, True)),
        (408, {}, (True, False, False)),
        (501, {}, (False, False, False)),
        (404, {}, (False, False, False)),
        (302, {"location": "https://x/v1"}, (False, False, False)),
    ],
)
def test_each_status_gets_its_verdict(status, headers, verdict):
    """(retry, rest the endpoint, cut its concurrency) for each kind of status."""
    failure = refusal(
        status, headers, b'{"error": {"message": "no"}}', KEY, key_env="E", model="m", path="/p"
    )
    assert (failure.retry, failure.down, failure.throttle) == verdict
    assert failure.what == f"answered {status} (no)" and failure.hint


# ---------------------------------------------------------------- adaptive concurrency


def test_fleet_limit_halves_once_per_round_and_grows_back():
    fleet = Fleet(["a"], max_in_flight=16)
    (a,) = fleet.endpoints
    epoch = a.epoch
    for _ in range(5):  # a burst of 429s to requests sent before the cut: one cut
        fleet.throttle(a, epoch)
    assert a.limit == 8 and a.epoch == epoch + 1
    fleet.throttle(a, a.epoch)
    assert a.limit == 4
    for _ in range(4):  # one round of answers: +1
        fleet.mark_ok(a)
    assert 4.9 < a.limit < 5.1
    for _ in range(200):
        fleet.mark_ok(a)
    assert a.limit == 16  # back to the overall cap, never beyond
    for _ in range(10):
        fleet.throttle(a, a.epoch)
    assert a.limit == 1  # never below one


def test_rate_limited_endpoint_gets_fewer_requests_at_once(stubs):
    server = stub(stubs, latency=0.05, max_in_flight=4, retry_after="0.2")
    backend = OpenAIBackend(model="m", base_url=server.url, max_concurrency=16, **FAST)
    assert len(run(backend, [f"p{i}" for i in range(60)])) == 60
    (endpoint,) = backend.fleet.endpoints
    assert endpoint.epoch >= 2 and endpoint.limit <= 8  # cut from 16 towards the server's 4
    first_burst = 16 - 4
    later = server.statuses[429] - first_burst
    assert later <= 20  # a fixed limit of 16 would draw about 12 429s per round of requests
    before = server.statuses[429]
    assert len(run(backend, [f"q{i}" for i in range(40)])) == 40
    assert server.statuses[429] - before <= 10  # it stays adapted for the next batch


def test_rate_limit_quota_headers_pause_the_endpoint(stubs):
    server = stub(stubs, rps=20)
    backend = OpenAIBackend(model="m", base_url=server.url, max_concurrency=8, **FAST)
    start = time.monotonic()
    assert len(run(backend, [f"p{i}" for i in range(50)])) == 50
    assert time.monotonic() - start >= 1.5  # 50 requests at 20 a second
    assert server.statuses.get(429, 0) <= 20  # paused when the quota ran out (ignoring: ~40)


def test_throttled_endpoint_yields_work_to_its_peer(stubs):
    limited = stub(stubs, latency=0.05, max_in_flight=1, retry_after="0.1")
    free = stub(stubs, latency=0.05)
    urls = [limited.url, free.url]
    backend = OpenAIBackend(model="m", base_url=urls, max_concurrency=8, **FAST)
    out = run(backend, [f"p{i}" for i in range(40)])
    by = backend.usage_by_endpoint
    assert by[free.url].requests >= 2 * by[limited.url].requests
    assert sum(c.endpoint == limited.url for c in out) == by[limited.url].requests
    assert backend.fleet.endpoints[0].limit < 8


def test_down_endpoint_gets_no_work_until_it_answers_again(stubs):
    flaky, steady = stub(stubs, latency=0.02), stub(stubs, latency=0.02)
    flaky.outage(1.0, Fault.http(503))
    urls = [flaky.url, steady.url]
    backend = OpenAIBackend(
        model="m", server="openai", base_url=urls, cooldown=(0.2, 0.4), backoff=(0.01, 0.05)
    )
    start = time.monotonic()
    during = run(backend, [f"p{i}" for i in range(30)])
    elapsed = time.monotonic() - start
    assert all(c.endpoint == steady.url for c in during)
    assert flaky.count <= 4 + elapsed / 0.2  # its first share fails, then a probe per cooldown
    time.sleep(1.2)  # the outage ends
    after = run(backend, [f"q{i}" for i in range(40)])
    assert any(c.endpoint == flaky.url for c in after)  # probed, answered, back in rotation


def test_many_requests_in_flight_through_one_backend(stubs):
    server = stub(stubs, latency=0.5, record=False, gather=300)
    backend = OpenAIBackend(model="m", server="openai", base_url=server.url, max_concurrency=300)
    start = time.monotonic()
    assert len(run(backend, [f"p{i}" for i in range(300)], max_tokens=8)) == 300
    # all 300 at once (one after another would take 150 s)
    assert server.peak_in_flight == 300 and time.monotonic() - start < 60
