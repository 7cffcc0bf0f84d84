"""The leading verb of an instruction and its direct object, as the Self-Instruct paper's Figure 2.

English, dependency-light: the first word that is not a politeness or question opener ("please",
"can you", "I want you to") is the verb, lowercased and stripped of punctuation, unless it has
digits or an apostrophe ("20-word answer", "I'm ready"); the object is the first later word
of letters only that is not a determiner, adjective-like quantifier, pronoun, preposition
or question word (so "Write a short poem about ..." gives write / poem, "Give me three tips ..."
gives give / tips, "Explain how a bill becomes law" gives explain / bill). The paper used the
Berkeley parser; this heuristic agrees with a parser on the common imperative shapes and says
nothing (None) when the first word is not a plausible verb.
Chinese: `jieba.posseg` tags (the `[zh]` extra): the first verb (`v`, `vn`, `vd`, or a set
phrase `l` such as 翻译成; or a verb jieba tags as a noun, such as 总结, opening the
instruction) and the first noun (`n*`) after it that is not inside a 关于 ... 的 topic phrase,
or the noun fronted by 把/将 before it; a leading "请" (or 帮我) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .errors import MissingDependencyError


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")
_OPENERS = (
    ("please",), ("kindly",), ("can", "you"), ("could", "you"), ("would", "you"), ("will", "you"),
    ("i", "want", "you", "to"), ("i", "need", "you", "to"), ("i", "would", "like", "you", "to"),
    ("help", "me"), ("now",), ("then",), ("also",),
)  # fmt: skip
_NOT_VERBS = _words(
    "a an the this that these those what which who whom whose when where why how is are was were "
    "do does did i you he she it we they my your his her its our their there here if in on at "
    "for of to from by with as and or but not no yes given based using according"
)
_SKIP = _words(
    "a an the this that these those some any each every all both few many several more most "
    "one two three four five six seven eight nine ten short long brief simple new me us him her "
    "them it my your our their his its following given next first second best good list of "
    "to for about on in into with from by up out down how what why when where which who whom "
    "whose whether if"
)


_ZH_VERB_TAGS = frozenset(("v", "vn", "vd", "l"))
"""jieba's verb tags, and `l` (set phrases), which is how it tags verbs such as 翻译成."""
_ZH_VERB_NOUNS = _words(
    "总结 计划 比较 评价 建议 分类 整理 规划 证明 排序 润色 想象 举例 区分 命名 设想 定义"
)
"""Verbs jieba tags as nouns (or adverbs); taken as the verb when they open the instruction."""
_ZH_POLITE = _words("请 请你 帮 帮我 我 你 麻烦")
"""Openers skipped before the verb (请帮我 ...)."""
_ZH_COPULAS = _words("是 有")
_ZH_TOPIC = _words("关于 有关 对于")


@dataclass(frozen=True)
class VerbObject:
    """The leading verb of an instruction and its direct object (None when not found)."""

    verb: str | None
    obj: str | None


def verb_object(text: str, language: str = "en") -> VerbObject:
    """The leading verb and its object in `text` (see the module docstring for how)."""
    return _zh(text) if language == "zh" else _en(text)


def _en(text: str) -> VerbObject:
    words = [w.lower() for w in _WORD.findall(text[:300])]
    changed = True
    while changed and words:
        changed = False
        for opener in _OPENERS:
            if tuple(words[: len(opener)]) == opener:
                words = words[len(opener) :]
                changed = True
    if not words or words[0] in _NOT_VERBS or not words[0].isalpha():
        return VerbObject(None, None)  # "I'm ready", "20-word answer": not a command
    verb = words[0]
    obj = next((w for w in words[1:] if w not in _SKIP and len(w) > 1 and w.isalpha()), None)
    return VerbObject(verb, obj)


def _zh(text: str) -> VerbObject:
    verb = obj = fronted = None
    marked = False  # after 把/将 the object comes before the verb: 把句子翻译成英文
    topic = False  # inside 关于 ... 的, a modifier: 写一篇关于春天的文章 is about 文章
    first = True
    for word, flag in _posseg()(text[:200]):
        if verb is None:
            if first and word in _ZH_POLITE:
                continue
            if word in ("把", "将"):
                marked = True
            elif marked and fronted is None and flag.startswith("n"):
                fronted = word
            elif word in _ZH_COPULAS:
                return VerbObject(None, None)  # a question (文章的主题是什么), not a command
            elif flag in _ZH_VERB_TAGS or (first and word in _ZH_VERB_NOUNS):
                verb = word
                if fronted is not None:
                    return VerbObject(verb, fronted)
            first = False
        elif word in _ZH_TOPIC:
            topic = True
        elif topic:
            topic = word != "的"
        elif flag.startswith("n"):
            obj = word
            break
    return VerbObject(verb, obj)


@lru_cache(maxsize=1)
def _posseg() -> Callable[[str], list[tuple[str, str]]]:
    try:
        import jieba
        import jieba.posseg
    except ModuleNotFoundError:
        raise MissingDependencyError("jieba", "Chinese verb/noun analysis", "zh") from None
    jieba.setLogLevel(60)  # no "Building prefix dict" chatter
    return lambda text: [(p.word, p.flag) for p in jieba.posseg.cut(text)]
