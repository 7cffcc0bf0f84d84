"""Tell English from Chinese instruction sets by the share of Han characters."""

from __future__ import annotations

from collections.abc import Iterable


def is_han(ch: str) -> bool:
    """True for a CJK unified ideograph (the basic block and extension A)."""
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"


def detect_language(texts: Iterable[str]) -> str:
    """ "zh" when Han characters make up over 30% of the letters, else "en"."""
    han = letters = 0
    for text in texts:
        for ch in text:
            if is_han(ch):
                han += 1
                letters += 1
            elif ch.isalpha():
                letters += 1
    return "zh" if letters and han / letters > 0.3 else "en"
