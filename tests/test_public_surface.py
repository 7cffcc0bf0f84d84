"""The public surface stays as recorded: `selfinstruct.__all__` and every command's flags.

Users and scripts rely on these names; a change to them must be deliberate. After one, rewrite
the record with `python tests/test_public_surface.py > tests/fixtures/public_surface.json`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import selfinstruct
from selfinstruct.cli import build_parser

RECORD = Path(__file__).parent / "fixtures" / "public_surface.json"


def _commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> dict[str, Any]:
    """Each command (space-joined words) and the sorted option strings it takes."""
    found: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(_commands(sub, (*prefix, name)))
    found[" ".join(prefix)] = sorted(s for a in parser._actions for s in a.option_strings)
    return found


def surface() -> dict[str, Any]:
    return {"all": sorted(selfinstruct.__all__), "commands": _commands(build_parser())}


def test_all_and_every_command_and_flag_are_as_recorded() -> None:
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    now = surface()
    assert now["all"] == recorded["all"]
    assert sorted(now["commands"]) == sorted(recorded["commands"])
    for command, flags in recorded["commands"].items():
        assert now["commands"][command] == flags, command


if __name__ == "__main__":
    print(json.dumps(surface(), indent=1, ensure_ascii=False))
