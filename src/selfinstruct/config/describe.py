"""Validation errors in words: which key (or flag), the value given, the values allowed.

Below the models on purpose: it reads any pydantic model's fields, so RunConfig, the finetune
options and the backend factory all word their errors the same way.
"""

from __future__ import annotations

import json
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..text.redact import redact_text
from .fields import option_meta


def describe_error(
    exc: ValidationError, source: str, *, as_flags: bool, model: type[BaseModel] | None = None
) -> str:
    """One line: where, which key (or flag), the value given, and the values allowed.

    `model` is the model that was validated (RunConfig, say): the error's field is looked up in
    it, one section deep, for its flag and allowed values; without one the key is named as given.
    """
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    field = None if model is None else _field_at(model, loc)
    if as_flags and field is not None:
        owner, name = field
        key = "--" + option_meta(owner, name)["flag"]
    else:
        key = ".".join(loc) or "config"
    given = f" = {json.dumps(err['input'], default=str)}" if "input" in err and loc else ""
    allowed = f"; allowed: {allowed_values(field[0].model_fields[field[1]])}" if field else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    return redact_text(f"{source}: {key}{given}: {message}{allowed}")


def _field_at(model: type[BaseModel], loc: list[str]) -> tuple[type[BaseModel], str] | None:
    """The model and field name a validation error points at, if it is one field."""
    if not loc or loc[0] not in model.model_fields:
        return None
    inner = model.model_fields[loc[0]].annotation
    if isinstance(inner, type) and issubclass(inner, BaseModel):  # a section
        if len(loc) >= 2 and loc[1] in inner.model_fields:
            return inner, loc[1]
        return None
    return model, loc[0]


def allowed_values(info: FieldInfo) -> str:
    """The values a field takes, in words: "an integer >= 1", "one of: a, b", ..."""
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("allowed"):
        return str(extra["allowed"])
    kinds = _kinds(info.annotation)
    bounds = _bounds(info)
    parts = []
    for kind in kinds:
        if kind in ("an integer", "a number") and bounds:
            kind = f"{kind} {bounds}"
        parts.append(kind)
    return " or ".join(parts)


def _kinds(annotation: Any) -> list[str]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        out: list[str] = []
        for arg in typing.get_args(annotation):
            if arg is type(None):
                continue
            out += _kinds(arg)
        return out
    if origin is Literal:
        return ["one of: " + ", ".join(str(a) for a in typing.get_args(annotation))]
    if origin is list:
        return ["a list of strings (or one comma-separated string)"]
    return {
        bool: ["true or false"],
        int: ["an integer"],
        float: ["a number"],
        str: ["a string"],
        Path: ["a path"],
    }.get(annotation, [str(annotation)])


def _bounds(info: FieldInfo) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    found = []
    for meta in info.metadata:
        for attr, sign in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                found.append(f"{sign} {value}")
    return " and ".join(found)
