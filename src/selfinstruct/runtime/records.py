"""Pydantic models for every record that crosses a boundary: seed files, pool files, exports."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


class Instance(_Record):
    """One input/output pair of a task; `input` is empty for tasks that need none.

    `hard_case` marks a boundary example of a classification task (`--hard-cases`): an input
    close to the line between two labels.
    """

    input: str = ""
    output: str
    hard_case: bool = False

    _check_output = field_validator("output")(_not_blank)


class SeedTask(_Record):
    """A human-written seed task in the Self-Instruct seed format."""

    id: str
    name: str
    instruction: str
    instances: list[Instance] = Field(min_length=1)
    is_classification: bool

    _check = field_validator("id", "name", "instruction")(_not_blank)


class SimilarInstruction(_Record):
    """A pool instruction and its ROUGE-L F-measure against a candidate."""

    instruction: str
    score: float


class MachineInstruction(_Record):
    """An instruction the model generated and the similarity filter accepted."""

    instruction: str
    index: int = Field(ge=0, description="position among accepted machine instructions")
    request: int = Field(ge=0, description="number of the request that produced it")
    max_rouge: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="ROUGE-L F of the most similar entry of the pool it joined; None until "
        "the bootstrap stage scores it, after its loop (stages/bootstrap/pool_scores.py)",
    )
    mean_rouge: float | None = Field(
        None,
        ge=0.0,
        le=1.0,
        description="mean ROUGE-L F over the pool it joined (by default over a seeded sample of "
        "2,000 entries once the pool holds more than 5,000; None with --mean-rouge off)",
    )
    most_similar: list[SimilarInstruction] = Field(
        default_factory=list, description="its 10 most similar pool entries, best first"
    )
    prompt_instructions: list[str] = Field(default_factory=list)
    is_classification: bool | None = None
    unwrapped: bool = Field(
        False, description="the model decorated it (markdown, quotes, a label): read without"
    )

    _check = field_validator("instruction")(_not_blank)


class Rejection(_Record):
    """A candidate instruction dropped by a named filter."""

    instruction: str
    reason: str
    request: int = Field(ge=0)
    detail: str | None = None
    score: float | None = Field(None, description="similarity to `similar` (similarity filters)")
    similar: str | None = Field(None, description="the pool entry the candidate was too close to")
    unwrapped: bool = Field(False, description="read without the model's decoration")


class AlpacaExample(_Record):
    """One row of Alpaca-style training data."""

    instruction: str
    input: str = ""
    output: str

    _check = field_validator("instruction", "output")(_not_blank)

    def user_turn(self) -> str:
        """The user's message: the instruction, then the input (if any) after a blank line."""
        return f"{self.instruction}\n\n{self.input}" if self.input.strip() else self.instruction


RAW_CHARS = 4000
"""Raw model answers are stored up to this many characters (enough to see what went wrong)."""


def clip(text: str, limit: int = RAW_CHARS) -> str:
    """`text`, cut to `limit` characters with a marker saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters not stored]"


class ClassificationRecord(_Record):
    """One line of classification.jsonl: the model's verdict on one machine instruction."""

    instruction: str
    index: int
    is_classification: bool
    raw: str
    fallback: bool = False
    reasoning_truncated: bool = Field(
        False,
        exclude_if=lambda v: not v,
        description="max_tokens cut the answer off while the model was thinking (label: fallback)",
    )


class InstancesRecord(_Record):
    """One line of instances.jsonl: the kept instances of one task and what was dropped."""

    instruction: str
    index: int
    is_classification: bool
    instances: list[Instance]
    generated: int
    dropped: dict[str, int]
    task_dropped: str | None = None
    finish_reason: str
    raw: str
    hard_raw: str | None = Field(None, description="the answer to the boundary-example request")
    reasoning: str | None = Field(
        None,
        exclude_if=lambda v: v is None,
        description="the model's thinking before this answer (kept only with --reasoning keep)",
    )


class HardCasesRecord(_Record):
    """One line of instances_hard.jsonl: a classification task's answer to the hard-case request.

    Kept whole (not clipped): the instances stage parses it when it writes the task's line.
    """

    instruction: str
    index: int
    text: str
    finish_reason: str


class InstanceRejection(_Record):
    """One line of instances_rejected.jsonl: a dropped example and why."""

    instruction: str
    index: int
    input: str
    output: str
    reason: str


class JudgeRecord(_Record):
    """One line of judgements.jsonl: the judge's 1-5 scores of one kept instance of a task.

    `score` is the lower of the two (an instance must be both correct and helpful); None when
    the judge's answer could not be read.
    """

    instruction: str
    index: int = Field(ge=0, description="the task's index among machine instructions")
    instance: int = Field(ge=0, description="position of the instance within the task")
    input: str
    output: str
    correctness: int | None = Field(None, ge=1, le=5)
    helpfulness: int | None = Field(None, ge=1, le=5)
    score: int | None = Field(None, ge=1, le=5)
    raw: str = ""
    reasoning_truncated: bool = Field(
        False,
        exclude_if=lambda v: not v,
        description="max_tokens cut the answer off while the model was thinking (no score)",
    )
