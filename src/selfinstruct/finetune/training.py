"""`train()`: supervised finetuning of a causal LM on generated data with transformers' Trainer.

Data errors surface before any model loads; the output directory ends up holding the adapter (or
the full model for method="freeze"), the tokenizer, `finetune_config.json`, `summary.json`,
Trainer checkpoints (`checkpoint-N/`, for `resume`), and `merged/` when `merge` is set.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..llm.model_files import load_causal_lm, load_tokenizer, require
from ..runtime.jsonl import write_json_atomic
from . import data as D
from .config import FinetuneConfig, make_config
from .model import (
    Precision,
    as_plain_weights,
    choose_precision,
    count_params,
    prepare,
    prepare_quantized,
    quantization,
)

log = logging.getLogger(__name__)

CONFIG_FILE = "finetune_config.json"
SUMMARY_FILE = "summary.json"
MERGED_DIR = "merged"


@dataclass
class Prepared:
    """Tokenised train/validation rows and what encoding counted."""

    train: list[dict[str, list[int]]]
    val: list[dict[str, list[int]]]
    stats: D.EncodeStats
    val_stats: D.EncodeStats


@dataclass
class FinetuneResult:
    """What `train()` produced: where it saved, its summary, and the in-memory model."""

    output_dir: Path
    summary: dict[str, Any]
    model: Any
    tokenizer: Any


def data_path(data: str | Path) -> Path:
    """A JSONL file, or a run directory whose `alpaca.jsonl` is used."""
    path = Path(data)
    return path / "alpaca.jsonl" if path.is_dir() else path


def read_data(
    data: str | Path, config: FinetuneConfig, val_data: str | Path | None = None
) -> tuple[list[D.Conversation], list[D.Conversation]]:
    """Read and split the training data (no tokenizer needed: bad files fail fast)."""
    conversations = D.load_conversations(data_path(data))
    if val_data is not None:
        return conversations, D.load_conversations(data_path(val_data))
    return D.split(conversations, config.val_ratio, config.seed)


def encode_data(
    split: tuple[list[D.Conversation], list[D.Conversation]],
    tokenizer: Any,
    config: FinetuneConfig,
) -> Prepared:
    """Render, mask, truncate and (optionally) pack train and validation conversations."""
    train_convs, val_convs = split
    renderer = D.Renderer(tokenizer, config.template, config.system_prompt)
    stats, val_stats = D.EncodeStats(), D.EncodeStats()
    train = D.encode(train_convs, renderer, config.max_length, stats)
    val = D.encode(val_convs, renderer, config.max_length, val_stats)
    if not train:
        raise DataError(
            train_convs[0].source.rsplit(":", 1)[0], None, None,
            f"all {len(train_convs)} examples would train on nothing "
            f"(dropped: {stats.dropped}): raise max_length (now {config.max_length}) "
            "or shorten the prompts",
        )  # fmt: skip
    if config.packing:
        train, val = D.pack(train, config.max_length), D.pack(val, config.max_length)
    return Prepared(D.as_rows(train), D.as_rows(val), stats, val_stats)


def prepare_data(
    data: str | Path, tokenizer: Any, config: FinetuneConfig, val_data: str | Path | None = None
) -> Prepared:
    """Read, split, render, mask, truncate and (optionally) pack the training data."""
    return encode_data(read_data(data, config, val_data), tokenizer, config)


def training_arguments(
    config: FinetuneConfig, output_dir: Path, precision: Precision, has_val: bool
) -> Any:
    """transformers.TrainingArguments for this config."""
    transformers = require("transformers", "transformers", "finetuning", "finetune")
    torch = require("torch", "torch", "finetuning", "finetune")
    return transformers.TrainingArguments(
        output_dir=str(output_dir),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup,
        weight_decay=config.weight_decay,
        bf16=precision.bf16,
        fp16=precision.fp16,
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        train_sampling_strategy="group_by_length" if config.group_by_length else "random",
        logging_steps=config.logging_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        eval_strategy="steps" if has_val else "no",
        eval_steps=config.save_steps if has_val else None,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=not config.progress,
        remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(),
        # without a GPU, say so: under torchrun that makes DDP run over gloo on CPU processes
        use_cpu=not torch.cuda.is_available(),
        deepspeed=config.deepspeed,
        seed=config.seed,
    )


def train(
    data: str | Path,
    model: str | None = None,
    output_dir: str | Path = "finetuned",
    *,
    val_data: str | Path | None = None,
    **options: Any,
) -> FinetuneResult:
    """Finetune `model` (default: the bundled SmolLM2) on `data` and save the result.

    `options` are the fields of FinetuneConfig (method, lora_r, epochs, max_steps, merge, ...).
    """
    config = make_config(options)
    transformers = require("transformers", "transformers", "finetuning", "finetune")
    out = Path(output_dir)
    conversations = read_data(data, config, val_data)
    precision = choose_precision(config.precision)
    quantized = quantization(config, precision)  # fails clearly before any work without a GPU
    tokenizer = load_tokenizer(model)
    tokenizer.padding_side = "right"
    prepared = encode_data(conversations, tokenizer, config)

    transformers.set_seed(config.seed)
    lm = as_plain_weights(load_causal_lm(model, dtype=precision.dtype, **quantized))
    lm.config.use_cache = False
    lm = prepare(prepare_quantized(lm, config), config)
    trainable, total = count_params(lm)

    multiple = 8 if precision.name != "fp32" else None
    trainer = transformers.Trainer(
        model=lm,
        args=training_arguments(config, out, precision, bool(prepared.val)),
        train_dataset=prepared.train,
        eval_dataset=prepared.val or None,
        data_collator=D.Collator(tokenizer.pad_token_id, multiple),
        processing_class=tokenizer,
    )
    resume = _resume_point(config.resume, out)
    _reset_peak_memory()
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    elapsed = time.perf_counter() - started
    metrics = _final_eval(trainer) if prepared.val else {}

    trainer.save_model(str(out))
    summary = _summary(trainer, prepared, result, metrics, trainable, total, elapsed, precision)
    summary["resumed_from"] = resume
    summary["steps_run"] = summary["steps"] - _checkpoint_step(resume)
    if config.merge and trainer.is_world_process_zero():
        lm = save_merged(lm, tokenizer, out / MERGED_DIR)
        summary["merged_dir"] = str(out / MERGED_DIR)
    if trainer.is_world_process_zero():
        record = {
            "base_model": model or "bundled",
            "data": str(data_path(data)),
            "val_data": str(val_data) if val_data else None,
            "config": config.model_dump(),
        }
        write_json_atomic(out / CONFIG_FILE, record)
        write_json_atomic(out / SUMMARY_FILE, summary)
    lm.eval()
    return FinetuneResult(out, summary, lm, tokenizer)


def _final_eval(trainer: Any) -> dict[str, float]:
    """Eval metrics at the last step: the ones logged there, else a fresh evaluation."""
    for row in reversed(trainer.state.log_history):
        if "eval_loss" in row and row.get("step") == trainer.state.global_step:
            return row
    return trainer.evaluate()


def save_merged(peft_model: Any, tokenizer: Any, target: Path) -> Any:
    """Fold the LoRA weights into the base and save a plain HF model directory; returns it."""
    merged = peft_model.merge_and_unload()
    merged.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    return merged


def _checkpoint_step(checkpoint: str | None) -> int:
    """The step a checkpoint directory (checkpoint-N) was saved at; 0 for a fresh run."""
    if not checkpoint:
        return 0
    try:
        return int(Path(checkpoint).name.rsplit("-", 1)[-1])
    except ValueError:
        return 0


def _resume_point(resume: bool | str, out: Path) -> str | None:
    """The checkpoint to resume from: a path, the latest one in `out`, or None (fresh start)."""
    if not resume:
        return None
    if isinstance(resume, str):
        return resume
    from transformers.trainer_utils import get_last_checkpoint

    last = get_last_checkpoint(str(out)) if out.is_dir() else None
    if last is None:
        log.warning("resume: no checkpoint in %s, starting from scratch", out)
    return last


def _reset_peak_memory() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()


def peak_memory_mb() -> float:
    """Peak GPU memory allocated (CUDA), else this process's peak resident set size, in MiB."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _summary(
    trainer: Any,
    prepared: Prepared,
    result: Any,
    metrics: dict[str, float],
    trainable: int,
    total: int,
    elapsed: float,
    precision: Precision,
) -> dict[str, Any]:
    """The run's figures: data counts, tokens, parameters, time, throughput, memory, losses."""
    state = trainer.state
    session_tokens = state.num_input_tokens_seen - getattr(
        trainer, "_initial_num_input_tokens_seen", 0
    )
    losses = [row["loss"] for row in state.log_history if "loss" in row]
    return {
        "examples": prepared.stats.examples,
        "val_examples": prepared.val_stats.examples,
        "rows": len(prepared.train),
        "truncated": prepared.stats.truncated + prepared.val_stats.truncated,
        "dropped": prepared.stats.dropped,
        "tokens_per_epoch": prepared.stats.tokens,
        "response_tokens_per_epoch": prepared.stats.response_tokens,
        "tokens_seen": int(state.num_input_tokens_seen),
        "steps": int(state.global_step),
        "epochs": round(float(state.epoch or 0), 3),
        "processes": int(trainer.args.world_size),
        "trainable_params": trainable,
        "total_params": total,
        "trainable_share": trainable / total if total else 0.0,
        "seconds": round(elapsed, 2),
        "tokens_per_second": round(session_tokens / elapsed, 1) if elapsed > 0 else 0.0,
        "peak_memory_mb": round(peak_memory_mb(), 1),
        "precision": precision.name,
        "train_loss": float(result.training_loss),
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "eval_loss": metrics.get("eval_loss"),
    }


def format_summary(summary: dict[str, Any]) -> str:
    """A few human lines for the end of a run."""
    lines = [
        f"examples: {summary['examples']} train, {summary['val_examples']} validation "
        f"({summary['truncated']} truncated, dropped {summary['dropped'] or 'none'})",
        f"tokens: {summary['tokens_seen']} seen in {summary['steps']} steps "
        f"({summary['epochs']} epochs)",
        f"trainable params: {summary['trainable_params']:,} of {summary['total_params']:,} "
        f"({100 * summary['trainable_share']:.2f}%)",
        f"time: {summary['seconds']} s, {summary['tokens_per_second']} tokens/s, "
        f"peak memory {summary['peak_memory_mb']} MiB ({summary['precision']})",
        f"loss: {_num(summary['first_loss'])} (first logged) -> {_num(summary['last_loss'])} "
        f"(last), mean {_num(summary['train_loss'])}"
        + (f", eval {_num(summary['eval_loss'])}" if summary.get("eval_loss") is not None else ""),
    ]
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
