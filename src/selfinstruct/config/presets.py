"""Presets: named sets of option values (`--preset paper`) for the options a run leaves unset."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "default": {},
    "paper": {
        "backend": {"chat": False},
        "bootstrap": {
            "num_prompt_instructions": 8,
            "num_machine_instructions": 2,
            "threshold": 0.7,
            "min_words": 4,
            "max_words": 150,
            "temperature": 0.7,
            "top_p": 0.5,
            "presence_penalty": 2.0,
            "frequency_penalty": 0.0,
            "max_tokens": 1024,
            "list_style": "original",
            "truncation": "response",
            "capitalize": "lower_rest",
            "echo_words": 0,
            "echo_chars": 0,
            "mean_rouge": "exact",
        },
        "classify": {"examples": 0, "style": "original"},
        "instances": {
            "examples": 0,
            "max_instances": 5,
            "max_tokens": 300,
            "temperature": 0.0,
            "presence_penalty": 1.5,
            "frequency_penalty": 0.0,
            "stop": "original",
            "keep": "sample",
            "parse": "original",
            "max_input_chars": 100_000,
            "max_output_chars": 100_000,
        },
    },
}
"""Each preset's values of the options it sets; docs/fidelity.md says where each comes from.

"paper" is the original Self-Instruct code (yizhongw/self-instruct): completion prompts, its
decoding, list dialect, truncation rule and case, its instance decoding and keep-5 sampling,
no instance length limits. Its prompt texts and seed tasks are the user's files (--prompt-dir,
--seeds); the classify and instance templates hold their own examples, hence `examples` 0.
"""
