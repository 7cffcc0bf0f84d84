"""--preset paper: the original Self-Instruct code's prompt text, decoding and post-processing.

The expected prompts are written out here from the original's documented format (a header
line, "i. instruction" lines with whitespace runs collapsed and a trailing ":" removed, then
the open number "k+1." with nothing after it); nothing of the original code is run or shipped.
The template texts below are stand-ins of the original's shape, not its files.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import openai
import pytest
from fakes import FakeBackend, prompt_text
from llama_server import LlamaServer

from selfinstruct import ConfigError, RunConfig, bootstrap, classify, generate_instances
from selfinstruct.cli import build_parser, main
from selfinstruct.cli.options import config_from_args
from selfinstruct.llm.base import Completion, GenerationParams, Prompt
from selfinstruct.runtime.records import Instance, SeedTask
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.bootstrap.candidates import recase, split_candidates
from selfinstruct.stages.bootstrap.prompt import ORIGINAL_STOP, PromptStyle, encode_prompt
from selfinstruct.stages.instances.filters import FilteredTask
from selfinstruct.stages.instances.task import keep_sample

HEADER = "Come up with a series of tasks:\n"
"""The original bootstrap prompt's header line (the non-classification one)."""
BOOTSTRAP_TEMPLATE = HEADER + "{tasks}\n{next}.\n"  # an editor's trailing newline included
CLASSIFY_HEAD = (
    "Can the following task be regarded as a classification task with finite output labels?"
    "\n\nTask: Sort the numbers in the list.\nIs it classification? No\n\n"
)
CLASSIFY_TEMPLATE = CLASSIFY_HEAD + "{examples}Task: {instruction}\nIs it classification?\n"
INSTANCES_HEAD = (
    "Come up with examples for the following tasks.\n\n"
    "Task: Greet a colleague politely.\nOutput: Good morning, nice to see you.\n\nTask:"
)
ORIGINAL_PARAMS = {
    "max_tokens": 1024,
    "temperature": 0.7,
    "top_p": 0.5,
    "frequency_penalty": 0,
    "presence_penalty": 2,
    "stop": ["\n\n", "\n16", "16.", "16 ."],
}
"""The original bootstrap's decoding parameters (its n=1 and best_of=1 are the API defaults)."""

SAMPLE = [
    "Give three tips for staying healthy.",
    "Answer the following question:\n",
    "  Rewrite the sentence\tin   the passive voice.  ",
    "List the ingredients of a margherita pizza::",
    "Is the statement true :",
    "Translate the phrase into French: 'good morning'.",
    "Write a haiku about autumn.\nMake it sad.",
    "Summarize the article in one sentence.",
]
SAMPLE_PROMPT = (
    "Come up with a series of tasks:\n"
    "1. Give three tips for staying healthy.\n"
    "2. Answer the following question\n"
    "3. Rewrite the sentence in the passive voice.\n"
    "4. List the ingredients of a margherita pizza\n"
    "5. Is the statement true \n"
    "6. Translate the phrase into French: 'good morning'.\n"
    "7. Write a haiku about autumn. Make it sad.\n"
    "8. Summarize the article in one sentence.\n"
    "9."
)
"""The original's prompt for SAMPLE, written out by hand from its format."""


def original_format(instructions: list[str]) -> str:
    """The original's prompt for any instructions, following its documented format."""
    lines = [f"{i}. {' '.join(t.split()).rstrip(':')}\n" for i, t in enumerate(instructions, 1)]
    return HEADER + "".join(lines) + f"{len(instructions) + 1}."


def prompt_dir(tmp_path: Path) -> Path:
    """A --prompt-dir holding original-format templates under the names the preset reads."""
    folder = tmp_path / "prompts"
    folder.mkdir(parents=True)
    (folder / "bootstrap_completion.en.txt").write_text(BOOTSTRAP_TEMPLATE, encoding="utf-8")
    (folder / "classify.en.txt").write_text(CLASSIFY_TEMPLATE, encoding="utf-8")
    for name in ("instances_input_first", "instances_output_first"):
        text = INSTANCES_HEAD + " {instruction}\n"
        (folder / f"{name}.en.txt").write_text(text, encoding="utf-8")
    return folder


