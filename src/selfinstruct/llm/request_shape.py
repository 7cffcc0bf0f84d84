"""What a request carries for thinking, and what an endpoint refused of it, learnt once per run.

`--reasoning off` asks a server not to think: self-hosted servers (vLLM, SGLang, llama.cpp)
render the model's chat template with `chat_template_kwargs` (`enable_thinking: false` for
Qwen3-style templates, `thinking: false` for DeepSeek-V3.1/Granite-style ones); an
OpenAI-style API takes `reasoning_effort` at its lowest ("minimal" for GPT-5-class models, "low"
for the o-series, "none" for others such as Ollama's endpoint). OpenAI's reasoning models also
refuse `max_tokens` (they want `max_completion_tokens`) and any sampling parameter but the
default: chosen up front for names we know, and otherwise learnt from the first 400 that names
the parameter. Each change is logged once and reported by `sent()` for run.json.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any

log = logging.getLogger(__name__)

SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
"""The sampling parameters OpenAI's reasoning models accept only at their defaults."""
_OPENAI_REASONING = re.compile(r"^(?:openai/)?(?:o\d(?:-|$)|gpt-5(?!.*-chat))", re.IGNORECASE)
_THINKING_NAMES = re.compile(
    r"qwq|deepseek-?r1|deepseek-reasoner|gpt-oss|glm-4\.[5-9]|glm-z1|magistral|"
    r"thinking|reasoner|-think\b|qwen3(?!.*instruct)|phi-4.*reasoning|seed-oss",
    re.IGNORECASE,
)
_ALWAYS = re.compile(
    r"qwq|deepseek-?r1|deepseek-reasoner|gpt-oss|thinking|glm-z1|magistral", re.IGNORECASE
)
_EFFORTS = ("none", "minimal", "low", "medium", "high")
_UNSUPPORTED = re.compile(r"unsupported (parameter|value):\s*'([a-z_]+)'", re.IGNORECASE)
_INSTEAD = re.compile(r"use '([a-z_]+)' instead", re.IGNORECASE)
_UNKNOWN = (
    re.compile(r"unrecognized request arguments? supplied:\s*'?([a-z_]+)", re.IGNORECASE),
    re.compile(r"unknown (?:field|parameter|argument)[:\s]*[`'\"]?([a-z_]+)", re.IGNORECASE),
)
"""How other servers refuse a field they do not know (OpenAI's older wording, serde)."""
_EXTRA = re.compile(r"extra inputs are not permitted|extra_forbidden", re.IGNORECASE)
_QUOTED = re.compile(r"[`'\"]([a-z_]+)[`'\"]")
_ESSENTIAL = frozenset({"model", "messages", "prompt"})


def refused_name(detail: str, fields: Collection[str] = ()) -> tuple[str | None, bool]:
    """The parameter a 400 refuses, and whether it refuses only its value (None: none named)."""
    match = _UNSUPPORTED.search(detail)
    if match:
        return match.group(2), match.group(1).lower() == "value"
    if "does not support thinking" in detail.lower():  # Ollama, for a model that cannot think
        return "reasoning_effort", False
    for pattern in _UNKNOWN:
        found = pattern.search(detail)
        if found and (not fields or found.group(1) in fields):
            return found.group(1), False
    if _EXTRA.search(detail):  # pydantic's extra_forbidden: the field is quoted in `loc`
        named = [n for n in _QUOTED.findall(detail) if n in fields and n not in _ESSENTIAL]
        return (named[0], False) if named else (None, False)
    return None, False


def openai_reasoning_model(model: str) -> bool:
    """An OpenAI reasoning model by name (o1, o3, o4-mini, gpt-5, ...; not gpt-5-chat)."""
    return bool(_OPENAI_REASONING.search(model.strip()))


def thinking_model(model: str) -> bool:
    """A model whose name says it thinks before answering (by default, at least)."""
    return openai_reasoning_model(model) or bool(_THINKING_NAMES.search(model))


