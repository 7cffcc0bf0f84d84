"""A model's thinking, told apart from its answer: inline blocks, reasoning fields, cut-off drafts.

Reasoning models (Qwen3, QwQ, DeepSeek-R1, GLM-4.5+, gpt-oss, GPT-5/o-series) think before they
answer. A server with a reasoning parser returns the thinking in a message field of its own
(`reasoning`, or `reasoning_content` in older vLLM, llama.cpp and the DeepSeek API); one without
leaves it inline in the text: a leading `<think>…</think>` block, a bare `…</think>` when the
chat template already opened the block, an unclosed `<think>` when max_tokens cut the thinking
short, or gpt-oss's harmony channels. `split_reasoning` is the one reader both backends use;
it runs in linear time and leaves any other text untouched.
"""

from __future__ import annotations

import re

from .base import Completion

_OPEN = re.compile(r"\s*<\s*(?:think|thinking)\s*>", re.IGNORECASE)
_ANY_OPEN = re.compile(r"<\s*(?:think|thinking)\s*>", re.IGNORECASE)
_CLOSE = re.compile(r"<\s*/\s*(?:think|thinking)\s*>", re.IGNORECASE)
_HARMONY_ANALYSIS = "<|channel|>analysis<|message|>"
_HARMONY_FINAL = "<|channel|>final<|message|>"
_HARMONY_MARKS = re.compile(r"<\|(?:end|return|start|call)\|>(?:assistant)?")


def split_reasoning(text: str) -> tuple[str, str]:
    """(answer, reasoning) of a model's raw text; reasoning is "" when there is none.

    Only thinking at the start counts: a `<think>` tag in the middle of an answer is content.
    """
    if _HARMONY_ANALYSIS in text or _HARMONY_FINAL in text:
        return _split_harmony(text)
    thoughts: list[str] = []
    pos = 0
    if _OPEN.match(text) is None:
        close = _CLOSE.search(text)
        if close is None or _ANY_OPEN.search(text, 0, close.start()) is not None:
            return text, ""
        thoughts.append(text[: close.start()])  # the template opened the block for the model
        pos = close.end()
    while (opened := _OPEN.match(text, pos)) is not None:
        close = _CLOSE.search(text, opened.end())
        if close is None:  # cut off while thinking
            thoughts.append(text[opened.end() :])
            pos = len(text)
            break
        thoughts.append(text[opened.end() : close.start()])
        pos = close.end()
    reasoning = "\n\n".join(t.strip() for t in thoughts if t.strip())
    return text[pos:].lstrip(), reasoning


def _split_harmony(text: str) -> tuple[str, str]:
    """gpt-oss's raw channels: the analysis message is thinking, the final message the answer."""
    final = text.rfind(_HARMONY_FINAL)
    head, answer = (text, "") if final < 0 else (text[:final], text[final + len(_HARMONY_FINAL) :])
    analysis = head.find(_HARMONY_ANALYSIS)
    thinking = head[analysis + len(_HARMONY_ANALYSIS) :] if analysis >= 0 else head
    thinking = _HARMONY_MARKS.sub("\n", thinking).strip()
    return _HARMONY_MARKS.sub("", answer).strip(), thinking


def merge_reasoning(field: str, inline: str) -> str:
    """A reasoning field and inline thinking as one text (a server may send both)."""
    return "\n\n".join(part for part in (field.strip(), inline) if part)


def estimate_reasoning_tokens(completion_tokens: int, answer: str, reasoning: str) -> int:
    """Of `completion_tokens`, the share spent on `reasoning`, by length (server said nothing)."""
    if not reasoning or completion_tokens <= 0:
        return 0
    share = len(reasoning) / (len(reasoning) + len(answer))
    return min(completion_tokens, max(1, round(completion_tokens * share)))


def cut_while_thinking(completion: Completion) -> bool:
    """True when max_tokens ended the answer before any of it was written, inside the thinking."""
    thought = bool(completion.reasoning.strip()) or completion.reasoning_tokens > 0
    return completion.finish_reason == "length" and thought and not completion.text.strip()
