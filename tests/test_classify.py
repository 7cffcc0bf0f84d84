"""Classification detection: yes/no parsing (en, zh), the few-shot prompt, and the stage on a fake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeBackend, prompt_text

from selfinstruct.errors import ConfigError, DataError
from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.records import MachineInstruction
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.seeds import load_seeds
from selfinstruct.stages.classify.answers import parse_yes_no
from selfinstruct.stages.classify.stage import ClassifyPrompt, classify, pick_examples
from selfinstruct.stages.instances.stage import generate_instances


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Yes", True),
        (" yes.", True),
        ("**Yes**", True),
        ("Classification task: Yes", True),
        ("Decision: No", False),
        ("It is a classification task.", True),
        ("No", False),
        ("no, it asks for free text", False),
        ("Not really", False),
        ("This is not a classification task", False),
        ("是", True),
        ("是的，这是分类任务", True),
        ("属于分类任务", True),
        ("否", False),
        ("不是", False),
        ("是否分类任务：不是", False),
        ("", None),
        ("Maybe", None),
        ("The task asks the reader to", None),
    ],
)
def test_parse_yes_no(answer: str, expected: bool | None) -> None:
    assert parse_yes_no(answer) is expected


def test_examples_are_balanced_seeded_and_from_the_seeds() -> None:
    seeds = load_seeds("en")
    examples = pick_examples(seeds, 12, seed=1)
    assert len(examples) == 12 and sum(label for _, label in examples) == 6
    labels = {t.instruction: t.is_classification for t in seeds}
    assert all(labels[text] == label for text, label in examples)
    assert pick_examples(seeds, 12, seed=1) == examples != pick_examples(seeds, 12, seed=2)


def test_prompt_repeats_the_query_shape_for_each_example() -> None:
    template = "Header\n\n{examples}\n\nTask: {instruction}\nClassification task:"
    prompt = ClassifyPrompt.build(
        template, [("Sort it.", False), ("Is it odd?", True)], "en", chat=False
    )
    text = prompt.render("Is the   sky blue?")
    assert text == (
        "Header\n\nTask: Sort it.\nClassification task: No\n\n"
        "Task: Is it odd?\nClassification task: Yes\n\n"
        "Task: Is the sky blue?\nClassification task:"
    )
    chat = ClassifyPrompt.build(template, [("Sort it.", False)], "en", chat=True).render("x")
    assert chat == [
        {"role": "user", "content": "Header\n\nTask: Sort it.\nClassification task:"},
        {"role": "assistant", "content": "No"},
        {"role": "user", "content": "Task: x\nClassification task:"},
    ]
    with pytest.raises(ConfigError):
        ClassifyPrompt.build("no placeholders", [], "en", chat=False)


INSTRUCTIONS = [
    "Tell whether the number is prime. Answer Yes or No.",
    "Write a short poem about the sea.",
    "Which of these animals is a mammal: shark, dolphin or trout?",
    "Summarize the paragraph in one sentence.",
    "Explain why the sky looks blue.",
]


def read_labels(rundir: RunDir) -> dict[str, bool]:
    return {k: v.is_classification for k, v in rundir.read_labels().items()}


def make_run(root: Path, items: list[str] = INSTRUCTIONS, lang: str = "en") -> RunDir:
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": lang, "language": lang})
    with JsonlWriter(rundir.machine_instructions) as out:
        for i, text in enumerate(items):
            out.write(
                MachineInstruction(
                    instruction=text, index=i, request=0, max_rouge=0.1, mean_rouge=0.05
                )
            )
    return rundir


def answer(prompt: object, _params: object) -> str:
    last = prompt_text(prompt).rstrip().split("\n")[-2]  # type: ignore[arg-type]
    if "Explain" in last:
        return "Hmm, hard to say"
    return "Yes" if ("Answer Yes" in last or "Which of" in last) else "No, it is free text"


def test_stage_labels_every_instruction_and_stats_add_up(tmp_path: Path) -> None:
    rundir = make_run(tmp_path)
    backend = FakeBackend(respond=answer, chat=False)
    result = classify(tmp_path, backend, progress=False, concurrency=2)
    labels = read_labels(rundir)
    assert labels == {
        INSTRUCTIONS[0]: True,
        INSTRUCTIONS[1]: False,
        INSTRUCTIONS[2]: True,
        INSTRUCTIONS[3]: False,
        INSTRUCTIONS[4]: False,  # unparseable: falls back to input-first
    }
    s = result.stats
    assert s["instructions"] == s["classified"] == 5
    assert s["classified"] == s["classification"] + s["not_classification"]
    assert s["unparseable"] == 1
    params = backend.history[0][1]
    assert params.temperature == 0 and "\n" in params.stop
    assert backend.prompts[0].endswith("Classification task:")


def test_rerun_asks_only_for_new_instructions(tmp_path: Path) -> None:
    make_run(tmp_path, INSTRUCTIONS[:3])
    classify(tmp_path, FakeBackend(respond=answer), progress=False)
    rundir = RunDir.of(tmp_path)
    with JsonlWriter(rundir.machine_instructions) as out:
        for i, text in enumerate(INSTRUCTIONS[3:], start=3):
            out.write(
                MachineInstruction(
                    instruction=text, index=i, request=1, max_rouge=0.1, mean_rouge=0.0
                )
            )
    again = FakeBackend(respond=answer)
    result = classify(tmp_path, again, progress=False)
    assert len(again.history) == 2
    assert result.new == 2 and result.classified == 5
    lines = rundir.classification.read_text().splitlines()
    assert len(lines) == 5 and len({json.loads(x)["instruction"] for x in lines}) == 5


def test_chinese_prompt_and_answers(tmp_path: Path) -> None:
    make_run(tmp_path, ["判断这句话是不是疑问句。", "写一段关于春天的短文。"], lang="zh")
    backend = FakeBackend(["是", "不是"])
    result = classify(tmp_path, backend, progress=False, concurrency=1)
    assert "是否分类任务：" in backend.prompts[0]
    assert read_labels(RunDir.of(tmp_path)) == {
        "判断这句话是不是疑问句。": True,
        "写一段关于春天的短文。": False,
    }
    assert result.stats["language"] == "zh"


def test_missing_labels_name_the_command_to_run(tmp_path: Path) -> None:
    make_run(tmp_path)
    with pytest.raises(DataError, match="selfinstruct classify"):
        generate_instances(tmp_path, FakeBackend(), progress=False)
