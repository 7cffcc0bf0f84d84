"""What OpenAI-compatible servers add to the OpenAI sampling parameters, and how to switch it off.

OpenAI's API samples with exactly the parameters a request names. Self-hosted servers add their
own: vLLM applies a model's `generation_config.json` (Qwen2.5's sets top_k 20 and a repetition
penalty of 1.05), SGLang does the same, and llama.cpp samples with top_k 40, min_p 0.05 and a
repeat penalty of 1.1 unless told otherwise. The decoding the paper specifies is then not what
runs. So for a server we recognise we also send those extra parameters at their neutral values;
"openai" (and any server we don't recognise) gets the OpenAI parameters only, since OpenAI's API
rejects fields it does not know.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

NEUTRAL: dict[str, dict[str, Any]] = {
    "vllm": {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
    "sglang": {"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0},
    "llama.cpp": {"top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0},
    "openai": {},
}
"""The extra sampling fields each kind of server takes, at values that disable them."""

_OWNERS = {"vllm": "vllm", "sglang": "sglang", "llamacpp": "llama.cpp", "me": "llama.cpp"}
"""`owned_by` of a /v1/models entry -> server kind (llama-cpp-python says "me")."""


def detect(owners: Sequence[str]) -> str:
    """The kind of server whose /v1/models lists models owned by `owners`."""
    for owner in owners:
        kind = _OWNERS.get(owner.strip().lower())
        if kind:
            return kind
    return "openai"
