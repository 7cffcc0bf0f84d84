"""OpenAIBackend's options: its keyword arguments checked as `BackendConfig` fields, its
endpoint URLs and its API key.

The backend takes its defaults and bounds from `selfinstruct.config.backend.BackendConfig`; this
module maps the two keyword arguments named otherwise and words an error by the keyword given.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import BackendError, ConfigError
from .fleet import parse_base_urls

if TYPE_CHECKING:
    from ..config import BackendConfig

OPENAI_URL = "https://api.openai.com/v1"
NO_KEY = "sk-no-key"
"""Placeholder key for self-hosted servers that ask for none (some insist on a header)."""
OPENAI_KWARGS = {"max_concurrency": "concurrency", "timeout": "request_timeout"}
"""OpenAIBackend's keyword arguments named otherwise than their BackendConfig fields."""


def openai_settings(config: BackendConfig | None, given: dict[str, Any]) -> BackendConfig:
    """`config` (default: BackendConfig's defaults) with OpenAIBackend's keyword arguments given
    (None: not given) applied and checked; an error names the keyword argument."""
    from ..config import BackendConfig
    from ..config.describe import allowed_values

    base = config.model_dump(exclude_unset=True) if config is not None else {}
    fields = {OPENAI_KWARGS.get(k, k): v for k, v in given.items() if v is not None}
    try:
        return BackendConfig.model_validate({**base, "backend": "openai", **fields})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        if field not in BackendConfig.model_fields:
            raise ConfigError(str(err["msg"]).removeprefix("Value error, ")) from None
        kwarg = {v: k for k, v in OPENAI_KWARGS.items()}.get(field, field)
        if err["type"] == "value_error":  # our validators' words (base URLs come out redacted)
            raise ConfigError(f"{kwarg}: {str(err['msg']).removeprefix('Value error, ')}") from None
        allowed = allowed_values(BackendConfig.model_fields[field])
        raise ConfigError(f"{kwarg} must be {allowed}, got {err.get('input')!r}") from None


def resolve_settings(
    config: BackendConfig | None, base_url: str | Sequence[str] | None, **given: Any
) -> tuple[BackendConfig, list[str]]:
    """The checked options of an OpenAIBackend and its endpoint URLs ($OPENAI_BASE_URL or
    OpenAI's own when none is given)."""
    settings = openai_settings(config, {"base_url": parse_base_urls(base_url) or None, **given})
    urls = parse_base_urls(settings.base_url)
    if not urls:
        urls = [os.environ.get("OPENAI_BASE_URL") or OPENAI_URL]
        openai_settings(None, {"base_url": urls})  # $OPENAI_BASE_URL is checked too
    return settings, urls


def resolve_api_key(given: str | None, key_env: str, urls: list[str]) -> str:
    """The key passed, else $`key_env`'s; OpenAI's own API needs one, a self-hosted server not
    (a 401 from it says how to pass a real key)."""
    key = given or os.environ.get(key_env)
    if key:
        return key
    if urls == [OPENAI_URL]:
        raise BackendError(
            f"No key found - set the {key_env} environment variable or pass api_key="
        )
    return NO_KEY
