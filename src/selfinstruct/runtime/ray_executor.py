"""The per-record stages' requests on a Ray cluster: a pool of actors, each with its own client.

`RayBackend` is a Backend the stage runner drives like any other: it splits each chunk of
prompts across Ray actors, each of which builds its own backend from the run's `[backend]`
options (the same endpoints) and returns the Completions. The driver alone writes the run
directory, so resume, the one-writer rule and the funnel are as without Ray. When an actor
dies, its share of the chunk goes to a fresh actor: the answers come back once per prompt, so
nothing is lost or written twice (the endpoint may see the in-flight requests twice).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, MissingDependencyError
from ..llm.base import Backend, BackendInfo, Completion, GenerationParams, Prompt, Usage

if TYPE_CHECKING:
    from ..config import BackendConfig

ACTOR_PREFIX = "selfinstruct-worker-"
"""The names of the actors (`ray.util.list_named_actors()` lists them)."""

MAX_WORKERS = 64
"""Actors started when the cluster's CPUs would allow more (each mostly waits on the network)."""

MAX_REPLACEMENTS = 8
"""Dead actors replaced in one stage before it fails (a rerun then resumes where it stopped)."""


def import_ray() -> Any:
    """The `ray` module, or a clear error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "--ray", "ray") from None
    return ray


def connect(address: str) -> Any:
    """Join the cluster at `address` (`auto`: the running one; `local` or empty: start one)."""
    ray = import_ray()
    if not ray.is_initialized():
        where = address.strip() or "local"
        try:
            ray.init(address=where, include_dashboard=False, log_to_driver=False)
        except ConnectionError as exc:
            raise BackendError(
                f"--ray {where}: no Ray cluster answers ({exc}); start one with `ray start "
                "--head`, name its address, or use --ray local"
            ) from None
    return ray


class _Worker:
    """One Ray actor's side: a backend of its own, built from the run's options."""

    def __init__(self, options: dict[str, Any]) -> None:
        from ..config import BackendConfig
        from ..llm.factory import backend_from_config

        self.backend = backend_from_config(BackendConfig(**options))
        self.resolved = False

    def pid(self) -> int:
        import os

        return os.getpid()

    async def complete(
        self, prompts: list[Prompt], params: GenerationParams
    ) -> tuple[list[Completion], dict[str, Any]]:
        """Completions of `prompts`, and how the requests were adapted to the endpoint."""
        if not self.resolved:
            resolve = getattr(self.backend, "aresolve_model", None)
            if resolve is not None:
                await resolve()
            self.resolved = True
        completions = await self.backend.acomplete(prompts, params)
        sent = getattr(self.backend, "sent_parameters", None)
        return completions, (sent() if callable(sent) else {})


class RayBackend:
    """A Backend whose requests run on Ray actors; identity and model come from `local`."""

    def __init__(
        self, local: Backend, config: BackendConfig, address: str, workers: int | None = None
    ) -> None:
        self.ray = connect(address)
        self.local = local
        self.options = config.model_dump()
        self.concurrency = config.concurrency
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        self.size = workers or max(1, min(cpus, MAX_WORKERS))
        self.actors: list[Any] = []
        self.replaced = 0
        self._usage = Usage()
        self._sent: dict[str, Any] = {}
        self._turn = 0

    def _spawn(self) -> Any:
        """A new actor holding its own client (spread over the cluster's nodes)."""
        remote = self.ray.remote(num_cpus=0.5)(_Worker)
        options = {**self.options, "model": self.local.info.model or self.options["model"]}
        concurrency = max(8, 4 * self.concurrency)
        name = f"{ACTOR_PREFIX}{uuid.uuid4().hex[:12]}"  # named, so it can be found and watched
        spread = remote.options(
            name=name, max_concurrency=concurrency, scheduling_strategy="SPREAD"
        )
        return spread.remote(options)

    def start(self) -> None:
        """Start the pool (once, on first use)."""
        while len(self.actors) < self.size:
            self.actors.append(self._spawn())

    @property
    def info(self) -> BackendInfo:
        info = self.local.info
        per_worker = max(self.concurrency, info.batch_size)
        return dataclasses.replace(info, batch_size=per_worker * self.size)

    @property
    def usage(self) -> Usage:
        return self._usage

    def sent_parameters(self) -> dict[str, Any]:
        """How the actors' requests were adapted to the endpoint (as a local backend says)."""
        return dict(self._sent)

    async def aresolve_model(self) -> str:
        resolve = getattr(self.local, "aresolve_model", None)
        return await resolve() if resolve is not None else self.local.info.model

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        """Answers of `prompts` in order: one share per actor, a dead actor's share redone."""
        self.start()
        shares = max(1, min(len(self.actors), len(prompts)))
        step = -(-len(prompts) // shares)
        parts = [list(prompts[i : i + step]) for i in range(0, len(prompts), step)]
        answers = await asyncio.gather(*(self._share(part, params) for part in parts))
        completions = [c for part in answers for c in part]
        for c in completions:
            self._usage.add(c)
        return completions

    async def _share(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        """One actor's answers to `prompts`; another actor's when that one dies on the way."""
        errors = self.ray.exceptions
        while True:
            actor = self.actors[self._turn % len(self.actors)]
            self._turn += 1
            try:
                completions, sent = await actor.complete.remote(prompts, params)
            except (errors.RayActorError, errors.ActorUnavailableError) as exc:
                self._replace(actor, exc)
                continue
            except errors.RayTaskError as exc:  # the worker's own error, e.g. a BackendError
                raise exc.as_instanceof_cause() from None
            self._sent.update(sent)
            return completions

    def _replace(self, actor: Any, exc: BaseException) -> None:
        """Swap a dead actor for a fresh one, or fail once too many have died."""
        if actor in self.actors:
            if self.replaced >= MAX_REPLACEMENTS:
                raise BackendError(f"{self.replaced + 1} Ray workers died; last: {exc}") from exc
            self.replaced += 1
            self.actors[self.actors.index(actor)] = self._spawn()

    def stop(self) -> None:
        """Stop the actors (a later request starts new ones)."""
        actors, self.actors = self.actors, []
        for actor in actors:
            self.ray.kill(actor)

    async def aclose(self) -> None:
        """Stop the actors and close the driver's own client."""
        self.stop()
        aclose = getattr(self.local, "aclose", None)
        if aclose is not None:
            await aclose()


def on_ray(local: Backend, config: Any) -> Backend:
    """`local` itself, or a RayBackend over it when the run names a cluster (`--ray`)."""
    if config.ray is None or isinstance(local, RayBackend):
        return local
    return RayBackend(local, config.backend, config.ray, config.ray_workers)


def stop_workers(backend: Backend) -> None:
    """Stop a RayBackend's actors at the end of a stage (nothing for another backend)."""
    if isinstance(backend, RayBackend):
        backend.stop()
