"""The `selfinstruct` command: one subcommand module per concern, registered here.

`main` is where every failure becomes one line for the user: selfinstruct's own errors, OS
errors (permissions, a full disk, a file where a directory should be), bad URLs, anything
unexpected. `--debug` shows the traceback instead. Ctrl-C exits 130 and SIGTERM 143, both
after the running stage has written its books (`stopped: interrupted`).
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence

from ..errors import SelfInstructError, Terminated
from ..text.redact import redact_text

# Each module defines `register(subparsers)`; a subcommand's handler returns an exit code.
SUBCOMMAND_MODULES = ("seeds", "stages", "report", "dedup", "finetune")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="selfinstruct",
        description="Bootstrap instruction-following data from seed tasks (Self-Instruct).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .. import sync
    from ..runtime import lock as runlock

    runlock.command = ["selfinstruct", *(sys.argv[1:] if argv is None else argv)]

    previous = signal.getsignal(signal.SIGTERM)
    in_main = _on_main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _terminate)
        sync.handle_sigterm = True
    try:
        return int(args.handler(args) or 0)
    except Terminated:
        print("terminated: everything accepted so far is saved; rerun to resume", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("interrupted: everything accepted so far is saved; rerun to resume", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"error: {describe(exc)}", file=sys.stderr)
        return 2 if isinstance(exc, SelfInstructError) else 1
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)
            sync.handle_sigterm = False


def describe(exc: BaseException) -> str:
    """One line about an error, for a user (no traceback)."""
    return redact_text(_describe(exc))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SelfInstructError):
        return str(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        hints = {28: " (the disk is full)", 27: " (file too large)", 30: " (read-only)"}
        what = exc.strerror or type(exc).__name__
        return f"{what}{where}{hints.get(exc.errno or 0, '')}"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]} (rerun with --debug for the traceback)"


def _terminate(signum: int, frame: object) -> None:
    raise Terminated()


def _on_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
