"""Build the instances stage of a run from its configuration: prompts, decoding, filters, asks.

The runner calls `StageBuilder.stage` (or `.hard_stage`, for the hard-case requests) once it
knows whether the backend is a chat model, and records the settings returned beside the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ...llm.base import Backend, GenerationParams
from ...runtime.records import HardCasesRecord
from ...runtime.state import RunState, text_digest
from ...runtime.structured import json_ask
from .filters import InstanceFilterConfig
from .hard_cases import TEMPLATE as HARD_TEMPLATE
from .hard_cases import HardCasesStage
from .prompts import LABELS, MAX_EXAMPLES, InstancePrompts, Labels
from .task import InstancesStage

TEMPLATES = {True: "instances_output_first", False: "instances_input_first"}
"""The template of a classification task (output-first) and of any other task (input-first)."""
UNCAPPED = 1_000_000
"""The filters' cap when a sample is kept instead: every valid example is a candidate."""
JSON_NOTES = ("json_instances_input_first", "json_instances_output_first")


def original_stop(words: Labels) -> tuple[str, ...]:
    """The original's stops: where a sixth example would begin, and "Task:" anywhere."""
    return (f"{words.example} {MAX_EXAMPLES + 1}", words.task.strip())


@dataclass
class StageBuilder:
    """What the stages of one instances call are built from; `hard` is re-read between passes."""

    state: RunState
    backend: Backend
    labels: dict[str, bool]
    hard: dict[str, HardCasesRecord] = field(default_factory=dict)
    hard_template: str | None = None
    """The hard-case template (`--hard-cases`), or None."""

    def params(self, words: Labels) -> GenerationParams:
        """The decoding of the examples' requests, as configured."""
        c = self.state.config.instances
        return GenerationParams(
            max_tokens=c.max_tokens,
            temperature=c.temperature,
            top_p=c.top_p,
            presence_penalty=c.presence_penalty,
            frequency_penalty=c.frequency_penalty,
            stop=original_stop(words) if c.stop == "original" else words.stop(),
            seed=self.state.config.seed,
        )

    def stage(self, chat: bool) -> tuple[InstancesStage, dict[str, Any]]:
        """The examples' stage, with the hard cases answered so far, and its settings."""
        state, c = self.state, self.state.config.instances
        templates = {kind: state.template(name) for kind, name in TEMPLATES.items()}
        words = LABELS[state.language]
        prompts = InstancePrompts(
            templates, tuple(state.seeds), words, c.examples, state.config.seed, chat,
            original=c.stop == "original",
        )  # fmt: skip
        sample = c.max_instances if c.keep == "sample" else None
        cap = UNCAPPED if sample else c.max_instances
        limits = InstanceFilterConfig(cap, c.max_input_chars, c.max_output_chars)
        ask = json_ask(state, self.backend, chat, "json_instances", JSON_NOTES)
        params = self.params(words)
        params = ask.params(params) if ask else params
        stage = InstancesStage(
            prompts, limits, self.labels, params, sample, state.config.seed, hard=self.hard,
            ask=ask, original=c.parse == "original",
            keep_reasoning=state.config.backend.reasoning == "keep",
        )  # fmt: skip
        settings: dict[str, Any] = {"templates": [text_digest(templates[k]) for k in (True, False)]}
        if self.hard_template is not None:
            settings["hard_template"] = text_digest(self.hard_template)
        return stage, settings

    def hard_stage(self, chat: bool) -> tuple[HardCasesStage, dict[str, Any]]:
        """The hard-case requests' stage (their answers stay text), with the same settings."""
        stage, settings = self.stage(chat)
        params = replace(stage.params, json_schema=None)
        words = LABELS[self.state.language]
        return HardCasesStage(self.hard_template or "", words, chat, params), settings


def builder_for(state: RunState, backend: Backend, labels: dict[str, bool]) -> StageBuilder:
    """The builder of a run's instances call, with its hard cases when `--hard-cases` is on."""
    if not state.config.instances.hard_cases:
        return StageBuilder(state, backend, labels)
    template = state.template(HARD_TEMPLATE)
    return StageBuilder(state, backend, labels, state.rundir.read_hard_cases(), template)
