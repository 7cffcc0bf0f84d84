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


def require_user_template(
    template: str, name: str, language: str, *, chat: bool, prompt_dir: Path | None
) -> None:
    """--preset paper completes the original's prompt text: the user's file, never ours."""
    if chat or template != load_template(name, language):
        return
    file = f"{name}.{language}.txt"
    where = f"{prompt_dir}/{file}" if prompt_dir else f"--prompt-dir DIR holding {file}"
    raise ConfigError(
        f"--preset paper needs the original's bootstrap prompt: give {where} (or --template "
        "FILE); docs/fidelity.md says what to write in it"
    )
