"""Read a model's yes/no answer (English or Chinese) leniently; None when it says neither.

Every pattern is anchored at the start and no two neighbouring repeats share a character, so
reading an answer takes time linear in its length whatever the model sent.
"""

from __future__ import annotations

import re

_MARKUP = re.compile(r"^[\s*#`'\"“”‘’>\-_:：.]+")
_ECHO = re.compile(
    r"^(?:classification task|classification|answer|label|verdict|decision"
    r"|is it a classification task"
    r"|是否分类任务|是否为分类任务|分类任务|回答|答案|答)\s*[:：?？]+\s*",
    re.I,
)
_EN_NO = re.compile(r"^(?:no|not|non|false|n)\b(?!/)", re.I)  # "n/a" is no answer
_EN_YES = re.compile(r"^(?:yes|true|y|yeah|yep|correct)\b", re.I)
_EN_SUBJECT = re.compile(r"^(?:it|this|this task|the task|that)\s+(?:is|would be)\s+", re.I)
_ZH_NO = ("不是", "不属于", "不算", "否")
_ZH_YES = ("是的", "是", "属于", "对")


def parse_yes_no(text: str) -> bool | None:
    """True/False for a yes/no answer in English or Chinese, None when it is neither."""
    s = text.strip()
    for _ in range(3):  # peel markup and an echoed label ("Classification task: Yes")
        s = _ECHO.sub("", _MARKUP.sub("", s)).strip()
    if not s:
        return None
    if _EN_NO.match(s):
        return False
    if _EN_YES.match(s):
        return True
    if s.startswith(_ZH_NO):
        return False
    if s.startswith(_ZH_YES):
        return True
    subject = _EN_SUBJECT.match(s)
    if subject:
        rest = s[subject.end() :]
        if _EN_NO.match(rest):
            return False
        if re.match(r"^(?:a|an)\s+classification\b", rest, re.I):
            return True
    return None
