"""`selfinstruct finetune` options from FinetuneConfig: flags, --config files, --dump-config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from selfinstruct.cli import build_parser, main
from selfinstruct.config.files import read_config_mapping
from selfinstruct.finetune import FinetuneConfig, make_config

# Every flag `selfinstruct finetune` had before its flags were generated (users rely on them).
FLAGS = {
    "--data", "--val-data", "--model", "--output", "--config", "--method", "--lora-r",
    "--lora-alpha", "--lora-dropout", "--lora-targets", "--freeze-layers", "--quantize",
    "--merge", "--template", "--system-prompt", "--max-length", "--packing", "--val-ratio",
    "--epochs", "--max-steps", "--lr", "--batch-size", "--grad-accum", "--warmup", "--precision",
    "--gradient-checkpointing", "--save-steps", "--logging-steps", "--resume", "--deepspeed",
    "--seed", "--progress", "--no-progress", "--json", "--dump-config", "-h", "--help",
}  # fmt: skip


def _finetune_parser() -> Any:
    subparsers = next(a for a in build_parser()._actions if a.choices and "finetune" in a.choices)
    return subparsers.choices["finetune"]


def parse_toml(text: str, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "parsed.toml"
    path.write_text(text, encoding="utf-8")
    return read_config_mapping(path)


def dump(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["finetune", *argv, "--dump-config"]) == 0
    return capsys.readouterr().out


def test_the_flags_are_the_ones_users_know() -> None:
    parser = _finetune_parser()
    assert {s for action in parser._actions for s in action.option_strings} == FLAGS
    switches = {a.option_strings[0]: a.nargs for a in parser._actions if a.option_strings}
    for flag in ("--merge", "--packing", "--gradient-checkpointing", "--json"):
        assert switches[flag] == 0  # a switch that takes no value
    assert switches["--resume"] == "?"


def test_flags_parse_as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def fake_train(data: Any, model: Any, output: Any, **options: Any) -> Any:
        seen.update(data=data, model=model, output=output, **options)
        raise SystemExit(0)

    monkeypatch.setattr("selfinstruct.finetune.train", fake_train)
    argv = ["finetune", "--data", "d.jsonl", "--output", "o", "--lora-targets", "q_proj, v_proj",
            "--resume", "--no-progress", "--merge", "--lr", "1e-4"]  # fmt: skip
    with pytest.raises(SystemExit):
        main(argv)
    assert seen["data"] == "d.jsonl" and seen["output"] == "o" and seen["model"] is None
    assert seen["resume"] is True and seen["progress"] is False and seen["merge"] is True
    assert "epochs" not in seen  # options not given stay train()'s defaults
    config = make_config({k: v for k, v in seen.items() if k in FinetuneConfig.model_fields})
    assert config.lora_targets == ["q_proj", "v_proj"] and config.learning_rate == 1e-4
    with pytest.raises(SystemExit):
        main(["finetune", "--data", "d", "--output", "o", "--resume", "ckpt/checkpoint-4"])
    assert seen["resume"] == "ckpt/checkpoint-4"


def test_dump_config_round_trips_through_config(tmp_path: Path, capsys) -> None:
    text = dump(["--data", "run1", "--output", "out", "--lora-r", "8", "--lora-targets",
                 "q_proj,v_proj", "--resume", "--no-progress"], capsys)  # fmt: skip
    values = parse_toml(text, tmp_path)
    assert values["lora_r"] == 8 and values["lora_targets"] == ["q_proj", "v_proj"]
    assert values["epochs"] == FinetuneConfig().epochs and values["progress"] is False
    assert "lr" not in values  # None (the method's own rate) is left out
    toml_file = tmp_path / "finetune.toml"
    toml_file.write_text(text, encoding="utf-8")
    assert dump(["--config", str(toml_file)], capsys) == text
    yaml_file = tmp_path / "finetune.yaml"
    yaml_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    assert dump(["--config", str(yaml_file)], capsys) == text
    # flags given win over the file; the file's other values stay
    again = parse_toml(dump(["--config", str(toml_file), "--lora-r", "4"], capsys), tmp_path)
    assert again["lora_r"] == 4 and again["lora_targets"] == ["q_proj", "v_proj"]


def test_unknown_key_in_config_names_file_and_key(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ft.toml"
    config.write_text('data = "x.jsonl"\nlearning_rate = 0.001\n', encoding="utf-8")
    assert main(["finetune", "--config", str(config), "--dump-config"]) == 2
    err = capsys.readouterr().err
    assert str(config) in err and "'learning_rate'" in err and "lr" in err


def test_bad_value_names_the_file_or_the_flag(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ft.yaml"
    config.write_text("method: freeze\nlora_dropout: 1.5\n", encoding="utf-8")
    assert main(["finetune", "--config", str(config), "--dump-config"]) == 2
    err = capsys.readouterr().err
    assert f"{config}: lora_dropout = 1.5" in err and "< 1.0" in err
    assert main(["finetune", "--method", "freeze", "--merge", "--dump-config"]) == 2
    assert "merge applies to method='lora'" in capsys.readouterr().err
    assert main(["finetune", "--batch-size", "0", "--dump-config"]) == 2
    assert "--batch-size = 0" in capsys.readouterr().err


def test_fields_without_a_flag_are_set_in_the_file(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ft.toml"
    config.write_text('weight_decay = 0.1\nscheduler = "linear"\n', encoding="utf-8")
    values = parse_toml(dump(["--config", str(config)], capsys), tmp_path)
    assert values["weight_decay"] == 0.1 and values["scheduler"] == "linear"
