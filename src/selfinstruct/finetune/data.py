"""Training data: read exported JSONL (any format), render prompts, mask them out of the loss.

Pure Python (no torch): examples become lists of token ids with labels, where every prompt token
is labelled -100 so that the loss counts response tokens only. The collator is the one piece that
builds tensors, and it imports torch when it is called.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from ..runtime.jsonl import iter_jsonl
from ..runtime.records import AlpacaExample
from ..stages.export.formats import as_messages

IGNORE = -100
"""Label of a token that does not count in the loss (the prompt, the padding)."""

ROLES = {"system": "system", "user": "user", "assistant": "assistant"}
SHAREGPT_ROLES = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
}

# Our own plain prompt layout for models without a chat template.
PLAIN_HEADERS = {"system": "", "user": "### Request\n", "assistant": "### Reply\n"}


@dataclass
class Conversation:
    """One training example as chat turns; every assistant turn is a target."""

    messages: list[dict[str, str]]
    source: str


@dataclass
class Encoded:
    """Token ids and labels of one example (labels are -100 on prompt tokens)."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


@dataclass
class EncodeStats:
    """What encoding did to the data: counts that the run summary reports."""

    examples: int = 0
    truncated: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    tokens: int = 0
    response_tokens: int = 0

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


def load_conversations(path: str | Path) -> list[Conversation]:
    """Read JSONL rows: Alpaca, `messages`, ShareGPT `conversations` or `prompt`/`completion`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(str(path), None, None, "training data file not found")
    out: list[Conversation] = []
    for number, row in iter_jsonl(path, on_torn="error"):
        out.append(Conversation(_row_messages(row, str(path), number), f"{path}:{number}"))
    if not out:
        raise DataError(str(path), None, None, "no training examples: the file is empty")
    return out


def _row_messages(row: Any, path: str, line: int) -> list[dict[str, str]]:
    """Normalise one row to chat messages, or raise DataError naming file:line:field."""
    if not isinstance(row, dict):
        raise DataError(path, line, None, f"expected a JSON object, got {type(row).__name__}")
    if "messages" in row:
        return _check_turns(row["messages"], "messages", "role", "content", ROLES, path, line)
    if "conversations" in row:
        turns = row["conversations"]
        return _check_turns(turns, "conversations", "from", "value", SHAREGPT_ROLES, path, line)
    if "prompt" in row and "completion" in row:
        return _prompt_completion(row["prompt"], row["completion"], path, line)
    for name in ("instruction", "output"):
        value = row.get(name)
        if not isinstance(value, str) or not value.strip():
            problem = "missing" if name not in row else "must be a non-empty string"
            raise DataError(
                path, line, name, f"{problem} (rows need instruction/input/output or messages)"
            )
    context = row.get("input", "")
    if not isinstance(context, str):
        raise DataError(path, line, "input", "must be a string")
    example = AlpacaExample(instruction=row["instruction"], input=context, output=row["output"])
    return as_messages(example)["messages"]


def _prompt_completion(prompt: Any, completion: Any, path: str, line: int) -> list[dict[str, str]]:
    """TRL's conversational prompt/completion row: prompt turns, then the reply turns."""
    for name, turns in (("prompt", prompt), ("completion", completion)):
        if not isinstance(turns, list) or not turns:
            raise DataError(
                path, line, name, "must be a non-empty list of role/content turns (TRL's "
                "conversational prompt/completion form)",
            )  # fmt: skip
    return _check_turns(
        [*prompt, *completion], "prompt+completion", "role", "content", ROLES, path, line
    )


def _check_turns(
    turns: Any, name: str, role_key: str, text_key: str, roles: dict[str, str], path: str, line: int
) -> list[dict[str, str]]:
    """Validate a list of chat turns; returns them as system/user/assistant role/content dicts."""
    if not isinstance(turns, list) or not turns:
        raise DataError(path, line, name, "must be a non-empty list of turns")
    out: list[dict[str, str]] = []
    for i, turn in enumerate(turns):
        where = f"{name}[{i}]"
        if not isinstance(turn, dict):
            raise DataError(path, line, where, "each turn must be an object")
        role, text = turn.get(role_key), turn.get(text_key)
        if role not in roles:
            raise DataError(path, line, f"{where}.{role_key}", f"must be one of {sorted(roles)}")
        if not isinstance(text, str):
            raise DataError(path, line, f"{where}.{text_key}", "must be a string")
        out.append({"role": roles[role], "content": text})
    if out[-1]["role"] != "assistant":
        raise DataError(path, line, name, "the last turn must be the assistant's (the target)")
    return out


