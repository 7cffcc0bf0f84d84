"""Leading verb and object of instructions (the paper's Figure 2), English and Chinese."""

from __future__ import annotations

import pytest

from selfinstruct.text.verbs import VerbObject, verb_object


@pytest.mark.parametrize(
    ("text", "verb", "obj"),
    [
        ("Write a short poem about the sea.", "write", "poem"),
        ("Please give me three tips for sleeping well.", "give", "tips"),
        ("Can you classify the sentiment of this review?", "classify", "sentiment"),
        ("Summarize the following article in two sentences.", "summarize", "article"),
        ("Generate a list of 5 names for a bakery.", "generate", "list"),  # the head noun
        ("Explain how a bill becomes a law.", "explain", None),  # a clause, no noun object
        ("Write 3 haikus about rain.", "write", "haikus"),
        ("20-word answer to this question.", None, None),
        ("I'm ready to help. What's your task?", None, None),
        ("What is the capital of France?", None, None),
        ("", None, None),
        # the verb after an introduction
        ("Given a list of numbers, sort them in ascending order.", "sort", None),
        ("Using the data below, create a bar chart of sales.", "create", "chart"),
        ("Based on the passage, suggest a suitable title.", "suggest", "title"),
        ("With the given ingredients, make a vegetarian soup.", "make", "soup"),
        ("For each sentence, classify its sentiment.", "classify", "sentiment"),
        ("In this task, you need to compare two texts.", "compare", "texts"),
        ("Using the given words create a sentence.", "create", "sentence"),
        ("Based on the passage, what is the main idea?", None, None),
        # questions, statements and labels: no imperative verb
        ("How does a refrigerator keep food cold?", None, None),
        ("Why is the sky blue?", None, None),
        ("Pipe A can pour 5 liters a minute. How long does it take to fill the tank?", None, None),
        ("John has 5 apples and eats 2. How many are left?", None, None),
        ("ERROR", None, None),
        ("Error: the request failed.", None, None),
        ("Question: what is 2 + 2?", None, None),
        # the head of the object's noun phrase, not its first word
        ("Write a short blog post about gardening.", "write", "post"),
        ("Generate a plausible and interesting title for a book.", "generate", "title"),
        ("Identify the emotion expressed in the text.", "identify", "emotion"),
        ("Write a story set in a haunted house.", "write", "story"),
        ("Create a new dish using only five ingredients.", "create", "dish"),
        ("Describe the impact cell phones have had on communication.", "describe", "impact"),
        ("Extract the patient's age and gender.", "extract", "age"),
        ("Tell me a joke about cats.", "tell", "joke"),
        ("Tell me about your day.", "tell", None),
        ("Translate 'good morning' into French.", "translate", None),
        ("Come up with a slogan for a bakery.", "come up with", "slogan"),
        ("Open-ended response requested. Describe your ideal weekend.", "describe", "weekend"),
        ("Let's write a limerick about a cat.", "write", "limerick"),
        ("To make the pairs match, write the fourth word.", "write", "word"),
        (
            "You are given a news article, and you need to identify its topics.",
            "identify",
            "topics",
        ),
        ("Solving the equation and find x.", None, None),  # no bare imperative
        ("Try coming up with a slogan.", "try", None),  # a gerund complement
        ("Sort the given list ascendingly.", "sort", "list"),
    ],
)
def test_english(text: str, verb: str | None, obj: str | None) -> None:
    assert verb_object(text) == VerbObject(verb, obj)


@pytest.mark.parametrize(
    ("text", "verb", "obj"),
    [
        ("请写一首关于春天的诗", "写", "诗"),
        ("把下面的句子翻译成英文。", "翻译", "句子"),  # the result 成 is no part of the verb
        ("判断这句话的情感是正面还是负面。", "判断", None),  # a clause, no noun object
        ("请总结一篇关于新闻的文章。", "总结", "文章"),
        ("帮我写一首关于春天的诗", "写", "诗"),
        ("文章的主题是什么？", None, None),
        # a leading 给定X， or prepositional phrase, light verbs, fronted objects
        ("给定一个句子，输出其中的动词。", "输出", "动词"),
        ("在下面的段落中找出所有的名词。", "找出", "名词"),
        ("为这篇文章写一个吸引人的标题。", "写", "标题"),
        ("根据以下描述提供一个游戏名称。", "提供", "名称"),
        ("对以下文本进行总结。", "总结", "文本"),
        ("将以下单词按字母顺序进行排序。", "排序", "单词"),
        ("将这段话翻译成英文。", "翻译", "话"),
        ("描述一个理想城市的特点。", "描述", "特点"),
        ("告诉我学习编程的方法。", "告诉", "方法"),
        # questions and statements: no imperative verb
        ("如何提高写作能力？", None, None),
        ("数据科学如何帮助企业减少浪费？", None, None),
        ("一英里有多少英尺？", None, None),
        ("一个顾客要求退款。写一封礼貌的回复。", "写", "回复"),
        ("Write a poem about the sea.", "write", "poem"),  # English in a Chinese run
    ],
)
def test_chinese(text: str, verb: str | None, obj: str | None) -> None:
    assert verb_object(text, "zh") == VerbObject(verb, obj)
