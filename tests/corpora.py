"""Where the shared corpora are: $SELFINSTRUCT_CORPORA, ../shared/corpora beside the checkout (as
in CI), or, for a git worktree, beside the main checkout it belongs to."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _places() -> list[Path]:
    """Where the corpora may be, in order: $SELFINSTRUCT_CORPORA, beside the checkout, and for
    a worktree beside its main checkout."""
    tried = [Path(p)] if (p := os.environ.get("SELFINSTRUCT_CORPORA")) else []
    tried.append(ROOT.parent / "shared" / "corpora")
    git = ROOT / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split(":", 1)[1].strip())
        tried.append(gitdir.parents[2].parent / "shared" / "corpora")
    return tried


PLACES = _places()
CORPORA = next((path for path in PLACES if path.is_dir()), PLACES[0])
"""The shared corpora folder; where it was first looked for when it is absent (`.is_dir()`)."""


def corpora_dir() -> Path:
    """The shared corpora folder; an AssertionError saying where it was looked for when absent."""
    if CORPORA.is_dir():
        return CORPORA
    raise AssertionError(
        f"the shared corpora are not here: looked in {', '.join(map(str, PLACES))}"
    )


def instructions(name: str = "instructions.jsonl", n: int | None = None) -> list[str]:
    """The first `n` instructions of a corpus file (all when None)."""
    out = []
    with (corpora_dir() / name).open(encoding="utf-8") as fh:
        for line in fh:
            if n is not None and len(out) >= n:
                break
            out.append(json.loads(line)["instruction"])
    return out
