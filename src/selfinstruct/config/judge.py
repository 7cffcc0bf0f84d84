"""JudgeConfig: the judge stage's options (the [judge] section)."""

from __future__ import annotations

from .fields import Section, opt


class JudgeConfig(Section):
    """Scores of every kept instance, 1-5 for correctness and helpfulness, by the same model."""

    enabled: bool = opt(
        False, "run the judge stage in `selfinstruct run` (the judge command always does)",
        flag="judge", data=False,
    )  # fmt: skip
    max_tokens: int = opt(32, "max tokens per judge answer", ge=4, flag="judge-max-tokens")
    examples: int = opt(
        2, "answered seed examples in the judge prompt (right ones and mismatched ones)", ge=0,
        flag="judge-examples",
    )  # fmt: skip
