"""Backend for any OpenAI-compatible server (OpenAI, vLLM, llama.cpp), or a fleet of them.

Every request goes through an `openai.AsyncOpenAI` client (per endpoint URL and event loop, a
few, each on a small connection pool of its own: `lanes.py`), by its documented low-level call,
so the `openai` package does the HTTP as our standard asks while the answer is parsed from the
raw bytes (`openai_http.py`, `responses.py`) rather than by the client's pydantic models, which
cost more CPU per request (docs/backends.md) and reject, or hide, the malformed answers we must
survive. Whatever a server sends back is either retried under `RetryPolicy` or refused with one
`BackendError` line (`dispatcher.py`); the body adapts to what the endpoint refuses
(`openai_request.py`). The API key is masked out of everything we raise or log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import BackendError
from ..text.redact import redact_url
from .base import BackendInfo, Completion, GenerationParams, Prompt, Usage
from .dispatcher import Dispatcher
from .fleet import Fleet
from .openai_options import NO_KEY, resolve_api_key, resolve_settings
from .openai_request import request_for, sampling_fields, seeded, send_adapted, with_format
from .request_shape import RequestShape
from .responses import mask, parse_models
from .retry import RetryPolicy
from .servers import detect
from .structured import Negotiation

if TYPE_CHECKING:
    from ..config import BackendConfig

T = TypeVar("T")


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
        s, urls = resolve_settings(
            config, base_url, api_key_env=api_key_env, model=model, max_concurrency=max_concurrency,
            timeout=timeout, server=server, max_attempts=max_attempts, retry_budget=retry_budget,
            reasoning=reasoning, structured=structured,
        )  # fmt: skip
        self._key = resolve_api_key(api_key, s.api_key_env, urls)
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
        self.max_concurrency, self.timeout = s.concurrency, s.request_timeout
        self._dispatch = Dispatcher(
            self.fleet, self.policy, self.info, cap=s.concurrency, timeout=s.request_timeout,
            key=self._key, key_env=s.api_key_env, http_client=http_client,
        )  # fmt: skip

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.info.model or None!r}, base_url={self.fleet.describe()!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    @property
    def retries(self) -> int:
        """Attempts retried so far (transient errors and failovers)."""
        return self._dispatch.retries

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        """`params.n` completions per prompt, flattened in prompt order."""
        self._dispatch.bind_loop()
        if not self.info.model or self.server == "auto":
            await self.aresolve_model()
        args = sampling_fields(params, self.server)
        jobs = [
            self._sample(p, seeded(args, params.seed, i), params.json_schema)
            for p in prompts
            for i in range(params.n)
        ]
        return await _gather_or_cancel(jobs)

    async def aresolve_model(self) -> str:
        """Ask /v1/models for the first model id (when no model was given) and the server kind."""
        self._dispatch.bind_loop()
        if not self.info.model or self.server == "auto":
            models, _ = await self._dispatch.call("/models", None, parse_models)
            if not models and not self.info.model:
                raise BackendError(f"{self.fleet.describe()} serves no models; pass model=")
            self.info.model = self.info.model or models[0][0]
            if self.server == "auto":
                self.server = detect([owner for _, owner in models])
            self.info.extra["server"] = self.server
        return self.info.model

    async def aclose(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        await self._dispatch.aclose()

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
        path, body = request_for(self.info.model, prompt, args)
        call, shape = self._dispatch.call, self.shape
        if schema is not None and self.structured.wanted(schema):
            completion, url = await self.structured.send(
                path, schema, lambda form: send_adapted(call, shape, path, with_format(body, form))
            )
            self.structured.note(path, completion.text, schema)
        else:
            completion, url = await send_adapted(call, shape, path, body)
        if self._key != NO_KEY and self._key in completion.text + completion.reasoning:
            completion.text = mask(completion.text, self._key)  # a server echoing the request
            completion.reasoning = mask(completion.reasoning, self._key)
        completion.endpoint = redact_url(url)
        self.usage.add(completion)
        self.usage_by_endpoint[url].add(completion)
        return completion


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
