"""In-process generation with transformers: the embedded default model, a HF id or a local dir."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

from ..errors import BackendError
from .base import BackendInfo, Completion, GenerationParams, Prompt, Usage
from .model_files import default_device, load_causal_lm, load_tokenizer, require
from .reasoning import split_reasoning


class TransformersBackend:
    """Batched, left-padded generation on one local model, optionally with a LoRA adapter.

    Every GenerationParams field but `json_schema` is honoured: temperature, top_p, max_tokens,
    stop sequences, seed, n, and `presence_penalty` / `frequency_penalty` with OpenAI's semantics
    (see `OpenAIPenalties`), applied to the logits before temperature and top_p as OpenAI does.
    It does not constrain decoding to a schema, so the stages never ask it for JSON
    (`--structured on` with it is refused; `auto` means plain text).
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        adapter: str | None = None,
        device: str | None = None,
        dtype: Any = None,
        batch_size: int = 8,
        chat: bool = True,
        reasoning: str = "auto",
    ) -> None:
        torch = require("torch", "torch", "the transformers backend", "local")
        self.device = device or default_device()
        if dtype is None:
            dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.tokenizer = load_tokenizer(model)
        self.tokenizer.padding_side = "left"
        self.model = load_causal_lm(model, dtype=dtype, device=self.device)
        if adapter:
            peft = require("peft", "peft", "LoRA adapters", "finetune")
            self.model = peft.PeftModel.from_pretrained(self.model, adapter).to(self.device)
        self.model.eval()
        if chat and not getattr(self.tokenizer, "chat_template", None):
            chat = False
        self.info = BackendInfo(
            name="transformers",
            model=model or "bundled:SmolLM2-135M-Instruct",
            chat=chat,
            batch_size=batch_size,
            extra={"device": self.device, "adapter": adapter or ""},
        )
        self.usage = Usage()
        self.template_kwargs = (
            {"enable_thinking": False, "thinking": False} if reasoning == "off" else {}
        )
        """--reasoning off: what the chat template is told (Qwen3 and DeepSeek-style switches)."""
        self._lock = threading.Lock()

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        expanded = [p for p in prompts for _ in range(params.n)]
        return await asyncio.to_thread(self.generate, expanded, params)

    def generate(self, prompts: Sequence[Prompt], params: GenerationParams) -> list[Completion]:
        """Generate one completion per prompt, `batch_size` prompts at a time (thread-safe)."""
        out: list[Completion] = []
        with self._lock:
            for start in range(0, len(prompts), self.info.batch_size):
                batch = prompts[start : start + self.info.batch_size]
                seed = None if params.seed is None else params.seed + start
                out.extend(self._generate_batch(batch, params, seed))
        for completion in out:
            self.usage.add(completion)
        return out

    def render(self, prompt: Prompt) -> str:
        """The exact text fed to the model: chat messages go through the chat template."""
        if isinstance(prompt, str):
            return prompt
        if not getattr(self.tokenizer, "chat_template", None):
            raise BackendError(
                f"model {self.info.model} has no chat template: pass plain-text prompts "
                "(completion templates) instead of chat messages"
            )
        return self.tokenizer.apply_chat_template(
            list(prompt), tokenize=False, add_generation_prompt=True, **self.template_kwargs
        )

    def _generate_batch(
        self, prompts: Sequence[Prompt], params: GenerationParams, seed: int | None
    ) -> list[Completion]:
        import torch

        texts = [self.render(p) for p in prompts]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.device) for k, v in enc.items()}
        sampling = params.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": params.max_tokens,
            "do_sample": sampling,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if sampling:
            kwargs.update(temperature=params.temperature, top_p=params.top_p, top_k=0)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if params.stop:
            kwargs.update(stop_strings=list(params.stop), tokenizer=self.tokenizer)
        if params.presence_penalty or params.frequency_penalty:
            from transformers import LogitsProcessorList

            penalties = OpenAIPenalties(
                enc["input_ids"].shape[1],
                params.presence_penalty,
                params.frequency_penalty,
                self.tokenizer.pad_token_id,
            )
            kwargs["logits_processor"] = LogitsProcessorList([penalties])
        if seed is not None:
            torch.manual_seed(seed)
        with torch.inference_mode():
            generated = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        prompt_lengths = enc["attention_mask"].sum(dim=1).tolist()
        return [
            self._completion(row[width:].tolist(), int(n), params)
            for row, n in zip(generated, prompt_lengths, strict=True)
        ]

    def _completion(
        self, ids: list[int], prompt_tokens: int, params: GenerationParams
    ) -> Completion:
        eos = set(_as_list(self.tokenizer.eos_token_id))
        eos.add(self.tokenizer.pad_token_id)
        cut = next((i for i, t in enumerate(ids) if t in eos), None)
        used = ids if cut is None else ids[:cut]
        text, reasoning = split_reasoning(self.tokenizer.decode(used, skip_special_tokens=True))
        finish = "stop" if cut is not None else "length"
        for stop in params.stop:
            pos = text.find(stop)
            if pos != -1:
                text, finish = text[:pos], "stop"
        if finish == "length" and len(ids) < params.max_tokens:
            finish = "stop"  # ended by a stop string that the generate() call matched
        generated = len(used) + (cut is not None)
        thought = len(
            self.tokenizer.encode(reasoning, add_special_tokens=False) if reasoning else []
        )
        return Completion(
            text, finish, prompt_tokens, generated,
            reasoning=reasoning, reasoning_tokens=min(thought, generated),
        )  # fmt: skip


class OpenAIPenalties:
    """OpenAI's presence and frequency penalties as a transformers logits processor.

    For each row, `logits[j] -= c[j] * frequency + (c[j] > 0) * presence`, where c[j] counts
    token j among the tokens generated so far: the (left-padded) prompt is the first
    `prompt_width` columns and is not counted, nor is the pad token that fills finished rows.
    transformers has no equivalent (its repetition_penalty is multiplicative and counts the prompt).
    """

    def __init__(
        self, prompt_width: int, presence: float, frequency: float, pad_token_id: int | None
    ) -> None:
        self.prompt_width = prompt_width
        self.presence = presence
        self.frequency = frequency
        self.pad_token_id = pad_token_id

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        """Return `scores` (batch x vocab) penalised by the counts in `input_ids` (batch x len)."""
        generated = input_ids[:, self.prompt_width :]
        if generated.shape[1] == 0:
            return scores
        weights = scores.new_ones(generated.shape)
        if self.pad_token_id is not None:
            weights = weights * generated.ne(self.pad_token_id)
        counts = scores.new_zeros(scores.shape).scatter_add_(1, generated, weights)
        return scores - counts * self.frequency - counts.gt(0) * self.presence


def _as_list(value: int | list[int] | None) -> list[int]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
