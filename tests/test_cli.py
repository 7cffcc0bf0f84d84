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


def test_ray_flags_only_on_the_commands_that_send_requests_to_ray() -> None:
    """`--ray` serves classify, instances and judge (and `run`); bootstrap and export don't take it."""
    import argparse

    import pytest

    from selfinstruct.cli import build_parser
    from selfinstruct.cli.options import RUN_WIDE, run_wide_for

    def flags(command: str) -> set[str]:
        sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
        return {s for a in sub.choices[command]._actions for s in a.option_strings}

    for command in ("classify", "instances", "judge", "run"):
        assert {"--ray", "--ray-workers"} <= flags(command), command
    for command in ("bootstrap", "export"):
        assert not {"--ray", "--ray-workers"} & flags(command), command
        assert {"--seeds", "--out", "--force", "--progress"} <= flags(command), command
    assert set(run_wide_for(("bootstrap",))) == set(RUN_WIDE) - {"ray", "ray_workers"}
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bootstrap", "--out", "x", "--ray"])
