"""Run the library's async code from synchronous callers, with or without a running event loop.

Plain Python gets `asyncio.run`; inside a running loop (Jupyter, IPython, an async web app) the
coroutine runs to completion on a worker thread with a loop of its own, and Ctrl-C in the caller
cancels it cleanly. The backend's HTTP connections are closed in the loop that opened them. When
the CLI asks for it (`handle_sigterm`), SIGTERM cancels the run like Ctrl-C and ends in
`Terminated`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import signal
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import Terminated

T = TypeVar("T")

handle_sigterm = False
"""Set by the CLI: turn SIGTERM into a clean stop of the running coroutine."""


def run_sync(main: Coroutine[Any, Any, T], closing: Any = None) -> T:
    """Run `main` to completion from synchronous code; then close `closing`'s connections."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False  # (not run in this except block: errors would chain to it)
    else:
        running = True
    if running:
        return _run_on_thread(main, closing)
    return asyncio.run(_guarded(main, closing))


async def _guarded(main: Coroutine[Any, Any, T], closing: Any) -> T:
    """`await main` with SIGTERM turned into cancellation (main thread, CLI only)."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        if task is not None:
            task.cancel()

    previous = None
    if handle_sigterm and threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGTERM)
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await main
    except asyncio.CancelledError:
        if terminated:
            raise Terminated() from None
        raise
    finally:
        if previous is not None:
            loop.remove_signal_handler(signal.SIGTERM)
            signal.signal(signal.SIGTERM, previous)
        aclose = getattr(closing, "aclose", None)
        if aclose is not None:
            await aclose()


def _run_on_thread(main: Coroutine[Any, Any, T], closing: Any) -> T:
    """Run `main` on a worker thread's own loop; Ctrl-C here cancels it there and waits."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def runner() -> T:
        box["loop"], box["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        return await _guarded(main, closing)

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="selfinstruct") as pool:
        future = pool.submit(asyncio.run, runner())
        try:
            return future.result()
        except KeyboardInterrupt:
            started.wait(5)
            if "loop" in box:
                box["loop"].call_soon_threadsafe(box["task"].cancel)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                future.result()  # the worker's books are written before it returns
            raise
