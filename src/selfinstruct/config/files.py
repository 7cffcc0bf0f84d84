"""Config files for RunConfig: read TOML/YAML, write TOML, and say exactly what is wrong.

A file holds run-wide keys at the top level and one table per stage (`[bootstrap]`,
`[instances]`, ...); a top-level key may also be any flat option name (`num-instructions`,
`instance-max-tokens`), as on the command line. Dashes and underscores are interchangeable.
"""

from __future__ import annotations

import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from ..errors import ConfigError
from ..text.redact import redact_text, redact_url
from .options import SECTIONS, RunConfig, build_config, flat_options, merge, nest, option_meta


def load_config_file(path: str | Path) -> RunConfig:
    """The file's options over the defaults; one ConfigError naming file, key and allowed values."""
    path = Path(path)
    raw = read_config_mapping(path)
    nested: dict[str, Any] = {}
    flat: dict[str, Any] = {}
    table = flat_options()
    for key, value in raw.items():
        if key in SECTIONS and isinstance(value, dict):
            nested[key] = {str(k).replace("-", "_"): v for k, v in value.items()}
        elif key in SECTIONS and key not in table:
            raise ConfigError(f"{path}: [{key}] must be a table of options")
        else:
            flat[key] = value  # a flat option; `judge = true` is the flag --judge
    unknown = [k for k in flat if k not in table]
    if unknown:
        allowed = ", ".join(
            [*RunConfig.model_fields, *sorted(set(table) - set(RunConfig.model_fields))]
        )
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; allowed at the top level: {allowed}"
        )
    for section, values in nested.items():
        fields = RunConfig.model_fields[section].annotation.model_fields  # type: ignore[union-attr]
        bad = [k for k in values if k not in fields]
        if bad:
            raise ConfigError(
                f"{path}: unknown key {bad[0]!r} in [{section}]; allowed: {', '.join(fields)}"
            )
    data = merge(nest(flat), nested)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, str(path), as_flags=False)) from None


def read_config_mapping(path: Path) -> dict[str, Any]:
    """The top-level table of a TOML or YAML file, keys with dashes turned to underscores."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            data: Any = _toml().loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file {path}: use a .toml, .yaml or .yml file")
    except ConfigError:
        raise
    except Exception as exc:  # TOMLDecodeError / YAMLError, without importing them up front
        kind = "TOML" if suffix == ".toml" else "YAML"
        raise ConfigError(syntax_error(path, kind, exc)) from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path}: expected a table of options at the top level")
    return {str(k).replace("-", "_"): v for k, v in data.items()}


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


def syntax_error(path: Path, kind: str, exc: Exception) -> str:
    """One line for a file that does not parse: file:line:column, what the parser expected."""
    mark = getattr(exc, "problem_mark", None)  # YAML's MarkedYAMLError
    if mark is not None:
        problem = getattr(exc, "problem", None) or "cannot parse"
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            problem += f" ({context} started on line {start.line + 1})"
        where = f"{path}:{mark.line + 1}:{mark.column + 1}"
    else:
        text = " ".join(str(exc).split())
        found = _TOML_AT.search(text)
        line = getattr(exc, "lineno", None) or (found and found.group(1))
        column = getattr(exc, "colno", None) or (found and found.group(2))
        problem = _TOML_AT.sub("", text) or type(exc).__name__
        where = f"{path}:{line}:{column}" if line else str(path)
    return f"{where}: not valid {kind}: {' '.join(str(problem).split())}"


def _toml() -> Any:
    """tomllib (Python 3.11+), or tomli on 3.10."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError(
                "TOML config files need Python 3.11+ or `pip install tomli`; or use YAML"
            ) from None
    return tomllib


def describe_error(exc: ValidationError, source: str, *, as_flags: bool) -> str:
    """One line: where, which key (or flag), the value given, and the values allowed."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"]]
    field = _field_at(loc)
    if as_flags and field is not None:
        model, name = field
        key = "--" + option_meta(model, name)["flag"]
    else:
        key = ".".join(loc) or "config"
    given = f" = {json.dumps(err['input'], default=str)}" if "input" in err and loc else ""
    allowed = f"; allowed: {allowed_values(field[0].model_fields[field[1]])}" if field else ""
    message = str(err["msg"]).removeprefix("Value error, ")
    return redact_text(f"{source}: {key}{given}: {message}{allowed}")


def _field_at(loc: list[str]) -> tuple[type[BaseModel], str] | None:
    """The model and field name a validation error points at, if it is one field."""
    if len(loc) >= 2 and loc[0] in SECTIONS:
        model = RunConfig.model_fields[loc[0]].annotation
        if loc[1] in model.model_fields:  # type: ignore[union-attr]
            return model, loc[1]  # type: ignore[return-value]
    if loc and loc[0] in RunConfig.model_fields and loc[0] not in SECTIONS:
        return RunConfig, loc[0]
    return None


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


def dump_toml(config: RunConfig) -> str:
    """Every option, defaults included (None values are left out: None is every such default)."""
    data = config.model_dump(mode="json")
    urls = data["backend"].get("base_url")
    if urls:  # credentials are never written out: put them back by hand where needed
        data["backend"]["base_url"] = [redact_url(url) for url in urls]
    lines = ["# selfinstruct run configuration (selfinstruct run --config FILE)"]
    for key, value in data.items():
        if key not in SECTIONS and value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for section in SECTIONS:
        lines.append(f"\n[{section}]")
        for key, value in data[section].items():
            if value is not None:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def toml_table(values: dict[str, Any]) -> list[str]:
    """`key = value` TOML lines of a flat table, None values left out (TOML has no null)."""
    return [f"{key} = {_toml_value(value)}" for key, value in values.items() if value is not None]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")


def config_from_sources(file: str | Path | None, flags: dict[str, Any]) -> RunConfig:
    """Defaults < config file (validated on its own first) < flags given on the command line."""
    base = load_config_file(file).model_dump(exclude_unset=True) if file else {}
    return build_config(base, nest(flags), "command line")
