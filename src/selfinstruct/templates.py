"""Prompt templates: package data in English and Chinese, overridable by a user's own file."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import ConfigError

LANGUAGES = ("en", "zh")


def load_template(name: str, language: str, override: str | Path | None = None) -> str:
    """Text of template `name` (e.g. "bootstrap_chat") for `language`, or of the user's file."""
    if override is not None:
        path = Path(override)
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read template file {path}: {exc}") from None
    if language not in LANGUAGES:
        raise ConfigError(f"language must be one of {LANGUAGES}, got {language!r}")
    ref = resources.files("selfinstruct") / "prompts" / f"{name}.{language}.txt"
    try:
        return ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no bundled template {name!r} for language {language!r}") from None
