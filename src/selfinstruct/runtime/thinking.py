"""Room for a thinking model's reasoning in each stage's token budget, and the drop when it ran out.

A stage's own budget is sized for its answer (classify: a few tokens, judge: two numbers); a
model that thinks first spends hundreds of tokens before the answer begins. So when thinking is
expected (the model's name says it thinks, or an earlier answer of this run carried reasoning,
and `--reasoning` is not `off`), every stage's max_tokens grows by `--thinking-tokens`. An
answer that max_tokens still cut off inside the thinking is the named drop `reasoning_truncated`
in every stage, counted in stats.json, and the stage says once which flag would give it room.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from ..config import BackendConfig
from ..llm.base import Backend, Completion, GenerationParams
from ..llm.reasoning import cut_while_thinking
from ..llm.request_shape import always_thinks, thinking_model
from .records import Rejection

if TYPE_CHECKING:
    from .state import RunState

REASONING_TRUNCATED = "reasoning_truncated"
BUDGET_FLAGS = {
    "bootstrap": "--max-tokens",
    "instances": "--instance-max-tokens",
    "judge": "--judge-max-tokens",
}
"""The flag of each stage's own answer budget (classify has none: its answer is one word)."""

log = logging.getLogger(__name__)
S = TypeVar("S")


def expects_thinking(config: BackendConfig, model: str, seen: bool) -> bool:
    """Whether this run's model will think before it answers (so budgets need room for it)."""
    if config.thinking_tokens == 0:
        return False
    if config.reasoning == "off":
        return seen or always_thinks(model)  # these think whatever they are told
    return seen or thinking_model(model)


def budget_hint(stage: str, config: BackendConfig, max_tokens: int) -> str:
    """The one line a stage logs when an answer was cut off inside its thinking."""
    own = BUDGET_FLAGS.get(stage)
    flags = f"--thinking-tokens (now {config.thinking_tokens})"
    if own:
        flags += f" or {own}"
    return (
        f"{stage}: an answer was cut off at max_tokens ({max_tokens}) while the model was still "
        f"thinking; such answers are dropped as {REASONING_TRUNCATED} (counted in stats.json). "
        f"Raise {flags}, or ask the server not to think (--reasoning off)"
    )


class TruncationNotice:
    """Says `budget_hint` once per stage invocation, on the first reasoning_truncated drop."""

    def __init__(self, stage: str, config: BackendConfig, params: GenerationParams) -> None:
        self.stage, self.config, self.max_tokens = stage, config, params.max_tokens
        self.said = False

    def note(self, drops: int) -> None:
        if drops and not self.said:
            self.said = True
            log.warning(budget_hint(self.stage, self.config, self.max_tokens))


def room_for_thinking(state: RunState, backend: Backend, stage: S) -> S:
    """`stage` (a dataclass with `params`) with room for thinking when its model will think."""
    params: GenerationParams = stage.params  # type: ignore[attr-defined]
    params = replace(params, max_tokens=params.max_tokens + room(state, backend))
    return replace(stage, params=params)  # type: ignore[type-var]


def room(state: RunState, backend: Backend) -> int:
    """The tokens to add to a stage's max_tokens for thinking: `--thinking-tokens` or 0."""
    config = state.config.backend
    seen = state.rundir.reasoning_seen()
    return config.thinking_tokens if expects_thinking(config, backend.info.model, seen) else 0


def cut_rejections(completion: Completion, request: int) -> list[Rejection]:
    """A bootstrap answer that max_tokens cut off inside the thinking, as its one rejected.jsonl
    line (no list was written); [] for any other answer."""
    if not cut_while_thinking(completion):
        return []
    detail = "max_tokens ended the answer before it began: raise --thinking-tokens or --max-tokens"
    return [Rejection(instruction="", reason=REASONING_TRUNCATED, request=request, detail=detail)]
