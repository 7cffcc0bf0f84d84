"""`selfinstruct seeds validate PATH`: check a seed file and print its counts."""

from __future__ import annotations

import argparse
import sys

from ..errors import SeedError
from ..runtime.seeds import load_seeds, summarize


def register(subparsers: argparse._SubParsersAction) -> None:
    seeds = subparsers.add_parser("seeds", help="work with seed task files")
    sub = seeds.add_subparsers(dest="seeds_command", required=True, metavar="ACTION")
    validate = sub.add_parser("validate", help="check a seed file (or bundled set en/zh)")
    validate.add_argument("path", help="seed JSONL / Alpaca JSON file, or 'en' / 'zh'")
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    try:
        tasks = load_seeds(args.path)
    except SeedError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    s = summarize(tasks)
    print(
        f"ok: {args.path}: {s.tasks} tasks, {s.classification} classification "
        f"({s.classification_share:.0%}), {s.instances} instances"
    )
    return 0
