"""RunConfig: one model behind the flags, config files, keyword arguments; and the one code path."""

from __future__ import annotations

import ast
import json
import types
import typing
from pathlib import Path

import pytest
from scripted import respond, scripted_server

import selfinstruct
from selfinstruct import ConfigError, RunConfig
from selfinstruct.cli import build_parser, main
from selfinstruct.config import SECTIONS, flat_options, option_meta
from selfinstruct.testing.openai_stub import StubServer

SRC = Path(selfinstruct.__file__).parent


def all_fields() -> list[tuple[type, str]]:
    out = [(RunConfig, n) for n in RunConfig.model_fields if n not in SECTIONS]
    for section in SECTIONS:
        model = RunConfig.model_fields[section].annotation
        out += [(model, n) for n in model.model_fields]
    return out


def test_every_option_is_written_once_with_help_and_a_round_trippable_default() -> None:
    flags = [option_meta(model, name)["flag"] for model, name in all_fields()]
    assert len(flags) == len(set(flags)) == len(flat_options())
    for model, name in all_fields():
        info = model.model_fields[name]
        assert info.description, name
        args = typing.get_args(info.annotation)
        optional = typing.get_origin(info.annotation) in (typing.Union, types.UnionType) and (
            type(None) in args
        )
        # TOML has no null: an option that may be None must default to None to round-trip.
        assert not optional or info.default is None, name


def test_every_option_is_a_flag_of_run_with_its_default_in_help(capsys) -> None:
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for model, name in all_fields():
        if model is RunConfig and name == "out":
            continue
        assert "--" + option_meta(model, name)["flag"] in text, name
    assert "--instance-max-tokens N max tokens per instance response (default: 320)" in text


