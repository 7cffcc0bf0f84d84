"""BackendConfig: which LLM to talk to and how hard (the [backend] section, every stage's)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator, model_validator

from ..text.redact import redact_url
from .fields import Section, comma_list, opt


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an endpoint's base URL, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError as exc:
        return str(exc)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "expected http://host[:port]/v1 or https://..."
    return None


class BackendConfig(Section):
    """Which LLM to talk to and how hard; shared by every stage that calls a model."""

    backend: Literal["openai", "transformers"] | None = opt(
        None,
        "openai (any OpenAI-compatible server) or transformers (in-process); "
        "default: openai when --base-url is given, else the embedded model in-process",
    )
    model: str | None = opt(None, "model name, HF id, local dir or .gguf; default: bundled model")
    base_url: list[str] | None = opt(
        None,
        "OpenAI-compatible endpoint(s), comma-separated",
        data=False,
        allowed="http:// or https:// URLs (ending in /v1), comma-separated",
    )
    api_key_env: str = opt("OPENAI_API_KEY", "environment variable with the API key", data=False)
    concurrency: int = opt(8, "requests in flight at once", ge=1, data=False)
    batch_size: int = opt(8, "prompts per forward pass (transformers backend)", ge=1, data=False)
    request_timeout: float = opt(
        600.0, "seconds one whole request may take, however slowly the server sends", gt=0,
        data=False,
    )  # fmt: skip
    retry_budget: float = opt(
        180.0, "seconds a failing request keeps retrying (rides out a server restart)", ge=0,
        data=False,
    )  # fmt: skip
    max_attempts: int = opt(30, "attempts per request before giving up", ge=1, data=False)
    server: Literal["auto", "openai", "vllm", "sglang", "llama.cpp"] = opt(
        "auto",
        "what kind of server: vLLM, SGLang and llama.cpp also get top_k/min_p/repetition "
        "penalty at neutral values so their own defaults don't change the decoding "
        "(auto: from /v1/models; openai: OpenAI parameters only)",
        data=False,
    )
    chat: bool | None = opt(None, "chat messages, or plain completion prompts; default: chat")
    reasoning: Literal["auto", "off", "keep"] = opt(
        "auto",
        "a thinking model's reasoning: auto (send nothing extra, read it apart from the answer, "
        "never into the data), off (ask the server not to think: chat_template_kwargs or "
        "reasoning_effort, see docs/backends.md) or keep (as auto, and store the instances' "
        "reasoning with them and in the export)",
    )
    thinking_tokens: int = opt(
        2048,
        "tokens added to every stage's max_tokens when the model is expected to think (its name "
        "says so, or an earlier answer of the run carried reasoning; not with --reasoning off)",
        ge=0,
        data=False,
    )
    structured: Literal["auto", "on", "off"] = opt(
        "off",
        "ask for JSON of each stage's schema (response_format, chat prompts only): auto where "
        "the server takes it, else text; on: required; off: plain text answers",
        data=False,
    )
    price_input: float | None = opt(
        None, "price per million prompt tokens, for cost estimates", ge=0, data=False
    )
    price_output: float | None = opt(
        None, "price per million completion tokens, for cost estimates", ge=0, data=False
    )
    adapter: str | None = opt(None, "LoRA adapter directory (transformers backend)")

    _split = field_validator("base_url", mode="before")(comma_list)

    @field_validator("base_url")
    @classmethod
    def _urls(cls, urls: list[str] | None) -> list[str] | None:
        for url in urls or []:
            problem = url_problem(url)
            if problem:
                raise ValueError(f"{redact_url(url)!r}: {problem}")
        return urls

    @model_validator(mode="after")
    def _consistent(self) -> BackendConfig:
        if self.backend == "transformers" and self.base_url:
            raise ValueError("base_url is for backend 'openai'; drop it or switch backend")
        return self
