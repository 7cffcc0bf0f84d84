"""The one small LLM protocol: a batch of prompts in, text + finish reason + usage out."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, TypeVar, runtime_checkable

T = TypeVar("T")


class ChatMessage(TypedDict):
    """One chat turn, as OpenAI's chat API takes it."""

    role: Literal["system", "user", "assistant"]
    content: str


Prompt = str | list[ChatMessage]
"""A plain-text prompt for completion models, or chat messages for chat models."""


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters; a backend ignores what its model cannot honour."""

    max_tokens: int = 1024
    temperature: float = 0.7
    top_p: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1


@dataclass
class Completion:
    """One generated text; `finish_reason` is "stop" or "length" (cut off by max_tokens)."""

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Usage:
    """Token usage summed over a run."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, completion: Completion) -> None:
        self.requests += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens

    def since(self, before: Usage) -> Usage:
        """What was spent after `before` (a copy taken earlier with `dataclasses.replace`)."""
        return Usage(
            self.requests - before.requests,
            self.prompt_tokens - before.prompt_tokens,
            self.completion_tokens - before.completion_tokens,
        )


@dataclass
class BackendInfo:
    """What the loop needs to know about a backend to schedule it well."""

    name: str
    model: str
    chat: bool = True
    batch_size: int = 1
    extra: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """What every LLM backend implements (OpenAI-compatible, in-process transformers, fakes).

    `acomplete` returns, for each prompt, `params.n` completions (flattened in prompt order:
    prompt 0's n completions, then prompt 1's, ...).
    """

    info: BackendInfo
    usage: Usage

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]: ...


def run_closing(backend: Backend, main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, then close the backend's connections inside that same loop.

    HTTP connections belong to the loop that opened them; closing them there keeps the next
    stage's loop, and the interpreter's exit, free of "Event loop is closed" errors.
    """

    async def closing() -> T:
        try:
            return await main
        finally:
            aclose = getattr(backend, "aclose", None)
            if aclose is not None:
                await aclose()

    return asyncio.run(closing())


def complete(
    backend: Backend, prompts: Sequence[Prompt], params: GenerationParams | None = None
) -> list[Completion]:
    """Run `backend.acomplete` from synchronous code (scripts, notebooks without a loop)."""
    params = params or GenerationParams()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_closing(backend, backend.acomplete(prompts, params))
    # Inside a running loop (Jupyter): run in a worker thread with its own loop.
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(run_closing, backend, backend.acomplete(prompts, params)).result()
