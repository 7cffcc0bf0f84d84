"""RunState: what every stage of one run shares, loaded once and handed from stage to stage.

The configuration, the run directory, the seed tasks and the language are settled when the run
opens; the machine instructions and their labels are read from the run directory when a stage
first asks and cached (the stage that writes them drops the cache). Each stage records the
settings it started with in `run.json`; a rerun with other settings is refused unless forced.
Opening a run takes the directory's lock (runtime/lock.py: one writer at a time) until `close`;
use it as a context manager.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from ..config import RunConfig, make_config
from ..errors import ConfigError, DataError
from ..templates import load_template
from ..text.language import detect_language
from .lock import RunLock, acquire
from .records import ClassificationRecord, MachineInstruction, SeedTask
from .rundir import RunDir
from .seeds import BUNDLED, load_seeds

SeedSource = str | Path | Sequence[SeedTask]


@dataclass
class RunState:
    """One run: settings, directory, seeds and language, plus cached reads of its files."""

    config: RunConfig
    rundir: RunDir
    seeds: list[SeedTask]
    seeds_name: str
    language: str
    meta: dict[str, Any] = field(default_factory=dict)
    lock: RunLock | None = field(default=None, repr=False)

    @classmethod
    def open(cls, config: RunConfig, seeds: Sequence[SeedTask] | None = None) -> RunState:
        """Open (or create) the run directory `config.out` and settle seeds and language."""
        if config.out is None:
            raise ConfigError(
                "no run directory: pass --out DIR (out_dir=...) or set out in the config"
            )
        if config.prompt_dir is not None and not Path(config.prompt_dir).is_dir():
            raise ConfigError(f"--prompt-dir {config.prompt_dir}: no such directory")
        if Path(config.out).exists() and not Path(config.out).is_dir():
            raise ConfigError(f"--out {config.out} is a file: pass a directory for the run")
        rundir = RunDir.of(config.out)
        lock = acquire(rundir.root)
        try:
            meta = rundir.read_meta()
            tasks, name = _settle_seeds(config, meta, seeds)
            language = (
                config.language
                or meta.get("language")
                or (name if name in BUNDLED else detect_language(t.instruction for t in tasks))
            )
            state = cls(config, rundir, tasks, name, language, meta, lock)
            state._check_identity()
        except BaseException:
            lock.release()
            raise
        return state

    def close(self) -> None:
        """Let the run directory's lock go (another process may then work in it)."""
        lock, self.lock = self.lock, None
        if lock is not None:
            lock.release()

    def __enter__(self) -> RunState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cached reads -----------------------------------------------------------------------

    @cached_property
    def machine(self) -> list[MachineInstruction]:
        """The accepted machine instructions, in order."""
        return self.rundir.read_machine()

    @cached_property
    def labels(self) -> dict[str, ClassificationRecord]:
        """Classification verdicts by instruction."""
        return self.rundir.read_labels()

    @cached_property
    def pool_rows(self) -> list[str]:
        """The instructions of `--pool FILE` (a dataset new instructions must differ from)."""
        path = self.config.bootstrap.pool_file
        if path is None:
            return []
        from .dataset_io import open_source, read_rows

        return [row.instruction for row in read_rows(open_source(path))]

    def pool_fingerprint(self) -> dict[str, Any] | None:
        """How run.json records `--pool FILE`: its rows and their digest, not its path."""
        if self.config.bootstrap.pool_file is None:
            return None
        rows = self.pool_rows
        return {"rows": len(rows), "sha256": text_digest("\n".join(rows))}

    def require(self, path: Path, stage: str) -> None:
        """A DataError naming the command to run when an earlier stage's file is missing."""
        if not path.exists():
            command = f"selfinstruct {stage} --out {self.rundir.root}"
            raise DataError(str(path), None, None, f"nothing to work on yet: run `{command}` first")

    def forget(self, *names: str) -> None:
        """Drop cached reads (after a stage appended to their files)."""
        for name in names:
            self.__dict__.pop(name, None)

    def chat(self, backend: Any) -> bool:
        """Whether prompts go out as chat messages: the --chat option, else the backend's own."""
        chat = self.config.backend.chat
        return backend.info.chat if chat is None else chat

    # -- prompts ----------------------------------------------------------------------------

    def template(self, name: str, explicit: str | Path | None = None) -> str:
        """Template `name`: an explicit file, else `prompt_dir/{name}.{language}.txt`, else ours."""
        override = explicit
        if override is None and self.config.prompt_dir is not None:
            candidate = Path(self.config.prompt_dir) / f"{name}.{self.language}.txt"
            override = candidate if candidate.is_file() else None
        return load_template(name, self.language, override)

    # -- settings ---------------------------------------------------------------------------

    def claim(self, stage: str, settings: dict[str, Any]) -> None:
        """Record the settings `stage` runs with; refuse others than recorded unless --force."""
        settings = {**self.config.data_settings("run"), **settings}
        if self.config.backend.reasoning != "auto":  # off changes the answers, keep the records
            settings["reasoning"] = self.config.backend.reasoning
        recorded = self.meta.get("settings", {}).get(stage)
        if recorded is not None and recorded != settings and not self.config.force:
            changes = [
                f"{key} {json.dumps(recorded.get(key))} (now {json.dumps(settings.get(key))})"
                for key in sorted(set(recorded) | set(settings))
                if recorded.get(key) != settings.get(key)
            ]
            raise ConfigError(
                f"{self.rundir.root} holds a {stage} run made with other settings: "
                f"{'; '.join(changes)}. Use another --out for a new run, or --force to "
                "continue this one with the new settings"
            )
        if recorded != settings:
            self.meta.setdefault("settings", {})[stage] = settings
            self.rundir.write_meta(self.meta)

    def record_requests(self, stage: str, backend: Any, params: Any) -> None:
        """Note in run.json what `stage`'s requests carried: their token budget and how they were
        adapted to the endpoint (a fact of the run, not a setting: no rerun is refused by it)."""
        sent = getattr(backend, "sent_parameters", None)
        facts: dict[str, Any] = {"max_tokens": params.max_tokens}
        if self.config.backend.reasoning != "auto":
            facts["reasoning"] = self.config.backend.reasoning
        facts.update(sent() if callable(sent) else {})
        if self.meta.get("requests", {}).get(stage) != facts:
            self.meta.setdefault("requests", {})[stage] = facts
            self.rundir.write_meta(self.meta)

    def _check_identity(self) -> None:
        """Seeds and language are the run's identity: a rerun must use the same (or --force)."""
        current = {
            "seeds": self.seeds_name,
            "language": self.language,
            "seeds_sha256": seeds_digest(self.seeds),
        }
        recorded = {key: self.meta.get(key) for key in current}
        if recorded == current:
            return
        if recorded["seeds"] is not None and not self.config.force:
            same_seeds = (
                recorded["seeds_sha256"] == current["seeds_sha256"]
                if recorded["seeds_sha256"]
                else recorded["seeds"] == current["seeds"]
            )
            if not same_seeds or recorded["language"] != current["language"]:
                raise ConfigError(
                    f"{self.rundir.root} holds a run with seeds={recorded['seeds']!r}, "
                    f"language={recorded['language']!r}; use the same seeds and language, "
                    "another --out, or --force"
                )
        self.meta.update(current)
        self.rundir.write_meta(self.meta)


