"""Read a model's yes/no answer (English or Chinese) leniently; None when it says neither.

Chat models answer in many shapes: a bare "Yes", markdown ("**Yes**"), an echoed label
("Answer: Yes.", "答案：是"), a sentence ("Yes, this is a classification task", "这是一个分类
任务。"), or JSON (`{"is_classification": true}`, `{"answer": "yes"}`, in a code fence or not).
Every pattern is anchored at the start and no two neighbouring repeats share a character, so
reading an answer takes time linear in its length whatever the model sent.
"""

from __future__ import annotations

import re
from typing import Any

from ...json_text import read_json

_MARKUP = re.compile(r"^[\s*#`'\"“”‘’「」>\-_:：.【】\[]+")
_ECHO = re.compile(
    r"^(?:(?:so|therefore|thus|hence|overall)\b[,，]?\s*|(?:所以|因此|综上)[,，]?\s*"
    r"|(?:the |my |final )?answer is\b[:：]?\s*|(?:最终)?答案(?:是|为)[:：]?\s*"
    r"|(?:(?:the |my |final )?answer|classification task|classification|label|verdict"
    r"|decision|is it a classification task|is this a classification task|result"
    r"|是否分类任务|是否为分类任务|是否是分类任务|分类任务|回答|最终答案|答案|答|结论)"
    r"\s*[:：?？]+\s*)",
    re.I,
)
_EN_NO = re.compile(r"^(?:no|not|non|false|n)\b(?!/)", re.I)  # "n/a" is no answer
_EN_YES = re.compile(r"^(?:yes|true|y|yeah|yep|correct|absolutely|definitely)\b", re.I)
_EN_SUBJECT = re.compile(
    r"^(?:(?:it|this|this task|the task|that|this instruction|the instruction)\s+"
    r"(?:is|would be|can be|counts as)|it's|that's|this's)\s+",
    re.I,
)
_EN_CLASSIFICATION = re.compile(r"^(?:indeed\s+)?(?:a|an)\s+classification\b", re.I)
_ZH_SUBJECT = re.compile(r"^(?:这|这个|这个任务|该任务|此任务|这项任务|这道题|它)(?:个)?")
_ZH_NO = ("不是", "不属于", "不算", "否")
_ZH_YES = ("是的", "是", "属于", "对")
_JSON_FIELD = re.compile(r'"[^"\n]{1,40}"[ \t]*[:：][ \t]*"?([^",}\s]{1,12})')
_KEYS = (
    "is_classification", "classification", "is_classification_task", "answer", "label",
    "result", "verdict", "output", "是否分类任务", "分类任务", "答案", "回答",
)  # fmt: skip


def parse_yes_no(text: str) -> bool | None:
    """True/False for a yes/no answer in English or Chinese, None when it is neither."""
    if "{" in text or "[" in text:
        verdict = _from_json(read_json(text))
        if verdict is None and (field := _JSON_FIELD.search(text)):  # cut off: `{"answer": "yes`
            verdict = _read_line(field.group(1))
        if verdict is not None:
            return verdict
    verdict = _read_line(text)
    if verdict is None:  # a sentence first and the answer last ("... So the answer is: Yes.")
        lines = [line for line in text.strip().splitlines() if line.strip()]
        if len(lines) > 1:
            verdict = _read_line(lines[-1])
    return verdict


def _read_line(text: str) -> bool | None:
    s = text.strip()
    for _ in range(3):  # peel markup and an echoed label ("Classification task: Yes")
        s = _ECHO.sub("", _MARKUP.sub("", s)).strip()
    if not s:
        return None
    if _EN_NO.match(s):
        return False
    if _EN_YES.match(s):
        return True
    zh = s[subject.end() :] if (subject := _ZH_SUBJECT.match(s)) else s
    if zh.startswith(_ZH_NO):
        return False
    if zh.startswith(_ZH_YES):
        return True
    subject = _EN_SUBJECT.match(s)
    if subject:
        rest = s[subject.end() :]
        if _EN_NO.match(rest):
            return False
        if _EN_CLASSIFICATION.match(rest):
            return True
    return None


def _from_json(value: Any) -> bool | None:
    """The verdict a JSON answer holds: a known key's bool or yes/no word, else the first one."""
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if not isinstance(value, dict):
        return None
    folded = {str(k).strip().lower(): v for k, v in value.items()}
    nested = next((v for v in folded.values() if isinstance(v, dict)), None)
    if nested is not None and not any(k in folded for k in _KEYS[:3]):
        folded = {**{str(k).strip().lower(): v for k, v in nested.items()}, **folded}
    known = [folded[k] for k in _KEYS if k in folded]
    for item in known + [v for v in folded.values() if isinstance(v, (bool, str))]:
        if isinstance(item, bool):
            return item
        if isinstance(item, str):
            verdict = _read_line(item)
            if verdict is not None:
                return verdict
    return None


def label_from_json(text: str) -> bool | None:
    """`is_classification` of a JSON answer (a boolean, or yes/no words in a string)."""
    value = read_json(text)
    if not isinstance(value, dict):
        return None
    label = value.get("is_classification")
    if label is None and len(value) == 1:
        label = next(iter(value.values()))
    if isinstance(label, bool):
        return label
    return parse_yes_no(label) if isinstance(label, str) else None
