"""`selfinstruct bootstrap | classify | instances | judge | export | run`: each stage, and all.

Each command builds a RunConfig from its flags (and `--config`) and calls the library function
of the same stage; `run` calls `selfinstruct.run`, the one place that chains the stages. Every
line a user reads about a stage's result is written here, not in the library.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..config import RunConfig
from .options import add_options, config_from_args

COMMANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "bootstrap": (
        "generate new instructions from the seed tasks (Self-Instruct)",
        ("bootstrap", "backend"),
    ),
    "classify": (
        "label each machine instruction as classification or not",
        ("classify", "backend"),
    ),
    "instances": ("generate input/output instances for each instruction", ("instances", "backend")),
    "judge": (
        "score every kept instance 1-5 for correctness and helpfulness (the same model)",
        ("judge", "backend"),
    ),
    "export": ("write alpaca.jsonl (and sharegpt/messages) from the instances", ("export",)),
    "run": (
        "every stage: bootstrap, classify, instances, judge (with --judge), export",
        ("bootstrap", "classify", "instances", "judge", "export", "backend"),
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    for name, (text, sections) in COMMANDS.items():
        parser = subparsers.add_parser(
            name,
            help=text,
            description=f"{text[0].upper()}{text[1:]}. Rerunning the same command on the same "
            "--out resumes where it stopped.",
        )
        add_options(parser, sections)
        if name == "judge":
            parser.add_argument(
                "--data",
                metavar="FILE",
                help="score the rows of a dataset instead of a run's instances (any format "
                "`selfinstruct dedup` reads); judgements.jsonl goes to --out",
            )
        if name == "run":
            parser.add_argument(
                "--dump-config",
                action="store_true",
                help="print the resolved configuration as TOML (for --config) and exit",
            )
            parser.add_argument(
                "--estimate",
                action="store_true",
                help="run a pilot of a few instructions through every stage in a scratch "
                "directory and print the projected requests, tokens and cost; then exit",
            )
        parser.set_defaults(handler=_HANDLERS[name])


def _bootstrap(args: argparse.Namespace) -> int:
    from ..stages.bootstrap.result import shortfall
    from ..stages.bootstrap.stage import bootstrap

    config = _config(args)
    result = bootstrap(config)
    print(result_line("bootstrap", result))
    return _shortfall_exit(shortfall(result, config.bootstrap.num_instructions), result.accepted)


def _classify(args: argparse.Namespace) -> int:
    from ..stages.classify.stage import classify

    print(result_line("classify", classify(_config(args))))
    return 0


def _instances(args: argparse.Namespace) -> int:
    from ..stages.instances.stage import generate_instances

    print(result_line("instances", generate_instances(_config(args))))
    return 0


def _judge(args: argparse.Namespace) -> int:
    from ..stages.judge.stage import judge

    print(result_line("judge", judge(_config(args), data=args.data)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from ..stages.export.stage import export_run

    print(result_line("export", export_run(_config(args))))
    return 0


def _run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.dump_config:
        print(config.to_toml(), end="")
        return 0
    if args.estimate:
        from ..pipeline import estimate

        for line in estimate(config).lines():
            print(line)
        return 0
    from ..pipeline import run

    _require_out(config)
    result = run(config)
    print(result_line("bootstrap", result.bootstrap))
    print(result_line("classify", result.classify))
    print(result_line("instances", result.instances))
    if result.judge is not None:
        print(result_line("judge", result.judge))
    print(result_line("export", result.export))
    for warning in result.warnings:
        print(f"warning: {warning}")
    return 0 if result.ok else 1


_HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "bootstrap": _bootstrap,
    "classify": _classify,
    "instances": _instances,
    "judge": _judge,
    "export": _export,
    "run": _run,
}


def _config(args: argparse.Namespace) -> RunConfig:
    config = config_from_args(args)
    _require_out(config)
    return config


def _require_out(config: RunConfig) -> None:
    from ..errors import ConfigError

    if config.out is None:
        raise ConfigError("no run directory: pass --out DIR or set out = ... in the config file")


def _shortfall_exit(message: str | None, accepted: int) -> int:
    """Say why bootstrap stopped short; fail only when it accepted nothing at all."""
    if message:
        print(f"warning: {message}")
    return 0 if accepted or message is None else 1


LINES: dict[str, str] = {
    "bootstrap": "bootstrap: {r.accepted}/{s[target]} instructions in {r.out_dir} (+{r.new} this "
    "run; {s[candidates]} candidates, {s[rejected]} rejected; stopped: {r.stopped}{cut})",
    "classify": "classify: {r.classified}/{s[instructions]} instructions labelled (+{r.new} this "
    "run; {s[classification]} classification, {s[unparseable]} unparseable answers{cut})",
    "instances": "instances: {s[kept]} kept of {s[generated]} generated for {s[tasks_kept]}/"
    "{s[tasks]} tasks (+{r.new} tasks this run; dropped: {dropped}{cut})",
    "judge": "judge: {r.judged}/{s[instances]} instances scored (+{r.new} this run; by score "
    "{scores}; {s[unparseable]} unparseable; mean {s[mean_score]}{cut})",
    "export": "export: {s[examples]} examples ({s[train]} train, {s[validation]} val) -> {files}",
}
"""The line each stage's command prints about its result: `r` the result, `s` its stats."""


def result_line(stage: str, result: Any) -> str:
    """What `stage` did, in the one line its command (and `run`) prints."""
    s = result.stats
    return LINES[stage].format(
        r=result,
        s=s,
        cut=cut_while_thinking(s),
        dropped=s.get("dropped") or "none",
        scores=", ".join(f"{k}: {v}" for k, v in s.get("by_score", {}).items()),
        files=", ".join(str(p) for p in getattr(result, "files", ())),
    )


def cut_while_thinking(stats: dict[str, Any]) -> str:
    """The end of a stage's line when answers were cut off inside the thinking, else ""."""
    n = stats.get("reasoning_truncated", 0)
    return f"; {n} answers cut off while thinking (reasoning_truncated)" if n else ""
