"""Command-line flags generated from RunConfig: names, types, choices and help come from the model.

Every flag defaults to None here, so a `--config` file can fill what the command line left out;
the real default shows in `--help`, taken from the field.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from ..config import SECTIONS, RunConfig, config_from_sources, flat_options, option_meta

RUN_WIDE = tuple(name for name in RunConfig.model_fields if name not in SECTIONS)
"""RunConfig's run-wide options (every field that is not a section), in declaration order."""


def add_options(
    parser: argparse.ArgumentParser,
    sections: Iterable[str],
    run_wide: Iterable[str] | None = None,
    fields: Iterable[str] | None = None,
) -> None:
    """Add the run-wide flags named in `run_wide`, then the flags of the given sections.

    `run_wide` defaults to all of RUN_WIDE; `fields` keeps only the sections' fields of those
    names (all of them when None).
    """
    sections = tuple(sections)
    if run_wide is None:
        run_wide = RUN_WIDE
    group = parser.add_argument_group("run")
    for name in run_wide:
        _add(group, RunConfig, name)
    keep = None if fields is None else set(fields)
    for section in sections:
        model = RunConfig.model_fields[section].annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(f"RunConfig.{section} is not a section of options")
        group = parser.add_argument_group(section, model.__doc__)
        for name in model.model_fields:
            if keep is None or name in keep:
                _add(group, model, name)
    parser.add_argument(
        "--config", metavar="FILE", help="TOML or YAML file of options (see --dump-config)"
    )


def add_model_options(parser: argparse.ArgumentParser, model: type[BaseModel], title: str) -> None:
    """One flag per field of `model` (a command's own options, such as DedupConfig's)."""
    group = parser.add_argument_group(title, model.__doc__)
    for name in model.model_fields:
        _add(group, model, name)


def add_fields(group: Any, model: type[BaseModel], names: Iterable[str]) -> None:
    """Add the flags of `model`'s fields `names` to `group`, skipping those marked `cli=False`."""
    for name in names:
        if option_meta(model, name)["cli"] is not False:
            _add(group, model, name)


def _add(group: Any, model: type[BaseModel], name: str) -> None:
    info = model.model_fields[name]
    meta = option_meta(model, name)
    flag = "--" + meta["flag"]
    dest = flag[2:].replace("-", "_")
    default = info.default
    overrides = meta["cli"] if isinstance(meta["cli"], dict) else {}
    switch = overrides.get("action") in ("store_true", "store_false")
    shown = "" if default is None or switch else f" (default: {_show(default)})"
    kwargs: dict[str, Any] = {"dest": dest, "default": None, "help": f"{info.description}{shown}"}
    kind, choices = _arg_kind(info.annotation)
    if switch:
        pass
    elif kind is bool:
        kwargs["action"] = argparse.BooleanOptionalAction
    elif kind is list:
        kwargs.update(metavar="A,B", type=str)
    else:
        kwargs["type"] = kind
        if choices:
            kwargs["choices"] = choices
        else:
            kwargs["metavar"] = {int: "N", float: "F", Path: "PATH"}.get(kind, "TEXT")
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("bare") is not None:
        kwargs.update(nargs="?", const=extra["bare"])
    group.add_argument(flag, **{**kwargs, **overrides})


def _show(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value)


def _arg_kind(annotation: Any) -> tuple[Any, tuple[str, ...] | None]:
    """The argparse type of a field (bool, list, int, float, str, Path) and its choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _arg_kind(args[0])
    if typing.get_origin(annotation) is Literal:
        return str, tuple(str(a) for a in typing.get_args(annotation))
    if typing.get_origin(annotation) is list:
        return list, None
    return annotation, None


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """Validated configuration: defaults, then the `--config` file, then the flags given."""
    flags = {
        name: getattr(args, name)
        for name in flat_options()
        if getattr(args, name, None) is not None
    }
    return config_from_sources(getattr(args, "config", None), flags)
