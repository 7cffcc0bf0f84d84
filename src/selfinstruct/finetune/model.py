"""The model to finetune: load the base (bundled GGUF, HF id or local dir), then LoRA or freeze."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..llm.model_files import require
from .config import FinetuneConfig


@dataclass
class Precision:
    """Weights dtype and the Trainer's mixed-precision flags, chosen for the hardware."""

    dtype: Any
    bf16: bool
    fp16: bool
    name: str


def choose_precision(precision: str) -> Precision:
    """bf16 on GPUs that support it, fp32 elsewhere; fp16 keeps fp32 weights under autocast."""
    torch = require("torch", "torch", "finetuning", "finetune")
    cuda = torch.cuda.is_available()
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    if precision in ("bf16", "fp16") and not cuda:
        raise ConfigError(f"precision={precision} needs a CUDA GPU; use fp32 (or auto) on CPU")
    if precision == "bf16":
        return Precision(torch.bfloat16, True, False, "bf16")
    if precision == "fp16":
        return Precision(torch.float32, False, True, "fp16")
    return Precision(torch.float32, False, False, "fp32")


def as_plain_weights(model: Any) -> Any:
    """Forget that a model came from GGUF: transformers dequantized it to plain tensors already,
    but its GGUF marker makes Trainer refuse to train it and save_pretrained record it."""
    quantizer = getattr(model, "hf_quantizer", None)
    method = getattr(getattr(quantizer, "quantization_config", None), "quant_method", None)
    if quantizer is None or str(getattr(method, "value", method)) != "gguf":
        return model
    model.hf_quantizer = None
    if "is_quantized" in vars(model):
        model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model


def quantization(config: FinetuneConfig, precision: Precision) -> dict[str, Any]:
    """from_pretrained arguments for QLoRA (`quantize` 4bit/8bit), or {} when not quantizing.

    bitsandbytes quantizes on CUDA only: on a machine without a GPU this is a clear error, not a
    silent fp32 run.
    """
    if config.quantize == "none":
        return {}
    torch = require("torch", "torch", "finetuning", "finetune")
    if not torch.cuda.is_available():
        raise ConfigError(
            f"quantize={config.quantize} (QLoRA) needs a CUDA GPU and bitsandbytes; this machine "
            "has no GPU: drop --quantize to train LoRA in full precision on the CPU"
        )
    require("bitsandbytes", "bitsandbytes", "QLoRA (--quantize)", "qlora")
    transformers = require("transformers", "transformers", "finetuning", "finetune")
    if config.quantize == "4bit":
        bnb = transformers.BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=precision.dtype
            if precision.dtype != torch.float32
            else torch.float16,
        )
    else:
        bnb = transformers.BitsAndBytesConfig(load_in_8bit=True)
    return {"quantization_config": bnb, "device_map": {"": torch.cuda.current_device()}}


def prepare_quantized(model: Any, config: FinetuneConfig) -> Any:
    """peft's preparation of a k-bit base for training (norms in fp32, input grads on)."""
    if config.quantize == "none":
        return model
    peft = require("peft", "peft", "LoRA finetuning", "finetune")
    return peft.prepare_model_for_kbit_training(
        model, use_gradient_checkpointing=config.gradient_checkpointing
    )


def decoder_layers(model: Any) -> Any:
    """The ModuleList of transformer blocks (as many as config.num_hidden_layers)."""
    torch = require("torch", "torch", "finetuning", "finetune")
    count = getattr(model.config, "num_hidden_layers", None)
    for _, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) == count:
            return module
    raise ConfigError(f"cannot find the {count} decoder layers of {type(model).__name__}")


def linear_targets(model: Any) -> list[str]:
    """Names of every linear projection inside the decoder blocks (attention and MLP)."""
    torch = require("torch", "torch", "finetuning", "finetune")
    names = {
        name.rsplit(".", 1)[-1]
        for name, module in decoder_layers(model).named_modules()
        if isinstance(module, torch.nn.Linear)
    }
    return sorted(names)


def apply_lora(model: Any, config: FinetuneConfig) -> Any:
    """Wrap `model` with LoRA adapters; only the adapter weights train."""
    peft = require("peft", "peft", "LoRA finetuning", "finetune")
    targets = config.lora_targets or linear_targets(model)
    lora = peft.LoraConfig(
        task_type="CAUSAL_LM",
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        bias="none",
    )
    try:
        return peft.get_peft_model(model, lora)
    except ValueError as exc:
        raise ConfigError(f"lora_targets {targets}: {exc}") from None


def apply_freeze(model: Any, config: FinetuneConfig) -> Any:
    """Freeze everything but the last `freeze_layers` decoder blocks."""
    layers = decoder_layers(model)
    if config.freeze_layers > len(layers):
        raise ConfigError(
            f"freeze_layers={config.freeze_layers} but the model has only {len(layers)} layers"
        )
    for param in model.parameters():
        param.requires_grad = False
    for layer in list(layers)[-config.freeze_layers :]:
        for param in layer.parameters():
            param.requires_grad = True
    return model


def prepare(model: Any, config: FinetuneConfig) -> Any:
    """Apply the configured method (lora or freeze) to a loaded base model."""
    return apply_lora(model, config) if config.method == "lora" else apply_freeze(model, config)


def count_params(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = total = 0
    for param in model.parameters():
        total += param.numel()
        if param.requires_grad:
            trainable += param.numel()
    return trainable, total