def always_thinks(model: str) -> bool:
    """A model that thinks whatever it is told (no switch in its template, or effort >= low)."""
    return openai_reasoning_model(model) or bool(_ALWAYS.search(model))


def lowest_effort(model: str) -> str:
    """The lowest `reasoning_effort` a model of this name is known to take."""
    if not openai_reasoning_model(model):
        return "none"
    return "minimal" if re.search(r"gpt-5", model, re.IGNORECASE) else "low"


class RequestShape:
    """The fields a request sends beside the prompt, adapted to what the endpoint accepts."""

    def __init__(self, server: str, model: str, reasoning: str = "auto") -> None:
        self.server, self.model, self.reasoning = server, model, reasoning
        self.renamed: dict[str, str] = {}
        self.dropped: set[str] = set()
        self.effort: str | None = None
        if server == "openai" and openai_reasoning_model(model):
            self.renamed["max_tokens"] = "max_completion_tokens"
            self.dropped.update(SAMPLING)
        if reasoning == "off" and server == "openai":
            self.effort = lowest_effort(model)

    def apply(self, body: dict[str, Any], chat: bool) -> dict[str, Any]:
        """`body` as this endpoint takes it (a new dict; `body` itself is left alone)."""
        out = {self.renamed.get(k, k): v for k, v in body.items() if k not in self.dropped}
        if self.reasoning == "off":
            if self.server != "openai" and chat and "chat_template_kwargs" not in self.dropped:
                out["chat_template_kwargs"] = {"enable_thinking": False, "thinking": False}
            if self.effort is not None and "reasoning_effort" not in self.dropped:
                out["reasoning_effort"] = self.effort
        return out

    def learn(self, status: int | None, detail: str, fields: Collection[str] = ()) -> bool:
        """Adapt to a refusal (a 400 naming a parameter of `fields`, the request's); True when
        the request should go again."""
        if status not in (400, 422) or not detail:
            return False
        before = self.sent()
        name, value = refused_name(detail, fields)
        if name == "reasoning_effort" and value:
            self._raise_effort()
        elif name == "max_tokens" and _INSTEAD.search(detail):
            self.renamed["max_tokens"] = _INSTEAD.search(detail).group(1)  # type: ignore[union-attr]
        elif name in SAMPLING:
            self.dropped.update(SAMPLING)  # a model refusing one refuses them all
        elif name and name not in _ESSENTIAL:
            self.dropped.add(name)
        changed = self.sent() != before
        if changed:
            log.warning(
                "the endpoint refused a request (%s); sending %s from now on",
                detail[:160],
                self.describe(),
            )
        return changed

    def _raise_effort(self) -> None:
        """One step up from a refused `reasoning_effort` (minimal -> low -> ...)."""
        current = _EFFORTS.index(self.effort) if self.effort in _EFFORTS else 0
        if current + 1 < len(_EFFORTS):
            self.effort = _EFFORTS[current + 1]
        else:
            self.dropped.add("reasoning_effort")

    def sent(self) -> dict[str, Any]:
        """What this shape changes in a request, for run.json (empty when nothing)."""
        out: dict[str, Any] = {}
        if self.renamed:
            out["renamed"] = dict(sorted(self.renamed.items()))
        if self.dropped:
            out["dropped"] = sorted(self.dropped)
        if self.reasoning == "off" and self.effort and "reasoning_effort" not in self.dropped:
            out["reasoning_effort"] = self.effort
        off_kwargs = self.reasoning == "off" and self.server != "openai"
        if off_kwargs and "chat_template_kwargs" not in self.dropped:
            out["chat_template_kwargs"] = {"enable_thinking": False, "thinking": False}
        return out

    def describe(self) -> str:
        parts = [f"{a} as {b}" for a, b in sorted(self.renamed.items())]
        if self.dropped:
            parts.append("no " + ", ".join(sorted(self.dropped)))
        if self.reasoning == "off" and self.effort and "reasoning_effort" not in self.dropped:
            parts.append(f"reasoning_effort {self.effort}")
        return "; ".join(parts) or "the request unchanged"
