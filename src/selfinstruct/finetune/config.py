"""FinetuneConfig: every knob of a finetuning run, each written once with its default and help.

The `selfinstruct finetune` flags, its `--config` TOML/YAML files, `--dump-config`, the keyword
arguments of `train()` and the finetune tables of docs/options.md all come from these models
(fields declared with `selfinstruct.config.fields.opt`, as RunConfig's are).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from ..config import opt
from ..errors import ConfigError


def _comma_list(value: Any) -> Any:
    """Accept "a,b" (a flag, a config string) as ["a", "b"]."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class FinetuneFiles(BaseModel):
    """What to train on, which model, and where the result goes (`train()`'s positional ones)."""

    model_config = ConfigDict(extra="forbid")

    data: str | None = opt(
        None,
        "training JSONL or a run dir (its alpaca.jsonl); required",
        cli={"metavar": "FILE|DIR"},
    )
    val_data: str | None = opt(
        None, "validation JSONL (instead of --val-ratio)", cli={"metavar": "FILE"}
    )
    model: str | None = opt(
        None, "HF id, local dir or .gguf file (default: bundled SmolLM2)", cli={"metavar": "MODEL"}
    )
    output: str | None = opt(
        None, "where the adapter and checkpoints go; required", cli={"metavar": "DIR"}
    )


class FinetuneConfig(BaseModel):
    """Options of `train()`; the LoRA defaults (r=16, alpha=32, dropout=0.05) are the usual ones."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    method: Literal["lora", "freeze"] = opt(
        "lora", "lora: train LoRA adapters; freeze: train the last --freeze-layers layers"
    )
    lora_r: int = opt(16, "LoRA rank", ge=1, cli={"metavar": "R"})
    lora_alpha: float = opt(32.0, "LoRA alpha", gt=0, cli={"metavar": "A"})
    lora_dropout: float = opt(0.05, "LoRA dropout", ge=0.0, lt=1.0, cli={"metavar": "P"})
    lora_targets: list[str] | None = opt(
        None, "module names to adapt, comma-separated; default: every linear layer of the blocks"
    )
    freeze_layers: int = opt(2, "method=freeze: how many last layers train", ge=1)
    quantize: Literal["none", "4bit", "8bit"] = opt(
        "none", "load the base model quantized (QLoRA; CUDA and bitsandbytes only)"
    )
    merge: bool = opt(False, "also save merged/ model (method=lora)", cli={"action": "store_true"})

    template: Literal["auto", "chat", "plain"] = opt(
        "auto", "chat = the tokenizer's chat template; plain = our Alpaca-style text"
    )
    system_prompt: str | None = opt(None, "system prompt added to every example")
    max_length: int = opt(1024, "max tokens per example", ge=16)
    packing: bool = opt(False, "pack examples into rows", cli={"action": "store_true"})
    val_ratio: float = opt(0.0, "share of examples held out for validation", ge=0.0, lt=1.0)

    epochs: float = opt(3.0, "training epochs", gt=0, cli={"metavar": "E"})
    max_steps: int | None = opt(None, "stop after this many steps", ge=1, cli={"metavar": "S"})
    lr: float | None = opt(
        None, "learning rate; default: 2e-4 for lora, 2e-5 for freeze", gt=0, cli={"metavar": "LR"}
    )
    batch_size: int = opt(4, "examples per device per step", ge=1, cli={"metavar": "B"})
    grad_accum: int = opt(4, "gradient accumulation steps", ge=1, cli={"metavar": "K"})
    warmup: float = opt(
        0.03, "warmup: a fraction of the steps (<1) or a step count", ge=0, cli={"metavar": "W"}
    )
    weight_decay: float = opt(0.0, "AdamW weight decay", ge=0, cli=False)
    scheduler: str = opt("cosine", "learning-rate schedule (a transformers name)", cli=False)
    precision: Literal["auto", "bf16", "fp16", "fp32"] = opt(
        "auto", "auto: bf16 on a GPU that has it, else fp32"
    )
    gradient_checkpointing: bool = opt(False, "less memory, slower", cli={"action": "store_true"})
    group_by_length: bool = opt(True, "batch similar lengths to waste less padding", cli=False)

    save_steps: int = opt(200, "checkpoint (and eval) every N steps", ge=1)
    logging_steps: int = opt(10, "log every N steps", ge=1)
    save_total_limit: int = opt(2, "checkpoints kept", ge=1, cli=False)
    resume: bool | str = opt(
        False,
        "resume from the latest checkpoint in --output (or from CHECKPOINT)",
        allowed="true, false or a checkpoint directory",
        cli={"action": "store", "nargs": "?", "const": True, "metavar": "CHECKPOINT", "type": str},
    )
    deepspeed: str | None = opt(None, "path of a DeepSpeed JSON config", cli={"metavar": "JSON"})
    seed: int = opt(
        42, "seed of the data split, initialisation and shuffling", cli={"metavar": "SEED"}
    )
    progress: bool = opt(True, "progress bar")

    _split = field_validator("lora_targets", mode="before")(_comma_list)

    @model_validator(mode="after")
    def _consistent(self) -> FinetuneConfig:
        if self.merge and self.method == "freeze":
            raise ValueError("merge applies to method='lora'; method='freeze' saves a full model")
        if self.quantize != "none" and self.method != "lora":
            raise ValueError(
                "quantize trains LoRA adapters on a frozen quantized base: method='lora'"
            )
        return self

    @property
    def learning_rate(self) -> float:
        """The learning rate actually used."""
        if self.lr is not None:
            return self.lr
        return 2e-4 if self.method == "lora" else 2e-5


FLAG_GROUPS: dict[str, tuple[str, ...]] = {
    "method": ("method", "lora_r", "lora_alpha", "lora_dropout", "lora_targets",
               "freeze_layers", "quantize", "merge"),
    "data handling": ("template", "system_prompt", "max_length", "packing", "val_ratio"),
}  # fmt: skip
"""The --help groups of FinetuneConfig's flags, in order; the other fields go under "training"."""


def make_config(options: dict[str, object]) -> FinetuneConfig:
    """Build a FinetuneConfig from keyword options, turning validation errors into ConfigError."""
    try:
        return FinetuneConfig(**options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid finetune options: {problems}") from None
