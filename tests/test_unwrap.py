"""Chat formatting read off list items (unwrap.py), and kept as written in the original's dialect."""

from __future__ import annotations

import pytest

from selfinstruct.stages.bootstrap.candidates import split_candidates
from selfinstruct.text.unwrap import closing_remark, unwrap


@pytest.mark.parametrize(
    ("item", "instruction"),
    [
        ("**Write a haiku** about the first snow", "Write a haiku about the first snow"),
        ("**Haiku**: Write a haiku about snow.", "Write a haiku about snow."),
        ("**Haiku:** Write a haiku about snow.", "Write a haiku about snow."),
        ("__Haiku__: Write a haiku about snow.", "Write a haiku about snow."),
        ("**Translate**: the phrase below into French.", "Translate the phrase below into French."),
        ('"Explain why the sky appears blue."', "Explain why the sky appears blue."),
        ('"Explain why the sky appears blue".', "Explain why the sky appears blue."),
        ("“Explain why the sky appears blue.”", "Explain why the sky appears blue."),
        ("'Explain why the sky appears blue.'", "Explain why the sky appears blue."),
        ("「解释一下光合作用的过程。」", "解释一下光合作用的过程。"),
        ("『为读书会写一段开场白。』", "为读书会写一段开场白。"),
        ("“请判断“月亮会发光”这句话是否正确。”", "请判断“月亮会发光”这句话是否正确。"),
        ("*Summarize* the following paragraph.", "Summarize the following paragraph."),
        ("`Convert` this temperature to Kelvin.", "Convert this temperature to Kelvin."),
        ("Task: Classify the review.", "Classify the review."),
        ("**Task:** Classify the review.", "Classify the review."),
        ("**Task**: Classify the review.", "Classify the review."),
        ("Task 3: Classify the review.", "Classify the review."),
        ("Instruction: Rewrite the email.", "Rewrite the email."),
        ("Q: Why is the sea salty?", "Why is the sea salty?"),
        ("任务：写一首诗。", "写一首诗。"),
        ("指令:写一首诗。", "写一首诗。"),
        ("**问题**：为什么天是蓝的？", "为什么天是蓝的？"),
        ("【任务】写一首诗。", "写一首诗。"),
        ('**"Task: Write a limerick about a cat."**', "Write a limerick about a cat."),
        ("Explain **why** the sky is blue.", "Explain why the sky is blue."),
        ("***Explain*** why leaves turn red.", "Explain why leaves turn red."),
        ("___Explain___ why leaves turn red.", "Explain why leaves turn red."),
        ("Write a ***short*** poem.", "Write a short poem."),
    ],
)
def test_decoration_comes_off(item: str, instruction: str) -> None:
    assert unwrap(item) == instruction


@pytest.mark.parametrize(
    "item",
    [
        "“双减”政策对中小学生的课外生活有什么影响？",
        "《红楼梦》的主要人物有哪些？",
        '"Hamlet" and "Macbeth": compare their villains.',
        "Explain what `__init__` does in a Python class.",
        "Explain what the `git stash` command does.",
        "Compute 2*3*4 and explain each step.",
        "Task-based learning: describe its main idea.",
        "'Tis the season: write a holiday greeting.",
        "Questionnaire design: list five common mistakes.",
    ],
)
def test_what_is_not_decoration_stays(item: str) -> None:
    assert unwrap(item) == item


@pytest.mark.parametrize(
    ("line", "remark"),
    [
        ("Let me know if you need more!", True),
        ("I hope these help.", True),
        ("Feel free to ask for more tasks.", True),
        ("希望这些任务对你有帮助！", True),
        ("如果你需要更多任务，请告诉我。", True),
        ("Explain how tides work.", False),
        ("Describe your hopes for the next decade.", False),
        ("希腊神话中有哪些著名的英雄？", False),
    ],
)
def test_closing_remarks(line: str, remark: bool) -> None:
    assert closing_remark(line) is remark


def test_the_originals_dialect_keeps_items_as_written() -> None:
    response = "\n9. **Write a haiku** about snow.\n10. Task: Classify the review.\n11. Explain tides. Let me know if you need more!"
    strict = split_candidates(response, first_number=9, continued=False, strict=True)
    assert [c.text for c in strict] == [
        "**Write a haiku** about snow.",
        "Task: Classify the review.",
        "Explain tides. Let me know if you need more!",
    ]
    assert not any(c.unwrapped for c in strict)
    ours = split_candidates(response, first_number=9, continued=False)
    assert [c.text for c in ours] == [
        "Write a haiku about snow.",
        "Classify the review.",
        "Explain tides.",
    ]
    assert [c.unwrapped for c in ours] == [True, True, False]


def test_paper_preset_filters_keep_the_original_first_character_rule() -> None:
    from selfinstruct.config import RunConfig
    from selfinstruct.stages.bootstrap.pool import Pool

    text = "“双减”政策对中小学生的课外生活有什么影响？"
    for preset, verdict in (("default", None), ("paper", "starts_with_punctuation")):
        config = RunConfig(preset=preset).bootstrap
        pool = Pool(config, "zh", ["写一首关于秋天的诗。"], [])
        try:
            assert pool.filter(text) == verdict
        finally:
            pool.close()
