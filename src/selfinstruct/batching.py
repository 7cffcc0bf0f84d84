"""Send many prompts to a backend in chunks, a few chunks in flight, results back in order.

The stages after bootstrap are embarrassingly parallel: each prompt stands alone. Chunks let a
stage write its results as they come (so a crash loses at most the chunks in flight) while the
backend stays busy; handing results back in submission order keeps the output files
deterministic whatever the timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from .llm.base import Backend, Completion, GenerationParams, Prompt


def chunk_size_for(backend: Backend, concurrency: int) -> int:
    """Prompts per chunk: enough to fill the backend's concurrency or its batch, twice over."""
    return 2 * max(1, concurrency, backend.info.batch_size)


async def complete_in_order(
    backend: Backend,
    prompts: Sequence[Prompt],
    params: GenerationParams,
    chunk_size: int,
    ahead: int = 2,
) -> AsyncIterator[tuple[int, list[Completion]]]:
    """Yield (start, completions) per chunk in prompt order, keeping `ahead` chunks in flight."""
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    starts = list(range(0, len(prompts), chunk_size))
    pending: dict[int, asyncio.Task[list[Completion]]] = {}
    try:
        for i, start in enumerate(starts):
            for later in starts[i : i + ahead]:
                if later not in pending:
                    chunk = list(prompts[later : later + chunk_size])
                    pending[later] = asyncio.ensure_future(backend.acomplete(chunk, params))
            completions = await pending.pop(start)
            yield start, completions
    finally:
        for task in pending.values():
            task.cancel()
        if pending:
            await asyncio.gather(*pending.values(), return_exceptions=True)
