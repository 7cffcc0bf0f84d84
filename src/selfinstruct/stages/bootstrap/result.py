"""What a bootstrap run did, and how to say that it stopped short of its target."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOP_OK = ("target_reached", "token_budget")
"""Stop reasons that are no shortfall."""


@dataclass
class BootstrapResult:
    """What a run did: totals over all runs in the directory, and why it stopped."""

    out_dir: Path
    accepted: int
    new: int
    stopped: str
    stats: dict[str, Any]


def shortfall(result: BootstrapResult, target: int) -> str | None:
    """Why bootstrap stopped short of its target, in words; None when it did not."""
    if result.stopped in STOP_OK or result.accepted >= target:
        return None
    then = "the later stages use those" if result.accepted else "there is no data to go on with"
    return (
        f"bootstrap stopped early ({result.stopped}) with {result.accepted} of {target} "
        f"instructions; {then}"
    )