def seeds() -> list[SeedTask]:
    """Eight seed tasks, two ending in ':' as some of the original's do."""
    texts = [
        "Name a famous painting and its painter.",
        "Answer the following trivia question:",
        "Suggest a title for a blog post about gardening.",
        "Convert the temperature from Celsius to Fahrenheit:",
        "Give an example of a renewable energy source.",
        "Explain why the sky looks blue during the day.",
        "Recommend a board game for a family of four.",
        "Describe the taste of a ripe mango.",
    ]
    return [
        SeedTask(
            id=f"seed_{i}",
            name=f"seed_{i}",
            instruction=text,
            instances=[Instance(input="", output="An answer.")],
            is_classification=False,
        )
        for i, text in enumerate(texts)
    ]


def run_bootstrap(
    tmp_path: Path, reply: Completion, target: int = 2, **options: object
) -> FakeBackend:
    """One request answered with `reply`, then nothing but empty answers (so it stalls)."""
    backend = FakeBackend([reply], respond=lambda prompt, params: "")
    bootstrap(
        seeds(), tmp_path / "run", target, backend, concurrency=1, patience=1, progress=False,
        prompt_dir=prompt_dir(tmp_path), **options,
    )  # fmt: skip
    return backend


def outcome(tmp_path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    """Accepted instructions, and (rejected instruction, reason) pairs, of the run."""
    rundir = RunDir.of(tmp_path / "run")
    accepted = [m.instruction for m in rundir.read_machine()]
    return accepted, [(r.instruction, r.reason) for r in rundir.read_rejections()]


# -- the prompt ------------------------------------------------------------------------------


def test_paper_prompt_is_byte_identical_to_the_original_format() -> None:
    style = PromptStyle(chat=False, original=True)
    assert encode_prompt(SAMPLE, style, BOOTSTRAP_TEMPLATE) == SAMPLE_PROMPT
    assert original_format(SAMPLE) == SAMPLE_PROMPT
    rng = random.Random(7)
    words = ["plan", "a", "trip:", "\n", "to", "Rome", "  ", "and", "list", "costs", ":"]
    for _ in range(50):
        sample = [" ".join(rng.choices(words, k=rng.randint(1, 9))) for _ in range(8)]
        assert encode_prompt(sample, style, BOOTSTRAP_TEMPLATE) == original_format(sample)


def test_our_list_style_differs_only_where_documented() -> None:
    ours = encode_prompt(SAMPLE, PromptStyle(chat=False), BOOTSTRAP_TEMPLATE)
    assert ours == SAMPLE_PROMPT + " "  # the space the model writes next
    chinese = encode_prompt(["列出三种水果："], PromptStyle(chat=False, language="zh"), "{tasks}")
    assert chinese == "1. 列出三种水果 "


def test_the_paper_run_sends_the_original_prompt_and_decoding(tmp_path: Path) -> None:
    reply = " Explain how tides form on the coast.\n10. Describe three uses of a spreadsheet."
    backend = run_bootstrap(tmp_path, Completion(reply, "stop"), preset="paper")
    accepted, _ = outcome(tmp_path)
    assert accepted == [
        "Explain how tides form on the coast.",
        "Describe three uses of a spreadsheet.",
    ]
    record = RunDir.of(tmp_path / "run").read_machine()[0]
    prompt, params = backend.history[0]
    assert prompt == original_format(record.prompt_instructions)
    assert "Answer the following trivia question\n" in prompt  # its trailing ':' is gone
    assert "Convert the temperature from Celsius to Fahrenheit\n" in prompt
    assert ":\n" not in prompt.removeprefix(HEADER) and prompt.endswith("\n9.")
    assert params.stop == ORIGINAL_STOP == tuple(ORIGINAL_PARAMS["stop"])
    sent = {k: getattr(params, k) for k in ORIGINAL_PARAMS if k != "stop"}
    assert sent == {k: v for k, v in ORIGINAL_PARAMS.items() if k != "stop"}


def test_the_paper_preset_needs_the_users_prompt_file(tmp_path: Path) -> None:
    backend = FakeBackend(respond=lambda prompt, params: "")
    with pytest.raises(ConfigError, match=r"bootstrap_completion\.en\.txt.*docs/fidelity\.md"):
        bootstrap("en", tmp_path / "run", 2, backend, preset="paper", progress=False)
    assert backend.history == []


# -- post-processing ---------------------------------------------------------------------------


def test_a_truncated_response_is_dropped_whole_under_the_paper_preset(tmp_path: Path) -> None:
    reply = Completion(
        " Explain how tides form on the coast.\n10. Describe three uses of a spreadsheet."
        "\n11. Compare two ways of",
        "length",
    )
    run_bootstrap(tmp_path / "paper", reply, preset="paper")
    accepted, rejected = outcome(tmp_path / "paper")
    assert accepted == [] and [reason for _, reason in rejected] == ["truncated"] * 3
    run_bootstrap(tmp_path / "ours", reply, target=3, chat=False)
    accepted, rejected = outcome(tmp_path / "ours")
    assert len(accepted) == 2 and rejected[0] == ("Compare two ways of", "truncated")
    assert [reason for _, reason in rejected].count("truncated") == 1


def test_capitalization_before_the_filters(tmp_path: Path) -> None:
    reply = Completion(
        " write a program that sorts a list of numbers.\n"
        "10. translate the SQL query into plain English for a manager.",
        "stop",
    )
    expected = {
        "paper": (["Translate the sql query into plain english for a manager."], 1),
        "first": (["Translate the SQL query into plain English for a manager."], 1),
        "keep": (
            [
                "write a program that sorts a list of numbers.",
                "translate the SQL query into plain English for a manager.",
            ],
            0,
        ),
    }
    for name, (kept, programs) in expected.items():
        options = {"preset": "paper"} if name == "paper" else {"chat": False, "capitalize": name}
        run_bootstrap(tmp_path / name, reply, **options)
        accepted, rejected = outcome(tmp_path / name)
        assert accepted == kept, name
        assert [r for _, r in rejected].count("write_a_program") == programs, name


def test_recase_modes() -> None:
    assert recase("write a SQL query", "lower_rest") == "Write a sql query"
    assert recase("write a SQL query", "first") == "Write a SQL query"
    assert recase("write a SQL query", "keep") == "write a SQL query"
    assert recase("", "first") == "" and recase("ßtraße", "first") == "ßtraße"


def test_strict_splitting_is_the_originals() -> None:
    response = " Plan a trip.\n10) Name a river.\n11 . Name a lake.\n12.Name a sea.\n13. Done it."
    strict = split_candidates(response, first_number=9, continued=True, strict=True)
    assert [c.text for c in strict] == [
        "Plan a trip. 10) Name a river.",
        "Name a lake. 12.Name a sea.",
        "Done it.",
    ]
    assert [c.number for c in strict] == [9, 11, 13]
    lenient = split_candidates(response, first_number=9, continued=True)
    assert len(lenient) == 5
    chat = split_candidates("Sure:\n1. Plan a trip.\n2. Name a river.", first_number=9,
                            continued=False, strict=True)  # fmt: skip
    assert [c.text for c in chat] == ["Plan a trip.", "Name a river."]


# -- configuration ---------------------------------------------------------------------------


def test_preset_values_apply_and_explicit_options_win(tmp_path: Path) -> None:
    paper = RunConfig(preset="paper")
    b, i = paper.bootstrap, paper.instances
    assert paper.backend.chat is False and paper.classify.examples == 0
    assert (b.list_style, b.truncation, b.capitalize) == ("original", "response", "lower_rest")
    assert (b.temperature, b.top_p, b.presence_penalty, b.max_tokens) == (0.7, 0.5, 2.0, 1024)
    assert (i.max_tokens, i.temperature, i.presence_penalty, i.stop, i.keep) == (
        300, 0.0, 1.5, "original", "sample",
    )  # fmt: skip
    mixed = RunConfig().updated(preset="paper", truncation="last", instance_keep="first")
    assert (mixed.bootstrap.truncation, mixed.instances.keep) == ("last", "first")
    assert mixed.bootstrap.capitalize == "lower_rest"
    back = mixed.updated(preset="default")
    assert back.bootstrap.capitalize == "first" and back.bootstrap.truncation == "last"
    assert back.backend.chat is None
    # flags over a config file: the file's preset, the flag's explicit value
    path = tmp_path / "run.toml"
    path.write_text('preset = "paper"\n[bootstrap]\ntop_p = 0.9\n', encoding="utf-8")
    args = build_parser().parse_args(
        ["run", "--config", str(path), "--temperature", "1.0", "--instance-stop", "ours"]
    )
    config = config_from_args(args)
    assert (config.bootstrap.top_p, config.bootstrap.temperature) == (0.9, 1.0)
    assert config.instances.stop == "ours" and config.bootstrap.list_style == "original"
    assert RunConfig().bootstrap.list_style == "ours"


def test_dump_config_round_trips_with_the_paper_preset(tmp_path: Path, capsys) -> None:
    argv = ["run", "--out", str(tmp_path / "o"), "--preset", "paper", "--chat",
            "--instance-max-tokens", "200", "--dump-config"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert 'preset = "paper"' in text and 'truncation = "response"' in text
    path = tmp_path / "run.toml"
    path.write_text(text, encoding="utf-8")
    config = RunConfig.from_file(path)
    assert config.backend.chat is True and config.instances.max_tokens == 200
    assert config.instances.keep == "sample" and config.to_toml() == text
    assert main(["run", "--config", str(path), "--dump-config"]) == 0
    assert capsys.readouterr().out == text


# -- classification and instances ------------------------------------------------------------


def answer(prompt: Prompt, params: GenerationParams) -> str:
    """A cooperative completion model for the original-format prompts above."""
    text = prompt_text(prompt)
    if text.startswith(HEADER):
        first = int(re.findall(r"(\d+)\.$", text)[0])
        return f" Describe a sunrise over the mountains.\n{first + 1}. Classify a fruit as sweet."
    if text.endswith("Is it classification?"):
        return " Yes" if "Classify" in text.rsplit("Task:", 1)[1] else " No"
    task = text.rsplit("Task:", 1)[1]
    shape = (
        "Class label: result {n}\nInput: case {n}\n"
        if "Classify" in task
        else ("Input: case {n}\nOutput: result {n}\n")
    )
    examples = [shape.format(n=n) for n in range(8)]  # the model writes "Example 1" itself
    return "".join(f"Example {n + 1}\n{examples[n]}" for n in range(8))


def test_paper_classify_and_instance_prompts_and_keep_5(tmp_path: Path) -> None:
    backend = FakeBackend(respond=answer)
    out = tmp_path / "run"
    seed_file = tmp_path / "seed_tasks.jsonl"  # the later stages reload the run's seeds
    seed_file.write_text("".join(t.model_dump_json() + "\n" for t in seeds()), encoding="utf-8")
    options = {"preset": "paper", "prompt_dir": prompt_dir(tmp_path), "progress": False}
    assert bootstrap(seed_file, out, 2, backend, concurrency=1, **options).accepted == 2
    classify(out, backend, **options)
    generate_instances(out, backend, **options)
    machine = [m.instruction for m in RunDir.of(out).read_machine()]
    # classify: the original's `template + " " + instruction + "\nIs it classification?"`
    original_head = CLASSIFY_HEAD + "Task:"
    asked = [(p, q) for p, q in backend.history if prompt_text(p).startswith(CLASSIFY_HEAD)]
    assert [p for p, _ in asked] == [f"{original_head} {m}\nIs it classification?" for m in machine]
    # and the original's decoding: 3 tokens, greedy, stop at a newline or "Task"
    assert asked[0][1].max_tokens == 3 and asked[0][1].stop == ("\n", "Task")
    # instances: the original's `template + " " + instruction + "\n"`, byte for byte
    calls = [(p, q) for p, q in backend.history if prompt_text(p).startswith(INSTANCES_HEAD)]
    assert [p for p, _ in calls] == [f"{INSTANCES_HEAD} {m}\n" for m in machine]
    params = calls[0][1]
    assert params.stop == ("Example 6", "Task:") and params.max_tokens == 300
    assert (params.temperature, params.presence_penalty, params.frequency_penalty) == (0, 1.5, 0)
    tasks = RunDir.of(out).read_instance_tasks()
    for line in tasks.values():
        assert len(line.instances) == 5 and line.dropped == {"over_max_instances": 3}
    first_five = [f"case {n}" for n in range(5)]
    assert any([i.input for i in t.instances] != first_five for t in tasks.values())  # sampled
    labels = {line.instruction: line.is_classification for line in tasks.values()}
    assert labels == {m: m.startswith("Classify") for m in machine}


def test_keep_sample_is_seeded_and_keeps_response_order() -> None:
    kept = [Instance(input=f"in {n}", output=f"out {n}") for n in range(8)]
    task = FilteredTask(kept=kept)
    one = keep_sample(task, 5, random.Random("a"))
    assert len(one.kept) == 5 and [r for _, r in one.dropped] == ["over_max_instances"] * 3
    assert one.kept == sorted(one.kept, key=kept.index)
    assert one == keep_sample(task, 5, random.Random("a"))
    picks = {tuple(i.input for i in keep_sample(task, 5, random.Random(s)).kept) for s in range(9)}
    assert len(picks) > 1
    assert keep_sample(FilteredTask(kept=kept[:3]), 5, random.Random(1)).kept == kept[:3]


# -- a real server -----------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.slow
def test_paper_decoding_reaches_a_real_llama_server(
    llama_server: LlamaServer, tmp_path: Path
) -> None:
    from selfinstruct import OpenAIBackend

    sent: list[tuple[str, dict]] = []

    async def record(request: Any) -> None:  # an httpx (or httpx2) Request
        if request.method == "POST":
            sent.append((request.url.path, json.loads(request.content)))

    backend = OpenAIBackend(
        model=llama_server.model,
        base_url=llama_server.base_url,
        max_concurrency=1,
        http_client=openai.DefaultAsyncHttpxClient(event_hooks={"request": [record]}),
    )
    # One request (token_budget=1); its answer usually ends at a blank line within a few dozen
    # tokens, and at worst at the original's max_tokens of 1024, which is what is tested.
    result = bootstrap(
        seeds(), tmp_path / "run", 2, backend, preset="paper", prompt_dir=prompt_dir(tmp_path),
        token_budget=1, concurrency=1, progress=False,
    )  # fmt: skip
    assert result.stopped in ("token_budget", "target_reached")
    assert len(sent) == 1, "one request, sent to the server"
    path, body = sent[0]
    assert path.endswith("/completions") and not path.endswith("/chat/completions")
    assert body["prompt"].startswith(HEADER) and body["prompt"].endswith("\n9.")
    assert {k: body.get(k) for k in ORIGINAL_PARAMS} == ORIGINAL_PARAMS
    assert body.get("n", 1) == 1
    stats = json.loads(RunDir.of(tmp_path / "run").stats.read_text())["bootstrap"]
    assert stats["completion_tokens"] > 0  # the server took those parameters and answered
