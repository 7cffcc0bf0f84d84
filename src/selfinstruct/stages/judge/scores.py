"""Read a judge's two 1-5 scores (correctness, helpfulness) leniently, in English and Chinese.

Small models rarely answer in the asked format: they bold the labels, write "4/5" or "4 out of
5", echo the scale ("Correctness (1-5): 4"), put both scores on one line, answer with one
overall number, or in Chinese ("正确性：4分"). The answer is read as a sequence of labels and
numbers: a number right after a label fills that score (the first one only), numbers without a
label fill the scores still empty in order, and a lone number with no label at all is the
overall score, both scores. Ranges ("1-5", "1 到 5"), rubric lines ("4 = right") and numbers
that are not a whole 1-5 ("4.5", "10") are skipped (a range or rubric sits on one line). One
regex scan, bounded repeats only, so reading takes time linear in the answer; it never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...json_text import read_json

CORRECTNESS, HELPFULNESS = "correctness", "helpfulness"

_LABELS = {
    CORRECTNESS: ("correctness", "accuracy", "正确性", "准确性", "正确度"),
    HELPFULNESS: ("helpfulness", "usefulness", "有用性", "帮助性", "有用度"),
}
_DIGITS = str.maketrans("１２３４５一二三四五", "1234512345")


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_TOKEN = re.compile(
    rf"(?P<{CORRECTNESS}>{_alternation(_LABELS[CORRECTNESS])})"
    rf"|(?P<{HELPFULNESS}>{_alternation(_LABELS[HELPFULNESS])})"
    # a scale or a rubric line, not a score: "1-5", "1 to 5", "1～5", "4 = right"
    r"|(?<![0-9０-９.．])(?P<skip>[0-9０-９一二三四五][ \t]{0,3}"
    r"(?:(?:-|–|—|~|～|to|至|到)[ \t]{0,3}[0-9０-９一二三四五]|=|＝))"
    # a score: 1-5 alone (not part of a longer number or a decimal), "4/5", "4 out of 5", "四分"
    r"|(?<![0-9０-９.．])(?P<score>[1-5１-５])(?![0-9０-９]|[.．][0-9０-９])"
    r"(?:\s{0,3}(?:/|out of|of)\s{0,3}(?:5|５)(?![0-9０-９]))?"
    r"|(?P<zh>[一二三四五])(?=\s{0,3}分)",
    re.I,
)


@dataclass(frozen=True)
class JudgeScores:
    """The two scores read from one answer; None where it gave none."""

    correctness: int | None = None
    helpfulness: int | None = None

    @property
    def score(self) -> int | None:
        """The lower of the two (an instance must be both); None unless both were read."""
        if self.correctness is None or self.helpfulness is None:
            return None
        return min(self.correctness, self.helpfulness)


def parse_scores(text: str) -> JudgeScores:
    """Correctness and helpfulness, 1-5 each, from a judge's answer; see the module docstring."""
    if "{" in text:
        scores = _from_json(read_json(text))
        if scores is not None:
            return scores
    found: dict[str, int] = {}
    loose: list[int] = []
    labelled = False
    pending: str | None = None
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind in (CORRECTNESS, HELPFULNESS):
            labelled, pending = True, kind
            continue
        if kind == "skip":
            continue
        value = int(match.group(kind).translate(_DIGITS))  # type: ignore[arg-type]
        if pending is not None and pending not in found:
            found[pending] = value
        else:
            loose.append(value)
        pending = None
    for name in (CORRECTNESS, HELPFULNESS):
        if name not in found and loose:
            found[name] = loose.pop(0)
    if not labelled and len(found) == 1:  # one overall number
        found[HELPFULNESS] = found[CORRECTNESS]
    return JudgeScores(found.get(CORRECTNESS), found.get(HELPFULNESS))


def _from_json(value: Any) -> JudgeScores | None:
    """Both scores of a JSON answer (`{"correctness": 4, "helpfulness": 5}`, perhaps nested)."""
    if not isinstance(value, dict):
        return None
    inner = next((v for v in value.values() if isinstance(v, dict)), None)
    found: dict[str, int] = {}
    for source in (value, inner or {}):
        for key, item in source.items():
            name = next(
                (n for n, words in _LABELS.items() if str(key).strip().lower() in words), None
            )
            number = _score_of(item)
            if name is not None and number is not None:
                found.setdefault(name, number)
    if len(found) < 2:
        return None  # not both in JSON fields: the text reading decides
    return JudgeScores(found[CORRECTNESS], found[HELPFULNESS])


def _score_of(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, (int, float)) and item == int(item) and 1 <= item <= 5:
        return int(item)
    if isinstance(item, str):
        match = _TOKEN.search(item)
        if match and match.lastgroup in ("score", "zh"):
            return int(match.group(match.lastgroup).translate(_DIGITS))
    return None


_SCORE_KEYS = {"correctness": ("correctness", "正确性"), "helpfulness": ("helpfulness", "有用性")}


def scores_from_json(text: str) -> JudgeScores | None:
    """Correctness and helpfulness (whole numbers 1-5) of a JSON answer; None without either."""
    value = read_json(text)
    if not isinstance(value, dict):
        return None
    found = {name: _score(value, keys) for name, keys in _SCORE_KEYS.items()}
    if all(v is None for v in found.values()):
        return None
    return JudgeScores(found["correctness"], found["helpfulness"])


def _score(value: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    raw = next((value[k] for k in keys if k in value), None)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 5 else None
