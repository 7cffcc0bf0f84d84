"""A whole run against a thinking model, through the CLI: no thinking in the data, unless kept.

The endpoint is the stub playing a reasoning model (`selfinstruct.testing.openai_stub.Thinking`)
that answers every stage (bootstrap, classify, instances, judge) like a cooperative model, after
thinking drafts that would mislead every parser if read as the answer (numbered drafts, a contrary
label, draft instances, low scores). The thinking arrives inline, as a template-opened block, and
in the `reasoning` and `reasoning_content` fields; with `--reasoning keep` it is stored with the
instances and exported, and TRL's SFTTrainer trains on that export. Budgets too small for the
thinking give `reasoning_truncated` in every stage. One test runs the real llama.cpp server.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import datasets
import pytest
from fakes import prompt_text
from scripted import respond

from selfinstruct.cli import main
from selfinstruct.llm.base import Prompt
from selfinstruct.reporting.data import collect
from selfinstruct.stages.classify.stage import CHAT_MAX_TOKENS
from selfinstruct.testing.openai_stub import StubServer, Thinking

MARK = "zorblat"
"""A word that appears in the thinking only: no file of a run may hold it (unless kept)."""


def thoughts(prompt: str) -> str:
    """Drafts that a parser reading the thinking as the answer would take for data."""
    return (
        f"Okay, let me think ({MARK}).\n7. Something like a {MARK} poem about the sea.\n"
        f"8. Maybe a {MARK} arithmetic one.\nInput: {MARK} draft input\nOutput: {MARK} draft\n"
        "No.\nCorrectness: 1\nHelpfulness: 1\nI will now answer."
    )


def answer(prompt: Prompt) -> str:
    """Each stage's answer, as `scripted.respond` gives it; the judge answers 5 and 4."""
    text = prompt_text(prompt).rstrip()
    if "Helpfulness: <1-5>" in text:
        return "Correctness: 5\nHelpfulness: 4"
    return respond(prompt, None)  # type: ignore[arg-type]


def thinking_server(where: str, **kwargs: Any) -> StubServer:
    return StubServer(
        thinking=Thinking(where, text=thoughts, **kwargs),
        reply=lambda _text, body: answer(body.get("messages") or body["prompt"]),
    )


def files_of(out: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()}


def run_cli(url: str, out: Path, *flags: str) -> int:
    argv = ["run", "--backend", "openai", "--base-url", url, "--out", str(out), "--seeds", "en"]
    argv += ["--num-instructions", "6", "--no-progress", "--judge", "--concurrency", "2"]
    return main([*argv, *flags])


@pytest.mark.parametrize("where", ["inline", "open", "reasoning", "reasoning_content"])
def test_no_thinking_enters_a_run(tmp_path: Path, where: str) -> None:
    with thinking_server(where, usage_details=where == "reasoning") as server:
        assert run_cli(server.url, tmp_path, "--model", "Qwen/Qwen3-8B") == 0
    for name, text in files_of(tmp_path).items():
        assert MARK not in text, name
    labels = [json.loads(x) for x in (tmp_path / "classification.jsonl").read_text().split("\n")
              if x]  # fmt: skip
    assert labels and all(
        r["is_classification"] == ("Classify" in r["instruction"]) for r in labels
    )
    assert not any(r["fallback"] for r in labels)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["bootstrap"]["accepted"] == 6 and stats["bootstrap"]["reasoning_truncated"] == 0
    for stage in ("bootstrap", "classify", "instances", "judge"):
        assert stats[stage]["reasoning_tokens"] > 0, stage
    assert stats["judge"]["by_score"]["4"] == stats["judge"]["judged"] > 0
    assert stats["instances"]["kept"] > 0
    requests = json.loads((tmp_path / "run.json").read_text())["requests"]
    assert (
        requests["classify"]["max_tokens"] == CHAT_MAX_TOKENS + 2048
    )  # room for thinking: a Qwen3 model


def test_reasoning_seen_in_bootstrap_makes_room_in_the_later_stages(tmp_path: Path) -> None:
    with thinking_server("reasoning") as server:  # a model whose name says nothing
        assert run_cli(server.url, tmp_path, "--model", "my-model") == 0
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["requests"]["bootstrap"]["max_tokens"] == 1024  # nothing seen yet
    assert run["requests"]["classify"]["max_tokens"] == CHAT_MAX_TOKENS + 2048
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["classify"]["reasoning_truncated"] == stats["classify"]["unparseable"] == 0


