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
        ("Explain how a bill becomes a law.", "explain", "bill"),
        ("Write 3 haikus about rain.", "write", "haikus"),
        ("20-word answer to this question.", None, None),
        ("I'm ready to help. What's your task?", None, None),
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
        ("请总结一篇关于新闻的文章。", "总结", "文章"),
        ("帮我写一首关于春天的诗", "写", "诗"),
        ("文章的主题是什么？", None, None),
    ],
)
def test_chinese(text: str, verb: str | None, obj: str | None) -> None:
    assert verb_object(text, "zh") == VerbObject(verb, obj)
