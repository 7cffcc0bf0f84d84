"""Where the shared corpora are: ../shared/corpora beside the checkout (as in CI), or, for a git
worktree, beside the main checkout it belongs to."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def corpora_dir() -> Path:
    """The shared corpora folder; an AssertionError saying where it was looked for when absent."""
    tried = [ROOT.parent / "shared" / "corpora"]
    git = ROOT / ".git"
    if git.is_file():  # a worktree: "gitdir: <main>/.git/worktrees/<name>"
        gitdir = Path(git.read_text().split(":", 1)[1].strip())
        tried.append(gitdir.parents[2].parent / "shared" / "corpora")
    for path in tried:
        if path.is_dir():
            return path
    raise AssertionError(f"the shared corpora are not here: looked in {', '.join(map(str, tried))}")


def instructions(name: str = "instructions.jsonl", n: int | None = None) -> list[str]:
    """The first `n` instructions of a corpus file (all when None)."""
    out = []
    with (corpora_dir() / name).open(encoding="utf-8") as fh:
        for line in fh:
            if n is not None and len(out) >= n:
                break
            out.append(json.loads(line)["instruction"])
    return out
