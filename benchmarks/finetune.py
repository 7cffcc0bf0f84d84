"""Finetuning throughput: `selfinstruct.finetune.train` vs a plain Trainer + peft, or TRL.

Both sides train the same LoRA (r=16, alpha=32, dropout=0.05 on every linear projection of the
blocks) on the same synthetic Alpaca rows with the same batch size, max length, learning rate,
step count and precision. Each side runs in its own subprocess so that peak memory is its own;
the script prints tokens/s (non-padding tokens through the model per second of `trainer.train()`)
and peak memory (GPU: max allocated; CPU: max resident set) for each, and their ratio.

The baseline is what one writes by hand: chat template, tokenize with truncation, labels = ids
(no prompt masking; masking does not change the compute), `DataCollatorForSeq2Seq`, random order.

    python benchmarks/finetune.py                    # CPU, the bundled SmolLM2-135M, fp32
    python benchmarks/finetune.py --gpu              # CUDA, random ~0.5B Llama, bf16, vs TRL
    python benchmarks/finetune.py --gpu --quantize 4bit   # QLoRA on both sides (bitsandbytes)
    python benchmarks/finetune.py --model random-tiny --steps 3   # quick smoke test of the path
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = {
    # ~0.48B parameters: 16 blocks of width 1536 with grouped-query attention, tied embeddings.
    "random-0.5b": dict(hidden_size=1536, intermediate_size=4096, num_hidden_layers=16,
                        num_attention_heads=12, num_key_value_heads=4),
    "random-tiny": dict(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2),
}  # fmt: skip

WORDS = [
    "river",
    "mountain",
    "window",
    "garden",
    "pencil",
    "orange",
    "silver",
    "winter",
    "market",
    "engine",
    "castle",
    "thunder",
    "library",
    "bicycle",
    "kitchen",
    "planet",
    "violin",
    "harbor",
    "meadow",
    "lantern",
]


def make_rows(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Alpaca rows of varied length (instructions 5-30 words, outputs 10-120 words)."""
    rng = random.Random(seed)

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi)))

    return [
        {"instruction": f"Describe {text(5, 30)}.", "input": "", "output": text(10, 120)}
        for _ in range(n)
    ]


def build_random_model(name: str, target: Path) -> str:
    """Save a Llama of the named size with random weights and the bundled tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from selfinstruct.llm.model_files import load_tokenizer

    tokenizer = load_tokenizer(None)
    config = LlamaConfig(
        vocab_size=len(tokenizer), tie_word_embeddings=True, max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **SIZES[name],
    )  # fmt: skip
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return str(target)


def peak_mb() -> float:
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(spec: dict[str, Any]) -> dict[str, Any]:
    from selfinstruct.finetune import train

    result = train(
        spec["data"], spec["model"], spec["out"] + "/ours",
        max_steps=spec["steps"], batch_size=spec["batch_size"], grad_accum=1, lr=2e-4, warmup=0,
        max_length=spec["max_length"], precision=spec["precision"], save_steps=10**6,
        logging_steps=10**6, progress=False, template="chat",
        quantize=spec.get("quantize", "none"),
    )  # fmt: skip
    s = result.summary
    return {
        "tokens": s["tokens_seen"], "seconds": s["seconds"], "peak_mb": peak_mb(),
        "trainable": s["trainable_params"], "loss": s["train_loss"],
    }  # fmt: skip


def run_baseline(spec: dict[str, Any]) -> dict[str, Any]:
    import peft
    import torch
    import transformers

    from selfinstruct.llm.model_files import load_causal_lm, load_tokenizer

    model_name = None if spec["model"] in (None, "bundled") else spec["model"]
    tok = load_tokenizer(model_name)
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines()]
    feats = []
    for r in rows:
        messages = [{"role": "user", "content": r["instruction"]},
                    {"role": "assistant", "content": r["output"]}]  # fmt: skip
        text = tok.apply_chat_template(messages, tokenize=False)
        ids = tok(text, truncation=True, max_length=spec["max_length"], add_special_tokens=False)
        feats.append({"input_ids": ids["input_ids"], "labels": list(ids["input_ids"])})
    bf16 = spec["precision"] == "bf16"
    dtype = torch.bfloat16 if bf16 else torch.float32
    model = load_causal_lm(model_name, dtype=dtype)
    if getattr(model, "hf_quantizer", None) is not None:  # GGUF: weights are dequantized already
        model.hf_quantizer, model.is_quantized = None, False
    model.config.use_cache = False
    lora = peft.LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, lora_dropout=0.05,
                           target_modules="all-linear")  # fmt: skip
    model = peft.get_peft_model(model, lora)
    args = transformers.TrainingArguments(
        output_dir=spec["out"] + "/baseline", max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"], learning_rate=2e-4, bf16=bf16,
        report_to="none", save_strategy="no", logging_steps=10**6, disable_tqdm=True,
        include_num_input_tokens_seen="non_padding", remove_unused_columns=False,
        dataloader_pin_memory=torch.cuda.is_available(), lr_scheduler_type="cosine",
    )  # fmt: skip
    collator = transformers.DataCollatorForSeq2Seq(tok, padding=True, label_pad_token_id=-100)
    trainer = transformers.Trainer(
        model=model, args=args, train_dataset=feats, data_collator=collator
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - started
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "tokens": int(trainer.state.num_input_tokens_seen), "seconds": seconds,
        "peak_mb": peak_mb(), "trainable": trainable, "loss": float(out.training_loss),
    }  # fmt: skip


def run_trl(spec: dict[str, Any]) -> dict[str, Any]:
    """TRL's SFTTrainer with the same LoRA on the same rows as conversational messages."""
    import datasets
    import peft
    import torch
    import trl

    from selfinstruct.llm.model_files import load_causal_lm, load_tokenizer

    model_name = None if spec["model"] in (None, "bundled") else spec["model"]
    tok = load_tokenizer(model_name)
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines()]
    data = datasets.Dataset.from_list([
        {"messages": [{"role": "user", "content": r["instruction"]},
                      {"role": "assistant", "content": r["output"]}]}
        for r in rows
    ])  # fmt: skip
    bf16 = spec["precision"] == "bf16"
    extra: dict[str, Any] = {}
    if spec.get("quantize") == "4bit":
        import transformers

        extra["quantization_config"] = transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
        )  # fmt: skip
        extra["device_map"] = {"": 0}
    model = load_causal_lm(model_name, dtype=torch.bfloat16 if bf16 else torch.float32, **extra)
    if getattr(model, "hf_quantizer", None) is not None and not extra:  # GGUF: dequantized already
        model.hf_quantizer, model.is_quantized = None, False
    model.config.use_cache = False
    lora = peft.LoraConfig(task_type="CAUSAL_LM", r=16, lora_alpha=32, lora_dropout=0.05,
                           target_modules="all-linear")  # fmt: skip
    args = trl.SFTConfig(
        output_dir=spec["out"] + "/trl", max_steps=spec["steps"],
        per_device_train_batch_size=spec["batch_size"], learning_rate=2e-4, bf16=bf16,
        report_to="none", save_strategy="no", logging_steps=10**6, disable_tqdm=True,
        max_length=spec["max_length"], assistant_only_loss=False, lr_scheduler_type="cosine",
        include_num_input_tokens_seen="non_padding", use_cpu=not torch.cuda.is_available(),
    )  # fmt: skip
    trainer = trl.SFTTrainer(
        model=model, args=args, train_dataset=data, processing_class=tok, peft_config=lora
    )
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    out = trainer.train()
    seconds = time.perf_counter() - started
    trainable = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    return {
        "tokens": int(trainer.state.num_input_tokens_seen), "seconds": seconds,
        "peak_mb": peak_mb(), "trainable": trainable, "loss": float(out.training_loss),
    }  # fmt: skip


