"""Config file formats: a TOML or YAML file's top-level table in, TOML lines out.

Nothing here knows RunConfig: it reads and writes the mappings that RunConfig (and the finetune
options) validate, so the models' modules can use it without a circle.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError


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


def toml_table(values: dict[str, Any]) -> list[str]:
    """`key = value` TOML lines of a flat table, None values left out (TOML has no null)."""
    return [f"{key} = {toml_value(value)}" for key, value in values.items() if value is not None]


def toml_value(value: Any) -> str:
    """One TOML value: a boolean, number, string or list of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {value!r} to TOML")
