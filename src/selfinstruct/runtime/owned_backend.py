"""A stage's backend: the one its caller gave (the caller's to close), or one built from the
run's configuration and closed, in the loop that used it, when the stage is done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from ..config import BackendConfig
from ..llm.base import Backend
from ..llm.factory import backend_from_config
from .state import RunState

T = TypeVar("T")


@asynccontextmanager
async def owned_backend(given: Backend | None, config: BackendConfig) -> AsyncIterator[Backend]:
    """`given`, or a backend built from `config` and closed on the way out (`aclose`)."""
    if given is not None:
        yield given
        return
    built = backend_from_config(config)
    try:
        yield built
    finally:
        aclose = getattr(built, "aclose", None)
        if aclose is not None:
            await aclose()


async def run_opened(
    state: RunState, given: Backend | None, stage: Callable[[RunState, Backend], Awaitable[T]]
) -> T:
    """`stage` on an opened run, with `given` or a backend of its own; the run closed after."""
    with state:
        async with owned_backend(given, state.config.backend) as backend:
            return await stage(state, backend)