def _settle_seeds(
    config: RunConfig, meta: dict[str, Any], seeds: Sequence[SeedTask] | None
) -> tuple[list[SeedTask], str]:
    """In-memory seeds, else seeds named in the config, else the run's own, else the default."""
    if seeds is not None:
        return list(seeds), "<in-memory>"
    recorded = meta.get("seeds")
    reuse = "seeds" not in config.model_fields_set
    if reuse and isinstance(recorded, str) and (recorded in BUNDLED or Path(recorded).is_file()):
        return load_seeds(recorded), recorded
    return load_seeds(config.seeds), config.seeds


def seeds_digest(tasks: Sequence[SeedTask]) -> str:
    """A fingerprint of a seed set's content (a renamed copy is the same set)."""
    text = "\n".join(t.model_dump_json() for t in tasks)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def text_digest(text: str) -> str:
    """A short fingerprint of a prompt template's text, recorded with a stage's settings."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def open_run(
    seeds: SeedSource | RunConfig | None, out_dir: str | Path | None, **options: Any
) -> RunState:
    """The RunState of a call such as `bootstrap("en", "runs/x", 100, threshold=0.6)`."""
    return RunState.open(*call_config(seeds, out_dir, **options))


def call_config(
    seeds: SeedSource | RunConfig | None, out_dir: str | Path | None, **options: Any
) -> tuple[RunConfig, list[SeedTask] | None]:
    """The RunConfig of an API call, and its seed tasks when they were passed in memory.

    `seeds` may be a RunConfig (its options, with `options` on top), seed tasks in memory, a
    bundled set name or a seed file; options left as None count as not given.
    """
    config = seeds if isinstance(seeds, RunConfig) else None
    in_memory = None if seeds is None or isinstance(seeds, str | Path | RunConfig) else list(seeds)
    if seeds is not None and config is None and in_memory is None:
        options["seeds"] = str(seeds)
    if out_dir is not None:
        options["out"] = out_dir
    given = {k: v for k, v in options.items() if v is not None}
    return make_config(config, **given), in_memory


def open_dir(out_dir: str | Path | RunConfig | None, **options: Any) -> RunState:
    """The RunState of a stage call on a run directory, or on a RunConfig that names one."""
    if isinstance(out_dir, RunConfig):
        return open_run(out_dir, None, **options)
    return open_run(None, out_dir, **options)
