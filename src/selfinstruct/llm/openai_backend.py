"""Backend for any OpenAI-compatible server (OpenAI, vLLM, llama.cpp), or a fleet of them."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import openai
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from ..errors import BackendError, ConfigError
from .base import BackendInfo, Completion, GenerationParams, Prompt, Usage
from .fleet import Endpoint, Fleet, parse_base_urls

T = TypeVar("T")

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "sk-no-key"
"""Placeholder key for self-hosted servers that ask for none (the client insists on one)."""
_RETRY_STATUSES = {408, 409, 429}
_HINTS = {
    401: "set the {key_env} environment variable or pass api_key=",
    403: "the API key may not use this model or endpoint",
    404: "check the model name ({model!r}) and that the base URL ends in /v1",
}
"""What to do about a status code that retrying cannot fix."""


class _Transient(Exception):
    """A failure worth retrying; `endpoint_down` says the endpoint itself looks unwell."""

    def __init__(self, cause: Exception, endpoint_down: bool) -> None:
        super().__init__(type(cause).__name__)
        self.cause, self.endpoint_down = cause, endpoint_down


def _finish_reason(reason: str | None) -> str:
    """Normalise to "length" (cut off by max_tokens) or "stop" (everything else)."""
    return "length" if reason in ("length", "max_tokens") else "stop"


class OpenAIBackend:
    """Completions from OpenAI-compatible endpoints, with bounded concurrency, retries and failover.

    A `str` prompt goes to /v1/completions, a list of chat messages to /v1/chat/completions.
    `params.n` samples are sent as n requests (llama.cpp ignores `n`); with a seed, sample i uses
    seed + i so the samples differ. `retry_wait` is the (multiplier, max) of the jittered
    exponential backoff and `cooldown` the (min, max) rest of a failing endpoint, in seconds.
    The backend binds to the event loop it is first used in; a new loop gets fresh connections.
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | Sequence[str] | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 8,
        timeout: float = 120,
        max_retries: int = 6,
        chat: bool = True,
        *,
        retry_wait: tuple[float, float] = (0.5, 20.0),
        cooldown: tuple[float, float] = (5.0, 30.0),
        http_client: Any = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigError(f"max_concurrency must be at least 1, got {max_concurrency}")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be 0 or more, got {max_retries}")
        urls = parse_base_urls(base_url) or [os.environ.get("OPENAI_BASE_URL") or OPENAI_URL]
        key = api_key or os.environ.get(api_key_env)
        if not key:
            if urls == [OPENAI_URL]:
                raise BackendError(
                    f"No key found - set the {api_key_env} environment variable or pass api_key="
                )
            key = NO_KEY  # a self-hosted server; a 401 from it says how to pass a real key
        self._key, self._key_env = key, api_key_env
        self.fleet = Fleet(urls, *cooldown)
        self.info = BackendInfo(name="openai", model=model or "", chat=chat, batch_size=1)
        self.usage = Usage()
        self.retries = 0
        """Attempts retried so far (transient errors and failovers)."""
        self.max_concurrency, self.timeout, self.max_retries = max_concurrency, timeout, max_retries
        self._retry_wait = wait_random_exponential(multiplier=retry_wait[0], max=retry_wait[1])
        self._http_client = http_client
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: dict[str, openai.AsyncOpenAI] = {}
        self._sem = asyncio.Semaphore(max_concurrency)

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
        if not self.info.model:
            await self.aresolve_model()
        jobs = [self._sample(p, params, i) for p in prompts for i in range(params.n)]
        return await _gather_or_cancel(jobs)

    async def aresolve_model(self) -> str:
        """Ask the server's /v1/models for its first model id when no model was given."""
        self._bind_loop()
        if not self.info.model:
            page = await self._with_retries(lambda client: client.models.list())
            if not page.data:
                raise BackendError(f"{self.fleet.describe()} serves no models; pass model=")
            self.info.model = page.data[0].id
        return self.info.model

    async def aclose(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.close()

    def _bind_loop(self) -> None:
        """Use fresh clients and a fresh semaphore when called from a new event loop."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop, self._clients = loop, {}
            self._sem = asyncio.Semaphore(self.max_concurrency)

    def _client(self, endpoint: Endpoint) -> openai.AsyncOpenAI:
        client = self._clients.get(endpoint.url)
        if client is None:
            client = openai.AsyncOpenAI(
                api_key=self._key,
                base_url=endpoint.url,
                timeout=self.timeout,
                max_retries=0,  # retries and failover are ours, across endpoints
                http_client=self._http_client,
            )
            self._clients[endpoint.url] = client
        return client

    async def _sample(self, prompt: Prompt, params: GenerationParams, index: int) -> Completion:
        """One completion of one prompt (sample `index` of `params.n`)."""
        args: dict[str, Any] = {
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "presence_penalty": params.presence_penalty,
            "frequency_penalty": params.frequency_penalty,
            "n": 1,
        }
        if params.stop:
            args["stop"] = list(params.stop)
        if params.seed is not None:
            args["seed"] = params.seed + index

        async def call(client: openai.AsyncOpenAI) -> Completion:
            if isinstance(prompt, str):
                resp = await client.completions.create(model=self.info.model, prompt=prompt, **args)
                text = resp.choices[0].text
            else:
                resp = await client.chat.completions.create(
                    model=self.info.model, messages=prompt, **args
                )
                text = resp.choices[0].message.content or ""
            usage = resp.usage
            return Completion(
                text=text or "",
                finish_reason=_finish_reason(resp.choices[0].finish_reason),
                prompt_tokens=(usage.prompt_tokens or 0) if usage else 0,
                completion_tokens=(usage.completion_tokens or 0) if usage else 0,
            )

        completion = await self._with_retries(call)
        with self._lock:
            self.usage.add(completion)
        return completion

    async def _with_retries(self, call: Callable[[openai.AsyncOpenAI], Awaitable[T]]) -> T:
        """Run `call` on a picked endpoint; retry transient failures, elsewhere if one is down."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._wait,
            retry=retry_if_exception_type(_Transient),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(call)
        except _Transient as exc:
            raise self._exhausted(exc.cause) from _safe_cause(exc.cause)
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        """Fail over at once when another endpoint is live; otherwise back off with jitter."""
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Transient) and exc.endpoint_down and self.fleet.any_live():
            return 0.0
        return self._retry_wait(state)

    def _count_retry(self, state: RetryCallState) -> None:
        with self._lock:
            self.retries += 1

    async def _attempt(self, call: Callable[[openai.AsyncOpenAI], Awaitable[T]]) -> T:
        """One try: wait for a live endpoint, take a concurrency slot, classify any failure."""
        rest = self.fleet.seconds_until_live()
        if rest:
            await asyncio.sleep(rest)
        async with self._sem:
            endpoint = self.fleet.pick()
            endpoint.in_flight += 1
            endpoint.sent += 1
            try:
                result = await call(self._client(endpoint))
            except openai.APIConnectionError as exc:  # includes APITimeoutError
                self.fleet.mark_failed(endpoint)
                raise _Transient(exc, endpoint_down=True) from exc
            except openai.APIStatusError as exc:
                if exc.status_code >= 500:
                    self.fleet.mark_failed(endpoint)
                    raise _Transient(exc, endpoint_down=True) from exc
                if exc.status_code in _RETRY_STATUSES:
                    raise _Transient(exc, endpoint_down=False) from exc
                raise self._fatal(exc, endpoint) from None  # the body may echo the request
            finally:
                endpoint.in_flight -= 1
            self.fleet.mark_ok(endpoint)
            return result

    def _exhausted(self, cause: Exception) -> BackendError:
        """The error raised when every retry failed; names the endpoints and the likely fix."""
        tries = f"after {self.max_retries + 1} attempts"
        if isinstance(cause, openai.APIStatusError) and cause.status_code < 500:
            hint = "the server keeps rate-limiting: lower max_concurrency or wait"
        else:
            hint = "is the server up and does the base URL end in /v1?"
        return BackendError(
            f"{_describe(cause, self._key)} from {self.fleet.describe()} {tries}: {hint}"
        )

    def _fatal(self, exc: openai.APIStatusError, endpoint: Endpoint) -> BackendError:
        """A BackendError that says what to fix; never contains the API key."""
        status = exc.status_code
        hint = _HINTS.get(status, "check the model name and the generation parameters")
        hint = hint.format(key_env=self._key_env, model=self.info.model)
        detail = _describe(exc, self._key)
        return BackendError(f"{endpoint.url} answered {status}: {hint} ({detail})")


def _describe(exc: Exception, key: str) -> str:
    """A short account of `exc` with the API key blanked out (a server may echo the request)."""
    text = f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return text[:300].replace(key, "***")


def _safe_cause(exc: Exception) -> Exception | None:
    """Chain connection errors (useful, no secrets); drop status errors (their body may echo)."""
    return None if isinstance(exc, openai.APIStatusError) else exc


async def _gather_or_cancel(jobs: Sequence[Awaitable[T]]) -> list[T]:
    """Await all jobs in order; on the first error cancel the rest and re-raise it."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
