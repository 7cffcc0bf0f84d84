"""Training-data formats: Alpaca rows as chat turns, the export file names, LLaMA-Factory entries.

Shared by the export stage (which writes them) and finetuning (which reads them back), so the
user turn a model is trained on is exactly the one exported. Every format is one JSON object a
line that the trainer reading it accepts as it is: Alpaca (`instruction`/`input`/`output`),
ShareGPT (`conversations` of `from`/`value`), OpenAI `messages`, and TRL's conversational
`prompt`/`completion`. Extra top-level keys (such as `hard_case`) ride along in every format.

Kept reasoning (`--reasoning keep`) is a `reasoning` column in Alpaca and prompt/completion
rows, and in `messages`/ShareGPT a `<think>…</think>` block opening the assistant's turn: what
LLaMA-Factory's reasoning templates read, and what the chat templates of Qwen3 and DeepSeek-R1
(and so TRL's SFTTrainer, which renders turns through them) split back into their thinking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...runtime.records import AlpacaExample

FORMATS: tuple[str, ...] = ("alpaca", "sharegpt", "messages", "prompt_completion")
VALIDATION_SUFFIX = "_validation"
SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
"""ShareGPT's speaker names for the chat roles."""


def data_file(out_dir: str | Path, format: str = "alpaca", split: str = "train") -> Path:
    """Path of one exported file: `alpaca.jsonl`, `messages_validation.jsonl`, ..."""
    if format not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}, got {format!r}")
    suffix = VALIDATION_SUFFIX if split == "validation" else ""
    return Path(out_dir) / f"{format}{suffix}.jsonl"


def as_messages(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """`{"messages": [{"role": "user", "content": ...}, {"role": "assistant", ...}]}`."""
    turns = [{"role": "system", "content": system_prompt}] if system_prompt else []
    turns += [
        {"role": "user", "content": example.user_turn()},
        {"role": "assistant", "content": example.output},
    ]
    return {"messages": turns}


def as_sharegpt(example: AlpacaExample, system_prompt: str | None = None) -> dict[str, Any]:
    """The same turns as `as_messages`, as `{"conversations": [{"from", "value"}, ...]}`."""
    turns = as_messages(example, system_prompt)["messages"]
    return {
        "conversations": [{"from": SHAREGPT_FROM[t["role"]], "value": t["content"]} for t in turns]
    }


def as_prompt_completion(
    example: AlpacaExample, system_prompt: str | None = None
) -> dict[str, Any]:
    """TRL's conversational prompt/completion: `prompt` = [system?, user], `completion` = [reply].

    SFTTrainer computes the loss on the completion only for this format.
    """
    turns = as_messages(example, system_prompt)["messages"]
    return {"prompt": turns[:-1], "completion": turns[-1:]}


_ENCODERS = {
    "sharegpt": as_sharegpt,
    "messages": as_messages,
    "prompt_completion": as_prompt_completion,
}


def encode(
    row: AlpacaExample,
    format: str,
    system_prompt: str | None = None,
    extra: dict[str, Any] | None = None,
    reasoning: str | None = None,
) -> dict[str, Any]:
    """One exported line of `row` in `format`, with `extra` top-level keys after the row's own.

    `reasoning` (None: the run kept none) goes where the format's trainers look for it."""
    encoder = _ENCODERS.get(format)
    if reasoning is not None and format in ("messages", "sharegpt"):
        row = row.model_copy(update={"output": with_thinking(row.output, reasoning)})
    line = row.model_dump() if encoder is None else encoder(row, system_prompt)
    if reasoning is not None and format in ("alpaca", "prompt_completion"):
        line["reasoning"] = reasoning
    return {**line, **(extra or {})}


def with_thinking(answer: str, reasoning: str) -> str:
    """The assistant's turn of a reasoning model: its thinking block, then the answer."""
    return f"<think>\n{reasoning.strip()}\n</think>\n\n{answer}" if reasoning.strip() else answer


def llama_factory_entry(format: str, file_name: str) -> dict[str, Any] | None:
    """A LLaMA-Factory `dataset_info.json` entry for one exported file; None where it has none.

    Field names as documented in LLaMA-Factory's data/README.md (hiyouga/LLaMA-Factory): an
    entry has `file_name`, `formatting` ("alpaca" or "sharegpt", default alpaca), `columns`
    (alpaca: `prompt`, `query`, `response`, `system`, `history`; sharegpt: `messages`, `system`,
    `tools`) and, for sharegpt, `tags` (`role_tag`, `content_tag`, `user_tag`, `assistant_tag`,
    `system_tag`, ...). Its "OpenAI format" is sharegpt with role/content tags. Our system
    prompt is a first `system` turn, which `system_tag` picks up. TRL's prompt/completion
    layout has no LLaMA-Factory form.
    """
    if format == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output"}
        return {"file_name": file_name, "formatting": "alpaca", "columns": columns}
    if format == "sharegpt":
        tags = {"role_tag": "from", "content_tag": "value"}
        tags |= {f"{role}_tag": name for role, name in SHAREGPT_FROM.items()}
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": tags,
        }
    if format == "messages":
        tags = {"role_tag": "role", "content_tag": "content"}
        tags |= {f"{role}_tag": role for role in ("user", "assistant", "system")}
        return {
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages"},
            "tags": tags,
        }
    return None
