"""Send a request to a fleet of endpoints until one answers well: slots, retries, failover.

Each attempt takes a slot (`gate.py`) on the endpoint the fleet picks and a lane to it
(`lanes.py`), goes out once (`openai_http.py`), and tells the fleet how it went (`fleet.py`). A
failure is retried under `RetryPolicy` (429, 5xx, dropped connections, garbled or empty bodies),
moved at once to a live endpoint when its own rests, or refused with one `BackendError` line
that names the endpoint, the status and what to do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import BackendError
from ..text.redact import secrets_of
from .base import BackendInfo
from .failures import Failure, Refused
from .fleet import Endpoint, Fleet
from .gate import Gate
from .lanes import Lanes
from .openai_http import Body, exchange, new_tls, openai_client, pooled_http_client
from .responses import mask
from .retry import RetryPolicy, quota_reset
from .structured import FormatRefused

T = TypeVar("T")
log = logging.getLogger(__name__)

MALFORMED_LIMIT = 4
"""Garbled 2xx answers one request takes before it gives up (a wrong URL should fail fast);
from an endpoint that has answered well-formed completions, they are retried like any fault."""


class Dispatcher:
    """The requests of one backend over its `fleet`, at most `cap` in flight.

    Slots and lanes belong to one event loop: a new loop gets fresh ones (`bind_loop`). An
    `http_client` passed in carries every endpoint's requests; `aclose` closes it.
    """

    def __init__(
        self,
        fleet: Fleet,
        policy: RetryPolicy,
        info: BackendInfo,
        *,
        cap: int,
        timeout: float,
        key: str,
        key_env: str,
        http_client: Any = None,
    ) -> None:
        self.fleet, self.policy, self.info = fleet, policy, info
        self.cap, self.timeout = cap, timeout
        self.retries = 0
        """Attempts retried so far (transient errors and failovers)."""
        self._key, self._key_env = key, key_env
        self._secrets = [s for e in fleet.endpoints for s in secrets_of(e.url)]
        """Credentials in the base URLs: masked out of what servers say back, like the key."""
        self._http_client = http_client
        self.lanes = Lanes(self._open, shared=http_client is not None)
        """This loop's openai clients, per endpoint."""
        self._tls: Any = None
        """One TLS context for every lane (set on first use)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self.gate = Gate(fleet, cap)

    def bind_loop(self) -> None:
        """A new event loop gets a fresh gate and clients (connections belong to their loop)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self.lanes = Lanes(self._open, shared=self._http_client is not None)
            for endpoint in self.fleet.endpoints:
                endpoint.in_flight = 0  # whatever the old loop had in flight is gone with it
            self.gate = Gate(self.fleet, self.cap)

    async def aclose(self) -> None:
        """Close the HTTP connections (a later call opens new ones)."""
        lanes, self._http_client = self.lanes, None
        self.lanes = Lanes(self._open)
        for http in lanes.http_clients():  # closing it closes the openai clients on it
            await http.aclose()

    def _open(self, url: str) -> tuple[Any, Any]:
        """A new lane to `url`: an openai client on `http_client` or on a pool of its own."""
        http = self._http_client
        if http is None:
            if self._tls is None:
                self._tls = new_tls()
            http = pooled_http_client(self.timeout, self._tls)
        return openai_client(url, self._key, self.timeout, http), http

    async def call(self, path: str, body: Body, parse: Callable[[bytes], T]) -> tuple[T, str]:
        """Send until some endpoint answers well: (the parsed answer, that endpoint's URL)."""
        attempts, malformed, first_failure = 0, 0, None
        while True:
            endpoint = await self.gate.acquire()
            epoch = endpoint.epoch
            attempts += 1
            try:
                outcome = await self._attempt(endpoint, epoch, path, body, parse)
            finally:
                self.gate.release(endpoint)
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

    async def _attempt(
        self, endpoint: Endpoint, epoch: int, path: str, body: Body, parse: Callable[[bytes], T]
    ) -> T | Failure:
        """One attempt on `endpoint`: its parsed answer, or why not; tells the fleet either way.

        A callable `body` gives the body as the endpoint takes it by now.
        """
        lane = self.lanes.take(endpoint.url)
        try:
            sent = body() if callable(body) else body
            context = {"key_env": self._key_env, "model": self.info.model, "path": path}
            outcome = await exchange(
                lane.client, path, sent, parse, self.timeout, self._key, context
            )
        finally:
            self.lanes.give(lane)
        if isinstance(outcome, Failure):
            self._note(endpoint, epoch, outcome)
            return outcome
        value, headers = outcome
        self._answered(endpoint, headers)
        return value

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
