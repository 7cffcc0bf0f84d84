"""FinetuneConfig: every knob of a finetuning run, validated once at the edge and saved with it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigError


class FinetuneConfig(BaseModel):
    """Options of `train()`; the LoRA defaults (r=16, alpha=32, dropout=0.05) are the usual ones."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    method: Literal["lora", "freeze"] = "lora"
    lora_r: int = Field(16, ge=1)
    lora_alpha: float = Field(32.0, gt=0)
    lora_dropout: float = Field(0.05, ge=0.0, lt=1.0)
    lora_targets: list[str] | None = Field(
        None, description="module names to adapt; None = every linear layer of the blocks"
    )
    freeze_layers: int = Field(2, ge=1, description="method=freeze: how many last layers train")
    quantize: Literal["none", "4bit", "8bit"] = Field(
        "none", description="load the base model quantized (QLoRA; CUDA and bitsandbytes only)"
    )

    template: Literal["auto", "chat", "plain"] = Field(
        "auto", description="chat = the tokenizer's chat template; plain = our Alpaca-style text"
    )
    system_prompt: str | None = None
    max_length: int = Field(1024, ge=16)
    packing: bool = False
    val_ratio: float = Field(0.0, ge=0.0, lt=1.0)

    epochs: float = Field(3.0, gt=0)
    max_steps: int | None = Field(None, ge=1, description="stop after this many steps")
    lr: float | None = Field(None, gt=0, description="None = 2e-4 for lora, 2e-5 for freeze")
    batch_size: int = Field(4, ge=1, description="examples per device per step")
    grad_accum: int = Field(4, ge=1)
    warmup: float = Field(0.03, ge=0, description="fraction of steps (<1) or a step count")
    weight_decay: float = Field(0.0, ge=0)
    scheduler: str = "cosine"
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    gradient_checkpointing: bool = False
    group_by_length: bool = Field(True, description="batch similar lengths to waste less padding")

    logging_steps: int = Field(10, ge=1)
    save_steps: int = Field(200, ge=1, description="checkpoint (and eval) every N steps")
    save_total_limit: int = Field(2, ge=1)
    resume: bool | str = Field(False, description="True = latest checkpoint, or a checkpoint dir")
    merge: bool = False
    deepspeed: str | None = Field(None, description="path of a DeepSpeed JSON config")
    seed: int = 42
    progress: bool = True

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


def make_config(options: dict[str, object]) -> FinetuneConfig:
    """Build a FinetuneConfig from keyword options, turning validation errors into ConfigError."""
    try:
        return FinetuneConfig(**options)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid finetune options: {problems}") from None
