"""The named post-processing filters, English and Chinese."""

import pytest

from selfinstruct.errors import ConfigError
from selfinstruct.stages.bootstrap.filters import (
    PAPER_BLACKLIST,
    FilterConfig,
    InstructionFilter,
)

en = InstructionFilter(FilterConfig(language="en"))
zh = InstructionFilter(FilterConfig(language="zh"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Explain photosynthesis simply.", "too_short"),  # 3 words
        ("Explain photosynthesis to children.", None),  # 4 words
        (" ".join(["word"] * 151), "too_long"),
        (" ".join(["word"] * 150), None),
        ("Describe the image in a few words.", "blacklisted_keyword"),
        ("Describe what these Files contain.", "blacklisted_keyword"),
        ("Explain how to go to the station by bus.", "blacklisted_keyword"),
        ("Explain what a mapping function does.", None),  # whole words only
        ("Give a detailed plotline for a mystery novel.", None),
        ("Write a program that sorts numbers quickly.", "write_a_program"),
        ('"Quote" the following famous line correctly.', None),  # a quoted term, closed
        ('"Explain why the sky appears blue.', "starts_with_punctuation"),  # a stray quote
        ("(Optional) Explain why the sky is blue.", None),
        ("Écris un poème sur la mer, s'il te plaît.", "non_english_start"),
        ("", "empty"),
    ],
)
def test_english_filters(text: str, reason: str | None) -> None:
    assert en(text) == reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("写诗", "too_short"),
        ("写一首关于秋天的七言绝句。", None),
        ("根据下面的图片写一段描述。", "blacklisted_keyword"),
        ("编写一个程序计算斐波那契数列。", "write_a_program"),
        ("Please translate this sentence into 中文.", "mostly_latin"),
        ("“双减”政策对中小学生的课外生活有什么影响？", None),  # a quoted term opens it
        ("《红楼梦》的主要人物有哪些？请简要介绍。", None),  # a title
        ("「解释」一下光合作用的过程。", None),
        ("【选做】写一首关于秋天的诗。", None),
        ("（选做）写一首关于秋天的诗。", None),
        ("“引号开头却不闭合的指令。", "starts_with_punctuation"),
        ("，逗号开头的指令是不允许的。", "starts_with_punctuation"),
        ("字" * 301, "too_long"),
    ],
)
def test_chinese_filters(text: str, reason: str | None) -> None:
    assert zh(text) == reason


def test_strict_start_is_the_originals_first_character_rule() -> None:
    for language, text in (
        ("en", '"Hamlet" is a play; summarize its story.'),
        ("zh", "《红楼梦》讲了什么？"),
    ):
        lenient = InstructionFilter(FilterConfig(language=language))
        strict = InstructionFilter(FilterConfig(language=language, strict_start=True))
        assert lenient(text) is None
        assert strict(text) in ("starts_with_punctuation", "non_english_start")


def test_blacklist_is_configurable() -> None:
    stricter = InstructionFilter(FilterConfig(blacklist=(*PAPER_BLACKLIST, "music")))
    text = "Compose a short piece of music for a birthday."
    assert en(text) is None
    assert stricter(text) == "blacklisted_keyword"
    assert stricter.blacklisted(text) == "music"
    looser = InstructionFilter(FilterConfig(min_words=2, max_words=5, blacklist=()))
    assert looser("Describe this image.") is None
    assert looser("one two three four five six") == "too_long"


def test_bad_bounds_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="min_words"):
        FilterConfig(min_words=10, max_words=5)
    with pytest.raises(ConfigError, match="language"):
        FilterConfig(language="fr")
