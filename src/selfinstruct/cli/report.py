"""`selfinstruct report`: write the run report (HTML page, Markdown, PNG plots) and summarize it.

Works on a finished run, one still going, or one that was interrupted: it reads what is there.
Prices come from `--price-input` / `--price-output` or the `[backend]` table of `--config`.
"""

from __future__ import annotations

import argparse

from .options import add_options, config_from_args

HELP = "write the run report: funnel, diversity, dedup samples, data shape, tokens and cost"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help=HELP,
        description=f"{HELP[0].upper()}{HELP[1:]}, as DIR/report/index.html (self-contained), "
        "DIR/report/report.md and PNG plots beside them. Safe to run while the run is going.",
    )
    add_options(parser, ("backend",), run_wide=("out",), fields=("price_input", "price_output"))
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="report on a dataset instead of a run (any format `selfinstruct dedup` reads): "
        "shape, diversity, exact and near duplicates, language mix, lengths; written to --out "
        "(default: FILE.report/)",
    )
    parser.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from ..reporting.build import report

    if args.data is not None:
        result = report(args.out, data=args.data)
        print(result.summary)
        return 0
    result = report(config_from_args(args))
    print(result.summary)
    return 0
