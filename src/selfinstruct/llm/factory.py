"""Build a backend from the names a user types (CLI flags, config files)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from ..errors import ConfigError
from .base import Backend

if TYPE_CHECKING:
    from ..config import BackendConfig

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


def backend_from_config(config: BackendConfig) -> Backend:
    """The backend a run's `[backend]` options name (the embedded model when none is named)."""
    return make_backend(
        config.backend,
        model=config.model,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        concurrency=config.concurrency,
        adapter=config.adapter,
        chat=True if config.chat is None else config.chat,
        batch_size=config.batch_size,
    )


def backend_settings(backend: Backend, chat: bool) -> dict[str, object]:
    """What about a backend changes the data it generates: recorded with a stage's settings."""
    info = backend.info
    return {
        "backend": info.name,
        "model": info.model,
        "chat": chat,
        "adapter": info.extra.get("adapter") or None,
    }


async def resolve_model(backend: Backend) -> str:
    """The backend's model name, asking the server for it when none was given."""
    resolve = getattr(backend, "aresolve_model", None)
    if resolve is not None:
        return await resolve()
    return backend.info.model
