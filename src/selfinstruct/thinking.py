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

from .config import BackendConfig
from .llm.base import Backend, GenerationParams
from .llm.request_shape import openai_reasoning_model, thinking_model

if TYPE_CHECKING:
    from .runstate import RunState

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
        return openai_reasoning_model(model)  # these think whatever they are told
    return seen or thinking_model(model)


def with_room(params: GenerationParams, config: BackendConfig) -> GenerationParams:
    """`params` with `--thinking-tokens` more tokens for the answer."""
    return replace(params, max_tokens=params.max_tokens + config.thinking_tokens)


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

    def __init__(self, stage: str, config: BackendConfig, max_tokens: int) -> None:
        self.stage, self.config, self.max_tokens = stage, config, max_tokens
        self.said = False

    def note(self, drops: int) -> None:
        if drops and not self.said:
            self.said = True
            log.warning(budget_hint(self.stage, self.config, self.max_tokens))


def room_for_thinking(state: RunState, backend: Backend, stage: S) -> S:
    """`stage` (a dataclass with `params`) with room for thinking when its model will think."""
    params = params_for_thinking(state, backend, stage.params)  # type: ignore[attr-defined]
    return replace(stage, params=params)  # type: ignore[type-var]


def params_for_thinking(
    state: RunState, backend: Backend, params: GenerationParams
) -> GenerationParams:
    """`params`, with room for thinking when this run's model will think."""
    config = state.config.backend
    if not expects_thinking(config, backend.info.model, state.rundir.reasoning_seen()):
        return params
    return with_room(params, config)
