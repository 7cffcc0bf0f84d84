"""`selfinstruct bootstrap`: grow the pool of machine instructions in a run directory."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import RunOptions
from ..llm.base import Backend
from .common import (
    add_backend_args,
    add_config_args,
    add_output_args,
    backend_from_options,
    flag_help,
    options_from_args,
    require_out,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bootstrap",
        help="generate new instructions from the seed tasks (resumes an existing --out)",
        description="Generate N new, diverse instructions from seed tasks (Self-Instruct). "
        "Rerunning the same command on the same --out resumes where it stopped.",
    )
    add_bootstrap_args(parser)
    add_output_args(parser)
    add_backend_args(parser)
    add_config_args(parser)
    parser.set_defaults(handler=_handle)


def add_bootstrap_args(parser: argparse.ArgumentParser) -> None:
    """The bootstrap stage's own flags (shared with `selfinstruct run`)."""
    g = parser.add_argument_group("bootstrap")
    g.add_argument("--seeds", metavar="en|zh|PATH", help=flag_help("seeds"))
    g.add_argument("--language", choices=("en", "zh"), help=flag_help("language"))
    g.add_argument("--num-instructions", type=int, metavar="N", help=flag_help("num_instructions"))
    g.add_argument("--token-budget", type=int, metavar="N", help=flag_help("token_budget"))
    g.add_argument("--threshold", type=float, metavar="F", help=flag_help("threshold"))
    g.add_argument("--template", metavar="FILE", help=flag_help("template"))
    for name in ("num_prompt_instructions", "num_machine_instructions"):
        g.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="K", help=flag_help(name))
    g.add_argument("--blacklist", type=_comma_list, metavar="W1,W2", help=flag_help("blacklist"))
    for name in ("min_words", "max_words", "min_chars", "max_chars", "max_tokens", "patience"):
        g.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="N", help=flag_help(name))
    for name in ("temperature", "top_p", "presence_penalty"):
        g.add_argument(f"--{name.replace('_', '-')}", type=float, metavar="F", help=flag_help(name))
    g.add_argument(
        "--similarity-workers", type=int, metavar="P", help=flag_help("similarity_workers")
    )
    g.add_argument("--adapter", metavar="DIR", help=flag_help("adapter"))


def _comma_list(value: str) -> list[str]:
    return [w.strip() for w in value.split(",") if w.strip()]


def bootstrap_kwargs(options: RunOptions) -> dict[str, Any]:
    """The keyword arguments of `selfinstruct.bootstrap()` that these options set."""
    names = (
        "seeds", "num_instructions", "language", "num_prompt_instructions",
        "num_machine_instructions", "concurrency", "seed", "token_budget", "threshold",
        "template", "temperature", "top_p", "presence_penalty", "max_tokens",
        "similarity_workers", "patience", "progress", "min_words", "max_words", "min_chars",
        "max_chars",
    )  # fmt: skip
    kwargs: dict[str, Any] = {name: getattr(options, name) for name in names}
    kwargs["blacklist"] = tuple(options.blacklist) if options.blacklist is not None else None
    kwargs["out_dir"] = require_out(options)
    return kwargs


def run_bootstrap(options: RunOptions, backend: Backend) -> Any:
    """Run the bootstrap stage as the options say; returns `BootstrapResult`."""
    from ..bootstrap import bootstrap

    return bootstrap(backend=backend, **bootstrap_kwargs(options))


def report(result: Any) -> str:
    """One line for the terminal."""
    s = result.stats
    return (
        f"bootstrap: {result.accepted}/{s['target']} instructions in {result.out_dir} "
        f"(+{result.new} this run; {s['candidates']} candidates, {s['rejected']} rejected; "
        f"stopped: {result.stopped})"
    )


def _handle(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    require_out(options)
    result = run_bootstrap(options, backend_from_options(options))
    print(report(result))
    return 0 if result.stopped in ("target_reached", "token_budget") else 1