def child(side: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one side in a fresh interpreter; returns its JSON result."""
    cmd = [sys.executable, __file__, "--worker", side, "--spec", json.dumps(spec)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{side} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpu", action="store_true", help="CUDA, random ~0.5B Llama, bf16")
    parser.add_argument("--model", help="bundled, random-0.5b, random-tiny, HF id or local dir")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--max-length", type=int)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each side, order alternating"
    )
    parser.add_argument(
        "--baseline", choices=("trainer", "trl"),
        help="what ours is compared with: a hand-written Trainer + peft, or TRL's SFTTrainer "
        "(default: trl with --gpu, else trainer)",
    )  # fmt: skip
    parser.add_argument(
        "--quantize", choices=("none", "4bit"), default="none",
        help="QLoRA on both sides (CUDA + bitsandbytes; fails clearly without a GPU)",
    )  # fmt: skip
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run = {"ours": run_ours, "trainer": run_baseline, "trl": run_trl}[args.worker]
        print(json.dumps(run(json.loads(args.spec))))
        return
    baseline = args.baseline or ("trl" if args.gpu else "trainer")
    import torch

    if (args.gpu or args.quantize != "none") and not torch.cuda.is_available():
        sys.exit("--gpu and --quantize need a CUDA GPU; this machine has none (run without them)")

    model = args.model or ("random-0.5b" if args.gpu else "bundled")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "alpaca.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in make_rows(args.examples)))
        if model in SIZES:
            model = build_random_model(model, Path(tmp) / "model")
        spec = {
            "data": str(data), "out": tmp, "model": None if model == "bundled" else model,
            "steps": args.steps or (30 if args.gpu else 6),
            "batch_size": args.batch_size or (8 if args.gpu else 4),
            "max_length": args.max_length or (512 if args.gpu else 128),
            "precision": "bf16" if args.gpu else "fp32", "quantize": args.quantize,
        }  # fmt: skip
        print(f"model={args.model or model} steps={spec['steps']} batch={spec['batch_size']} "
              f"max_length={spec['max_length']} precision={spec['precision']}")  # fmt: skip
        ratios = []
        for round_ in range(args.rounds):
            order = (baseline, "ours") if round_ % 2 == 0 else ("ours", baseline)
            results = {side: child(side, spec) for side in order}
            for side, r in results.items():
                r["tokens_per_s"] = r["tokens"] / r["seconds"]
                print(f"{side:9s} {r['tokens']:7d} tokens in {r['seconds']:7.2f} s = "
                      f"{r['tokens_per_s']:8.1f} tokens/s, peak {r['peak_mb']:8.0f} MiB, "
                      f"trainable {r['trainable']:,}, loss {r['loss']:.3f}")  # fmt: skip
            ours, base = results["ours"], results[baseline]
            ratios.append(
                (ours["tokens_per_s"] / base["tokens_per_s"], ours["peak_mb"] / base["peak_mb"])
            )
            print(f"round {round_ + 1}: ours/baseline tokens/s {ratios[-1][0]:.2f}, "
                  f"peak memory {ratios[-1][1]:.2f}")  # fmt: skip
    speed = statistics.median(r[0] for r in ratios)
    memory = statistics.median(r[1] for r in ratios)
    print(f"ratio ours/baseline (median of {len(ratios)} rounds, order alternating): "
          f"tokens/s {speed:.2f}, peak memory {memory:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