def test_dump_config_reads_back_unchanged(tmp_path: Path, capsys) -> None:
    argv = ["run", "--out", str(tmp_path / "o"), "--num-instructions", "7", "--blacklist",
            "image,graph", "--base-url", "http://a/v1,http://b/v1", "--language", "zh",
            "--val-ratio", "0.25", "--system-prompt", 'Say "hi"\nthen go', "--no-chat",
            "--instance-max-tokens", "200", "--dump-config"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    config = RunConfig.from_file(path)
    assert config.bootstrap.num_instructions == 7 and config.instances.max_tokens == 200
    assert config.backend.base_url == ["http://a/v1", "http://b/v1"]
    assert config.export.system_prompt == 'Say "hi"\nthen go' and config.backend.chat is False
    assert config.to_toml() == text
    assert main(["run", "--config", str(path), "--dump-config"]) == 0
    assert capsys.readouterr().out == text


def test_flat_keyword_options_and_sections_agree(tmp_path: Path) -> None:
    flat = RunConfig().updated(num_instructions=3, instance_max_tokens=99, base_url="http://x/v1")
    nested = RunConfig(
        bootstrap={"num_instructions": 3}, instances={"max_tokens": 99},
        backend={"base_url": ["http://x/v1"]},
    )  # fmt: skip
    assert flat == nested
    with pytest.raises(ConfigError, match="unknown option 'num_instruction'"):
        RunConfig().updated(num_instruction=3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[bootstrap]\nthresh = 0.5\n", ["unknown key 'thresh' in [bootstrap]", "threshold"]),
        ("num-instrucions = 5\n", ["unknown key 'num_instrucions'", "num_instructions"]),
        ("[bootstrap]\nthreshold = 'high'\n", ["bootstrap.threshold", '"high"', "a number > 0"]),
        ("[export]\nformat = 'csv'\n", ["export.format", "one of: alpaca, sharegpt, messages"]),
        ("concurrency = 0\n", ["backend.concurrency", "an integer >= 1"]),
        ("progress = 'maybe'\n", ["progress", "true or false"]),
    ],
)
def test_config_file_errors_name_file_key_and_allowed_values(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        RunConfig.from_file(path)
    message = str(err.value)
    assert str(path) in message and "\n" not in message
    for part in expected:
        assert part in message


def test_a_bad_file_value_is_an_error_even_when_the_flag_is_given(tmp_path: Path, capsys) -> None:
    path = tmp_path / "run.toml"
    path.write_text(f"out = '{tmp_path}'\n[bootstrap]\nthreshold = 'high'\n", encoding="utf-8")
    assert main(["bootstrap", "--config", str(path), "--threshold", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "bootstrap.threshold" in err and str(path) in err


def test_flags_win_over_the_file_and_the_file_over_defaults(tmp_path: Path) -> None:
    from selfinstruct.cli.options import config_from_args

    path = tmp_path / "run.yaml"
    path.write_text("bootstrap:\n  num_instructions: 9\n  threshold: 0.5\n", encoding="utf-8")
    args = build_parser().parse_args(["run", "--config", str(path), "--threshold", "0.6"])
    config = config_from_args(args)
    assert (config.bootstrap.num_instructions, config.bootstrap.threshold) == (9, 0.6)
    assert config.bootstrap.top_p == 0.5


def test_cli_run_and_library_run_make_byte_identical_directories(tmp_path: Path) -> None:
    with scripted_server() as server:
        path = tmp_path / "run.toml"
        path.write_text(
            f"num-instructions = 6\nprogress = false\nconcurrency = 3\n"
            f"[backend]\nbase_url = ['{server.url}']\n[export]\nval_ratio = 0.3\n",
            encoding="utf-8",
        )
        assert main(["run", "--config", str(path), "--out", str(tmp_path / "cli")]) == 0
        config = RunConfig.from_file(path).updated(out=tmp_path / "lib")
        result = selfinstruct.run(config)
        assert result.ok and result.bootstrap.accepted == 6
    a, b = tmp_path / "cli", tmp_path / "lib"
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    assert {"machine_instructions.jsonl", "alpaca.jsonl", "alpaca_validation.jsonl"} <= set(names)
    for name in names:
        if name == "usage.jsonl":  # the token ledger also holds wall-clock times
            continue
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert ledger_tokens(a) == ledger_tokens(b) and ledger_tokens(a)["bootstrap"] > 0


def ledger_tokens(out: Path) -> dict[str, int]:
    totals: dict[str, int] = {}
    for line in (out / "usage.jsonl").read_text().splitlines():
        row = json.loads(line)
        totals[row["stage"]] = totals.get(row["stage"], 0) + row["prompt_tokens"]
    return totals


# ------------------------------------------------------- the behaviour after a short bootstrap


def stalled_server() -> StubServer:
    """Bootstrap answers that are all rejected; the other stages answer like `respond`."""

    def reply(text: str, body: dict) -> str:
        prompt = body.get("messages") or body["prompt"]
        if "Classification task" in text or "Example" in text:
            return respond(prompt, None)
        return "9. Draw a map of the city."

    return StubServer(reply=reply)


def test_nothing_accepted_fails_through_both_entry_points(tmp_path: Path, capsys) -> None:
    with stalled_server() as server:
        common = ["--num-instructions", "3", "--patience", "4", "--no-progress"]
        argv = ["run", "--out", str(tmp_path / "cli"), "--base-url", server.url, *common]
        assert main(argv) == 1
        printed = capsys.readouterr().out
        assert "stalled" in printed and "warning: bootstrap stopped early" in printed
        result = selfinstruct.run(
            "en", tmp_path / "lib", 3, base_url=server.url, patience=4, progress=False
        )
    assert not result.ok and result.bootstrap.stopped == "stalled"
    assert result.warnings and "no data" in result.warnings[0]
    assert result.export.stats["examples"] == 0


def test_some_accepted_goes_on_through_both_entry_points(tmp_path: Path, capsys) -> None:
    calls = {"n": 0}

    def reply(text: str, body: dict) -> str:
        prompt = body.get("messages") or body["prompt"]
        if "Classification task" in text or "Example" in text:
            return respond(prompt, None)
        calls["n"] += 1
        return respond(prompt, None) if calls["n"] <= 1 else "9. Draw a map of the city."

    with StubServer(reply=reply) as server:
        argv = ["run", "--out", str(tmp_path / "cli"), "--base-url", server.url,
                "--num-instructions", "50", "--patience", "4", "--no-progress",
                "--concurrency", "1"]  # fmt: skip
        assert main(argv) == 0
        printed = capsys.readouterr().out
        assert "warning: bootstrap stopped early (stalled)" in printed
        assert "the later stages use those" in printed
        calls["n"] = 0
        result = selfinstruct.run(
            "en", tmp_path / "lib", 50, base_url=server.url, patience=4, progress=False,
            concurrency=1,
        )  # fmt: skip
    assert result.ok and 0 < result.bootstrap.accepted < 50
    assert result.export.stats["examples"] > 0


# ---------------------------------------------------------------- stages side by side


def _imports(node: ast.AST, module: str) -> list[str]:
    """The modules (and module.name pairs) an import statement of `module` names, absolute."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    base = module.split(".")[: len(module.split(".")) - node.level] if node.level else []
    target = ".".join([*base, node.module] if node.module else base)
    return [target, *(f"{target}.{a.name}" for a in node.names)]


def test_no_module_but_the_pipeline_and_the_cli_imports_a_stage() -> None:
    # a stage (stages/X/) imports no other stage; outside stages/ only the pipeline, the command
    # line and the public facade import a stage's entry module (stages/X/stage.py)
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.parts[0] == "cli" or rel.name == "pipeline.py" or str(rel) == "__init__.py":
            continue
        module = ".".join(("selfinstruct", *rel.with_suffix("").parts))
        own = rel.parts[1] if rel.parts[0] == "stages" and len(rel.parts) > 2 else None
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for target in _imports(node, module):
                parts = target.split(".")
                if parts[1:2] != ["stages"] or len(parts) < 3 or parts[2] == own:
                    continue
                if own or parts[3:4] == ["stage"]:
                    offenders.append(f"{rel} imports {target}")
    assert sorted(set(offenders)) == []


def test_a_flag_named_like_a_section_works_at_the_top_level(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text("judge = true\njudge-max-tokens = 16\n", encoding="utf-8")
    config = RunConfig.from_file(path)
    assert config.judge.enabled is True and config.judge.max_tokens == 16
    assert RunConfig().updated(judge=True).judge.enabled is True


def test_the_bootstrap_stage_stays_small() -> None:
    # its scheduler (scheduler.py), pool (pool.py) and books (runner.py) live beside it
    lines = (SRC / "stages/bootstrap/stage.py").read_text(encoding="utf-8").count("\n")
    assert lines < 300, f"bootstrap.py has {lines} lines"


def test_backend_constructors_default_to_the_run_configuration() -> None:
    # OpenAIBackend keeps no defaults of its own: what it is not given comes from BackendConfig
    import inspect

    from selfinstruct.config import BackendConfig
    from selfinstruct.errors import ConfigError

    url = "http://127.0.0.1:9/v1"
    default, changed = BackendConfig(), BackendConfig(concurrency=3, request_timeout=5.0,
        retry_budget=7.0, max_attempts=2, server="vllm", reasoning="off", model="m")  # fmt: skip
    for config in (default, changed):
        backend = selfinstruct.OpenAIBackend(base_url=url, config=config)
        assert (backend.max_concurrency, backend.timeout) == (
            config.concurrency,
            config.request_timeout,
        )
        assert (backend.policy.max_attempts, backend.policy.budget) == (
            config.max_attempts,
            config.retry_budget,
        )
        assert (backend.server, backend.reasoning) == (config.server, config.reasoning)
        assert backend.info.model == (config.model or "")
    given = selfinstruct.OpenAIBackend(base_url=url, max_concurrency=5, config=changed)
    assert given.max_concurrency == 5 and given.timeout == 5.0  # a keyword wins over config
    with pytest.raises(ConfigError, match="max_concurrency must be an integer >= 1"):
        selfinstruct.OpenAIBackend(base_url=url, max_concurrency=0)
    local = inspect.signature(selfinstruct.TransformersBackend).parameters
    assert local["batch_size"].default == config.batch_size