def test_budgets_too_small_for_the_thinking_are_named_drops_in_every_stage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = str(tmp_path)
    common = ["--out", out, "--no-progress", "--thinking-tokens", "0", "--model", "my-model"]
    with thinking_server("reasoning") as server, caplog.at_level(logging.WARNING):
        url = ["--base-url", server.url]
        boot = ["bootstrap", "--seeds", "en", "--num-instructions", "4", "--patience", "3"]
        assert main([*boot, *url, *common, "--max-tokens", "16"]) == 1  # stalled: none fit
        assert main([*boot, *url, *common, "--force"]) == 0  # room enough: 4 instructions
        assert main(["classify", *url, *common]) == 0  # 8 tokens: cut off while thinking
        assert main(["instances", *url, *common, "--instance-max-tokens", "16"]) == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    cut = [json.loads(x) for x in (tmp_path / "rejected.jsonl").read_text().splitlines()]
    assert stats["bootstrap"]["reasoning_truncated"] == len(cut) >= 3  # patience 3, in flight
    assert all(r["reason"] == "reasoning_truncated" and r["instruction"] == "" for r in cut)
    assert stats["bootstrap"]["rejected_by_reason"] == {"reasoning_truncated": len(cut)}
    assert stats["classify"]["reasoning_truncated"] == 4 and stats["classify"]["unparseable"] == 0
    assert stats["instances"]["reasoning_truncated"] == 4
    assert stats["instances"]["tasks_dropped"] == {"reasoning_truncated": 4}
    funnel = collect(tmp_path).funnel
    assert funnel.cut_while_thinking == 4 and funnel.unparseable == 0 and funnel.ok
    assert funnel.tasks_dropped == {"reasoning_truncated": 4}
    said = [r.getMessage() for r in caplog.records if "reasoning_truncated" in r.getMessage()]
    assert len(said) == 3  # once per stage invocation that cut some off
    assert "--max-tokens" in said[0] and "--thinking-tokens (now 0)" in said[1]
    assert "--instance-max-tokens" in said[2]
    for name, text in files_of(tmp_path).items():
        assert MARK not in text, name


def test_judge_budget_too_small_is_a_named_drop(tmp_path: Path) -> None:
    with thinking_server("inline") as server:
        assert run_cli(server.url, tmp_path, "--model", "my-model", "--thinking-tokens", "0",
                       "--judge-max-tokens", "8") == 0  # fmt: skip
    judge = json.loads((tmp_path / "stats.json").read_text())["judge"]
    assert judge["reasoning_truncated"] == judge["judged"] > 0 and judge["unparseable"] == 0
    lines = (tmp_path / "judgements.jsonl").read_text().splitlines()
    assert all(json.loads(x)["reasoning_truncated"] for x in lines)
    assert collect(tmp_path).funnel.judge_scores == {"reasoning_truncated": len(lines)}


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "prompt_completion"])
def test_keep_stores_and_exports_the_instances_reasoning(tmp_path: Path, fmt: str) -> None:
    with thinking_server("reasoning_content") as server:
        assert run_cli(server.url, tmp_path, "--reasoning", "keep", "--format", fmt) == 0
    tasks = [json.loads(x) for x in (tmp_path / "instances.jsonl").read_text().splitlines()]
    assert tasks and all(MARK in t["reasoning"] for t in tasks)
    alpaca = [json.loads(x) for x in (tmp_path / "alpaca.jsonl").read_text().splitlines()]
    assert alpaca and all(MARK in r["reasoning"] and MARK not in r["output"] for r in alpaca)
    rows = [json.loads(x) for x in (tmp_path / f"{fmt}.jsonl").read_text().splitlines()]
    if fmt == "prompt_completion":
        assert all(MARK in r["reasoning"] for r in rows)
    else:
        turns = [r["messages" if fmt == "messages" else "conversations"][-1] for r in rows]
        replies = [t.get("content", t.get("value")) for t in turns]
        assert all(x.startswith("<think>\n") and MARK in x.split("</think>")[0] for x in replies)
        assert all(MARK not in x.split("</think>", 1)[1] for x in replies)
    for name in ("classification.jsonl", "machine_instructions.jsonl", "judgements.jsonl"):
        assert MARK not in (tmp_path / name).read_text(), name
    settings = json.loads((tmp_path / "run.json").read_text())["settings"]
    assert settings["instances"]["reasoning"] == "keep"


