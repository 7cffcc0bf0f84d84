"""The one small LLM protocol: a batch of prompts in, text + finish reason + usage out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from ..config import BootstrapConfig

_BOOTSTRAP = BootstrapConfig.model_fields


class ChatMessage(TypedDict):
    """One chat turn, as OpenAI's chat API takes it."""

    role: Literal["system", "user", "assistant"]
    content: str


Prompt = str | list[ChatMessage]
"""A plain-text prompt for completion models, or chat messages for chat models."""


@dataclass(frozen=True)
class GenerationParams:
    """Sampling parameters; a backend ignores what its model cannot honour.

    `max_tokens` and `temperature` default to the bootstrap stage's options (BootstrapConfig);
    top_p and the penalties to the API's neutral values, which change nothing.
    """

    max_tokens: int = _BOOTSTRAP["max_tokens"].default
    temperature: float = _BOOTSTRAP["temperature"].default
    top_p: float = 1.0
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    stop: tuple[str, ...] = ()
    seed: int | None = None
    n: int = 1
    json_schema: dict[str, Any] | None = None
    """The JSON Schema the answer should follow when structured outputs are on; a backend asks
    its server for it as the server allows (or not at all) and the stage still reads leniently."""


@dataclass
class Completion:
    """One generated text; `finish_reason` is "stop" or "length" (cut off by max_tokens)."""

    text: str
    finish_reason: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    endpoint: str = ""
    """The URL of the endpoint that answered ("" for in-process backends)."""
    reasoning: str = ""
    """The model's thinking, apart from `text`: a `reasoning`/`reasoning_content` field or an
    inline `<think>` block. It never becomes data unless the run keeps it (`--reasoning keep`)."""
    reasoning_tokens: int = 0
    """Of `completion_tokens`, those the server says went to thinking (0 when it does not say)."""


@dataclass
class Usage:
    """Token usage summed over a run; `reasoning_tokens` are the part of completion tokens spent
    thinking."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, completion: Completion) -> None:
        self.requests += 1
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.reasoning_tokens += completion.reasoning_tokens


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

    @property
    def info(self) -> BackendInfo: ...

    @property
    def usage(self) -> Usage: ...

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]: ...


async def acomplete(
    backend: Backend, prompts: Sequence[Prompt], params: GenerationParams | None = None
) -> list[Completion]:
    """`backend.acomplete` with default parameters: for callers who own the event loop."""
    return await backend.acomplete(prompts, params or GenerationParams())


def complete(
    backend: Backend, prompts: Sequence[Prompt], params: GenerationParams | None = None
) -> list[Completion]:
    """Completions from synchronous code: scripts, and notebooks whose event loop is running."""
    from ..sync import run_sync

    return run_sync(acomplete(backend, prompts, params), closing=backend)
