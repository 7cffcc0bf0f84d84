"""Read a chat model's decorated list item as the plain instruction it stands for (pure).

Chat models bold, italicise, back-tick and quote their list items, give them a label
("Task:", "指令：") or a title ("**Haiku**: Write a haiku ..."), and end their lists with a
remark ("Let me know if you need more!"). `unwrap` takes the decoration off one item before
the filters see it; `closing_remark` tells a list's trailing chatter from an item. Every
pattern is anchored or bounded, so reading stays linear in the item.
"""

from __future__ import annotations

import re

_LABELS_EN = (
    "task", "new task", "instruction", "new instruction", "prompt", "q", "question", "query",
    "request", "exercise", "problem",
)  # fmt: skip
_LABELS_ZH = ("任务", "新任务", "指令", "新指令", "问题", "题目", "提示", "要求", "指示")
_ALT = "|".join(re.escape(w) for w in sorted(_LABELS_EN + _LABELS_ZH, key=len, reverse=True))
_E = r"(?:\*\*|__|\*|_)?"  # emphasis around a label
# "Task:", "**Task:**", "**Task**:", "Task 3:", "任务：", "【任务】" is not a label (a title)
_LABEL = re.compile(
    rf"^(?:{_E}(?:{_ALT})(?:[ \t]?[0-9]{{1,3}})?{_E}(?:[ \t]?[:：]|[ \t]+[-–—](?=[ \t])){_E}"
    rf"|[【\[](?:{_ALT})(?:[ \t]?[0-9]{{1,3}})?[】\]][:：]?)[ \t]*",
    re.I,
)
# "**Title**: rest", "**Title:** rest", "__Title__: rest"; a title holds no colon
_TITLE = re.compile(r"^(\*\*|__)([^*_:：\n]{1,80}?)(?:\1[ \t]?[:：—–-]{1,2}|[:：]\1)[ \t]*(?=\S)")
_QUOTE_MARK = re.compile(r"^(?:>[ \t]*)+")  # a markdown block quote
# **bold** and ***bold italic*** inside a sentence
_BOLD = re.compile(r"(?<![\w*])(\*\*\*|\*\*)(?=\S)([^*\n]+?)(?<=\S)\1(?![\w*])")
_LEADING_MARKS = re.compile(
    r"^(?:(\*\*\*|___|\*\*|__)(?=\S)([^*_\n]+?)(?<=\S)\1|(\*|_)(?=\S)([^*_\n]+?)(?<=\S)\3(?!\w)"
    r"|`([^`\n]+)`)"
)
_QUOTES = {'"': '"', "“": "”", "'": "'", "‘": "’", "「": "」", "『": "』", "«": "»", "„": "“"}
_END_PUNCT = ".。!！?？"
_CLOSING = re.compile(
    r"(?:let me know|feel free|i hope (?:these|this|that|you)|hope (?:these|this|that)"
    r"|these (?:tasks|instructions|prompts|examples) (?:should|cover|are|can|will|offer|span)"
    r"|(?:would|do) you (?:like|want|need)|if you(?:'d| would)? (?:like|need|want)"
    r"|enjoy|happy (?:writing|learning|generating)|good luck|have fun|need more"
    r"|each (?:task|of these|one)\b|all (?:of )?(?:these|the) (?:tasks|instructions)"
    r"|note[:：]|i(?:'ve| have)? (?:tried|aimed|made sure|included)"
    r"|(?:i|we) can (?:also )?(?:generate|provide|create|write) more|want more"
    r"|希望(?:这些|以上|这|对你|能|它们|您)|如(?:果)?(?:你|您)?(?:还)?需要|如有(?:需要|其他)"
    r"|以上(?:是|就是|这些|任务|示例|例子|内容|仅供)|这些任务(?:涵盖|可以|应该|希望|覆盖|都)|祝(?:你|您)"
    r"|欢迎(?:继续|告诉|提出)|(?:你|您)(?:还)?(?:需要|想要)更多)",
    re.I,
)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])[ \t]*")
_REMARK_CHARS = 240
_GLUED = re.compile(  # a remark on the last item's own line: only the unmistakable ones
    r"(?:let me know|i hope|hope (?:these|this|that)|feel free|enjoy!|happy \w+ing!|"
    r"(?:would|do) you (?:like|want|need) more|希望|如(?:果)?(?:你|您)?(?:还)?需要)",
    re.I,
)
_EXAMPLES = re.compile(r"example|instance|示例|例子|样例|实例", re.I)
_ABOUT = re.compile(r"example|instance|these|more|示例|例子|样例|实例|这些|更多", re.I)


def unwrap(text: str) -> str:
    """The instruction an item stands for, decoration off (a plain item comes back as it is)."""
    current = text.strip()
    if not current:
        return current
    for _ in range(4):  # decorations nest: **"Task: ..."**
        before = current
        current = _QUOTE_MARK.sub("", _drop_stray_marks(current)).strip()
        current = _strip_wrapping(current)
        current = _strip_label(current)
        current = _strip_title(current)
        current = _strip_leading_marks(current)
        current = _strip_quotes(current)
        if current == before:
            break
    current = _BOLD.sub(r"\2", current)  # **bold** inside the sentence
    return _drop_stray_marks(current).strip()


