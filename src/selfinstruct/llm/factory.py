"""Build a backend from the names a user types (CLI flags, config files)."""

from __future__ import annotations

from typing import Literal

from ..errors import ConfigError
from .base import Backend

BackendName = Literal["openai", "transformers"]


def make_backend(
    backend: str | None = None,
    *,
    model: str | None = None,
    base_url: str | list[str] | None = None,
    api_key_env: str = "OPENAI_API_KEY",
    concurrency: int = 8,
    adapter: str | None = None,
    chat: bool = True,
    batch_size: int = 8,
) -> Backend:
    """`openai`: any OpenAI-compatible server; `transformers` (the default): in-process."""
    if backend is None:
        backend = "openai" if base_url else "transformers"
    if backend == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(
            model=model,
            base_url=base_url,
            api_key_env=api_key_env,
            max_concurrency=concurrency,
            chat=chat,
        )
    if backend == "transformers":
        if base_url:
            raise ConfigError("--base-url is for --backend openai; drop it or switch backend")
        from .transformers_backend import TransformersBackend

        return TransformersBackend(model=model, adapter=adapter, batch_size=batch_size, chat=chat)
    raise ConfigError(f"unknown backend {backend!r}: choose 'openai' or 'transformers'")


def or_default(backend: Backend | None) -> Backend:
    """`backend`, or the embedded default model in-process when none is given."""
    return backend if backend is not None else make_backend("transformers")
