"""Tokenizers that turn an instruction into ROUGE-L tokens, for English and CJK text.

English follows rouge-score's default tokenizer (no stemming) token for token. rouge-score drops
every character outside [a-z0-9], so Chinese text mostly becomes no tokens at all; the CJK
tokenizers keep Han characters (one token each) or jieba words. All tokenizers are module-level
functions so that worker processes can pickle them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from ..errors import ConfigError, MissingDependencyError

Tokenizer = Callable[[str], list[str]]
"""A function from text to tokens; two texts are compared by the LCS of their token lists."""

# rouge-score lowercases, turns every run of characters outside [a-z0-9] into a space, splits and
# keeps tokens matching ^[a-z0-9]+$: on lowercased text that is exactly the runs of [a-z0-9].
_WORD = re.compile(r"[a-z0-9]+")

# Han ideographs (URO, extension A, compatibility, extensions B-H), kana and Hangul syllables:
# scripts written without spaces between words, so each character becomes one token.
_CJK_CHARS = (
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
    "\u3040-\u309f\u30a0-\u30ff\uac00-\ud7af"
)
_WORD_OR_CJK_CHAR = re.compile(rf"[a-z0-9]+|[{_CJK_CHARS}]")
_HAS_CJK = re.compile(rf"[{_CJK_CHARS}]")


def tokenize_en(text: str) -> list[str]:
    """rouge-score's default tokens (use_stemmer=False): lowercase runs of [a-z0-9]."""
    return _WORD.findall(text.lower())


def tokenize_cjk_chars(text: str) -> list[str]:
    """Each CJK character as a token, other text as rouge-score's lowercase [a-z0-9] words."""
    return _WORD_OR_CJK_CHAR.findall(text.lower())


@cache
def _jieba() -> Any:
    """Import jieba once, quietly (it logs its dictionary loading otherwise)."""
    try:
        import jieba
    except ImportError as exc:
        raise MissingDependencyError("jieba", "Chinese word segmentation", "zh") from exc
    import logging

    jieba.setLogLevel(logging.WARNING)
    return jieba


def tokenize_jieba_words(text: str) -> list[str]:
    """jieba words that contain CJK characters, other text as rouge-score's [a-z0-9] words."""
    tokens: list[str] = []
    for word in _jieba().lcut(text.lower()):
        if _HAS_CJK.search(word):
            tokens.append(word.strip())
        else:
            tokens.extend(_WORD.findall(word))
    return tokens


_TOKENIZERS: dict[str, Tokenizer] = {
    "en": tokenize_en,
    "zh": tokenize_cjk_chars,
    "zh-chars": tokenize_cjk_chars,
    "zh-jieba": tokenize_jieba_words,
}


def get_tokenizer(language: str) -> Tokenizer:
    """The tokenizer for a language code: "en", "zh" (CJK characters), or "zh-jieba"."""
    key = language.strip().lower().replace("_", "-")
    if key not in _TOKENIZERS:
        known = ", ".join(sorted(_TOKENIZERS))
        raise ConfigError(f"unknown tokenizer language {language!r}; use one of: {known}")
    return _TOKENIZERS[key]
