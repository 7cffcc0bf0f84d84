"""Backend for any OpenAI-compatible server (OpenAI, vLLM, llama.cpp), or a fleet of them.

Every request goes through an `openai.AsyncOpenAI` client (per endpoint URL and event loop, a
few, each on a small connection pool of its own: `lanes.py`; their retries off: ours know about
the fleet), by its documented low-level call
`client.post(path, cast_to=httpx.Response, content=...)`. So the `openai` package does the HTTP
(base URL, auth and its own headers, timeouts, connection pool) as our standard asks, while we
get the raw response: the answer is parsed from its bytes (`responses.py`) rather than by the
client's `chat.completions.create` and its pydantic models, which cost half as much CPU again
per request (benchmarks/client_overhead.py) and reject, or hide, the malformed answers we must
survive. The client's `APIStatusError` and `APIConnectionError`
become a `Failure` (`failures.py`); so whatever a server sends back is either retried (429,
5xx, dropped connections, garbled or empty bodies) under `RetryPolicy`, or refused with one
`BackendError` line that names the endpoint, the status and what to do. The API key is masked
out of everything we raise or log.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import openai

from ..errors import BackendError
from ..text.redact import redact_url, secrets_of, split_credentials
from .base import BackendInfo, Completion, GenerationParams, Prompt, Usage
from .factory import openai_settings
from .failures import Failure, Refused, dropped, garbled, refusal, timed_out
from .fleet import Endpoint, Fleet, parse_base_urls
from .gate import Gate
from .lanes import LANE_SIZE, Lanes
from .request_shape import RequestShape
from .responses import Malformed, mask, parse_completion, parse_models
from .retry import RetryPolicy, quota_reset
from .servers import NEUTRAL, detect
from .structured import FormatRefused, Negotiation

try:  # openai >= 3 ships httpx2, older releases httpx; the API we use is the same
    import httpx2 as httpx
except ImportError:  # pragma: no cover - depends on the installed openai
    import httpx  # type: ignore[no-redef]

if TYPE_CHECKING:
    from ..config import BackendConfig

T = TypeVar("T")
Body = dict[str, Any] | Callable[[], dict[str, Any]] | None
"""A request body, or a function giving it when it is sent (see `_sample`)."""
log = logging.getLogger(__name__)

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "sk-no-key"
"""Placeholder key for self-hosted servers that ask for none (some insist on a header)."""
CONNECT_TIMEOUT = 10.0
"""Seconds to open a connection: a host that takes longer is treated as down."""
REASONING_MODES = ("auto", "off", "keep")
"""--reasoning (BackendConfig.reasoning): send nothing extra; ask the server not to think; keep
the thinking (as auto)."""
ADAPT_LIMIT = 8
"""Refusals one request adapts to (a parameter renamed or dropped each time) before giving up."""
MALFORMED_LIMIT = 4
"""Garbled 2xx answers one request takes before it gives up (a wrong URL should fail fast);
from an endpoint that has answered well-formed completions, they are retried like any fault."""
_PARSERS = (lambda data: parse_completion(data, False), lambda data: parse_completion(data, True))
_POST_TAKES_BYTES = "content" in inspect.signature(openai.AsyncOpenAI.post).parameters
"""Recent openai releases post bytes we encoded (cheaper than their encoder); older take a dict."""


class OpenAIBackend:
    """Completions from OpenAI-compatible endpoints, with adaptive concurrency, retries, failover.

    A `str` prompt goes to /v1/completions, chat messages to /v1/chat/completions. `params.n`
    samples go as n requests (llama.cpp ignores `n`); with a seed, sample i uses seed + i.
    At most `max_concurrency` requests are in flight overall; each endpoint's own limit halves on
    a 429 or Retry-After and grows back as it answers (`fleet.Fleet`). `timeout` bounds a whole
    request, however slowly the server sends. A failing request is retried with jittered
    exponential `backoff` (min, max seconds) or after the server's Retry-After (up to
    `retry_after_cap`), for up to `max_attempts` attempts and `retry_budget` seconds from its
    first failure; a failing endpoint of several rests for `cooldown` (min, max) seconds while
    others take its work. The backend binds to the event loop it is first used in; a new loop
    gets fresh clients. An `http_client` passed in (an `httpx.AsyncClient`, e.g.
    `openai.DefaultAsyncHttpxClient(...)`) carries every endpoint's requests in one loop, and
    `aclose` closes it. Options left None take their value from `config` or the defaults and
    bounds of `selfinstruct.config.backend.BackendConfig` (`max_concurrency` is its `concurrency`,
    `timeout` its `request_timeout`). A request whose `params.json_schema` is set asks for JSON
    of that schema in the `response_format` the endpoint takes (`structured.py`; `structured`
    "off": never).
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | Sequence[str] | None = None,
        api_key: str | None = None,
        api_key_env: str | None = None,
        max_concurrency: int | None = None,
        timeout: float | None = None,
        *,
        chat: bool = True,
        max_attempts: int | None = None,
        retry_budget: float | None = None,
        retry_after_cap: float = 60.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        cooldown: tuple[float, float] = (5.0, 30.0),
        http_client: Any = None,
        server: str | None = None,
        reasoning: str | None = None,
        structured: str | None = None,
        config: BackendConfig | None = None,
    ) -> None:
        # None: the value of `config`, else BackendConfig's default (its bounds check them all)
        s, urls = _settings(
            config, base_url, api_key_env=api_key_env, model=model, max_concurrency=max_concurrency,
            timeout=timeout, server=server, max_attempts=max_attempts, retry_budget=retry_budget,
            reasoning=reasoning, structured=structured,
        )  # fmt: skip
        api_key_env = s.api_key_env
        key = api_key or os.environ.get(api_key_env)
        if not key:
            if urls == [OPENAI_URL]:
                raise BackendError(
                    f"No key found - set the {api_key_env} environment variable or pass api_key="
                )
            key = NO_KEY  # a self-hosted server; a 401 from it says how to pass a real key
        self.policy = RetryPolicy(s.max_attempts, s.retry_budget, *backoff, retry_after_cap)
        self.fleet = Fleet(urls, *cooldown, max_in_flight=s.concurrency)
        self.info = BackendInfo(name="openai", model=s.model or "", chat=chat, batch_size=1)
        self.server: str = s.server
        """The kind of server (see `servers.py`); "auto" asks /v1/models on first use."""
        self.reasoning: str = s.reasoning
        self._shape: RequestShape | None = None
        """What requests carry for thinking and what the endpoint refused (set on first use)."""
        self.structured = Negotiation(s.structured, self.fleet.describe())
        """Which `response_format` each API path takes, found on its first structured request."""
        self.usage = Usage()
        self.usage_by_endpoint = {url: Usage() for url in urls}
        self.retries = 0
        """Attempts retried so far (transient errors and failovers)."""
        self.max_concurrency, self.timeout = s.concurrency, s.request_timeout
        self._key, self._key_env = key, api_key_env
        self._secrets = [s for url in urls for s in secrets_of(url)]
        """Credentials in the base URLs: masked out of what servers say back, like the key."""
        self._http_client = http_client
        self._lanes = Lanes(self._open, shared=http_client is not None)
        """This loop's openai clients, per endpoint (`lanes.py`)."""
        self._tls: Any = None
        """One TLS context for every lane (each would otherwise load the CA bundle again)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gate = Gate(self.fleet, s.concurrency)

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.info.model or None!r}, base_url={self.fleet.describe()!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        """`params.n` completions per prompt, flattened in prompt order."""
        self._bind_loop()
        if not self.info.model or self.server == "auto":
            await self.aresolve_model()
        args: dict[str, Any] = {
            **NEUTRAL[self.server],
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "presence_penalty": params.presence_penalty,
            "frequency_penalty": params.frequency_penalty,
            "n": 1,
        }
        if params.stop:
            args["stop"] = list(params.stop)
        seed = params.seed
        jobs = [
            self._sample(
                p, args if seed is None else {**args, "seed": seed + i}, params.json_schema
            )
            for p in prompts
            for i in range(params.n)
        ]
        return await _gather_or_cancel(jobs)

    async def aresolve_model(self) -> str:
        """Ask /v1/models for the first model id (when no model was given) and the server kind."""
        self._bind_loop()
        if not self.info.model or self.server == "auto":
            models, _ = await self._call("/models", None, parse_models)
            if not models and not self.info.model:
                raise BackendError(f"{self.fleet.describe()} serves no models; pass model=")
            self.info.model = self.info.model or models[0][0]
            if self.server == "auto":
                self.server = detect([owner for _, owner in models])
            self.info.extra["server"] = self.server
        return self.info.model

    async def aclose(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        lanes, self._http_client = self._lanes, None
        self._lanes = Lanes(self._open)
        for http in lanes.http_clients():  # closing it closes the openai clients on it
            await http.aclose()

    def _bind_loop(self) -> None:
        """A new event loop gets a fresh gate and clients (connections belong to their loop)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._lanes = Lanes(self._open, shared=self._http_client is not None)
            for endpoint in self.fleet.endpoints:
                endpoint.in_flight = 0  # whatever the old loop had in flight is gone with it
            self._gate = Gate(self.fleet, self.max_concurrency)

    def _open(self, url: str) -> tuple[openai.AsyncOpenAI, Any]:
        """A new lane to `url`: an openai client on `http_client` or on a pool of its own."""
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, CONNECT_TIMEOUT))
        http = self._http_client
        if http is None:
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            http = openai.DefaultAsyncHttpxClient(
                timeout=timeout,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=LANE_SIZE),
                follow_redirects=False,  # a redirect is a wrong base URL: say so
                verify=self._tls,
            )
        base, query, headers = split_credentials(url)
        client = openai.AsyncOpenAI(
            api_key=self._key, base_url=base, timeout=timeout, max_retries=0, http_client=http,
            default_headers=headers or None, default_query=query or None,
        )  # fmt: skip
        return client, http

    @property
    def shape(self) -> RequestShape:
        """The request fields as the endpoint takes them (known once the server kind is)."""
        if self._shape is None:
            self._shape = RequestShape(self.server, self.info.model, self.reasoning)
        return self._shape

    def sent_parameters(self) -> dict[str, Any]:
        """How requests were adapted to the endpoint (renamed, dropped, reasoning fields)."""
        return self.shape.sent() if self._shape is not None else {}

    async def _sample(
        self, prompt: Prompt, args: dict[str, Any], schema: dict[str, Any] | None = None
    ) -> Completion:
        """One completion of one prompt (of JSON in `schema`'s shape, as the server allows)."""
        chat = not isinstance(prompt, str)
        body = {"model": self.info.model, ("messages" if chat else "prompt"): prompt, **args}
        path = "/chat/completions" if chat else "/completions"
        if schema is not None and self.structured.wanted(schema):
            completion, url = await self.structured.send(
                path, schema, lambda form: self._adapted(path, _with_format(body, form), chat)
            )
            self.structured.note(path, completion.text, schema)
        else:
            completion, url = await self._adapted(path, body, chat)
        if self._key != NO_KEY and self._key in completion.text + completion.reasoning:
            completion.text = mask(completion.text, self._key)  # a server echoing the request
            completion.reasoning = mask(completion.reasoning, self._key)
        completion.endpoint = redact_url(url)
        self.usage.add(completion)
        self.usage_by_endpoint[url].add(completion)
        return completion

    async def _adapted(self, path: str, body: dict[str, Any], chat: bool) -> tuple[Completion, str]:
        """`body` sent until the endpoint takes it, adapted to what its refusals name."""
        sent: list[dict[str, Any]] = []

        def shaped() -> dict[str, Any]:  # shaped when sent: what earlier refusals taught
            sent.append(self.shape.apply(body, chat))
            return sent[-1]

        for attempt in range(ADAPT_LIMIT):
            try:
                return await self._call(path, shaped, _PARSERS[chat])
            except FormatRefused:
                raise  # the structured negotiation's to handle, not a parameter to drop
            except Refused as exc:
                learnt = self.shape.learn(exc.status, exc.detail, sent[-1] if sent else ())
                unchanged = not sent or self.shape.apply(body, chat) == sent[-1]
                if attempt + 1 == ADAPT_LIMIT or (not learnt and unchanged):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _call(self, path: str, body: Body, parse: Callable[[bytes], T]) -> tuple[T, str]:
        """Send until some endpoint answers well: (the parsed answer, that endpoint's URL)."""
        attempts, malformed, first_failure = 0, 0, None
        while True:
            endpoint = await self._gate.acquire()
            epoch = endpoint.epoch
            attempts += 1
            try:
                outcome = await self._send(endpoint, epoch, path, body, parse)
            finally:
                self._gate.release(endpoint)
            if not isinstance(outcome, Failure):
                endpoint.answered = endpoint.answered or body is not None
                return outcome, endpoint.url
            if not outcome.retry:
                error = FormatRefused if outcome.format_refused else Refused
                message = f"{endpoint.name} {outcome.what}: {outcome.hint}"
                raise error(message, outcome.status, outcome.detail)
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            malformed += outcome.malformed and not endpoint.answered  # else: transient
            elapsed = now - first_failure
            wait = self.policy.next_wait(attempts, elapsed, outcome.retry_after)
            if wait is None or malformed >= MALFORMED_LIMIT:
                raise self._gave_up(endpoint, outcome, attempts, elapsed)
            self.retries += 1
            if len(self.fleet.endpoints) > 1 and not endpoint.alive(now) and self.fleet.any_live():
                continue  # fail over at once: the fleet now routes around this endpoint
            await asyncio.sleep(wait)

    async def _send(
        self,
        endpoint: Endpoint,
        epoch: int,
        path: str,
        body: Body,
        parse: Callable[[bytes], T],
    ) -> T | Failure:
        """One attempt on `endpoint`: its parsed answer, or why not; tells the fleet either way.

        `body` is POSTed as JSON (a callable gives it as the endpoint takes it by now), or None
        for a GET; `cast_to=httpx.Response` makes the client hand back the raw response whatever
        its body, so a garbled answer is ours to judge.
        """
        lane = self._lanes.take(endpoint.url)
        client = lane.client
        body = body() if callable(body) else body
        if body is None:
            request = client.get(path, cast_to=httpx.Response)
        elif _POST_TAKES_BYTES:
            request = client.post(path, cast_to=httpx.Response, content=json.dumps(body).encode())
        else:  # pragma: no cover - depends on the installed openai
            request = client.post(path, cast_to=httpx.Response, body=body)
        try:
            response = await _within(self.timeout, request)
        except asyncio.TimeoutError:  # before OSError: TimeoutError is one
            failure = timed_out(self.timeout)
        except openai.APIStatusError as exc:  # any status but 2xx, its body read
            answer = exc.response
            context = {"key_env": self._key_env, "model": self.info.model, "path": path}
            failure = refusal(
                answer.status_code, answer.headers, answer.content, self._key, **context
            )
        except openai.APIConnectionError as exc:  # and APITimeoutError: the transport failed
            failure = dropped(exc.__cause__ or exc, self._key)
        except (httpx.HTTPError, OSError) as exc:
            failure = dropped(exc, self._key)
        else:
            try:
                value = parse(response.content)
            except Malformed as exc:
                failure = garbled(response.status_code, str(exc))
            else:
                self._answered(endpoint, response.headers)
                return value
        finally:
            self._lanes.give(lane)
        self._note(endpoint, epoch, failure)
        return failure

    def _answered(self, endpoint: Endpoint, headers: Any) -> None:
        if endpoint.failures:
            log.info("%s answers again", endpoint.name)
        self.fleet.mark_ok(endpoint)
        quota = quota_reset(headers)
        if quota:
            self.fleet.pause(endpoint, min(quota, self.policy.retry_after_cap))

    def _note(self, endpoint: Endpoint, epoch: int, failure: Failure) -> None:
        """Apply a failure's verdict to the fleet; log when an endpoint starts failing."""
        for secret in self._secrets:
            failure.what = mask(failure.what, secret)
        if failure.throttle:
            if epoch == endpoint.epoch:
                log.info("%s %s; cutting its concurrency", endpoint.name, failure.what)
            self.fleet.throttle(endpoint, epoch)
        if failure.pause:
            self.fleet.pause(endpoint, min(failure.pause, self.policy.retry_after_cap))
        if failure.down:
            self.fleet.mark_failed(endpoint)
            if endpoint.failures == 1:
                budget = self.policy.budget
                log.warning("%s %s; retrying for up to %g s", endpoint.name, failure.what, budget)

    def _gave_up(
        self, endpoint: Endpoint, failure: Failure, attempts: int, elapsed: float
    ) -> BackendError:
        """The error when retrying did not help: the endpoint(s), what they said, what to do."""
        where = endpoint.name
        if len(self.fleet.endpoints) > 1:
            where += f" (of {self.fleet.describe()})"
        return BackendError(
            f"{where} {failure.what}; gave up after {attempts} attempts over {elapsed:.0f} s: "
            f"{failure.hint}"
        )