class Renderer:
    """Turns a conversation into text segments, each marked prompt (False) or target (True)."""

    def __init__(self, tokenizer: Any, template: str = "auto", system_prompt: str | None = None):
        has_chat = bool(getattr(tokenizer, "chat_template", None))
        if template == "chat" and not has_chat:
            raise ConfigError("template='chat': this model has no chat template; use 'plain'")
        self.chat = template == "chat" or (template == "auto" and has_chat)
        self.tokenizer = tokenizer
        self.system_prompt = system_prompt

    def segments(self, messages: list[dict[str, str]]) -> list[tuple[str, bool]]:
        """Consecutive pieces of the full text; assistant replies are the trained pieces."""
        if self.system_prompt and messages[0]["role"] != "system":
            messages = [{"role": "system", "content": self.system_prompt}, *messages]
        return self._chat_segments(messages) if self.chat else self._plain_segments(messages)

    def _chat_segments(self, messages: list[dict[str, str]]) -> list[tuple[str, bool]]:
        def render(turns: list[dict[str, str]], open_reply: bool) -> str:
            return self.tokenizer.apply_chat_template(
                turns, tokenize=False, add_generation_prompt=open_reply
            )

        out: list[tuple[str, bool]] = []
        done = ""
        for i, turn in enumerate(messages):
            if turn["role"] != "assistant":
                continue
            prompt = render(messages[:i], True)
            full = render(messages[: i + 1], False)
            if not (prompt.startswith(done) and full.startswith(prompt)):
                # The template rewrites earlier turns: train the last reply only.
                prompt, full = render(messages[:-1], True), render(messages, False)
                return [(prompt, False), (full[len(prompt) :], True)]
            out += [(prompt[len(done) :], False), (full[len(prompt) :], True)]
            done = full
        return [s for s in out if s[0]]

    def _plain_segments(self, messages: list[dict[str, str]]) -> list[tuple[str, bool]]:
        eos = self.tokenizer.eos_token or ""
        out: list[tuple[str, bool]] = []
        pending = ""
        for turn in messages:
            role, text = turn["role"], turn["content"]
            if role == "assistant":
                out += [(pending + PLAIN_HEADERS["assistant"], False), (text + eos, True)]
                pending = "\n\n"
            else:
                pending += PLAIN_HEADERS[role] + text + "\n\n"
        return out


def encode(
    conversations: Sequence[Conversation],
    renderer: Renderer,
    max_length: int,
    stats: EncodeStats | None = None,
) -> list[Encoded]:
    """Tokenise and mask every conversation; truncate at max_length, drop those left unlabelled."""
    stats = stats if stats is not None else EncodeStats()
    tok = renderer.tokenizer
    prefix = [tok.bos_token_id] if _adds_bos(tok, renderer) else []
    out: list[Encoded] = []
    for conv in conversations:
        ids, labels = list(prefix), [IGNORE] * len(prefix)
        for text, target in renderer.segments(conv.messages):
            piece = tok(text, add_special_tokens=False)["input_ids"]
            ids += piece
            labels += piece if target else [IGNORE] * len(piece)
        if len(ids) > max_length:
            stats.truncated += 1
            ids, labels = ids[:max_length], labels[:max_length]
        if all(label == IGNORE for label in labels):
            stats.drop("prompt_fills_max_length" if len(ids) == max_length else "empty_response")
            continue
        out.append(Encoded(ids, labels))
        stats.examples += 1
        stats.tokens += len(ids)
        stats.response_tokens += sum(label != IGNORE for label in labels)
    return out


def _adds_bos(tokenizer: Any, renderer: Renderer) -> bool:
    """Plain prompts start with BOS where the tokenizer adds one (chat templates add theirs)."""
    bos = tokenizer.bos_token_id
    if renderer.chat or bos is None:
        return False
    return tokenizer("a")["input_ids"][:1] == [bos]


def pack(examples: Sequence[Encoded], max_length: int) -> list[Encoded]:
    """First-fit packing of whole examples into rows of at most max_length tokens."""
    rows: list[Encoded] = []
    for ex in sorted(examples, key=len, reverse=True):
        for row in rows:
            if len(row) + len(ex) <= max_length:
                row.input_ids += ex.input_ids
                row.labels += ex.labels
                break
        else:
            rows.append(Encoded(list(ex.input_ids), list(ex.labels)))
    return rows


def split(
    examples: Sequence[Conversation], val_ratio: float, seed: int
) -> tuple[list[Conversation], list[Conversation]]:
    """Seeded train/validation split; a non-zero ratio keeps at least one of each."""
    if val_ratio <= 0:
        return list(examples), []
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_val = min(max(1, round(len(examples) * val_ratio)), len(examples) - 1)
    if n_val < 1:
        raise DataError(
            examples[0].source.rsplit(":", 1)[0], None, None,
            "too few examples for a validation split: add data or set val_ratio=0",
        )  # fmt: skip
    val = {order[i] for i in range(n_val)}
    train = [ex for i, ex in enumerate(examples) if i not in val]
    return train, [ex for i, ex in enumerate(examples) if i in val]


class Collator:
    """Right-pads a batch: input ids with pad, labels with -100, and an attention mask."""

    def __init__(self, pad_token_id: int, pad_to_multiple_of: int | None = None) -> None:
        self.pad_token_id = pad_token_id
        self.multiple = pad_to_multiple_of

    def __call__(self, batch: Sequence[dict[str, list[int]]]) -> dict[str, Any]:
        import torch

        width = max(len(row["input_ids"]) for row in batch)
        if self.multiple:
            width = -(-width // self.multiple) * self.multiple
        ids = torch.full((len(batch), width), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, row in enumerate(batch):
            n = len(row["input_ids"])
            ids[i, :n] = torch.tensor(row["input_ids"])
            labels[i, :n] = torch.tensor(row["labels"])
            mask[i, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def as_rows(examples: Sequence[Encoded]) -> list[dict[str, list[int]]]:
    """The list-of-dicts dataset that Trainer and its length-grouped sampler read."""
    return [{"input_ids": ex.input_ids, "labels": ex.labels} for ex in examples]
