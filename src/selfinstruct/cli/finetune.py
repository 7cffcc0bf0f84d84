"""`selfinstruct finetune`: LoRA (or last-layers) finetuning on a run's alpaca.jsonl.

The flags come from `selfinstruct.finetune.FinetuneFiles` and `FinetuneConfig` (names, types,
choices, help); every flag defaults to None so that a `--config` file can fill what the command
line left out, and the real defaults show in `--help`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..config.describe import allowed_values
from ..config.files import read_config_mapping, toml_table
from ..errors import ConfigError
from ..finetune.config import FLAG_GROUPS, FinetuneConfig, FinetuneFiles
from .options import add_fields

MODELS: tuple[type[BaseModel], ...] = (FinetuneFiles, FinetuneConfig)


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
    add_fields(io, FinetuneFiles, FinetuneFiles.model_fields)
    io.add_argument(
        "--config", metavar="FILE", help="TOML or YAML file of options (see --dump-config)"
    )
    grouped = [name for names in FLAG_GROUPS.values() for name in names]
    for title, names in FLAG_GROUPS.items():
        add_fields(parser.add_argument_group(title), FinetuneConfig, names)
    training = parser.add_argument_group("training")
    add_fields(
        training, FinetuneConfig, [n for n in FinetuneConfig.model_fields if n not in grouped]
    )
    training.add_argument("--json", action="store_true", help="print the summary as JSON")
    training.add_argument(
        "--dump-config",
        action="store_true",
        help="print the resolved options as TOML (for --config) and exit",
    )
    parser.set_defaults(handler=_handle)


def collect_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults < --config file < flags given; the file and the flags are each checked."""
    file_values = _read_file(Path(args.config)) if args.config else {}
    known = [name for model in MODELS for name in model.model_fields]
    flags = {name: getattr(args, name) for name in known if getattr(args, name, None) is not None}
    _validate(flags, "command line", as_flags=True)
    options = {**file_values, **flags}
    _validate(options, "options", as_flags=False)
    return options


def _read_file(path: Path) -> dict[str, Any]:
    """A config file's options, its unknown keys and bad values named with the file."""
    values = read_config_mapping(path)
    known = [name for model in MODELS for name in model.model_fields]
    unknown = [key for key in values if key not in known]
    if unknown:
        raise ConfigError(f"{path}: unknown key {unknown[0]!r}; allowed: {', '.join(known)}")
    _validate(values, str(path), as_flags=False)
    return values


def _validate(options: dict[str, Any], source: str, *, as_flags: bool) -> None:
    """Raise a ConfigError naming `source`, the key (or flag), the value and what is allowed."""
    for model in MODELS:
        part = {k: v for k, v in options.items() if k in model.model_fields}
        try:
            model.model_validate(part)
        except ValidationError as exc:
            err = exc.errors()[0]
            name = str(err["loc"][0]) if err["loc"] else ""
            message = str(err["msg"]).removeprefix("Value error, ")
            if name not in model.model_fields:
                raise ConfigError(f"{source}: {message}") from None
            key = "--" + name.replace("_", "-") if as_flags else name
            given = json.dumps(err.get("input"), default=str)
            allowed = allowed_values(model.model_fields[name])
            raise ConfigError(f"{source}: {key} = {given}: {message}; allowed: {allowed}") from None


def dump_config(options: dict[str, Any]) -> str:
    """Every option, defaults included, as TOML for `--config` (None values are left out)."""
    values: dict[str, Any] = {}
    for model in MODELS:
        part = {k: v for k, v in options.items() if k in model.model_fields}
        values.update(model.model_validate(part).model_dump(mode="json"))
    header = "# selfinstruct finetune configuration (selfinstruct finetune --config FILE)"
    return "\n".join([header, *toml_table(values)]) + "\n"


def _handle(args: argparse.Namespace) -> int:
    options = collect_options(args)
    if args.dump_config:
        print(dump_config(options), end="")
        return 0
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
