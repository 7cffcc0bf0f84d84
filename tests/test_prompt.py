"""Prompt encoding and in-context sampling."""

import random

from selfinstruct import RunConfig
from selfinstruct.stages.bootstrap.prompt import PromptStyle, encode_prompt, sample_instructions
from selfinstruct.templates import load_template

SEEDS = [f"Seed task number {i} asks for something." for i in range(20)]
MACHINE = [f"Machine task {i} asks for something else." for i in range(5)]


def test_sampling_takes_two_machine_and_six_seed_instructions() -> None:
    chosen = sample_instructions(random.Random(1), SEEDS, MACHINE, 8, 2)
    assert len(chosen) == 8
    assert sum(c in MACHINE for c in chosen) == 2
    assert sum(c in SEEDS for c in chosen) == 6
    assert chosen == sample_instructions(random.Random(1), SEEDS, MACHINE, 8, 2)


def test_sampling_with_small_machine_pool_fills_with_seeds() -> None:
    chosen = sample_instructions(random.Random(2), SEEDS, MACHINE[:1], 8, 2)
    assert sum(c in MACHINE for c in chosen) == 1 and len(chosen) == 8


def test_completion_prompt_numbers_tasks_and_leaves_next_open() -> None:
    style = PromptStyle(chat=False)
    template = load_template(style.template_name, "en")
    prompt = encode_prompt(["First task\nwith a newline.", "Second task."], style, template)
    assert isinstance(prompt, str)
    assert "1. First task with a newline.\n2. Second task.\n3." in prompt
    assert prompt.endswith("3. ")


def test_chat_prompt_is_a_user_message_in_the_language() -> None:
    style = PromptStyle(chat=True, language="zh")
    prompt = encode_prompt(["写一首诗。"], style, load_template(style.template_name, "zh"))
    assert isinstance(prompt, list) and prompt[0]["role"] == "user"
    assert "1. 写一首诗。" in prompt[0]["content"] and "编号从 2 到 15" in prompt[0]["content"]


def test_user_template_file_overrides(tmp_path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("My tasks:\n{tasks}\n{next}.", encoding="utf-8")
    template = load_template("bootstrap_completion", "en", path)
    assert encode_prompt(["A task here."], PromptStyle(chat=False), template) == (
        "My tasks:\n1. A task here.\n2. "
    )


def test_reference_decoding_parameters() -> None:
    b = RunConfig().bootstrap
    assert (b.temperature, b.top_p, b.presence_penalty, b.max_tokens) == (0.7, 0.5, 2.0, 1024)
    assert "\n\n" in PromptStyle(chat=False).stop() and "16." in PromptStyle(chat=False).stop()
    assert "\n\n" not in PromptStyle(chat=True).stop()
