"""Structured answers (`--structured`): each stage's JSON schema, its prompt note, and its reader.

When a run asks for JSON (chat prompts, a backend that can constrain its answers), a stage adds
its note (`prompts/json_<stage>.<lang>.txt`) to the last user turn, puts its schema in
`GenerationParams.json_schema`, and reads each answer here first: the JSON becomes the same
candidates, labels, examples or scores its text parser gives, and an answer with no JSON goes to
that text parser (the server may take no response_format, or stop being asked). An answer that
is JSON of another shape yields nothing rather than being read as text.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .answers import parse_yes_no
from .candidates import Candidate, Truncation, split_candidates
from .errors import ConfigError
from .instance_parsing import UNPARSEABLE, ParsedExample
from .json_text import read_json, strings_of
from .llm.base import Backend, GenerationParams, Prompt
from .llm.structured import Negotiation
from .scores import Scores

if TYPE_CHECKING:
    from .runstate import RunState


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


# -- readers: JSON -> what the stage's text parser gives; None: read it as text ------------------

_FENCE = re.compile(r"\s*(?:```[ \t]*(?:json|JSON)?\s*)?")
_ENUMERATOR = re.compile(r"\s*(?:\d{1,3}|[０-９]{1,3})\s*[.)、．）:：]\s+")


def _json_answer(text: str) -> tuple[Any, bool]:
    """The JSON of an answer, and whether the answer is JSON at all (opens with it)."""
    opening = _FENCE.match(text)
    first = text[opening.end() : opening.end() + 1] if opening else ""
    return read_json(text), first in ("{", "[")


def candidates_from_json(
    text: str, finish_reason: str = "stop", truncation: Truncation = "last"
) -> list[Candidate] | None:
    """The instructions a JSON answer lists (numbering and blank or punctuation-only items gone)."""
    value, is_json = _json_answer(text)
    listed = strings_of(value, ("instructions", "tasks")) if value is not None else None
    if listed is None:
        return [] if is_json else None
    items = [" ".join(_ENUMERATOR.sub("", s, count=1).split()) for s in listed]
    cut = finish_reason == "length" and truncation == "response"
    return [Candidate(s, None, cut) for s in items if any(ch.isalnum() for ch in s)]


def answer_candidates(
    text: str, finish_reason: str, *, asked: bool, truncation: Truncation, **split: Any
) -> list[Candidate]:
    """A bootstrap answer's candidates: from its JSON when JSON was asked for, else its text
    (`split`: the rest of `split_candidates`' arguments)."""
    listed = candidates_from_json(text, finish_reason, truncation) if asked else None
    if listed is not None:
        return listed
    return split_candidates(text, finish_reason=finish_reason, truncation=truncation, **split)


def label_from_json(text: str) -> bool | None:
    """`is_classification` of a JSON answer (a boolean, or yes/no words in a string)."""
    value = read_json(text)
    if not isinstance(value, dict):
        return None
    label = value.get("is_classification")
    if label is None and len(value) == 1:
        label = next(iter(value.values()))
    if isinstance(label, bool):
        return label
    return parse_yes_no(label) if isinstance(label, str) else None


def instances_from_json(text: str, classification: bool) -> list[ParsedExample] | None:
    """The examples of a JSON answer: {input, output}, or {label, input} for classification."""
    value, is_json = _json_answer(text)
    items = value.get("instances") if isinstance(value, dict) else value
    if isinstance(value, dict) and items is None:
        items = next((v for v in value.values() if isinstance(v, list)), None)
    if not isinstance(items, list):
        return [] if is_json else None
    return [_example(item, classification) for item in items]


def _example(item: Any, classification: bool) -> ParsedExample:
    if not isinstance(item, dict):
        return ParsedExample("", "", UNPARSEABLE)
    fields = {str(k).lower().replace(" ", "_"): _scalar(v) for k, v in item.items()}
    outputs = ("label", "class_label", "output") if classification else ("output", "label")
    output = next((fields[k] for k in outputs if fields.get(k)), None)
    if output is None:
        return ParsedExample(fields.get("input") or "", "", UNPARSEABLE)
    return ParsedExample(fields.get("input") or "", output)


def _scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    return None


_SCORE_KEYS = {"correctness": ("correctness", "正确性"), "helpfulness": ("helpfulness", "有用性")}


def scores_from_json(text: str) -> Scores | None:
    """Correctness and helpfulness (whole numbers 1-5) of a JSON answer; None without either."""
    value = read_json(text)
    if not isinstance(value, dict):
        return None
    found = {name: _score(value, keys) for name, keys in _SCORE_KEYS.items()}
    if all(v is None for v in found.values()):
        return None
    return Scores(found["correctness"], found["helpfulness"])


def _score(value: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    raw = next((value[k] for k in keys if k in value), None)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 5 else None
