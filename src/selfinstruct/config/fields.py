"""How an option is declared (`opt`) and read back (`option_meta`): what every section shares.

A field's flag is its name with dashes, unless `flag=` gives another (the same name in two
sections, such as `max_tokens`); the keyword argument is the flag with underscores. `data=False`
marks options that do not change what a run generates (how many, how fast), so a rerun may
change them freely; the rest are recorded in `run.json` at the start of a run.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


def opt(
    default: Any,
    help: str,
    *,
    flag: str | None = None,
    data: bool = True,
    allowed: str | None = None,
    bare: str | None = None,
    cli: bool | dict[str, Any] = True,
    **bounds: Any,
) -> Any:
    """A config field: default, one-line help, bounds (ge, gt, le, lt) and CLI metadata.

    `allowed` words the values the field takes when its type alone does not say it well;
    `bare` is the value of its flag given without one (`--ray` alone: `local`); `cli` is False
    for an option without a flag (config files and keyword arguments only), or the argparse
    keywords (metavar, action, nargs, ...) that differ from what the type gives.
    """
    extra: dict[str, Any] = {"flag": flag, "data": data, "allowed": allowed, "cli": cli}
    if bare is not None:
        extra["bare"] = bare
    return Field(default, description=help, json_schema_extra=extra, **bounds)


def option_meta(model: type[BaseModel], name: str) -> dict[str, Any]:
    """{"flag": str, "data": bool, "cli": bool | dict} of one field."""
    extra = model.model_fields[name].json_schema_extra
    meta = dict(extra) if isinstance(extra, dict) else {}
    return {
        "flag": meta.get("flag") or name.replace("_", "-"),
        "data": meta.get("data", True),
        "cli": meta.get("cli", True),
    }


class Section(BaseModel):
    """Options of one stage; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def comma_list(value: Any) -> Any:
    """Accept "a,b" (a flag, a config string) as ["a", "b"]."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def same_as(model: type[BaseModel], name: str) -> Any:
    """A copy of another model's field (default, bounds, help): one declaration, two commands."""
    return copy.copy(model.model_fields[name])


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` on top of `base`, one level into the sections."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged
