"""`selfinstruct classify | instances | export | run`: the stages after bootstrap, and all of them.

Each stage command works on an existing run directory (`--out DIR`) and resumes what is there;
`run` does bootstrap, classify, instances and export in one go with one backend.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..config import RunOptions
from ..llm.base import Backend
from .bootstrap import add_bootstrap_args, report, run_bootstrap
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
    specs = (
        ("classify", "label each machine instruction as classification or not", _classify),
        ("instances", "generate input/output instances for each instruction", _instances),
        ("export", "write alpaca.jsonl (and sharegpt/messages) from the instances", _export),
        ("run", "all stages: bootstrap, classify, instances, export", _run),
    )
    for name, text, handler in specs:
        parser = subparsers.add_parser(
            name, help=text, description=text[0].upper() + text[1:] + ". Resumes an existing --out."
        )
        if name == "run":
            add_bootstrap_args(parser)
        else:
            _add_run_args(parser)
        if name in ("classify", "run"):
            _add_classify_args(parser)
        if name in ("instances", "run"):
            _add_instances_args(parser)
        if name in ("export", "run"):
            _add_export_args(parser)
        add_output_args(parser)
        if name != "export":
            add_backend_args(parser)
        add_config_args(parser)
        parser.set_defaults(handler=handler)


def _add_run_args(parser: argparse.ArgumentParser) -> None:
    """Seeds and language of a stage command (by default: what bootstrap recorded in run.json)."""
    g = parser.add_argument_group("run")
    g.add_argument("--seeds", metavar="en|zh|PATH", help="seed tasks (default: the run's own)")
    g.add_argument("--language", choices=("en", "zh"), help="default: the run's own")


def _add_classify_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("classify")
    g.add_argument(
        "--classify-examples", type=int, metavar="K", help=flag_help("classify_examples")
    )
    g.add_argument("--prompt-dir", metavar="DIR", help=flag_help("prompt_dir"))


def _add_instances_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("instances")
    for name, meta in (
        ("max_instances", "K"),
        ("instance_examples", "K"),
        ("instance_max_tokens", "N"),
        ("max_input_chars", "N"),
        ("max_output_chars", "N"),
    ):
        g.add_argument(f"--{name.replace('_', '-')}", type=int, metavar=meta, help=flag_help(name))
    if not any(a.dest == "prompt_dir" for a in parser._actions):
        g.add_argument("--prompt-dir", metavar="DIR", help=flag_help("prompt_dir"))


def _add_export_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("export")
    g.add_argument("--format", choices=("alpaca", "sharegpt", "messages"), help=flag_help("format"))
    g.add_argument(
        "--include-seeds",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=flag_help("include_seeds"),
    )
    g.add_argument("--val-ratio", type=float, metavar="F", help=flag_help("val_ratio"))
    g.add_argument("--system-prompt", metavar="TEXT", help=flag_help("system_prompt"))


def _seeds_given(args: argparse.Namespace, options: RunOptions) -> str | None:
    """The seeds named by a flag or the config file; None lets the stage use the run's own."""
    given = getattr(args, "seeds", None) is not None or "seeds" in options.model_fields_set
    return options.seeds if given else None


def classify_kwargs(options: RunOptions, seeds: str | None) -> dict[str, Any]:
    """Keyword arguments of `classify()` from the options."""
    return {
        "seeds": seeds,
        "language": options.language,
        "seed": options.seed,
        "concurrency": options.concurrency,
        "examples": options.classify_examples,
        "prompt_dir": options.prompt_dir,
        "progress": options.progress,
    }


def instances_kwargs(options: RunOptions, seeds: str | None) -> dict[str, Any]:
    """Keyword arguments of `generate_instances()` from the options."""
    return {
        "seeds": seeds,
        "language": options.language,
        "seed": options.seed,
        "concurrency": options.concurrency,
        "max_instances": options.max_instances,
        "instance_examples": options.instance_examples,
        "max_tokens": options.instance_max_tokens,
        "max_input_chars": options.max_input_chars,
        "max_output_chars": options.max_output_chars,
        "prompt_dir": options.prompt_dir,
        "progress": options.progress,
    }


def export_kwargs(options: RunOptions, seeds: str | None) -> dict[str, Any]:
    """Keyword arguments of `export_run()` from the options."""
    return {
        "format": options.format,
        "include_seeds": options.include_seeds,
        "seeds": seeds,
        "language": options.language,
        "val_ratio": options.val_ratio,
        "seed": options.seed,
        "system_prompt": options.system_prompt,
    }


def _do_classify(out: str, options: RunOptions, backend: Backend, seeds: str | None) -> None:
    from ..classify import classify

    r = classify(out, backend, **classify_kwargs(options, seeds))
    s = r.stats
    print(
        f"classify: {r.classified}/{s['instructions']} instructions labelled (+{r.new} this run; "
        f"{s['classification']} classification, {s['unparseable']} unparseable answers)"
    )


def _do_instances(out: str, options: RunOptions, backend: Backend, seeds: str | None) -> None:
    from ..instances import generate_instances

    r = generate_instances(out, backend, **instances_kwargs(options, seeds))
    s = r.stats
    print(
        f"instances: {s['kept']} kept of {s['generated']} generated for {s['tasks_kept']}/"
        f"{s['tasks']} tasks (+{r.new} tasks this run; dropped: {s['dropped'] or 'none'})"
    )


def _do_export(out: str, options: RunOptions, seeds: str | None) -> None:
    from ..export import export_run

    r = export_run(out, **export_kwargs(options, seeds))
    s = r.stats
    names = ", ".join(str(p) for p in r.files)
    print(
        f"export: {s['examples']} examples ({s['train']} train, {s['validation']} val) -> {names}"
    )


def _classify(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    out = require_out(options)
    _do_classify(out, options, backend_from_options(options), _seeds_given(args, options))
    return 0


def _instances(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    out = require_out(options)
    _do_instances(out, options, backend_from_options(options), _seeds_given(args, options))
    return 0


def _export(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    _do_export(require_out(options), options, _seeds_given(args, options))
    return 0


def _run(args: argparse.Namespace) -> int:
    options = options_from_args(args)
    out = require_out(options)
    backend = backend_from_options(options)
    boot = run_bootstrap(options, backend)
    print(report(boot))
    if boot.stopped not in ("target_reached", "token_budget"):
        return 1
    _do_classify(out, options, backend, options.seeds)
    _do_instances(out, options, backend, options.seeds)
    _do_export(out, options, options.seeds)
    return 0
