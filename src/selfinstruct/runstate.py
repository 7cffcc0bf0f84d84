"""What the stages after bootstrap read from a run directory: instructions, seeds, language."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .jsonl import read_jsonl
from .language import detect_language
from .records import MachineInstruction, SeedTask
from .rundir import RunDir
from .seeds import load_seeds

SeedSource = str | Path | Sequence[SeedTask]


def machine_instructions(rundir: RunDir) -> list[MachineInstruction]:
    """The accepted machine instructions, in the order bootstrap accepted them."""
    return list(read_jsonl(rundir.machine_instructions, MachineInstruction))


def run_language(rundir: RunDir, texts: Sequence[str], override: str | None = None) -> str:
    """`override`, else the language bootstrap recorded in run.json, else guessed from `texts`."""
    if override:
        return override
    recorded = rundir.read_meta().get("language")
    if recorded in ("en", "zh"):
        return str(recorded)
    return detect_language(texts)


def run_seeds(rundir: RunDir, language: str, override: SeedSource | None = None) -> list[SeedTask]:
    """`override`, else the seed set bootstrap recorded, else the bundled set of `language`."""
    if override is not None and not isinstance(override, str | Path):
        return list(override)
    if override is not None:
        return load_seeds(override)
    recorded = rundir.read_meta().get("seeds")
    if isinstance(recorded, str) and (recorded in ("en", "zh") or Path(recorded).is_file()):
        return load_seeds(recorded)
    return load_seeds(language)


def prompt_override(prompt_dir: str | Path | None, name: str, language: str) -> Path | None:
    """The user's file `{prompt_dir}/{name}.{language}.txt` when it exists, to replace ours."""
    if prompt_dir is None:
        return None
    path = Path(prompt_dir) / f"{name}.{language}.txt"
    return path if path.is_file() else None
