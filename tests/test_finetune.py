"""LoRA finetuning on the bundled SmolLM2 (CPU): one short shared run, then what it saved.

The model tests share one trained run (module fixture): 32 small examples, 6 steps. Its merged
copy (a plain HF directory, quick to load) is the base of the freeze and resume runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import require_all

from selfinstruct.cli import main
from selfinstruct.errors import ConfigError, DataError
from selfinstruct.finetune import FinetuneConfig

WORDS = [
    "apple", "river", "stone", "cloud", "tiger", "lemon", "piano", "candle",
    "forest", "rocket", "garden", "mirror", "pencil", "bridge", "castle", "dragon",
]  # fmt: skip


def examples(n: int = 32) -> list[dict[str, str]]:
    """Small Alpaca rows with one learnable pattern (repeat a word three times, upper case)."""
    rows = []
    for i in range(n):
        word = WORDS[i % len(WORDS)]
        if i % 2:
            rows.append(
                {
                    "instruction": "Shout this word three times.",
                    "input": word,
                    "output": f"{word.upper()} {word.upper()} {word.upper()}",
                }
            )
        else:
            rows.append(
                {
                    "instruction": f"Shout the word {word} three times.",
                    "input": "",
                    "output": f"{word.upper()} {word.upper()} {word.upper()}",
                }
            )
    return rows


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _ready() -> None:
    """Skip (or fail in CI) when torch, transformers, peft or the bundled model is missing."""
    try:
        import peft  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401

        from selfinstruct.llm.model_files import bundled_model_path

        bundled_model_path()
    except Exception as exc:
        if require_all():
            pytest.fail(f"finetune tests need torch, transformers, peft and the model: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    _ready()
    from selfinstruct.llm.model_files import load_tokenizer

    return load_tokenizer(None)


@pytest.fixture(scope="module")
def data_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "alpaca.jsonl", examples())


TRAIN_OPTIONS = dict(
    max_steps=6, batch_size=4, grad_accum=1, lr=3e-3, warmup=0, max_length=64,
    save_steps=3, logging_steps=1, system_prompt="Be brief.", progress=False,
)  # fmt: skip


@pytest.fixture(scope="module")
def trained(data_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    _ready()
    from selfinstruct.finetune import train

    return train(data_file, None, tmp_path_factory.mktemp("lora"), **TRAIN_OPTIONS)


def batch_of(rows: list[dict[str, list[int]]], pad_id: int) -> dict[str, Any]:
    from selfinstruct.finetune.data import Collator

    return Collator(pad_id)(rows)


def loss_on(model: Any, batch: dict[str, Any]) -> float:
    import torch

    with torch.no_grad():
        return float(model(**batch).loss)


# --- data: no model weights needed -------------------------------------------------------------


def test_prompt_tokens_are_masked_in_a_real_batch(tokenizer: Any, data_file: Path) -> None:
    from selfinstruct.finetune.data import IGNORE
    from selfinstruct.finetune.training import prepare_data

    config = FinetuneConfig(max_length=64, system_prompt="Be brief.")
    prepared = prepare_data(data_file, tokenizer, config)
    rows = prepared.train[:4]
    batch = batch_of(rows, tokenizer.pad_token_id)
    for i, row in enumerate(examples()[:4]):
        ids, labels, mask = (
            batch[k][i].tolist() for k in ("input_ids", "labels", "attention_mask")
        )
        n = sum(mask)
        assert all(label == IGNORE for label in labels[n:])  # padding never counts
        first = next(j for j, label in enumerate(labels) if label != IGNORE)
        prompt = tokenizer.decode(ids[:first])
        assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
        assert prompt.endswith("<|im_start|>assistant\n") and row["instruction"] in prompt
        target = tokenizer.decode([t for t in labels if t != IGNORE])
        assert target == row["output"] + "<|im_end|>\n"
        assert labels[first:n] == ids[first:n]  # the whole reply counts, nothing after it
    assert prepared.stats.examples == 32 and prepared.stats.truncated == 0


def test_plain_template_and_packing(tokenizer: Any, data_file: Path) -> None:
    from selfinstruct.finetune.data import IGNORE
    from selfinstruct.finetune.training import prepare_data

    config = FinetuneConfig(max_length=128, template="plain", packing=True)
    prepared = prepare_data(data_file, tokenizer, config)
    assert len(prepared.train) < 32  # several examples per row
    assert all(len(r["input_ids"]) <= 128 for r in prepared.train)
    replies = sum(
        1
        for r in prepared.train
        for a, b in zip(r["labels"][:-1], r["labels"][1:], strict=True)
        if a == IGNORE != b
    )
    assert replies == 32  # every example's reply survived packing, none split
    text = tokenizer.decode(prepared.train[0]["input_ids"])
    assert "### Request\n" in text and "### Reply\n" in text and "<|im_start|>" not in text


def test_validation_split_is_seeded(tokenizer: Any, data_file: Path) -> None:
    from selfinstruct.finetune.training import prepare_data

    config = FinetuneConfig(max_length=64, val_ratio=0.25)
    a, b = prepare_data(data_file, tokenizer, config), prepare_data(data_file, tokenizer, config)
    assert (len(a.train), len(a.val)) == (24, 8)
    assert a.val == b.val


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    from selfinstruct.finetune.data import load_conversations

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="empty"):
        load_conversations(empty)


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ({"instruction": "Say hi.", "input": ""}, "output"),
        ({"instruction": "", "output": "hi"}, "instruction"),
        ({"instruction": "Say hi.", "input": 3, "output": "hi"}, "input"),
        (
            {"messages": [{"role": "user", "content": "x"}, {"role": "bot", "content": "y"}]},
            "messages[1].role",
        ),
        ({"messages": [{"role": "user", "content": "x"}]}, "messages"),
        (
            {"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": 1}]},
            "conversations[1].value",
        ),
    ],
)
def test_wrong_fields_name_file_line_and_field(tmp_path: Path, row: dict, field: str) -> None:
    from selfinstruct.finetune.data import load_conversations

    path = write_jsonl(tmp_path / "bad.jsonl", [examples(1)[0], row])
    with pytest.raises(DataError) as info:
        load_conversations(path)
    assert str(info.value).startswith(f"{path}:2: field '{field}'")


def test_messages_and_sharegpt_rows_train_every_reply(tokenizer: Any, tmp_path: Path) -> None:
    from selfinstruct.finetune.data import IGNORE, Renderer, encode, load_conversations

    rows = [
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
                      {"role": "user", "content": "Bye"}, {"role": "assistant", "content": "Ciao"}]},
        {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]},
    ]  # fmt: skip
    convs = load_conversations(write_jsonl(tmp_path / "chat.jsonl", rows))
    first, second = encode(convs, Renderer(tokenizer), 128)
    trained = tokenizer.decode([t for t in first.labels if t != IGNORE])
    assert trained == "Hello<|im_end|>\nCiao<|im_end|>\n"
    assert tokenizer.decode([t for t in second.labels if t != IGNORE]) == "Yo<|im_end|>\n"


def test_long_examples_are_truncated_and_counted(tokenizer: Any, tmp_path: Path) -> None:
    from selfinstruct.finetune.training import prepare_data

    rows = examples(4) + [{"instruction": "Count.", "output": " ".join(["one"] * 200)}] * 2
    prepared = prepare_data(
        write_jsonl(tmp_path / "long.jsonl", rows),
        tokenizer,
        FinetuneConfig(max_length=48, system_prompt="Be brief."),
    )
    assert prepared.stats.truncated == 2 and prepared.stats.examples == 6
    assert max(len(r["input_ids"]) for r in prepared.train) == 48


def test_everything_truncated_away_is_an_error_not_an_empty_run(tmp_path: Path) -> None:
    _ready()
    from selfinstruct.finetune import train

    rows = [{"instruction": "Read this. " + "word " * 100, "output": "ok"}] * 3
    path = write_jsonl(tmp_path / "long_prompts.jsonl", rows)
    with pytest.raises(DataError, match="all 3 examples would train on nothing"):
        train(path, None, tmp_path / "out", max_length=32)
    assert not (tmp_path / "out").exists()  # failed before any model or output


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    from selfinstruct.finetune import make_config

    with pytest.raises(ConfigError, match="lora_r"):
        make_config({"lora_r": 0})
    with pytest.raises(ConfigError, match="merge"):
        make_config({"method": "freeze", "merge": True})


def test_quantize_without_a_gpu_is_a_clear_error_before_any_work(tmp_path: Path, capsys) -> None:
    """QLoRA needs CUDA and bitsandbytes: on this CPU-only path it fails at once, in one line."""
    import torch

    if torch.cuda.is_available():  # the GPU path is exercised by benchmarks/finetune.py --gpu
        pytest.skip("a GPU is present: quantize would run")
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "Say hi.", "output": "Hi."}])
    argv = ["finetune", "--data", str(data), "--output", str(tmp_path / "o"), "--quantize", "4bit"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "needs a CUDA GPU" in err and "--quantize" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(ConfigError, match="method='lora'"):
        from selfinstruct.finetune import make_config

        make_config({"method": "freeze", "quantize": "4bit"})


def test_cli_reports_data_errors_and_unknown_config_keys(tmp_path: Path, capsys) -> None:
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"instruction": "x"}])
    assert main(["finetune", "--data", str(bad), "--output", str(tmp_path / "o")]) == 2
    assert f"{bad}:1: field 'output'" in capsys.readouterr().err
    config = tmp_path / "ft.toml"
    config.write_text('data = "x.jsonl"\nlora_rank = 8\n', encoding="utf-8")
    assert main(["finetune", "--config", str(config), "--output", str(tmp_path / "o")]) == 2
    assert "lora_rank" in capsys.readouterr().err


def test_import_does_not_load_torch() -> None:
    code = (
        "import sys, selfinstruct, selfinstruct.finetune, selfinstruct.cli.finetune\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- training on the bundled model ---------------------------------------------------------------


@pytest.mark.model
def test_training_loss_falls_and_only_adapter_trains(
    trained: Any, tokenizer: Any, data_file: Path
) -> None:
    from selfinstruct.finetune.training import prepare_data

    model, summary = trained.model, trained.summary
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert summary["trainable_params"] == sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    assert 0 < summary["trainable_share"] < 0.05
    # every linear projection of attention and MLP carries an adapter
    targets = set(model.peft_config["default"].target_modules)
    assert targets == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

    config = FinetuneConfig(max_length=64, system_prompt="Be brief.")
    prepared = prepare_data(data_file, tokenizer, config)
    batch = batch_of(prepared.train[:8], tokenizer.pad_token_id)
    after = loss_on(model, batch)
    with model.disable_adapter():
        before = loss_on(model, batch)
    assert after < 0.6 * before, (before, after)
    assert summary["steps"] == 6 and summary["tokens_seen"] > 0 and summary["examples"] == 32
    for key in ("seconds", "tokens_per_second", "peak_memory_mb"):
        assert summary[key] > 0


@pytest.mark.model
def test_output_dir_holds_adapter_tokenizer_config_and_checkpoints(trained: Any) -> None:
    out = trained.output_dir
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json"):
        assert (out / name).is_file(), name
    record = json.loads((out / "finetune_config.json").read_text())
    assert record["config"]["lora_r"] == 16 and record["config"]["lora_alpha"] == 32
    assert record["base_model"] == "bundled"
    assert json.loads((out / "summary.json").read_text())["steps"] == 6
    assert (out / "checkpoint-3").is_dir() and (out / "checkpoint-6").is_dir()


def sample_ids(tokenizer: Any) -> Any:
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Shout the word apple three times."}]  # fmt: skip
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]


def logits_of(model: Any, ids: Any) -> Any:
    import torch

    with torch.no_grad():
        return model(input_ids=ids).logits


@pytest.mark.model
def test_saved_adapter_loads_in_transformers_backend(trained: Any, tokenizer: Any) -> None:
    import torch

    from selfinstruct.llm.base import GenerationParams
    from selfinstruct.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(adapter=str(trained.output_dir), device="cpu")
    ids = sample_ids(tokenizer)
    torch.testing.assert_close(
        logits_of(backend.model, ids), logits_of(trained.model, ids), atol=1e-4, rtol=1e-4
    )
    prompt = [{"role": "system", "content": "Be brief."},
              {"role": "user", "content": "Shout the word apple three times."}]  # fmt: skip
    (reply,) = backend.generate([prompt], GenerationParams(max_tokens=8, temperature=0.0))
    assert reply.completion_tokens > 0
    assert "APPLE" in reply.text  # the adapter's learned behaviour, not the base model's


@pytest.fixture(scope="module")
def merged_dir(trained: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained run merged (as train(merge=True) does) into a plain HF directory."""
    import copy

    from selfinstruct.finetune.training import save_merged

    target = tmp_path_factory.mktemp("merged")
    save_merged(copy.deepcopy(trained.model), trained.tokenizer, target)
    return target


