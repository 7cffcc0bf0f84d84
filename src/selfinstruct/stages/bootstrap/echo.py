"""Prompt-echo filter: reject a candidate instruction that repeats the bootstrap prompt's own words.

A small model sometimes continues the list with a line of our guidelines instead of a task
("Note: The list is one or two sentences per line, as "number. task", with nothing else before
or after the list."). ROUGE-L cannot see it: it compares a candidate with the pool, never with
the prompt. This filter compares it with the template's own text only (the placeholders cut
out, so never the in-context tasks, which ROUGE-L covers): a candidate of which `n` tokens lie
in pieces of 4 or more consecutive tokens copied from that text is rejected as `echoes_prompt`,
the pieces named in the rejection. The pieces add up, so a guideline copied with a word
changed or a comma dropped ("每个任务要与示例、彼此不同") is caught too; each piece must occur
as it is in the template, so two overlapping fragments from different places do not chain.

Tokens are the similarity filter's (lowercase words; each CJK character one token), so `n`
counts words in English and characters in Chinese. Threshold: no instruction among 18,698 real
English ones (the shared corpus and both seed sets) and 2,156 Chinese ones shares more than 4
tokens with any bundled bootstrap template this way ("before or after the", "in a single
sentence"; "智能助手", "一段代码"), so the defaults, 6 words and 8 characters, sit two and four
tokens above the largest innocent overlap seen (benchmarks/echo.py prints the table), while a
copied guideline clause ("one task per line, as number. task" is 7 words) is still caught.
Checking is linear in the candidate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...similarity.tokenize import tokenize_cjk_chars

PLACEHOLDER = re.compile(r"\{(?:tasks|next|last)\}")
"""What `prompt.encode_prompt` fills in: the in-context tasks and the list numbers."""

REASON = "echoes_prompt"


def own_text(template: str) -> list[str]:
    """The template's own wording, as the pieces between its placeholders."""
    return [part for part in PLACEHOLDER.split(template) if part.strip()]


PIECE = 4
"""Shortest copied piece that counts toward an echo: shorter ones are everyday phrases."""
LONGEST = 32
"""Pieces are matched up to this many tokens (a longer copy counts as several pieces)."""


@dataclass(frozen=True)
class EchoFilter:
    """Rejects a candidate holding `n` tokens copied from a template's own text; `n` 0: off.

    The candidate is read left to right as the longest pieces that occur, contiguous, in the
    template's own text; pieces of `PIECE` tokens or more (or `n`, if smaller) add up.
    """

    n: int
    pieces: frozenset[tuple[str, ...]]

    @classmethod
    def of(cls, template: str, n: int) -> EchoFilter:
        """The filter for a bootstrap template (bundled or the user's), placeholders cut out."""
        pieces: set[tuple[str, ...]] = set()
        if n > 0:
            for part in own_text(template):
                tokens = tokenize_cjk_chars(part)
                for i in range(len(tokens)):
                    stop = min(i + LONGEST, len(tokens))
                    pieces.update(tuple(tokens[i:j]) for j in range(i + 1, stop + 1))
        return cls(n, frozenset(pieces))

    def __call__(self, text: str) -> str | None:
        """The pieces of `text` copied from the template when they hold `n` tokens, else None."""
        if not self.pieces:
            return None
        tokens = tokenize_cjk_chars(text)
        shortest = min(PIECE, self.n)
        found: list[list[str]] = []
        i = 0
        while i < len(tokens):
            j = i
            while j < len(tokens) and j - i < LONGEST and tuple(tokens[i : j + 1]) in self.pieces:
                j += 1
            if j - i >= shortest:
                found.append(tokens[i:j])
                i = j
            else:
                i += 1
        if sum(len(piece) for piece in found) < self.n:
            return None
        return " … ".join(join_tokens(piece) for piece in found)


def join_tokens(tokens: list[str]) -> str:
    """Tokens back into text: a space between two Latin words, none next to a CJK character."""
    out: list[str] = []
    for token in tokens:
        if out and token.isascii() and out[-1][-1].isascii():
            out.append(" ")
        out.append(token)
    return "".join(out)
