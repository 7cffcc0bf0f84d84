"""`--instance-parse original`: answers read and filtered as the original prepare_for_finetuning.py.

The strings are written in the original's own format (its prompts end on the task line; the
model writes "Example 1 / Input: / Output:" or "Class label: / Input:"), and each expectation
is what that code's reading gives, worked out by hand from its rules.
"""

from __future__ import annotations

import pytest

from selfinstruct.runtime.records import Instance
from selfinstruct.stages.instances.original import filter_original, parse_original
from selfinstruct.stages.instances.parsing import ParsedExample


def pairs(text: str, classification: bool, reason: str = "stop") -> list[tuple[str, str]]:
    parsed = parse_original(text, classification=classification, finish_reason=reason)
    kept = filter_original("Task.", parsed).kept
    return [(i.input, i.output) for i in kept]


def test_class_label_keeps_the_rest_as_input_prefix_and_all() -> None:
    text = (
        "Class label: Positive\nInput: I loved every minute.\n\n"
        "Class label: Negative\nProblem: Canyon beyond without crimson.\n"
        "Class label: Neutral\nSentence: It rained.\nIt was Tuesday."
    )
    assert pairs(text, True) == [
        ("Input: I loved every minute.", "Positive"),
        ("Problem: Canyon beyond without crimson.", "Negative"),
        ("Sentence: It rained.\nIt was Tuesday.", "Neutral"),
    ]


def test_classification_without_class_label_gives_nothing() -> None:
    assert pairs("Label: Positive\nInput: Nice.", True) == []
    assert pairs("Class label: Positive", True) == [("", "Positive")]


def test_generation_examples_split_at_example_and_read_around_output() -> None:
    text = (
        "Example 1\nSentence: The cat sat.\nOutput: Le chat s'est assis.\n"
        "Example 2\nInput: Good night.\nOutput: Bonne nuit.\nInput: stray\n"
        "Example 3\nOutput 1: only an output"
    )
    assert pairs(text, False) == [
        ("Sentence: The cat sat.", "Le chat s'est assis."),  # the field name stays
        ("Good night.", "Bonne nuit."),  # "Input:" taken off; cut at the next "Input:"
        ("", "only an output"),
    ]


def test_generation_without_example_or_output_gives_nothing_or_one() -> None:
    assert pairs("Just some text with no fields.", False) == []
    assert pairs("Input: 2 + 2\nOutput: 4\nOutput: 5", False) == [("2 + 2", "4")]
    # "Example" with a colon after it: the colon stays at the front of the input
    assert pairs("Example 1:\nInput: a\nOutput: b", False) == [(":\nInput: a", "b")]


def test_cut_off_answer_loses_its_last_example() -> None:
    text = "Example 1\nInput: a\nOutput: b\nExample 2\nInput: c\nOutput: d"
    assert pairs(text, False, "length") == [("a", "b")]


@pytest.mark.parametrize(
    ("examples", "kept", "reasons"),
    [
        ([("x", "x"), ("", ""), ("a:", "b"), ("a", "b:"), ("a", "b")], [("a", "b")],
         ["input_equals_output", "input_equals_output", "dangling_colon", "dangling_colon"]),
        ([("a", "b"), ("", "c"), ("a", "b")], [("a", "b"), ("", "c")], ["duplicate"]),
        ([("a", "b"), ("a", "c")], [], ["conflicting_outputs", "conflicting_outputs"]),
        ([("", "b"), ("", "c")], [("", "b"), ("", "c")], []),  # no input: no conflict
        ([("a", "")], [], ["empty_output"]),
    ],
)  # fmt: skip
def test_filters_are_the_originals(
    examples: list[tuple[str, str]], kept: list[tuple[str, str]], reasons: list[str]
) -> None:
    result = filter_original("Task.", [ParsedExample(i, o) for i, o in examples])
    assert result.kept == [Instance(input=i, output=o) for i, o in kept]
    assert [r for _, r in result.dropped] == reasons
    assert (result.task_dropped is not None) == (not kept)


def test_paper_preset_parses_as_the_original() -> None:
    from selfinstruct.config import RunConfig

    assert RunConfig(preset="paper").instances.parse == "original"
    assert RunConfig().instances.parse == "ours"


def test_ours_and_the_originals_on_a_field_named_like_the_templates(tmp_path) -> None:
    """Through the instances stage: `--instance-parse original` keeps the original's inputs."""
    from fakes import FakeBackend, prompt_text

    from selfinstruct.pipeline import run
    from selfinstruct.stages.instances.parsing import parse_instances

    clf = "Class label: Negative\nProblem: Canyon beyond without crimson.\nClass label: Positive\nInput: Bright morning."
    gen = "Example 1\nSentence: The cat sat.\nOutput: Le chat.\nExample 2\nInput: Good night.\nOutput: Bonne nuit."

    def respond(prompt, params) -> str:
        text = prompt_text(prompt).rstrip()
        if text.endswith("Classification task:"):
            return "Yes" if "Classify" in text.split("\n")[-2] else "No"
        if "Task: " in text.split("\n")[-1] and "Example 1" in text:
            return clf if "class label" in text.lower() else gen
        first = len([x for x in text.split("\n") if x[:1].isdigit()]) + 1
        return f"{first}. Classify the mood of a haiku about canyons.\n{first + 1}. Translate a bedtime greeting into French."

    run("en", tmp_path, 2, FakeBackend(respond=respond), progress=False, instance_parse="original")
    import json

    lines = [json.loads(x) for x in (tmp_path / "instances.jsonl").open()]
    got = {(i["input"], i["output"]) for t in lines for i in t["instances"]}
    assert ("Problem: Canyon beyond without crimson.", "Negative") in got
    assert ("Input: Bright morning.", "Positive") in got
    assert ("Sentence: The cat sat.", "Le chat.") in got and ("Good night.", "Bonne nuit.") in got
    ours = parse_instances(clf, classification=True)
    assert [(e.input, e.output) for e in ours] == [
        ("Problem: Canyon beyond without crimson.", "Negative"),
        ("Bright morning.", "Positive"),
    ]
