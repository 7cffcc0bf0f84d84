"""How the stub plays a reasoning model: thinking inline or in a message field, and refusals.

Separate from the server so a test can build and inspect a `Thinking` without one running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selfinstruct.testing.task_lists import count_tokens, cut


@dataclass(frozen=True)
class Thinking:
    """How the stub plays a reasoning model: where its thinking goes, and what it refuses.

    `where`: "inline" (a `<think>` block in the text, as a server without a reasoning parser
    sends it), "open" (the chat template opened the block: the text is `thoughts</think>answer`),
    "reasoning" or "reasoning_content" (a message field, as vLLM / llama.cpp and DeepSeek send
    it). The thinking counts against max_tokens before the answer does, so a small budget cuts
    it off inside the thinking. `openai_rules` refuses, with OpenAI's own 400 messages,
    `max_tokens` and any sampling parameter but its default, and the `reasoning_effort` values
    not in `efforts`. `chat_template_kwargs.enable_thinking: false` or an effort of
    "none"/"minimal" switches the thinking off. `usage_details`: report reasoning_tokens.
    """

    where: str = "inline"
    text: Callable[[str], str] = lambda prompt: (
        "Okay, the user wants more tasks. Let me draft a few.\n1. Something like writing a poem "
        "about the sea.\n2. Maybe an arithmetic one.\nInput: a draft input\nOutput: a draft "
        "output\nYes, I think so. Correctness: 2 Helpfulness: 2\nI will now answer."
    )
    openai_rules: bool = False
    efforts: tuple[str, ...] = ("minimal", "low", "medium", "high")
    usage_details: bool = True

    def refusal(self, body: dict[str, Any]) -> tuple[str, str] | None:
        """(parameter, OpenAI's message) for a request a reasoning model refuses, else None."""
        if not self.openai_rules:
            return None
        if "max_tokens" in body:
            return "max_tokens", (
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            default = 1 if name in ("temperature", "top_p") else 0
            if name in body and body[name] != default:
                return name, (
                    f"Unsupported value: '{name}' does not support {body[name]} with this "
                    f"model. Only the default ({default}) value is supported."
                )
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in self.efforts:
            listed = ", ".join(f"'{e}'" for e in self.efforts)
            return "reasoning_effort", (
                f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this "
                f"model. Supported values are: {listed}."
            )
        return None

    def thinks(self, body: dict[str, Any]) -> bool:
        kwargs = body.get("chat_template_kwargs") or {}
        if kwargs.get("enable_thinking") is False:
            return False
        return body.get("reasoning_effort") not in ("none", "minimal")

    def answer(
        self, prompt: str, body: dict[str, Any], answer: str, chat: bool
    ) -> tuple[dict[str, Any], str, int, int]:
        """(the message fields or text, finish reason, completion tokens, reasoning tokens)."""
        thought = self.text(prompt) if self.thinks(body) else ""
        budget = body.get("max_tokens", body.get("max_completion_tokens"))
        spent = count_tokens(thought)
        if thought and isinstance(budget, int) and spent >= budget:
            thought, answer, reason = cut(thought, budget, None)[0], "", "length"
            spent = budget
        else:
            left = budget - spent if isinstance(budget, int) else None
            answer, reason = cut(answer, left, body.get("stop"))
        where = self.where if chat else "inline"
        if not thought:
            fields: dict[str, Any] = {"content": answer}
        elif where in ("reasoning", "reasoning_content"):
            fields = {"content": answer or None, where: thought}
        elif where == "open":
            closed = reason != "length" or answer
            fields = {"content": f"{thought}\n</think>\n\n{answer}" if closed else thought}
        else:
            closed = reason != "length" or answer
            tail = f"\n</think>\n\n{answer}" if closed else ""
            fields = {"content": f"<think>\n{thought}{tail}"}
        return fields, reason, spent + count_tokens(answer), spent


# ---------------------------------------------------------------- the server
