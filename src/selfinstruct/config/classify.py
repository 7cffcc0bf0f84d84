"""ClassifyConfig: the classify stage's options (the [classify] section)."""

from __future__ import annotations

from typing import Literal

from .fields import Section, opt


class ClassifyConfig(Section):
    """Is each machine instruction a classification task?"""

    examples: int = opt(
        12, "few-shot seed examples in the classify prompt", ge=0, flag="classify-examples"
    )
    style: Literal["ours", "original"] = opt(
        "ours",
        "ours: lenient yes/no reading (en, zh), unreadable answers counted; original: 3 tokens, "
        "stop at a newline or 'Task', yes only for 'Yes'/'yes'/'YES'",
        flag="classify-style",
    )