if sys.version_info >= (3, 11):

    async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
        """`await awaitable`, cancelled after `seconds` in all (asyncio.TimeoutError)."""
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def _within(seconds: float, awaitable: Awaitable[T]) -> T:
        return await asyncio.wait_for(awaitable, seconds)


def _with_format(body: dict[str, Any], form: dict[str, Any] | None) -> dict[str, Any]:
    """`body` with `response_format` set to `form` (unchanged when None)."""
    return body if form is None else {**body, "response_format": form}


def _settings(
    config: BackendConfig | None, base_url: str | Sequence[str] | None, **given: Any
) -> tuple[BackendConfig, list[str]]:
    """The checked options of an OpenAIBackend and its endpoint URLs ($OPENAI_BASE_URL or
    OpenAI's own when none is given)."""
    settings = openai_settings(config, {"base_url": parse_base_urls(base_url) or None, **given})
    urls = parse_base_urls(settings.base_url)
    if not urls:
        urls = [os.environ.get("OPENAI_BASE_URL") or OPENAI_URL]
        openai_settings(None, {"base_url": urls})  # $OPENAI_BASE_URL is checked too
    return settings, urls


async def _gather_or_cancel(jobs: Sequence[Awaitable[T]]) -> list[T]:
    """Await all jobs in order; on the first error cancel the rest and re-raise it."""
    if len(jobs) == 1:  # the bootstrap loop's case: no task and gather around one request
        return [await jobs[0]]
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
