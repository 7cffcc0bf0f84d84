"""Pairing inputs with outputs when a response mixes examples with and without an Input line.

The hand-written cases cover the shapes models produce (headings or not, numbered or not,
en and zh labels, classification label-first or input-first); the property test renders
random example lists in all those styles and checks they parse back to exactly the same pairs.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from selfinstruct.stages.instances.parsing import parse_instances

Pair = tuple[str, str, str | None]


def pairs(text: str, **kw: object) -> list[tuple[str, str, str | None]]:
    return [(e.input, e.output, e.problem) for e in parse_instances(text, **kw)]  # type: ignore[arg-type]


SUNNY, RAINY = ("", "A sunny day.", None), ("rain", "A rainy day.", None)


@pytest.mark.parametrize(
    "text",
    [
        # the response, then the same two examples in every other dress
        "Example 1\nOutput: A sunny day.\nExample 2\nInput: rain\nOutput: A rainy day.",
        "Output: A sunny day.\nExample 2\nInput: rain\nOutput: A rainy day.",  # completion style
        "Output: A sunny day.\nInput: rain\nOutput: A rainy day.",  # no headings
        "Output: A sunny day.\n\nInput: rain\nOutput: A rainy day.\n",
        "1. Output: A sunny day.\n2. Input: rain\nOutput: A rainy day.",
        "Example 1:\n1. Output: A sunny day.\nExample 2:\n2. Input: rain\nOutput: A rainy day.",
        "**Example 1:**\n**Output:** A sunny day.\n**Example 2:**\n**Input:** rain\n**Output:** A rainy day.",
        "## Example 1\n- Output: A sunny day.\n## Example 2\n- Input: rain\n- Output: A rainy day.",
        "Sure! Here you go:\n\n1.\nOutput: A sunny day.\n2.\nInput: rain\nOutput: A rainy day.",
        "Example 1\nOutput: A sunny day.\nExample 2\nInput: rain\nOutput: A rainy day.\n\nTask: Next.\nExample 1\nOutput: x",
        "Example 1\nOUTPUT: A sunny day.\nExample 2\ninput: rain\noutput: A rainy day.",
        "Example 1\nOutput: A sunny day.\nExample 2\nInput: rain\r\nOutput: A rainy day.",
    ],
)
def test_an_example_without_input_then_one_with_input(text: str) -> None:
    assert pairs(text) == [SUNNY, RAINY]


@pytest.mark.parametrize(
    "text",
    [
        "示例 1\n输出：晴天。\n示例 2\n输入：下雨\n输出：雨天。",
        "输出：晴天。\n示例2：\n输入：下雨\n输出：雨天。",
        "输出：晴天。\n输入：下雨\n输出：雨天。",
        "1、输出：晴天。\n2、输入：下雨\n输出：雨天。",
        "例1\n**输出**：晴天。\n例2\n**输入**：下雨\n**输出**：雨天。",
        "示例 1\n输出内容：晴天。\n示例 2\n输入内容：下雨\n输出内容：雨天。",
    ],
)
def test_chinese_labels_mixed_lead(text: str) -> None:
    assert pairs(text) == [("", "晴天。", None), ("下雨", "雨天。", None)]


def test_mixed_en_and_zh_labels_in_one_response() -> None:
    text = (
        "Example 1\n输出：晴天\nExample 2\nInput: rain\n输出：雨天\n示例 3\n输入：雪\nOutput: snowy"
    )
    assert pairs(text) == [("", "晴天", None), ("rain", "雨天", None), ("雪", "snowy", None)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Input: a\nOutput: A\nOutput: B\nInput: c\nOutput: C",
            [("a", "A", None), ("", "B", None), ("c", "C", None)],
        ),
        (
            "Output: A\nOutput: B\nInput: c\nOutput: C\nOutput: D",
            [("", "A", None), ("", "B", None), ("c", "C", None), ("", "D", None)],
        ),
        (
            "Output: A\nInput: b\nOutput: B\nInput: c\nOutput: C\nOutput: D\nInput: e\nOutput: E",
            [
                ("", "A", None),
                ("b", "B", None),
                ("c", "C", None),
                ("", "D", None),
                ("e", "E", None),
            ],
        ),
        # a model that answers output-first throughout still pairs each output with its input
        (
            "Output: 5\nInput: 2, 3\nOutput: 7\nInput: 4, 3",
            [("2, 3", "5", None), ("4, 3", "7", None)],
        ),
        # a heading around an output-first example keeps the two together
        (
            "Example 1\nOutput: 5\nInput: 2, 3\nExample 2\nOutput: 8",
            [("2, 3", "5", None), ("", "8", None)],
        ),
        # numbered examples split even where the numbers sit on different field kinds
        (
            "1. Input: a\nOutput: A\n2. Output: B\n3. Input: c\nOutput: C",
            [("a", "A", None), ("", "B", None), ("c", "C", None)],
        ),
    ],
)
def test_examples_without_input_anywhere_in_the_list(
    text: str, expected: list[tuple[str, str, str | None]]
) -> None:
    assert pairs(text) == expected


def test_multiline_values_survive_mixed_lead() -> None:
    text = "Output:\nRoses are red,\nviolets are blue.\nInput: a cat\nOutput:\nA cat sat\non a mat."
    assert pairs(text) == [
        ("", "Roses are red,\nviolets are blue.", None),
        ("a cat", "A cat sat\non a mat.", None),
    ]


def test_truncated_input_after_an_inputless_example_stays_alone() -> None:
    text = "Output: A sunny day.\nInput: rai"
    assert pairs(text, finish_reason="length") == [SUNNY, ("rai", "", "unparseable")]
    headed = "Example 1\nOutput: A sunny day.\nExample 2\nInput: rai"
    assert pairs(headed, finish_reason="length") == [SUNNY, ("rai", "", "unparseable")]


@pytest.mark.parametrize(
    "text",
    [
        "Example 1\nInput: 4\nClass label: Even\nExample 2\nClass label: Odd\nInput: 7",
        "Example 1\nClass label: Even\nInput: 4\nExample 2\nInput: 7\nClass label: Odd",
        "Input: 4\nLabel: Even\nLabel: Odd\nInput: 7",
        "Class label: Even\nInput: 4\nInput: 7\nClass label: Odd",
        "示例 1\n输入：4\n类别：Even\n示例 2\n类别：Odd\n输入：7",
        "1. Class label: Even\nInput: 4\n2. Input: 7\nLabel: Odd",
    ],
)
def test_classification_examples_that_switch_order(text: str) -> None:
    assert pairs(text, classification=True) == [("4", "Even", None), ("7", "Odd", None)]


def test_classification_label_without_input_between_full_examples() -> None:
    text = "Class label: Even\nInput: 4\nClass label: Odd\nClass label: Even\nInput: 8"
    assert pairs(text, classification=True) == [
        ("4", "Even", None),
        ("", "Odd", None),
        ("8", "Even", None),
    ]


def test_value_emphasis_is_trimmed_only_where_it_wraps_the_value() -> None:
    assert pairs("**Output: A sunny day.**") == [("", "A sunny day.", None)]
    assert pairs("Output: **A sunny day.**") == [("", "A sunny day.", None)]
    assert pairs("Output: **Bold** and plain") == [("", "**Bold** and plain", None)]
    assert pairs("Output:** A sunny day.") == [("", "A sunny day.", None)]


# --- rendered examples parse back to themselves ----------------------------------------------

WORDS = (
    "rain", "sunny", "day", "Input", "output", "label", "Example", "Task", "Category", "class",
    "3rd", "x2", "e.g.", "3.5", "100%", "a-b", "a:b", "(maybe)", "#tag", "très", "Ω", "—",
    "🙂", "“quoted”", "雨", "晴天", "输入", "输出", "示例", "类别", "任务", "天气", "很好。",
)  # fmt: skip
HEADINGS = (
    "Example {n}", "**Example {n}:**", "## Example {n}", "Instance {n}", "Example #{n}",
    "示例 {n}", "示例{n}：", "例{n}", "{n}.", "{n})",
)  # fmt: skip
INPUT_LABELS = (
    "Input: ",
    "**Input:** ",
    "Input：",
    "- Input: ",
    "INPUT: ",
    "输入：",
    "输入: ",
    "**输入**：",
)
OUTPUT_LABELS = ("Output: ", "**Output:** ", "Output：", "- Output: ", "输出：", "输出内容：")
CLASS_LABELS = ("Class label: ", "Label: ", "**Class label:** ", "类别：", "Category: ", "Output: ")

line = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
value = st.lists(line, min_size=1, max_size=3).map("\n".join)


@st.composite
def rendered(draw: st.DrawFn) -> tuple[str, bool, str, list[Pair]]:
    """A response in one random style, the classification flag, the finish reason and the
    pairs it holds."""
    classification = draw(st.booleans())
    heading = draw(st.sampled_from((None, *HEADINGS)))
    label_first = classification and draw(st.booleans())
    numbered = heading is None and draw(st.booleans())
    # Without headings or numbers, input-first classification needs every input (else
    # "Label / Input / Label" reads either way), and so does no other style.
    need_input = classification and not label_first and heading is None and not numbered
    examples = []
    for _ in range(draw(st.integers(1, 5))):
        inp = draw(value) if need_input or draw(st.booleans()) else ""
        examples.append((inp, draw(line if classification else value)))  # a label is one line

    def field(labels: tuple[str, ...], text: str) -> str:
        label = draw(st.sampled_from(labels))
        return label.rstrip() + "\n" + text if draw(st.booleans()) else label + text

    blocks = []
    for n, (inp, out) in enumerate(examples, start=1):
        fields = [field(INPUT_LABELS, inp)] if inp else []
        output = field(CLASS_LABELS if classification else OUTPUT_LABELS, out)
        fields = [output, *fields] if label_first else [*fields, output]
        if numbered:
            fields[0] = f"{n}. {fields[0]}"
        lines = [heading.format(n=n)] if heading and (n > 1 or draw(st.booleans())) else []
        blocks.append("\n".join(lines + fields))
    text = draw(st.sampled_from(("\n", "\n\n", " \n\n"))).join(blocks)
    if draw(st.booleans()):
        text = "Sure! Here are some examples.\n\n" + text
    if draw(st.booleans()):
        text += "\n\nTask: Name a colour.\nExample 1\nOutput: red"
    reason = draw(st.sampled_from(("stop", "length")))
    expected: list[Pair] = [(i, o, None) for i, o in examples]
    if reason == "length":
        expected[-1] = (*expected[-1][:2], "truncated")
    return text, classification, reason, expected


@settings(
    max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(rendered())
def test_rendered_examples_parse_back_exactly(case: tuple[str, bool, str, list[Pair]]) -> None:
    text, classification, reason, expected = case
    assert pairs(text, classification=classification, finish_reason=reason) == expected


@pytest.mark.parametrize("arrow", ["->", "-->", "=>", "→", "⇒", "➜"])
def test_an_arrow_between_an_inline_input_and_its_output_is_not_part_of_the_input(
    arrow: str,
) -> None:
    """`Input: apple -> Output: fruit` on one line: the arrow separates, it is not input."""
    text = f"Example 1: Input: apple {arrow} Output: fruit\nExample 2: Input: 3 > 2 {arrow} Output: True"
    got = [(i.input, i.output) for i in parse_instances(text)]
    assert got == [("apple", "fruit"), ("3 > 2", "True")]


def test_an_input_that_ends_in_a_bracket_keeps_it() -> None:
    """Only an arrow is dropped from an inline input's end, not a `>` that belongs to it."""
    got = parse_instances("Input: <br> Output: a line break")
    assert [(i.input, i.output) for i in got] == [("<br>", "a line break")]