@pytest.mark.model
def test_merged_model_matches_base_plus_adapter(trained: Any, merged_dir: Path, tokenizer) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    merged = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32)
    ids = sample_ids(tokenizer)
    torch.testing.assert_close(
        logits_of(merged, ids), logits_of(trained.model, ids), atol=2e-3, rtol=1e-3
    )
    assert (merged_dir / "tokenizer_config.json").is_file()
    assert "quantization_config" not in json.loads((merged_dir / "config.json").read_text())


@pytest.mark.model
def test_merged_directory_is_a_model_the_backend_generates_with(merged_dir: Path) -> None:
    """TransformersBackend takes a local HF directory, and the merged model kept the behaviour."""
    from selfinstruct.llm.base import GenerationParams
    from selfinstruct.llm.transformers_backend import TransformersBackend

    backend = TransformersBackend(model=str(merged_dir), device="cpu")
    assert backend.info.model == str(merged_dir) and backend.info.chat
    prompt = [{"role": "system", "content": "Be brief."},
              {"role": "user", "content": "Shout the word apple three times."}]  # fmt: skip
    (reply,) = backend.generate([prompt], GenerationParams(max_tokens=8, temperature=0.0))
    assert "APPLE" in reply.text


@pytest.fixture(scope="module")
def frozen(merged_dir: Path, data_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One step of method="freeze" on the merged model (a local HF directory)."""
    from selfinstruct.finetune import train

    options = dict(TRAIN_OPTIONS, max_steps=1, save_steps=1, max_length=48, lr=1e-3)
    out = tmp_path_factory.mktemp("freeze")
    return train(data_file, str(merged_dir), out, method="freeze", freeze_layers=2, **options)


@pytest.mark.model
def test_freeze_trains_only_the_last_layers(frozen: Any, merged_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    names = [n for n, p in frozen.model.named_parameters() if p.requires_grad]
    layers = {n.split(".layers.")[1].split(".")[0] for n in names}
    assert layers == {"28", "29"} and all(".layers." in n for n in names)
    base = AutoModelForCausalLM.from_pretrained(merged_dir, dtype=torch.float32).state_dict()
    after = frozen.model.state_dict()
    for name in ("model.layers.0.mlp.up_proj.weight", "model.embed_tokens.weight"):
        assert torch.equal(after[name], base[name]), name
    key = "model.layers.29.mlp.up_proj.weight"
    assert not torch.equal(after[key], base[key])
    assert (frozen.output_dir / "model.safetensors").is_file()  # freeze saves the full model


@pytest.mark.model
def test_resume_continues_from_the_last_checkpoint(
    frozen: Any, merged_dir: Path, data_file
) -> None:
    from selfinstruct.finetune import train

    options = dict(TRAIN_OPTIONS, max_steps=2, save_steps=1, max_length=48, lr=1e-3)
    result = train(
        data_file, str(merged_dir), frozen.output_dir, method="freeze", resume=True, **options
    )
    assert result.summary["steps"] == 2
    assert result.summary["resumed_from"].endswith("checkpoint-1")
    assert result.summary["steps_run"] == 1  # only the step after checkpoint-1 ran


@pytest.mark.model
def test_runs_data_parallel_under_torchrun_on_cpu(data_file: Path, tmp_path: Path) -> None:
    """Two processes (DDP over gloo on CPU), as on GPUs: eval loss on a validation split, one
    adapter saved, one report printed."""
    import subprocess
    import sys

    _ready()
    out = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "-m", "selfinstruct.cli", "finetune", "--data", str(data_file), "--output", str(out),
        "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1", "--max-length", "64",
        "--save-steps", "2", "--val-ratio", "0.25", "--no-progress",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    assert summary["val_examples"] == 8 and summary["eval_loss"] > 0  # eval loss on the split
    assert (out / "adapter_model.safetensors").is_file()
    assert done.stdout.count("saved to") == 1
