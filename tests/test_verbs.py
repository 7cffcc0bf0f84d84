"""Leading verb and object of instructions (the paper's Figure 2), English and Chinese."""

from __future__ import annotations

import pytest

from selfinstruct.verbs import VerbObject, verb_object


@pytest.mark.parametrize(
    ("text", "verb", "obj"),
    [
        ("Write a short poem about the sea.", "write", "poem"),
        ("Please give me three tips for sleeping well.", "give", "tips"),
        ("Can you classify the sentiment of this review?", "classify", "sentiment"),
        ("Summarize the following article in two sentences.", "summarize", "article"),
        ("Generate a list of 5 names for a bakery.", "generate", "names"),
        ("What is the capital of France?", None, None),
        ("", None, None),
    ],
)
def test_english(text: str, verb: str | None, obj: str | None) -> None:
    assert verb_object(text) == VerbObject(verb, obj)


@pytest.mark.parametrize(
    ("text", "verb", "obj"),
    [
        ("请写一首关于春天的诗", "写", "诗"),
        ("把下面的句子翻译成英文。", "翻译成", "句子"),
        ("判断这句话的情感是正面还是负面。", "判断", "话"),
    ],
)
def test_chinese(text: str, verb: str, obj: str) -> None:
    assert verb_object(text, "zh") == VerbObject(verb, obj)
