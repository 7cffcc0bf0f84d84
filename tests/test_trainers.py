"""The exports as the trainers read them: `datasets`, LLaMA-Factory's registry, TRL's SFTTrainer.

`datasets` and TRL install here, so the files go through them as they are; LLaMA-Factory does
not, so its `dataset_info.json` entries are checked against the fields its data/README.md
documents, and the rows against what those entries tell it to read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import datasets
import pytest
from conftest import require_all
from runs import make_instances_run, read_lines

from selfinstruct.stages.export.formats import FORMATS
from selfinstruct.stages.export.stage import export_run

# LLaMA-Factory data/README.md (hiyouga/LLaMA-Factory): the keys of a dataset_info.json entry,
# of its "columns" and of its "tags" (sharegpt only), and the two formattings.
ENTRY_KEYS = {
    "hf_hub_url", "ms_hub_url", "script_url", "file_name", "formatting", "ranking", "subset",
    "folder", "columns", "tags",
}  # fmt: skip
COLUMN_KEYS = {
    "prompt", "query", "response", "history", "messages", "system", "tools", "images", "chosen",
    "rejected", "kto_tag",
}  # fmt: skip
TAG_KEYS = {
    "role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag", "function_tag",
    "system_tag",
}  # fmt: skip
ALPACA_COLUMNS = {"prompt", "query", "response", "system", "history"}
SHAREGPT_COLUMNS = {"messages", "system", "tools"}
TAG_DEFAULTS = {"role_tag": "from", "content_tag": "value", "user_tag": "human"}
TAG_DEFAULTS |= {"assistant_tag": "gpt", "system_tag": "system"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_loads_with_datasets(tmp_path: Path, fmt: str) -> None:
    make_instances_run(tmp_path, hard=True)
    result = export_run(tmp_path, format=fmt, val_ratio=0.25, system_prompt="Be brief.")
    files = {"train": f"{fmt}.jsonl", "validation": f"{fmt}_validation.jsonl"}
    loaded = datasets.load_dataset(
        "json",
        data_files={k: str(tmp_path / v) for k, v in files.items()},
        cache_dir=str(tmp_path / "cache"),
    )
    columns = {
        "alpaca": ["instruction", "input", "output"],
        "sharegpt": ["conversations"],
        "messages": ["messages"],
        "prompt_completion": ["prompt", "completion"],
    }[fmt]
    assert loaded["train"].column_names == [*columns, "hard_case"]
    assert loaded["train"].num_rows == result.stats["train"]
    assert loaded["validation"].num_rows == result.stats["validation"] > 0


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "messages"])
def test_llama_factory_entry_uses_documented_fields_and_fits_the_rows(
    tmp_path: Path, fmt: str
) -> None:
    make_instances_run(tmp_path)
    export_run(tmp_path, format=fmt, val_ratio=0.25, system_prompt="Be brief.")
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert {"alpaca", "alpaca_validation", fmt, f"{fmt}_validation"} == set(info)
    entry = info[fmt]
    assert set(entry) <= ENTRY_KEYS and set(entry["columns"]) <= COLUMN_KEYS
    rows = read_lines(tmp_path / entry["file_name"])
    assert rows
    if entry.get("formatting", "alpaca") == "alpaca":
        assert set(entry["columns"]) <= ALPACA_COLUMNS and "tags" not in entry
        for row in rows:
            assert row[entry["columns"].get("prompt", "instruction")].strip()
            assert row[entry["columns"].get("response", "output")].strip()
            assert isinstance(row[entry["columns"].get("query", "input")], str)
        return
    assert entry["formatting"] == "sharegpt" and set(entry["columns"]) <= SHAREGPT_COLUMNS
    assert set(entry["tags"]) <= TAG_KEYS
    tags = {**TAG_DEFAULTS, **entry["tags"]}
    for row in rows:
        turns = row[entry["columns"].get("messages", "conversations")]
        roles = [t[tags["role_tag"]] for t in turns]
        assert all(isinstance(t[tags["content_tag"]], str) for t in turns)
        if roles[0] == tags["system_tag"]:  # LLaMA-Factory takes a first system turn as system
            roles = roles[1:]
        # then users in odd positions, assistants in even ones, as LLaMA-Factory requires
        assert roles == [tags["user_tag"], tags["assistant_tag"]] * (len(roles) // 2)


def test_no_llama_factory_entry_for_trls_own_format(tmp_path: Path) -> None:
    make_instances_run(tmp_path)
    export_run(tmp_path, format="prompt_completion")
    info = json.loads((tmp_path / "dataset_info.json").read_text(encoding="utf-8"))
    assert set(info) == {"alpaca"} and info["alpaca"]["file_name"] == "alpaca.jsonl"


@pytest.fixture(scope="module")
def sft_model(local_model: str) -> tuple[Any, Any]:
    """The bundled model as plain weights, all but its last layer frozen (a quick CPU step)."""
    try:
        import trl  # noqa: F401
    except ModuleNotFoundError as exc:
        if require_all():
            pytest.fail(f"the TRL tests need trl (pip install -e '.[dev]'): {exc}")
        pytest.skip(str(exc))
    from selfinstruct.finetune.model import as_plain_weights
    from selfinstruct.llm.model_files import load_causal_lm, load_tokenizer

    model = as_plain_weights(load_causal_lm(None))
    for param in model.parameters():
        param.requires_grad = False
    for param in model.model.layers[-1].parameters():
        param.requires_grad = True
    return model, load_tokenizer(None)


def sft_step(tmp_path: Path, fmt: str, model: Any, tokenizer: Any) -> Any:
    """One SFTTrainer step on the exported `{fmt}.jsonl`, loaded as it is."""
    from trl import SFTConfig, SFTTrainer

    make_instances_run(tmp_path, hard=True)
    export_run(tmp_path, format=fmt, system_prompt="Be brief.")
    data = datasets.load_dataset(
        "json",
        data_files=str(tmp_path / f"{fmt}.jsonl"),
        split="train",
        cache_dir=str(tmp_path / "cache"),
    )
    args = SFTConfig(
        output_dir=str(tmp_path / "sft"), max_steps=1, per_device_train_batch_size=2,
        max_length=128, use_cpu=True, report_to="none", save_strategy="no", logging_steps=1,
        disable_tqdm=True, dataloader_num_workers=0,
        bf16=False, gradient_checkpointing=False,  # TRL's defaults, 4x slower on a CPU
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    out = trainer.train()
    assert out.global_step == 1 and math.isfinite(out.training_loss)
    return trainer


@pytest.mark.model
@pytest.mark.slow
def test_trl_sft_step_on_messages(tmp_path: Path, sft_model: tuple[Any, Any]) -> None:
    trainer = sft_step(tmp_path, "messages", *sft_model)
    assert trainer.train_dataset.num_rows == 7


@pytest.mark.model
@pytest.mark.slow
def test_trl_sft_step_on_prompt_completion_trains_the_reply_only(
    tmp_path: Path, sft_model: tuple[Any, Any]
) -> None:
    model, tokenizer = sft_model
    trainer = sft_step(tmp_path, "prompt_completion", model, tokenizer)
    ds = trainer.train_dataset
    assert ds.num_rows == 7
    square = next(i for i, r in enumerate(ds["prompt"]) if r[1]["content"].endswith("\n\n3"))
    row = ds[square]
    mask = row.get("completion_mask") or [int(x != -100) for x in row["labels"]]
    trained = [t for t, m in zip(row["input_ids"], mask, strict=True) if m]
    assert 0 < len(trained) < len(row["input_ids"])  # the prompt is not trained on
    assert "9" in tokenizer.decode(trained) and "Square" not in tokenizer.decode(trained)
