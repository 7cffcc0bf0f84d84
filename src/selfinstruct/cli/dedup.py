"""`selfinstruct dedup IN [IN ...] --out DIR`: exact ROUGE-L dedup of datasets you already have.

The flags are DedupConfig's fields (`selfinstruct.config`), generated like a run's.
"""

from __future__ import annotations

import argparse

from ..config import DedupConfig
from .options import add_model_options

HELP = "remove near-duplicate rows of any instruction dataset by exact ROUGE-L, as a run does"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dedup",
        help=HELP,
        description=f"{HELP[0].upper()}{HELP[1:]}. Reads Alpaca JSON/JSONL, ShareGPT, messages "
        "and prompt/completion JSONL, parquet and saved `datasets` directories (detected); "
        "writes the kept rows in each input's format to DIR, removed.jsonl (each removed row "
        "with its nearest kept row and their ROUGE-L F) and dedup.json. Rerunning the same "
        "command resumes.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IN", help="dataset files or directories")
    add_model_options(parser, DedupConfig, "dedup")
    parser.set_defaults(handler=_dedup)


def _dedup(args: argparse.Namespace) -> int:
    from ..stages.dedup.stage import dedup

    options = {name: getattr(args, name, None) for name in DedupConfig.model_fields}
    result = dedup(args.inputs, **options)
    s = result.summary
    reasons = ", ".join(f"{k} {v:,}" for k, v in s["by_reason"].items()) or "none"
    print(
        f"dedup: kept {result.kept:,} of {result.rows:,} rows (removed {result.removed:,}: "
        f"{reasons}; compared {s['compared']}, ROUGE-L > {s['threshold']:g}, {s['language']}) "
        f"-> {', '.join(str(p) for p in result.files)}, {result.out_dir / 'removed.jsonl'}"
    )
    return 0
