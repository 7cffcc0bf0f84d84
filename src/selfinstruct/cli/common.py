"""Flags shared by the stage commands (backend, output, config file) and the options they build.

Every flag defaults to None here so that a `--config` file can fill what the command line left
out; the real defaults live in `selfinstruct.config.RunOptions` and show in `--help`.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..config import RunOptions, build_options, read_config_file
from ..llm.base import Backend


def flag_help(name: str) -> str:
    """Help text of option `name` with its default, taken from `RunOptions`."""
    info = RunOptions.model_fields[name]
    default = info.default
    shown = "" if default is None else f" (default: {default})"
    return f"{info.description}{shown}"


def add_config_args(parser: argparse.ArgumentParser) -> None:
    """`--config FILE`: a TOML or YAML file holding any of the command's options."""
    parser.add_argument(
        "--config", metavar="FILE", help="TOML or YAML file of options (flag names as keys)"
    )


def add_output_args(parser: argparse.ArgumentParser) -> None:
    """`--out DIR`, the run directory every stage reads and appends to."""
    parser.add_argument("--out", metavar="DIR", help="run directory (required here or in --config)")
    parser.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bars"
    )


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """Which model to call: --backend, --model, --base-url, --api-key-env, --concurrency, ..."""
    group = parser.add_argument_group("backend")
    group.add_argument("--backend", choices=("openai", "transformers"), help=flag_help("backend"))
    group.add_argument("--model", help=flag_help("model"))
    group.add_argument("--base-url", metavar="URL", help=flag_help("base_url"))
    group.add_argument("--api-key-env", metavar="VAR", help=flag_help("api_key_env"))
    group.add_argument("--concurrency", type=int, metavar="K", help=flag_help("concurrency"))
    group.add_argument("--batch-size", type=int, metavar="B", help=flag_help("batch_size"))
    group.add_argument(
        "--chat", action=argparse.BooleanOptionalAction, default=None, help=flag_help("chat")
    )
    group.add_argument("--seed", type=int, help=flag_help("seed"))


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """Validated options: defaults, then the `--config` file, then the flags actually given."""
    flags: dict[str, Any] = {
        name: getattr(args, name) for name in RunOptions.model_fields if hasattr(args, name)
    }
    config = getattr(args, "config", None)
    file_values = read_config_file(config) if config else {}
    return build_options(file_values, flags, source=config or "options")


def require_out(options: RunOptions) -> str:
    """The run directory, or a ConfigError saying how to give one."""
    from ..errors import ConfigError

    if options.out is None:
        raise ConfigError("no run directory: pass --out DIR or set out = ... in the config file")
    return str(options.out)


def backend_from_options(options: RunOptions) -> Backend:
    """Build the backend the options name (the bundled model in-process when none is named)."""
    from ..llm.factory import make_backend

    kwargs: dict[str, Any] = {}
    if options.chat is not None:
        kwargs["chat"] = options.chat
    return make_backend(
        options.backend,
        model=options.model,
        base_url=options.base_url,
        api_key_env=options.api_key_env,
        concurrency=options.concurrency,
        batch_size=options.batch_size,
        adapter=options.adapter,
        **kwargs,
    )


def backend_from_args(args: argparse.Namespace) -> Backend:
    """Shortcut: options from the flags (and `--config`), then the backend."""
    return backend_from_options(options_from_args(args))
