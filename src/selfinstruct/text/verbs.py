"""The leading verb of an instruction and its direct object, as the Self-Instruct paper's Figure 2.

The paper parsed each instruction and took the verb closest to the root and its first direct noun
object. This does the same without a parser: `verbs_en` reads English with word lists and the
shapes instructions come in ("Given X, find Y", questions, "Pipe A can pour ..."), `verbs_zh`
reads Chinese with `jieba.posseg` tags (the `[zh]` extra). Both say None where an instruction has
no imperative verb (a question, a statement) or no noun object (a pronoun, a clause). How well
they agree with hand labels is in docs/report.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import verbs_en, verbs_zh


@dataclass(frozen=True)
class VerbObject:
    """The leading verb of an instruction and its direct object (None when not found)."""

    verb: str | None
    obj: str | None


def verb_object(text: str, language: str = "en") -> VerbObject:
    """The leading verb and its object in `text` (English, or Chinese when `language` is zh)."""
    verb, obj = verbs_zh.find(text) if language == "zh" else verbs_en.find(text)
    return VerbObject(verb, obj)
