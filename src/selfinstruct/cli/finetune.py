"""`selfinstruct finetune`: LoRA (or last-layers) finetuning on a run's alpaca.jsonl.

Every flag defaults to None so that a `--config` file can fill what the command line left out;
the real defaults live in `selfinstruct.finetune.FinetuneConfig` and show in `--help`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..config_files import read_config_mapping
from ..errors import ConfigError
from ..finetune.config import FinetuneConfig

RUN_KEYS = ("data", "model", "output", "val_data")
"""Options of the command that are not FinetuneConfig fields."""


def _help(name: str, text: str | None = None) -> str:
    info = FinetuneConfig.model_fields[name]
    default = info.default
    shown = "" if default is None else f" (default: {default})"
    return f"{text or info.description or name.replace('_', ' ')}{shown}"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="LoRA-finetune a model on generated data (alpaca.jsonl or messages JSONL)",
        description="Supervised finetuning with LoRA (or the last N layers) on Alpaca rows "
        "({instruction, input, output}), `messages` rows or ShareGPT `conversations` rows. "
        "The loss counts response tokens only. Saves the adapter, tokenizer, "
        "finetune_config.json and summary.json in --output; load the adapter back with "
        "`selfinstruct bootstrap --backend transformers --adapter OUTPUT`.",
    )
    io = parser.add_argument_group("data and model")
    io.add_argument("--data", metavar="FILE|DIR", help="training JSONL or a run dir")
    io.add_argument("--val-data", metavar="FILE", help="validation JSONL (instead of --val-ratio)")
    io.add_argument("--model", help="HF id, local dir or .gguf file (default: bundled SmolLM2)")
    io.add_argument("--output", metavar="DIR", help="where the adapter and checkpoints go")
    io.add_argument("--config", metavar="FILE", help="TOML or YAML file of options (flag names)")

    m = parser.add_argument_group("method")
    m.add_argument("--method", choices=("lora", "freeze"), help=_help("method"))
    m.add_argument("--lora-r", type=int, metavar="R", help=_help("lora_r", "LoRA rank"))
    m.add_argument("--lora-alpha", type=float, metavar="A", help=_help("lora_alpha", "LoRA alpha"))
    m.add_argument("--lora-dropout", type=float, metavar="P", help=_help("lora_dropout"))
    m.add_argument(
        "--lora-targets", type=_names, metavar="A,B", help=_help("lora_targets") + " (comma list)"
    )
    m.add_argument("--freeze-layers", type=int, metavar="N", help=_help("freeze_layers"))
    m.add_argument("--quantize", choices=("none", "4bit", "8bit"), help=_help("quantize"))
    m.add_argument("--merge", action="store_true", default=None, help="also save merged/ model")

    d = parser.add_argument_group("data handling")
    d.add_argument("--template", choices=("auto", "chat", "plain"), help=_help("template"))
    d.add_argument("--system-prompt", metavar="TEXT", help="system prompt added to every example")
    d.add_argument("--max-length", type=int, metavar="N", help=_help("max_length", "max tokens"))
    d.add_argument("--packing", action="store_true", default=None, help="pack examples into rows")
    d.add_argument("--val-ratio", type=float, metavar="F", help=_help("val_ratio"))

    t = parser.add_argument_group("training")
    t.add_argument("--epochs", type=float, metavar="E", help=_help("epochs"))
    t.add_argument("--max-steps", type=int, metavar="S", help=_help("max_steps"))
    t.add_argument("--lr", type=float, metavar="LR", help=_help("lr"))
    t.add_argument("--batch-size", type=int, metavar="B", help=_help("batch_size"))
    t.add_argument("--grad-accum", type=int, metavar="K", help=_help("grad_accum"))
    t.add_argument("--warmup", type=float, metavar="W", help=_help("warmup"))
    t.add_argument("--precision", choices=("auto", "bf16", "fp16", "fp32"), help=_help("precision"))
    t.add_argument(
        "--gradient-checkpointing", action="store_true", default=None, help="less memory, slower"
    )
    t.add_argument("--save-steps", type=int, metavar="N", help=_help("save_steps"))
    t.add_argument("--logging-steps", type=int, metavar="N", help=_help("logging_steps"))
    t.add_argument(
        "--resume",
        nargs="?",
        const=True,
        metavar="CHECKPOINT",
        help="resume from the latest checkpoint in --output (or from CHECKPOINT)",
    )
    t.add_argument("--deepspeed", metavar="JSON", help=_help("deepspeed"))
    t.add_argument("--seed", type=int, help=_help("seed"))
    t.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar"
    )
    t.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=_handle)


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def collect_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults < --config file < flags given; checks the file's keys."""
    file_values = read_config_mapping(Path(args.config)) if args.config else {}
    known = set(FinetuneConfig.model_fields) | set(RUN_KEYS)
    unknown = sorted(set(file_values) - known)
    if unknown:
        raise ConfigError(f"config file {args.config}: unknown option(s) {', '.join(unknown)}")
    flags = {name: getattr(args, name) for name in known if getattr(args, name, None) is not None}
    return {**file_values, **flags}


def _handle(args: argparse.Namespace) -> int:
    options = collect_options(args)
    data = options.pop("data", None)
    output = options.pop("output", None)
    if not data or not output:
        raise ConfigError("pass --data FILE and --output DIR (or set data/output in --config)")
    from ..finetune import train
    from ..finetune.training import format_summary

    result = train(
        data,
        options.pop("model", None),
        output,
        val_data=options.pop("val_data", None),
        **options,
    )
    if int(os.environ.get("RANK", "0")) != 0:
        return 0  # under torchrun / accelerate, the main process reports
    if args.json:
        print(json.dumps(result.summary, indent=2, ensure_ascii=False))
    else:
        print(format_summary(result.summary))
        print(f"saved to {result.output_dir}")
    return 0
