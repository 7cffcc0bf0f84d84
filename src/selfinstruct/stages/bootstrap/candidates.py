"""Split a model response into candidate instructions, and recase them (pure, no filtering).

Two splitters: ours, lenient (any of the usual item markers, bullets, full-width digits), and
the original Self-Instruct code's, strict (an item starts only at a new line, digits, at most
one space, then ". "), for runs that reproduce the original. The lenient one also reads chat
formatting (text/unwrap.py): decoration, labels and titles come off each item, and the remark that
ends a list is no part of its last item; the strict one keeps every item as written. A response
cut off by max_tokens loses its last candidate (Alpaca's rule) or all of them (the original's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Literal

from ...json_text import read_json_answer, strings_of
from ...text.unwrap import closing_remark, cut_remark, unwrap

Truncation = Literal["last", "response"]
Capitalize = Literal["keep", "first", "lower_rest"]

# An item marker at the start of a line: "9.", "9)", "9 .", "9、", "９．" (full-width digits too),
# but not a number such as "1.5" or "10:30" that opens a line of text. Matching is linear: the
# marker is only tried at line starts, and no two neighbouring repeats share a character.
_ITEM = re.compile(
    r"^[ \t]*(?:[#*-]+[ \t]*)?([0-9０-９]{1,3})[ \t]*[.)、．：:](?![0-9０-９])[ \t]*", re.M
)
_ORIGINAL_ITEM = re.compile(r"\n(\d+)\s?\. ")


@dataclass(frozen=True)
class Candidate:
    """One instruction the model proposed, with the list number it carried (None if unnumbered)."""

    text: str
    number: int | None
    truncated: bool = False
    unwrapped: bool = False
    """The model decorated it (markdown, quotes, a label or title): `text` is without."""


def split_candidates(
    response: str,
    *,
    first_number: int,
    continued: bool,
    finish_reason: str = "stop",
    strict: bool = False,
    truncation: Truncation = "last",
) -> list[Candidate]:
    """Cut a response into numbered items.

    `continued` is True for completion prompts, where the response starts inside item
    `first_number` (the prompt ended with "9."). Text before the first marker of a chat response
    is a preamble ("Here are some tasks:"), not a candidate. `strict` splits as the original
    code does. When the model was cut off by max_tokens, the last item (`truncation="last"`) or
    every item (`"response"`) is marked truncated.
    """
    if strict:
        items = _split_strict(response, first_number, continued)
    else:
        items = _split_lenient(response, first_number, continued)
    if items and finish_reason == "length":
        cut = items if truncation == "response" else items[-1:]
        items = items[: len(items) - len(cut)] + [replace(c, truncated=True) for c in cut]
    return items


def recase(text: str, capitalize: Capitalize) -> str:
    """`first`: upper-case the first letter; `lower_rest`: str.capitalize, the original's.

    The original's `str.capitalize` also lower-cases the rest ("Write a SQL query" becomes
    "Write a sql query"); `first` only makes "write a program ..." meet the filters as
    "Write a program ...".
    """
    if capitalize == "lower_rest":
        return text.capitalize()
    if capitalize == "first" and text[:1].islower() and len(text[0].upper()) == 1:
        return text[0].upper() + text[1:]
    return text


def _split_lenient(response: str, first_number: int, continued: bool) -> list[Candidate]:
    text = f"{first_number}. {response.lstrip()}" if continued else response
    matches = list(_ITEM.finditer(text))
    items: list[tuple[str, int | None]] = []
    for i, match in enumerate(matches):
        last = i + 1 == len(matches)
        raw = text[match.end() : matches[i + 1].start() if not last else len(text)]
        body = _last_item(raw) if last else " ".join(raw.split())
        items.append((body, int(match.group(1).translate(_FULLWIDTH))))
    if not matches and not continued:
        items = [(line, None) for line in _bullet_lines(response)]
    return [_read(body, number) for body, number in items]


def _read(body: str, number: int | None) -> Candidate:
    """One item as its instruction, and whether decoration came off (spacing aside)."""
    text = unwrap(body)
    return Candidate(text, number, unwrapped=text != body.strip())


def _last_item(raw: str) -> str:
    """The last item's text: up to a blank line, without the remark lines that close a list."""
    lines = raw.strip().replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for line in lines:
        if not line.strip():
            break  # what follows a blank line after the last item is the list's ending
        kept.append(line)
    while len(kept) > 1 and closing_remark(kept[-1]):
        kept.pop()
    return cut_remark(" ".join(" ".join(kept).split()))


def _split_strict(response: str, first_number: int, continued: bool) -> list[Candidate]:
    """Pieces between "\\n<digits>[a space]. " markers; a chat response's first is a preamble."""
    text = response if continued else "\n" + response
    matches = list(_ORIGINAL_ITEM.finditer(text))
    starts = [0] + [m.end() for m in matches]
    ends = [m.start() for m in matches] + [len(text)]
    numbers: list[int | None] = [first_number, *(_number(m.group(1)) for m in matches)]
    items = [
        Candidate(" ".join(text[s:e].split()), n)
        for s, e, n in zip(starts, ends, numbers, strict=True)
    ]
    return items if continued else items[1:]


def _number(digits: str) -> int | None:
    """The item number, when it is a plausible one (three digits at most)."""
    return int(digits) if len(digits) <= 3 else None


def _bullet_lines(response: str) -> list[str]:
    """Lines of an unnumbered list, without bullets; preambles and closing remarks left out.

    When some lines carry a bullet, only those are items; a line ending in ':' is a preamble.
    """
    rows = [line.strip() for line in response.splitlines() if line.strip()]
    bulleted = [row for row in rows if _BULLET.match(row)]
    if not bulleted:  # plain lines: the ones after the list may be its closing remark
        while rows and closing_remark(rows[-1]):
            rows.pop()
    lines = (" ".join(_BULLET.sub("", row, count=1).split()) for row in bulleted or rows)
    return [line for line in lines if line and not line.endswith((":", "："))]


_BULLET = re.compile(r"^(?:[-•·‣▪]|\*(?!\*))[ \t]*")


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


_ENUMERATOR = re.compile(r"\s*(?:\d{1,3}|[０-９]{1,3})\s*[.)、．）:：]\s+")


def candidates_from_json(
    text: str, finish_reason: str = "stop", truncation: Truncation = "last"
) -> list[Candidate] | None:
    """The instructions a JSON answer lists (numbering and blank or punctuation-only items gone)."""
    value, is_json = read_json_answer(text)
    listed = strings_of(value, ("instructions", "tasks")) if value is not None else None
    if listed is None:
        return [] if is_json else None
    items = [" ".join(_ENUMERATOR.sub("", s, count=1).split()) for s in listed]
    cut = finish_reason == "length" and truncation == "response"
    return [Candidate(s, None, cut) for s in items if any(ch.isalnum() for ch in s)]


def answer_candidates(
    text: str, finish_reason: str, *, asked: bool, truncation: Truncation, **split: Any
) -> list[Candidate]:
    """A bootstrap answer's candidates: from its JSON when JSON was asked for, else its text
    (`split`: the rest of `split_candidates`' arguments)."""
    listed = candidates_from_json(text, finish_reason, truncation) if asked else None
    if listed is not None:
        return listed
    return split_candidates(text, finish_reason=finish_reason, truncation=truncation, **split)
