"""Reasoning apart from the answer: the one reader, the response fields, and the OpenAI backend.

The answers are written in the shapes real servers send: Qwen3/QwQ/DeepSeek-R1 text with an inline
`<think>` block (no reasoning parser), a bare `</think>` (the chat template opened the block), a
block cut off by max_tokens, gpt-oss's harmony channels, and the `reasoning` / `reasoning_content`
message fields with `usage.completion_tokens_details.reasoning_tokens`. The backend tests go over
HTTP to the stub playing a reasoning model (`selfinstruct.testing.openai_stub.Thinking`), including
OpenAI's refusals of `max_tokens` and sampling parameters.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from selfinstruct.errors import BackendError
from selfinstruct.llm.base import Completion, GenerationParams, complete
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.reasoning import cut_while_thinking, split_reasoning
from selfinstruct.llm.request_shape import (
    SAMPLING,
    RequestShape,
    always_thinks,
    lowest_effort,
    openai_reasoning_model,
    thinking_model,
)
from selfinstruct.llm.responses import parse_completion
from selfinstruct.testing.openai_stub import Fault, StubServer, Thinking

DRAFT = "Okay, the user wants tasks.\n1. Something like a poem about the sea.\n2. Maybe arithmetic."
LIST = "1. Write a haiku about the first snow.\n2. Explain why the sky appears blue."

SPLITS = [
    (f"<think>\n{DRAFT}\n</think>\n\n{LIST}", LIST, DRAFT),  # Qwen3 / QwQ, no parser
    (f"  <think>{DRAFT}</think>{LIST}", LIST, DRAFT),
    (f"<THINK>\n{DRAFT}\n</THINK>\n{LIST}", LIST, DRAFT),
    (f"<thinking>\n{DRAFT}\n</thinking>\n\n{LIST}", LIST, DRAFT),
    ("<think>\n\n</think>\n\nYes", "Yes", ""),  # DeepSeek-R1 with thinking skipped
    (f"{DRAFT}\n</think>\n\nYes", "Yes", DRAFT),  # the template opened the block
    (f"<think>\n{DRAFT}", "", DRAFT),  # cut off by max_tokens while thinking
    (f"<think>a</think>\n<think>b</think>\n{LIST}", LIST, "a\n\nb"),
    (LIST, LIST, ""),
    ("Explain what the <think> tag does in a prompt.", "Explain what the <think> tag does in a prompt.", ""),
    ("Use <think>x</think> here, then </think> there.", "Use <think>x</think> here, then </think> there.", ""),
    (
        f"<|channel|>analysis<|message|>{DRAFT}<|end|><|start|>assistant<|channel|>final<|message|>"
        f"{LIST}<|return|>",
        LIST,
        DRAFT,
    ),  # gpt-oss without a reasoning parser
    (f"<|channel|>analysis<|message|>{DRAFT}", "", DRAFT),
    ("<think>\n思考一下：用户想要新的任务。\n</think>\n\n1. 《红楼梦》的主要人物有哪些？", "1. 《红楼梦》的主要人物有哪些？", "思考一下：用户想要新的任务。"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "answer", "reasoning"), SPLITS)
def test_split_reasoning_reads_what_servers_send(text: str, answer: str, reasoning: str) -> None:
    assert split_reasoning(text) == (answer, reasoning)


def test_split_reasoning_is_linear_on_hostile_text() -> None:
    texts = ["<think>" * 200_000, "</think>" * 200_000, "<think>x</think>" * 100_000, "<" * 10**6]
    for text in texts:
        start = time.perf_counter()
        split_reasoning(text)
        assert time.perf_counter() - start < 2.0


def body(message: dict[str, Any], usage: dict[str, Any], reason: str = "stop") -> bytes:
    choice = {"index": 0, "message": {"role": "assistant", **message}, "finish_reason": reason}
    return json.dumps({"choices": [choice], "usage": usage}).encode()


@pytest.mark.parametrize("field", ["reasoning", "reasoning_content"])
def test_reasoning_fields_and_tokens_are_read_apart(field: str) -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 40}
    usage["completion_tokens_details"] = {"reasoning_tokens": 31}
    c = parse_completion(body({"content": "Yes", field: DRAFT}, usage), chat=True)
    assert (c.text, c.reasoning, c.reasoning_tokens, c.completion_tokens) == ("Yes", DRAFT, 31, 40)


def test_a_reply_cut_off_in_its_reasoning_field_is_recognised() -> None:
    usage = {"prompt_tokens": 9, "completion_tokens": 8}
    c = parse_completion(body({"content": None, "reasoning": DRAFT}, usage, "length"), chat=True)
    assert c.text == "" and c.reasoning == DRAFT and cut_while_thinking(c)
    assert 0 < c.reasoning_tokens <= 8  # estimated: the server said nothing


def test_hidden_reasoning_counted_by_the_server_alone_still_reads_as_cut_off() -> None:
    usage = {"completion_tokens": 64, "completion_tokens_details": {"reasoning_tokens": 64}}
    c = parse_completion(body({"content": ""}, usage, "length"), chat=True)
    assert cut_while_thinking(c) and c.reasoning_tokens == 64


def test_inline_thinking_in_completion_text_is_split() -> None:
    raw = {"choices": [{"text": f"<think>{DRAFT}</think> Yes", "finish_reason": "stop"}]}
    c = parse_completion(json.dumps(raw).encode(), chat=False)
    assert (c.text, c.reasoning) == ("Yes", DRAFT)


def test_an_answer_cut_off_after_its_thinking_is_not_a_thinking_cut() -> None:
    assert not cut_while_thinking(Completion("1. Write", "length", reasoning=DRAFT))
    assert not cut_while_thinking(Completion("", "length"))  # no sign of any thinking
    assert not cut_while_thinking(Completion("", "stop", reasoning=DRAFT))


@pytest.mark.parametrize(
    ("model", "openai", "thinks", "effort"),
    [
        ("o3-mini", True, True, "low"),
        ("o1", True, True, "low"),
        ("gpt-5", True, True, "minimal"),
        ("gpt-5-mini-2025-08-07", True, True, "minimal"),
        ("gpt-5-chat-latest", False, False, "none"),
        ("gpt-4o", False, False, "none"),
        ("Qwen/Qwen3-8B", False, True, "none"),
        ("Qwen/Qwen3-235B-A22B-Instruct-2507", False, False, "none"),
        ("deepseek-reasoner", False, True, "none"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B", False, True, "none"),
        ("openai/gpt-oss-20b", False, True, "none"),
        ("QwQ-32B", False, True, "none"),
        ("zai-org/GLM-4.5-Air", False, True, "none"),
        ("SmolLM2-135M-Instruct", False, False, "none"),
    ],
)
def test_model_names(model: str, openai: bool, thinks: bool, effort: str) -> None:
    assert openai_reasoning_model(model) is openai
    assert thinking_model(model) is thinks
    assert lowest_effort(model) == effort
    assert always_thinks(model) is (
        openai or (thinks and "Qwen3" not in model and "GLM" not in model)
    )


# ---------------------------------------------------------------- over HTTP, to the stub


def serve(stubs: list[StubServer], thinking: Thinking, **kwargs: Any) -> StubServer:
    kwargs.setdefault("reply", lambda prompt, body: LIST)
    stubs.append(StubServer(thinking=thinking, **kwargs).start())
    return stubs[-1]


def backend(stub: StubServer, **kwargs: Any) -> OpenAIBackend:
    kwargs.setdefault("server", "openai")
    return OpenAIBackend(model=kwargs.pop("model", "stub-model"), base_url=stub.url, **kwargs)


CHAT = [{"role": "user", "content": "Come up with new tasks."}]


@pytest.mark.parametrize("where", ["inline", "open", "reasoning", "reasoning_content"])
def test_backend_separates_the_thinking_however_it_comes(stubs: list, where: str) -> None:
    server = serve(stubs, Thinking(where, usage_details=where != "inline"))
    b = backend(server)
    (c,) = complete(b, [CHAT], GenerationParams(max_tokens=500))
    assert c.text == LIST and "poem" in c.reasoning and "poem" not in c.text
    assert 0 < c.reasoning_tokens < c.completion_tokens
    assert b.usage.reasoning_tokens == c.reasoning_tokens


@pytest.mark.parametrize("where", ["inline", "reasoning", "reasoning_content"])
def test_backend_sees_an_answer_cut_off_while_thinking(stubs: list, where: str) -> None:
    server = serve(stubs, Thinking(where))
    (c,) = complete(backend(server), [CHAT], GenerationParams(max_tokens=8))
    assert c.finish_reason == "length" and c.text == "" and cut_while_thinking(c)


def sent(server: StubServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.method == "POST"]


def test_openai_reasoning_model_gets_its_parameters_up_front(stubs: list) -> None:
    server = serve(stubs, Thinking("reasoning", openai_rules=True))
    b = backend(server, model="o3-mini")
    out = complete(b, [CHAT, CHAT], GenerationParams(max_tokens=300, temperature=0.7, top_p=0.5))
    assert [c.text for c in out] == [LIST, LIST] and server.statuses.get(400) is None
    first = sent(server)[0]
    assert first["max_completion_tokens"] == 300 and "max_tokens" not in first
    assert not {"temperature", "top_p", "presence_penalty", "frequency_penalty"} & set(first)
    assert b.sent_parameters()["renamed"] == {"max_tokens": "max_completion_tokens"}


def test_refusals_are_learnt_once_and_the_request_goes_again(
    stubs: list, caplog: pytest.LogCaptureFixture
) -> None:
    server = serve(stubs, Thinking("reasoning", openai_rules=True))
    b = backend(server, model="my-hosted-reasoner", max_concurrency=4)
    with caplog.at_level(logging.WARNING):
        out = complete(b, [CHAT] * 12, GenerationParams(max_tokens=300, temperature=0.7))
    assert [c.text for c in out] == [LIST] * 12
    shape = b.sent_parameters()
    assert shape["renamed"] == {"max_tokens": "max_completion_tokens"}
    assert {"temperature", "top_p"} <= set(shape["dropped"])
    told = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(told) == 2  # one line per change: the rename, then the sampling parameters
    assert server.statuses[400] <= 2 * 4  # at most the requests already in flight each time
    complete(b, [CHAT] * 3, GenerationParams(max_tokens=300, temperature=0.7))
    assert server.statuses[400] <= 8  # nothing refused any more


def test_a_refusal_that_names_nothing_we_can_change_is_an_error(stubs: list) -> None:
    server = serve(stubs, Thinking("reasoning"))
    server.push(Fault.http(400, echo_auth=False))  # "server_error": no parameter named
    b = backend(server, model="my-hosted-reasoner")
    with pytest.raises(BackendError, match="400"):
        complete(b, [CHAT], GenerationParams(max_tokens=300))
    assert len(sent(server)) == 1 and b.sent_parameters() == {}


@pytest.mark.parametrize("kind", ["vllm", "sglang", "llama.cpp"])
def test_reasoning_off_switches_the_chat_template_off(stubs: list, kind: str) -> None:
    server = serve(stubs, Thinking("reasoning"))
    b = backend(server, server=kind, reasoning="off")
    (c,) = complete(b, [CHAT], GenerationParams(max_tokens=50))
    request = sent(server)[0]
    assert request["chat_template_kwargs"] == {"enable_thinking": False, "thinking": False}
    assert c.text == LIST and c.reasoning == "" and "reasoning_effort" not in request
    complete(b, ["Plain completion prompt:"], GenerationParams(max_tokens=50))
    assert "chat_template_kwargs" not in sent(server)[1]  # a completion prompt has no template


def test_reasoning_off_steps_the_effort_up_when_the_lowest_is_refused(stubs: list) -> None:
    thinking = Thinking("reasoning", openai_rules=True, efforts=("low", "medium", "high"))
    server = serve(stubs, thinking)
    b = backend(server, model="gpt-5-nano", reasoning="off")
    (c,) = complete(b, [CHAT], GenerationParams(max_tokens=300))
    assert c.text == LIST
    assert [r.get("reasoning_effort") for r in sent(server)] == ["minimal", "low"]
    assert b.sent_parameters()["reasoning_effort"] == "low"


def test_reasoning_auto_sends_nothing_extra(stubs: list) -> None:
    server = serve(stubs, Thinking("reasoning"))
    complete(backend(server, server="vllm"), [CHAT], GenerationParams(max_tokens=500))
    request = sent(server)[0]
    assert "chat_template_kwargs" not in request and "reasoning_effort" not in request
    assert request["max_tokens"] == 500 and request["temperature"] == 0.7


SENT = {"model": "m", "messages": [], "max_tokens": 5, "temperature": 0.7, "stop": ["\n"]}
SENT |= {"chat_template_kwargs": {"enable_thinking": False}, "reasoning_effort": "none"}


@pytest.mark.parametrize(
    ("detail", "changed"),
    [
        ("Unsupported parameter: 'max_tokens' is not supported with this model. Use "
         "'max_completion_tokens' instead.", {"renamed": {"max_tokens": "max_completion_tokens"}}),
        ("Unsupported value: 'temperature' does not support 0.7 with this model. Only the default "
         "(1) value is supported.", {"dropped": sorted(SAMPLING)}),
        ("Unsupported parameter: 'stop' is not supported with this model.", {"dropped": ["stop"]}),
        ("Unrecognized request argument supplied: reasoning_effort",
         {"dropped": ["reasoning_effort"]}),
        ('"qwen2.5:7b" does not support thinking', {"dropped": ["reasoning_effort"]}),
        ("Failed to deserialize the JSON body into the target type: unknown field "
         "`chat_template_kwargs`, expected one of `model`, `messages`",
         {"dropped": ["chat_template_kwargs"]}),
        ("[{'type': 'extra_forbidden', 'loc': ('body', 'chat_template_kwargs'), 'msg': 'Extra "
         "inputs are not permitted'}]", {"dropped": ["chat_template_kwargs"]}),
        ("'messages' must not be empty", {}),
        ("The model `gpt-x` does not exist or you do not have access to it.", {}),
    ],
)  # fmt: skip
def test_refusals_name_what_to_change(detail: str, changed: dict[str, Any]) -> None:
    shape = RequestShape("openai", "my-model", "auto")
    assert shape.learn(400, detail, SENT) is bool(changed)
    assert shape.sent() == changed
    assert not shape.learn(400, detail, shape.apply(SENT, chat=True))  # nothing more to change
    assert not RequestShape("openai", "m").learn(500, detail, SENT)  # only a 400/422 teaches
