"""The CLI in a child process, as a terminal would start it, and the one error line it prints
when it fails (the `children` fixture in conftest.py kills what a test left running)."""

from __future__ import annotations

CHILD = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "signal.signal(signal.SIGTERM, signal.SIG_DFL); "
    "from selfinstruct.cli import main; sys.exit(main(sys.argv[1:]))"
)
"""The command in a child process, with the signal dispositions a terminal would give it (a
suite started from a background job inherits an ignored SIGINT)."""


def one_error_line(err: str) -> str:
    """The single `error: ...` line of a failed command (and no traceback)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]
