"""Structured answers (`--structured`): each stage's JSON schema and prompt note, and what run.json
records of them.

When a run asks for JSON (chat prompts, a backend that can constrain its answers), a stage adds
its note (`prompts/json_<stage>.<lang>.txt`) to the last user turn and puts its schema in
`GenerationParams.json_schema`; each stage reads the JSON next to its text parser (candidates,
answers, instance_json, scores), falling back to it for an answer with no JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..llm.base import Backend, GenerationParams, Prompt
from ..llm.structured import Negotiation

if TYPE_CHECKING:
    from .state import RunState


def _object(title: str, **props: Any) -> dict[str, Any]:
    """An object schema whose every property is required, and no others (OpenAI's strict form)."""
    schema = {"type": "object", "properties": props, "required": list(props)}
    return {**({"title": title} if title else {}), **schema, "additionalProperties": False}


_STR = {"type": "string"}
_SCORE = {"type": "integer", "enum": [1, 2, 3, 4, 5]}
SCHEMAS: dict[str, dict[str, Any]] = {
    "json_bootstrap": _object("instructions", instructions={"type": "array", "items": _STR}),
    "json_classify": _object("classification", is_classification={"type": "boolean"}),
    "json_instances": _object(
        "instances",
        instances={
            "type": "array",
            "items": {
                "anyOf": [
                    _object("", label=_STR, input=_STR),
                    _object("", input=_STR, output=_STR),
                ]
            },
        },
    ),
    "json_judge": _object("scores", correctness=_SCORE, helpfulness=_SCORE),
}
"""Per stage; an instance is {label, input} for a classification task (output-first), else
{input, output}."""
MIN_TOKENS = {"json_classify": 24, "json_judge": 32}
"""Room for the JSON around a one-word label or two numbers."""


@dataclass(frozen=True)
class JsonAsk:
    """How one stage asks for JSON: its schema and the note(s) its prompts end with."""

    name: str
    notes: tuple[str, ...]

    def params(self, params: GenerationParams) -> GenerationParams:
        tokens = max(params.max_tokens, MIN_TOKENS.get(self.name, 0))
        return replace(params, json_schema=SCHEMAS[self.name], max_tokens=tokens)

    def answer(self, value: Any) -> str:
        """How an answered few-shot example reads in JSON (`{"is_classification": true}`)."""
        key = next(iter(SCHEMAS[self.name]["properties"]))
        return json.dumps({key: value}, ensure_ascii=False)

    def prompt(self, prompt: Prompt, which: int = 0) -> Prompt:
        """`prompt` with note `which` after its last user turn's text."""
        if isinstance(prompt, str):
            return prompt  # completion prompts are never asked for JSON
        turns = list(prompt)
        last = max(i for i, t in enumerate(turns) if t["role"] == "user")
        turns[last] = {
            "role": "user",
            "content": f"{turns[last]['content']}\n\n{self.notes[which]}",
        }
        return turns


def json_ask(
    state: RunState, backend: Backend, chat: bool, name: str, notes: tuple[str, ...] = ()
) -> JsonAsk | None:
    """The stage's JsonAsk when the run asks for JSON here, else None (`--structured on`:
    an error where it cannot be asked). `notes` are template names, by default `name`."""
    mode = state.config.backend.structured
    negotiation = getattr(backend, "structured", None) if mode != "off" else None
    if not isinstance(negotiation, Negotiation) or not chat:
        if mode == "on":
            why = "chat prompts" if not chat else "an OpenAI-compatible server (--backend openai)"
            raise ConfigError(f"--structured on needs {why}; use --structured auto or off")
        return None
    negotiation.mode = mode  # the run's setting governs the backend it runs on
    return JsonAsk(name, tuple(state.template(n).strip() for n in notes or (name,)))


def record_structured(state: RunState, stage: str, backend: Backend, ask: Any) -> None:
    """Note in run.json what response_format the stage's requests went with (if it `ask`ed)."""
    negotiation = getattr(backend, "structured", None) if ask is not None else None
    if isinstance(negotiation, Negotiation) and negotiation.kinds:
        state.meta.setdefault("structured", {})[stage] = negotiation.report()
        state.rundir.write_meta(state.meta)
