"""A stage's backend: the one its caller gave (the caller's to close), or one built from the
run's configuration and closed, in the loop that used it, when the stage is done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from ..config import BackendConfig
from ..llm.base import Backend
from ..llm.factory import backend_from_config


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
