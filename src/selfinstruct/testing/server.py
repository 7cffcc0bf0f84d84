"""`StubServer`: a local OpenAI-compatible server to run a pipeline against, in-process or not.

Its settings, the scripting of faults, and its lifecycle (a background thread with its own
event loop, or the running loop); the requests themselves are handled in handler.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import IO, Any

from selfinstruct.testing.faults import Fault, Window
from selfinstruct.testing.handler import Recorded, RequestHandler
from selfinstruct.testing.responses import ReplyFn
from selfinstruct.testing.thinking import Thinking


class StubServer(RequestHandler):
    """An OpenAI-compatible HTTP/1.1 server on 127.0.0.1 (see the package docstring)."""

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        model: str = "stub-model",
        latency: float = 0.0,
        jitter: float = 0.0,
        token_latency: float = 0.0,
        seed: int = 0,
        reply: ReplyFn | None = None,
        faults: Iterable[Fault] = (),
        fault_fn: Callable[[int], Fault | None] | None = None,
        max_in_flight: int | None = None,
        rps: float | None = None,
        retry_after: str = "1",
        record: bool = True,
        diverse: bool = False,
        journal: IO[str] | None = None,
        gather: int | None = None,
        thinking: Thinking | None = None,
        formats: Iterable[str] | None = None,
        format_status: int = 400,
    ) -> None:
        self.host, self.port, self.model = host, port, model
        self.thinking = thinking
        """Play a reasoning model (see `Thinking`)."""
        self.formats = None if formats is None else frozenset(formats)
        self.format_status = format_status
        """`formats`: the response_format types taken (None: any, ignored as Ollama does); any
        other is refused with `format_status` as that kind of server words it: 500 is
        llama-cpp-python's ("Input should be 'text' or 'json_object'"), 400 OpenAI's and vLLM's."""
        self.gather = gather
        """`gather`: each completion waits until this many requests are in flight at once
        (at most 60 s) before its latency starts, so a test of concurrency does not depend on
        how fast a loaded machine sends them."""
        self._gathered: asyncio.Event | None = None
        self.latency, self.jitter, self.token_latency = latency, jitter, token_latency
        self.seed = seed
        self.reply, self.fault_fn = reply, fault_fn
        self.faults: deque[Fault] = deque(faults)
        self.windows: list[Window] = []
        self.max_in_flight, self.rps, self.retry_after = max_in_flight, rps, retry_after
        self.record, self.diverse, self.journal = record, diverse, journal
        """`journal`: a text file that gets one JSON line per POST (wall-clock time, this
        server's URL, path, body), for replaying the same requests with another client."""
        self.requests: list[Recorded] = []
        self.count = 0
        """Requests received (recorded or not)."""
        self.in_flight = self.peak_in_flight = 0
        self.statuses: dict[int | str, int] = {}
        """How many responses of each status (or fault kind without one) were sent."""
        self._started = time.monotonic()
        self._recent: deque[float] = deque()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # -- scripting

    def push(self, *faults: Fault) -> None:
        """Queue faults for the next requests, one each, in order."""
        self.faults.extend(faults)

    def window(self, start: float, end: float, fault: Fault) -> None:
        """`fault` for requests arriving between `start` and `end` seconds from now."""
        now = self.now()
        self.windows.append(Window(now + start, now + end, fault))

    def outage(self, seconds: float, fault: Fault | None = None) -> None:
        """For `seconds` from now answer everything with `fault`; None refuses connections."""
        self.window(0, seconds, fault or Fault("refuse"))
        if fault is None:
            self._call(self._refuse, seconds)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- lifecycle

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StubServer:
        """Serve on a background thread with its own event loop; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.close()

        self._thread = threading.Thread(target=main, name="openai-stub", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None

    async def astart(self) -> None:
        """Listen in the running loop (the command-line mode and `start` use this)."""
        _raise_fd_limit()
        self._loop = asyncio.get_running_loop()
        await self._listen()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in the server's loop, from any thread."""
        if self._loop is None:
            raise RuntimeError("the stub server is not running")
        self._loop.call_soon_threadsafe(fn, *args)

    def _refuse(self, seconds: float) -> None:
        """Stop listening (new connections are refused) and listen again after `seconds`."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, lambda: loop.create_task(self._listen()))


def _raise_fd_limit(wanted: int = 8192) -> None:
    """Let this process hold thousands of sockets (many systems start at 1024 descriptors)."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
