"""Split a model response into candidate instructions (pure parsing, no filtering)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# An item marker at the start of a line: "9.", "9)", "9 .", "9、", "９．" (full-width digits too),
# but not a number such as "1.5" or "10:30" that opens a line of text. Matching is linear: the
# marker is only tried at line starts, and no two neighbouring repeats share a character.
_ITEM = re.compile(
    r"^[ \t]*(?:[#*-]+[ \t]*)?([0-9０-９]{1,3})[ \t]*[.)、．：:](?![0-9０-９])[ \t]*", re.M
)


@dataclass(frozen=True)
class Candidate:
    """One instruction the model proposed, with the list number it carried (None if unnumbered)."""

    text: str
    number: int | None
    truncated: bool = False


def split_candidates(
    response: str, *, first_number: int, continued: bool, finish_reason: str = "stop"
) -> list[Candidate]:
    """Cut a response into numbered items.

    `continued` is True for completion prompts, where the response starts inside item
    `first_number` (the prompt ended with "9."). Text before the first marker of a chat response
    is a preamble ("Here are some tasks:"), not a candidate. When the model was cut off by
    max_tokens the last item is marked truncated.
    """
    text = response
    if continued:
        text = f"{first_number}. {text.lstrip()}"
    matches = list(_ITEM.finditer(text))
    items: list[Candidate] = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        body = " ".join(text[match.end() : end].split())
        number = int(match.group(1).translate(_FULLWIDTH))
        items.append(Candidate(body, number))
    if not matches and not continued:
        items = [Candidate(line, None) for line in _bullet_lines(response)]
    if items and finish_reason == "length":
        last = items[-1]
        items[-1] = Candidate(last.text, last.number, truncated=True)
    return items


def _bullet_lines(response: str) -> list[str]:
    """Lines of an unnumbered list, without bullets; a line ending in ':' is a preamble."""
    lines = (" ".join(line.strip().lstrip("-*•·").split()) for line in response.splitlines())
    return [line for line in lines if line and not line.endswith((":", "："))]


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
