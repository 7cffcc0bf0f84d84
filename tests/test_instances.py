"""Instance parsing and filtering on hand-written responses (en and zh), and the stage on a fake.

Every response below is written the way small models actually answer: numbered or not, with
or without Input lines, in markdown, in Chinese, running into the next task, or cut off.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes import FakeBackend, prompt_text
from runs import read_lines

from selfinstruct.errors import DataError
from selfinstruct.llm.base import Completion
from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.records import InstancesRecord, MachineInstruction
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.instances.filters import InstanceFilterConfig, filter_task
from selfinstruct.stages.instances.parsing import ParsedExample, parse_instances
from selfinstruct.stages.instances.stage import generate_instances


def pairs(text: str, **kw: object) -> list[tuple[str, str, str | None]]:
    return [(e.input, e.output, e.problem) for e in parse_instances(text, **kw)]  # type: ignore[arg-type]


# --- parsing -------------------------------------------------------------------------------


def test_numbered_examples_stop_at_the_next_task() -> None:
    text = (
        "Example 1\nInput: 3\nOutput: 9\n"
        "Example 2\nInput: 12\nOutput: 144\n\n"
        "Task: Name a colour.\nExample 1\nOutput: red"
    )
    assert pairs(text) == [("3", "9", None), ("12", "144", None)]


def test_unnumbered_examples_split_where_the_pattern_restarts() -> None:
    text = "Input: cat\nOutput: cats\nInput: mouse\nOutput: mice\nInput: sheep\nOutput: sheep"
    assert pairs(text) == [("cat", "cats", None), ("mouse", "mice", None), ("sheep", "sheep", None)]


def test_inline_numbers_and_markdown_and_chatter() -> None:
    text = (
        "Sure! Here are some examples:\n\n"
        "1. Input: Paris\nOutput: France\n"
        "2. **Input:** Lima\n**Output:** Peru\n"
        "**Example 3:**\n- Input: Oslo\n- Output: Norway"
    )
    assert pairs(text) == [
        ("Paris", "France", None),
        ("Lima", "Peru", None),
        ("Oslo", "Norway", None),
    ]


def test_task_without_input_gives_empty_inputs() -> None:
    text = "Example 1\nOutput: Bread rises.\nExample 2\nOutput: Rain falls.\nOutput: Snow melts."
    assert pairs(text) == [
        ("", "Bread rises.", None),
        ("", "Rain falls.", None),
        ("", "Snow melts.", None),
    ]


def test_missing_input_line_in_one_example_only() -> None:
    text = "Example 1\nInput: 2, 3\nOutput: 5\nExample 2\nOutput: 7\nExample 3\nInput: 10, 1\nOutput: 11"
    assert pairs(text) == [("2, 3", "5", None), ("", "7", None), ("10, 1", "11", None)]


def test_input_markers_for_no_input_become_empty() -> None:
    text = "Example 1\nInput: <none>\nOutput: A limerick.\nExample 2\nInput: N/A\nOutput: A haiku.\n示例 3\n输入：无\n输出：一首诗"
    assert [(i, p) for i, _, p in pairs(text)] == [("", None), ("", None), ("", None)]


def test_multiline_values_keep_their_lines() -> None:
    text = "Example 1\nInput:\nmilk\neggs\nOutput:\n1. Whisk the eggs.\n2. Add the milk.\n\nExample 2\nInput: x\nOutput: y"
    assert pairs(text)[0] == ("milk\neggs", "1. Whisk the eggs.\n2. Add the milk.", None)
    assert len(pairs(text)) == 2


def test_chinese_labels_input_first() -> None:
    text = "示例 1\n输入：今天天气很好。\n输出：The weather is nice today.\n示例2\n输入: 谢谢你\n输出: Thank you\n\n任务：写一首诗"
    assert pairs(text) == [
        ("今天天气很好。", "The weather is nice today.", None),
        ("谢谢你", "Thank you", None),
    ]


def test_chinese_labels_output_first() -> None:
    text = (
        "示例 1\n类别：正面\n输入：物流很快，质量也好。\n示例 2\n类别：负面\n输入：用了两天就坏了。"
    )
    assert pairs(text, classification=True) == [
        ("物流很快，质量也好。", "正面", None),
        ("用了两天就坏了。", "负面", None),
    ]


def test_output_first_english_labels_in_either_order() -> None:
    label_first = "Example 1\nClass label: Even\nInput: 4\nExample 2\nClass label: Odd\nInput: 7"
    input_first = "Input: 4\nLabel: Even\nInput: 7\nLabel: Odd"
    expected = [("4", "Even", None), ("7", "Odd", None)]
    assert pairs(label_first, classification=True) == expected
    assert pairs(input_first, classification=True) == expected


def test_category_line_inside_an_output_is_not_a_label_for_other_tasks() -> None:
    text = "Input: apple\nOutput: Name: apple\nCategory: fruit"
    assert pairs(text) == [("apple", "Name: apple\nCategory: fruit", None)]


def test_truncated_response_marks_only_the_last_example() -> None:
    text = "Example 1\nInput: a\nOutput: A\nExample 2\nInput: b\nOutput: B is the sec"
    assert pairs(text, finish_reason="length") == [
        ("a", "A", None),
        ("b", "B is the sec", "truncated"),
    ]
    assert pairs(text, finish_reason="stop")[-1][2] is None


def test_truncated_before_the_output_is_unparseable() -> None:
    text = "Example 1\nInput: a\nOutput: A\nExample 2\nInput: b"
    assert pairs(text, finish_reason="length") == [("a", "A", None), ("b", "", "unparseable")]


def test_a_response_without_fields_yields_nothing_or_unparseable() -> None:
    assert pairs("I am not sure what you mean.", classification=True) == []
    assert pairs("Roses are red.\nViolets are blue.") == [
        ("", "Roses are red.\nViolets are blue.", None)
    ]
    assert pairs("Task: Write a haiku.", instruction="Write a haiku.") == []
    assert pairs("Example 1\nThe answer is 5.") == [("", "", "unparseable")]


def test_chat_model_echoing_the_task_first() -> None:
    text = "Task: Square the number.\nExample 1\nInput: 5\nOutput: 25"
    assert pairs(text) == [("5", "25", None)]
    assert pairs(text, instruction="Square  the number.") == [("5", "25", None)]


def test_a_copied_few_shot_task_yields_nothing() -> None:
    text = "Task: Rewrite the sentence in the passive voice.\nExample 1\nInput: a\nOutput: b"
    assert pairs(text, instruction="Write a haiku about rain.") == []


# --- filters -------------------------------------------------------------------------------


def ex(inp: str, out: str, problem: str | None = None) -> ParsedExample:
    return ParsedExample(inp, out, problem)


def test_every_drop_reason_is_named() -> None:
    config = InstanceFilterConfig(max_instances=2, max_input_chars=20, max_output_chars=20)
    examples = [
        ex("a", "A"),
        ex("", "", "unparseable"),
        ex("b", "cut", "truncated"),
        ex("c", "  "),
        ex("same  text", "same text"),
        ex("", "double the number"),
        ex("d", "Answer:"),
        ex("e:", "E"),
        ex("x" * 21, "F"),
        ex("g", "y" * 21),
        ex("h", "As an AI, I cannot"),
        ex("a", "A"),
        ex(" a ", "A "),
        ex("i", "I"),
        ex("j", "J"),
    ]
    result = filter_task("Double the number", examples, config)
    assert [(i.input, i.output) for i in result.kept] == [("a", "A"), ("i", "I")]
    assert result.counts == {
        "blacklisted": 1,
        "dangling_colon": 2,
        "duplicate": 2,
        "empty_output": 1,
        "input_equals_output": 1,
        "output_equals_instruction": 1,
        "over_max_instances": 1,
        "too_long_input": 1,
        "too_long_output": 1,
        "truncated": 1,
        "unparseable": 1,
    }
    assert len(result.kept) + sum(result.counts.values()) == len(examples)
    assert result.task_dropped is None


def test_same_input_two_outputs_drops_the_whole_task() -> None:
    examples = [ex("I loved it", "Positive"), ex("meh", "Neutral"), ex("I loved it", "Negative")]
    result = filter_task("Sentiment?", examples, InstanceFilterConfig())
    assert result.kept == []
    assert result.task_dropped == "conflicting_outputs"
    assert result.counts == {"conflicting_outputs": 3}


def test_empty_inputs_with_different_outputs_are_fine() -> None:
    examples = [ex("", "A haiku"), ex("", "Another haiku")]
    result = filter_task("Write a haiku.", examples, InstanceFilterConfig())
    assert len(result.kept) == 2 and result.task_dropped is None


def test_no_usable_example_names_the_task_drop() -> None:
    result = filter_task("t", [ex("", "", "unparseable")], InstanceFilterConfig())
    assert result.task_dropped == "no_instances"


# --- the stage on a fake backend ------------------------------------------------------------

INSTRUCTIONS = [
    ("Convert the given number of minutes into hours and minutes.", False),
    ("Is the sentence written in the past tense? Answer Yes or No.", True),
    ("Suggest a title for a blog post about houseplants.", False),
    ("Decide whether the review is positive or negative.", True),
    ("Rewrite the sentence so that it sounds more formal.", False),
]


def make_run(root: Path, items: list[tuple[str, bool]] = INSTRUCTIONS, lang: str = "en") -> RunDir:
    """A run directory as bootstrap and classify leave it."""
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": lang, "language": lang})
    with JsonlWriter(rundir.machine_instructions) as out:
        for i, (text, _) in enumerate(items):
            out.write(
                MachineInstruction(
                    instruction=text, index=i, request=0, max_rouge=0.1, mean_rouge=0.05
                )
            )
    with JsonlWriter(rundir.classification) as out:
        for i, (text, label) in enumerate(items):
            out.write({"instruction": text, "index": i, "is_classification": label, "raw": "x"})
    return rundir


def answer(prompt: object, _params: object) -> str:
    """Examples for the last task in the prompt: label-first for classification prompts."""
    text = prompt_text(prompt)  # type: ignore[arg-type]
    task = text.rstrip().split("Task: ")[-1].split("\n")[0]
    if "class label" in text.lower().split("Task: ")[0]:
        return "Class label: Yes\nInput: She walked home.\nExample 2\nClass label: No\nInput: She walks home.\n"
    n = len(task) % 3
    return "".join(
        f"Example {i + 1}\nInput: {task[:10]} {i}\nOutput: answer {i}\n" for i in range(n + 2)
    )


def test_stage_writes_every_task_and_stats_add_up(tmp_path: Path) -> None:
    rundir = make_run(tmp_path)
    backend = FakeBackend(respond=answer)
    result = generate_instances(tmp_path, backend, progress=False, concurrency=2)
    rows = [InstancesRecord.model_validate(r) for r in read_lines(rundir.instances)]
    assert [r.instruction for r in rows] == [t for t, _ in INSTRUCTIONS]
    s = result.stats
    assert s["tasks"] == s["instructions"] == 5
    assert s["generated"] == s["kept"] + sum(s["dropped"].values())
    assert s["tasks"] == s["tasks_kept"] + sum(s["tasks_dropped"].values())
    assert s["classification_tasks"] == 2
    clf = [r for r in rows if r.is_classification]
    assert [(i.input, i.output) for i in clf[0].instances] == [
        ("She walked home.", "Yes"),
        ("She walks home.", "No"),
    ]
    # output-first prompt for classification tasks, input-first for the others
    prompts = {p.split("Task: ")[-1].split("\n")[0]: p for p in backend.prompts}
    assert "Class label:" in prompts[INSTRUCTIONS[1][0]]
    assert "Class label:" not in prompts[INSTRUCTIONS[0][0]]
    assert len(prompts) == 5
    # a chat model gets the few-shot tasks as turns: user task, assistant examples
    turns = next(p for p, _ in backend.history if INSTRUCTIONS[0][0] in p[-1]["content"])
    assert [t["role"] for t in turns] == ["user", "assistant"] * 5 + ["user"]
    assert turns[-1]["content"] == "Task: " + INSTRUCTIONS[0][0]
    assert turns[0]["content"].startswith("For each task below")
    assert all(t["content"].startswith("Example 1\n") for t in turns[1::2])
    params = backend.history[0][1]
    assert params.temperature == 0 and params.max_tokens == 320
    assert "Example 6" in params.stop and "\nTask: " in params.stop
    assert len(read_lines(rundir.instances_rejected)) == sum(s["dropped"].values())


def test_rerun_resumes_without_duplicates_and_same_seed_same_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_run(a), make_run(b)
    calls = 0

    def flaky(prompt: object, params: object) -> str:
        nonlocal calls
        calls += 1
        if calls == 4:
            raise RuntimeError("server went away")
        return answer(prompt, params)

    with pytest.raises(RuntimeError):
        generate_instances(a, FakeBackend(respond=flaky), progress=False, concurrency=1)
    done_before = len(read_lines(a / "instances.jsonl"))
    assert 0 < done_before < 5
    again = FakeBackend(respond=answer)
    generate_instances(a, again, progress=False, concurrency=1)
    assert len(again.history) == 5 - done_before
    generate_instances(b, FakeBackend(respond=answer), progress=False, concurrency=3)
    assert (a / "instances.jsonl").read_bytes() == (b / "instances.jsonl").read_bytes()
    stats = json.loads((a / "stats.json").read_text())["instances"]
    assert stats["tasks"] == 5
    idle = FakeBackend()
    generate_instances(a, idle, progress=False)
    assert idle.history == []


def test_completion_prompt_ends_where_the_model_continues(tmp_path: Path) -> None:
    make_run(tmp_path, INSTRUCTIONS[:1])
    backend = FakeBackend(["Input: 90\nOutput: 1 h 30 min"], chat=False)
    result = generate_instances(tmp_path, backend, progress=False)
    prompt = backend.history[0][0]
    assert isinstance(prompt, str)
    assert prompt.endswith(f"Task: {INSTRUCTIONS[0][0]}\nExample 1\n")
    assert result.stats["kept"] == 1


def test_truncated_response_drops_its_last_example(tmp_path: Path) -> None:
    make_run(tmp_path, INSTRUCTIONS[:1])
    cut = Completion(
        "Example 1\nInput: 90\nOutput: 1 h 30 min\nExample 2\nInput: 45\nOutput: 0 h", "length"
    )
    result = generate_instances(tmp_path, FakeBackend([cut]), progress=False)
    assert result.stats["kept"] == 1 and result.stats["dropped"] == {"truncated": 1}
    assert result.stats["truncated_responses"] == 1


def test_chinese_run_uses_chinese_prompts(tmp_path: Path) -> None:
    make_run(
        tmp_path,
        [("把这句话翻译成英文。", False), ("判断这条评论是好评还是差评。", True)],
        lang="zh",
    )
    replies = [
        "示例 1\n输入：你好\n输出：Hello\n示例 2\n输入：再见\n输出：Goodbye",
        "类别：好评\n输入：很好用\n类别：差评\n输入：太差了",
    ]
    backend = FakeBackend(replies)
    result = generate_instances(tmp_path, backend, progress=False, concurrency=1)
    assert "任务：把这句话翻译成英文。" in backend.prompts[0] and "类别：" in backend.prompts[1]
    assert "示例 6" in backend.history[0][1].stop
    assert result.stats["kept"] == 4 and result.stats["language"] == "zh"


def test_unclassified_instructions_are_refused(tmp_path: Path) -> None:
    rundir = make_run(tmp_path)
    with JsonlWriter(rundir.machine_instructions) as out:
        out.write(
            MachineInstruction(
                instruction="A new one here.", index=5, request=1, max_rouge=0, mean_rouge=0
            )
        )
    with pytest.raises(DataError, match="selfinstruct classify"):
        generate_instances(tmp_path, FakeBackend(), progress=False)
