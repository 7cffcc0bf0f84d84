"""What an export's dataset card says, gathered by the export stage: the run's identity,
settings, counts and files, and the day it was written.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass
class CardFacts:
    """What the card says: the run's identity, settings, counts and files (never its path)."""

    language: str
    seeds: str
    seed_tasks: int
    rows: int
    files: dict[str, dict[str, str]]
    """format -> split -> file name, in the order exported."""
    meta: dict[str, Any]
    stats: dict[str, Any]
    export: dict[str, Any]
    date: str
    hard_case_column: bool = False


def card_date() -> str:
    """Today (UTC) as YYYY-MM-DD, or the day of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = (
        datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        if epoch.isdigit()
        else datetime.now(tz=timezone.utc)
    )
    return moment.date().isoformat()
