"""A scripted LLM backend for tests: answers from a queue or a function, and records every call."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from selfinstruct.llm.base import BackendInfo, Completion, GenerationParams, Prompt, Usage

Reply = str | Completion
Responder = Callable[[Prompt, GenerationParams], Reply]


def prompt_text(prompt: Prompt) -> str:
    """The text of a prompt, whether plain or chat messages (contents joined)."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(m["content"] for m in prompt)


class FakeBackend:
    """Implements the `Backend` protocol without a model.

    Replies come from `responses` in order (a `str` is a completion that stopped normally, a
    `Completion` is used as is); when the queue is empty `respond(prompt, params)` is asked, and
    with neither a `RuntimeError` says the script ran out. `history` holds (prompt, params) for
    every completion asked for, in the order asked. Token usage counts whitespace-split words.
    """

    def __init__(
        self,
        responses: Iterable[Reply] = (),
        *,
        respond: Responder | None = None,
        chat: bool = True,
        model: str = "fake-model",
        batch_size: int = 1,
    ) -> None:
        self.queue: deque[Reply] = deque(responses)
        self.respond = respond
        self.history: list[tuple[Prompt, GenerationParams]] = []
        self.calls = 0
        self.info = BackendInfo(name="fake", model=model, chat=chat, batch_size=batch_size)
        self.usage = Usage()

    @property
    def prompts(self) -> list[str]:
        """Texts of every prompt received, in order."""
        return [prompt_text(p) for p, _ in self.history]

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        self.calls += 1
        out: list[Completion] = []
        for prompt in prompts:
            for _ in range(params.n):
                self.history.append((prompt, params))
                out.append(self._reply(prompt, params))
                await asyncio.sleep(0)  # let other coroutines interleave, as a server would
        return out

    def _reply(self, prompt: Prompt, params: GenerationParams) -> Completion:
        if self.queue:
            reply = self.queue.popleft()
        elif self.respond is not None:
            reply = self.respond(prompt, params)
        else:
            raise RuntimeError(f"FakeBackend has no reply left for prompt #{len(self.history)}")
        if isinstance(reply, str):
            reply = Completion(text=reply, finish_reason="stop")
        if not reply.prompt_tokens and not reply.completion_tokens:
            reply = Completion(
                text=reply.text,
                finish_reason=reply.finish_reason,
                prompt_tokens=len(prompt_text(prompt).split()),
                completion_tokens=len(reply.text.split()),
            )
        self.usage.add(reply)
        return reply


def unscored(records: Iterable[dict]) -> list[dict]:
    """Pool records as the bootstrap loop writes them, before the pass after it scores them."""
    return [{**r, "max_rouge": None, "mean_rouge": None, "most_similar": []} for r in records]
