"""The `selfinstruct` command as users start it: the console script and `python -m selfinstruct.cli`."""

from __future__ import annotations

import subprocess
import sys

STAGES = ("seeds", "bootstrap", "classify", "instances", "export", "run", "finetune")


def test_module_entry_point_lists_every_stage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "selfinstruct.cli", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    for stage in STAGES:
        assert stage in done.stdout


def test_missing_out_is_a_usage_error_with_exit_2(capsys) -> None:
    from selfinstruct.cli import main

    assert main(["classify"]) == 2
    assert "--out" in capsys.readouterr().err
