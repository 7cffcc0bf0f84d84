"""Build a backend from the names a user types (CLI flags, config files)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import ConfigError
from .base import Backend, BackendInfo, Completion, GenerationParams, Prompt, Usage

if TYPE_CHECKING:
    from ..config import BackendConfig


def make_backend(backend: str | None = None, **options: Any) -> Backend:
    """`openai`: any OpenAI-compatible server; `transformers` (the default): in-process.

    `options` are the fields of the run configuration's backend section (`model`, `base_url`,
    `concurrency`, `request_timeout`, ...), with the same defaults and checks.
    """
    from ..config import BackendConfig
    from ..config.describe import describe_error

    try:
        config = BackendConfig(backend=backend, **options)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, "make_backend", as_flags=False)) from None
    return backend_from_config(config)


def backend_from_config(config: BackendConfig) -> Backend:
    """The backend a run's `[backend]` options name (the embedded model when none is named)."""
    name = config.backend or ("openai" if config.base_url else "transformers")
    if name == "openai":
        from .openai_backend import OpenAIBackend

        return OpenAIBackend(config=config, chat=config.chat is not False)

    def load() -> Backend:
        from .transformers_backend import TransformersBackend

        return TransformersBackend(
            model=config.model,
            adapter=config.adapter,
            batch_size=config.batch_size,
            chat=True if config.chat is None else config.chat,
            reasoning=config.reasoning,
        )

    return DeferredBackend(load)


class DeferredBackend:
    """A backend built on first use, so a run with nothing left to do never loads a model."""

    def __init__(self, build: Callable[[], Backend]) -> None:
        self._build = build
        self._backend: Backend | None = None

    @property
    def loaded(self) -> Backend:
        if self._backend is None:
            self._backend = self._build()
        return self._backend

    @property
    def info(self) -> BackendInfo:
        return self.loaded.info

    @property
    def usage(self) -> Usage:
        return self.loaded.usage

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        return await self.loaded.acomplete(prompts, params)

    async def aclose(self) -> None:
        aclose = getattr(self._backend, "aclose", None)
        if aclose is not None:
            await aclose()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loaded, name)


def backend_settings(backend: Backend, chat: bool) -> dict[str, object]:
    """What about a backend changes the data it generates: recorded with a stage's settings."""
    info = backend.info
    return {
        "backend": info.name,
        "model": info.model,
        "chat": chat,
        "adapter": info.extra.get("adapter") or None,
        "server": info.extra.get("server") or None,
    }


async def resolve_model(backend: Backend) -> str:
    """The backend's model name, asking the server for it when none was given."""
    resolve = getattr(backend, "aresolve_model", None)
    if resolve is not None:
        return await resolve()
    return backend.info.model