@pytest.mark.model
@pytest.mark.slow
def test_trl_trains_two_steps_on_the_keep_export(tmp_path: Path) -> None:
    from trl import SFTConfig, SFTTrainer

    from selfinstruct.finetune.model import as_plain_weights
    from selfinstruct.llm.model_files import load_causal_lm, load_tokenizer

    with thinking_server("reasoning") as server:
        assert run_cli(server.url, tmp_path, "--reasoning", "keep", "--format", "messages") == 0
    data = datasets.load_dataset("json", data_files=str(tmp_path / "messages.jsonl"),
                                 split="train", cache_dir=str(tmp_path / "cache"))  # fmt: skip
    assert MARK in data[0]["messages"][-1]["content"]
    model, tokenizer = as_plain_weights(load_causal_lm(None)), load_tokenizer(None)
    for param in model.parameters():
        param.requires_grad = False
    for param in model.model.layers[-1].parameters():
        param.requires_grad = True
    args = SFTConfig(
        output_dir=str(tmp_path / "sft"), max_steps=2, per_device_train_batch_size=2,
        max_length=256, use_cpu=True, report_to="none", save_strategy="no", logging_steps=1,
        disable_tqdm=True, dataloader_num_workers=0, bf16=False, gradient_checkpointing=False,
    )  # fmt: skip
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    result = trainer.train()
    assert result.global_step == 2 and math.isfinite(result.training_loss)
    trained = tokenizer.decode(trainer.train_dataset[0]["input_ids"])
    assert "<think>" in trained and MARK in trained  # the thinking is part of what it learns


@pytest.mark.server
def test_reasoning_handling_leaves_a_real_servers_answer_alone(llama_server: Any) -> None:
    from selfinstruct.llm.base import GenerationParams, complete
    from selfinstruct.llm.openai_backend import OpenAIBackend

    chat: Prompt = [{"role": "user", "content": "Name three colours, one per line."}]
    for mode in ("auto", "off"):
        backend = OpenAIBackend(
            model=llama_server.model, base_url=llama_server.base_url, reasoning=mode
        )
        (c,) = complete(backend, [chat], GenerationParams(max_tokens=24, temperature=0))
        assert c.text.strip() and c.reasoning == "" and c.reasoning_tokens == 0
        assert backend.usage.completion_tokens > 0


def test_thinking_tokens_reach_the_report_and_the_estimate(tmp_path: Path) -> None:
    from selfinstruct.reporting.sections import summary, tokens_blocks
    from selfinstruct.runtime.estimate import project

    with thinking_server("reasoning") as server:
        assert run_cli(server.url, tmp_path, "--model", "Qwen/Qwen3-8B") == 0
    stats = json.loads((tmp_path / "stats.json").read_text())
    ledger = [json.loads(x) for x in (tmp_path / "usage.jsonl").read_text().splitlines()]
    assert sum(x.get("reasoning_tokens", 0) for x in ledger) == sum(
        stats[s]["reasoning_tokens"] for s in ("bootstrap", "classify", "instances", "judge")
    )
    data = collect(tmp_path, price_input=1.0, price_output=2.0)
    assert data.tokens.reasoning_tokens == sum(x.get("reasoning_tokens", 0) for x in ledger) > 0
    assert "thinking" in summary(data)[-1]
    table = tokens_blocks(data, [])[0]
    column = table.headers.index("of which thinking")  # type: ignore[attr-defined]
    total = table.rows[-1]  # type: ignore[attr-defined]
    assert total[column] == f"{data.tokens.reasoning_tokens:,}"
    estimate = project(stats, 60, 1.0, 2.0, instances_per_task=1.0)
    assert all(s.reasoning_tokens > 0 for s in estimate.stages)
    assert all(0 < s.reasoning_tokens <= s.completion_tokens for s in estimate.stages)
    assert "thinking" in estimate.lines()[1]


def test_reasoning_off_asks_the_server_not_to_think(tmp_path: Path) -> None:
    with thinking_server("reasoning") as server:
        flags = ["--model", "Qwen/Qwen3-8B", "--server", "vllm", "--reasoning", "off"]
        assert run_cli(server.url, tmp_path, *flags) == 0
        bodies = [r.body for r in server.requests if r.method == "POST"]
    off = {"enable_thinking": False, "thinking": False}
    assert bodies and all(b["chat_template_kwargs"] == off for b in bodies)
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert all(stats[s]["reasoning_tokens"] == 0 for s in ("bootstrap", "classify", "judge"))
    run = json.loads((tmp_path / "run.json").read_text())
    assert (
        run["requests"]["classify"]["max_tokens"] == CHAT_MAX_TOKENS
    )  # no room needed: it does not think
    assert run["requests"]["classify"]["chat_template_kwargs"] == off
    assert all(s["reasoning"] == "off" for s in run["settings"].values())
    argv = ["bootstrap", "--out", str(tmp_path), "--no-progress", "--base-url", server.url]
    argv += ["--num-instructions", "8", "--model", "Qwen/Qwen3-8B", "--server", "vllm"]
    assert main([*argv, "--reasoning", "auto"]) == 2  # other answers than the run's: refused