def closing_remark(text: str) -> bool:
    """Whether a line after a list is chatter about the list, not an item (a remark is short)."""
    text = text.strip()
    return len(text) <= _REMARK_CHARS and _CLOSING.match(_strip_wrapping(text)) is not None


def cut_remark(item: str) -> str:
    """The last item of a list without a remark glued on after it ("... Hope this helps!")."""
    start = max(0, len(item) - _REMARK_CHARS)
    for match in _SENTENCE_END.finditer(item, start):
        end = match.end()
        rest = item[end:]
        if 0 < end < len(item) and closing_remark(rest) and _GLUED.match(rest):
            return item[: match.start()].rstrip()
    return item


def without_remark(lines: list[str]) -> list[str]:
    """Lines of a list's last answer without the paragraph after it that talks about the list.

    Only a last paragraph (after a blank line) of remarks about "these" or "more" examples goes:
    an output of its own may well end "Let me know if you have questions."
    """
    blank = max((i for i, line in enumerate(lines) if not line.strip()), default=-1)
    tail = [line for line in lines[blank + 1 :] if line.strip()]
    if blank <= 0 or not tail or not all(_about_list(line) for line in tail):
        return list(lines)
    kept = list(lines[:blank])
    while len(kept) > 1 and not kept[-1].strip():
        kept.pop()
    return kept


def _about_list(line: str) -> bool:
    return closing_remark(line) and _ABOUT.search(line) is not None


def without_example_remark(lines: list[str]) -> list[str]:
    """`without_remark`, and a last line that is a remark naming the examples goes too."""
    lines = without_remark(lines)
    if len(lines) > 1 and closing_remark(lines[-1]) and _EXAMPLES.search(lines[-1]):
        lines = lines[:-1]
    return lines


def _strip_wrapping(text: str) -> str:
    """`**x**`, `__x__`, `*x*`, `_x_`, `` `x` `` around the whole item (a full stop may follow)."""
    for mark in ("**", "__", "`", "*", "_"):
        body, tail = text, ""
        if _ends_sentence(body) and not body.endswith(mark):
            body, tail = body[:-1], body[-1]
        if len(body) > 2 * len(mark) and body.startswith(mark) and body.endswith(mark):
            inner = body[len(mark) : -len(mark)]
            if mark not in inner and inner.strip() == inner:
                return inner + tail
    return text


def _strip_label(text: str) -> str:
    match = _LABEL.match(text)
    return text[match.end() :] if match and match.end() < len(text) else text


def _strip_title(text: str) -> str:
    """`**Title**: rest` -> rest when rest reads as a whole instruction, else `Title rest`."""
    match = _TITLE.match(text)
    if match is None:
        return text
    title, rest = match.group(2).strip(), text[match.end() :]
    if rest[:1].islower():  # "**Translate**: the sentence below into French"
        return f"{title} {rest}"
    return rest


def _strip_leading_marks(text: str) -> str:
    """`**Write a haiku** about snow`, `*Summarize* this`, `` `Convert` this ``: marks off."""
    match = _LEADING_MARKS.match(text)
    if match is None or match.end() == len(text):
        return text
    inner = match.group(2) or match.group(4) or match.group(5)
    return inner + text[match.end() :]


def _strip_quotes(text: str) -> str:
    """`"x"`, `“x”`, `'x'`, `「x」`, `『x』` around the whole item (a full stop may sit outside)."""
    opening = text[:1]
    close = _QUOTES.get(opening)
    if close is None:
        return text
    body, tail = text, ""
    if _ends_sentence(body):
        body, tail = body[:-1], body[-1]
    if len(body) < 3 or not body.endswith(close):
        return text
    inner = body[1:-1]
    if not _balanced(inner, opening, close):  # “双减”政策…: the first quote closes early
        return text
    if close in "'’" and len(inner.split()) < 3:
        return text  # 'tis, or an apostrophe: not a quoted item
    return inner.strip() + ("" if _ends_sentence(inner) else tail)


def _balanced(inner: str, opening: str, close: str) -> bool:
    """Whether the quotes inside a quoted item pair up (“a “b” c”, "a 'b' c"), never closing it."""
    if opening != close:
        depth = 0
        for ch in inner:
            depth += (ch == opening) - (ch == close)
            if depth < 0:
                return False
        return depth == 0
    if close == "'":
        return True  # apostrophes: "it's"
    for i, ch in enumerate(inner):  # a straight quote inside must open after a space or colon
        if ch == close:
            before = inner[i - 1] if i else " "
            opens = inner[:i].count(close) % 2 == 0
            if opens and not (before.isspace() or before in ":：(（"):
                return False
    return inner.count(close) % 2 == 0


def _ends_sentence(text: str) -> bool:
    return bool(text) and text[-1] in _END_PUNCT


def _drop_stray_marks(text: str) -> str:
    """An unbalanced `**` left at an edge ("**9. Write a haiku**" split at the number)."""
    for mark in ("**", "__"):
        if text.count(mark) % 2:
            if text.startswith(mark):
                text = text[len(mark) :]
            elif text.endswith(mark):
                text = text[: -len(mark)]
    return text
