"""TransformersBackend on the embedded SmolLM2 model, in-process (CPU), and its penalty processor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from selfinstruct.llm.base import GenerationParams, complete


def model_test(test):
    """Mark a test that loads the bundled model in-process (slow)."""
    return pytest.mark.model(pytest.mark.slow(test))


CHAT = [{"role": "user", "content": "List three colours of the rainbow."}]
SHORT = [{"role": "user", "content": "Say hi."}]
PLAIN = "The capital of France is"
LOOP = "One, two, three, one, two, three, one, two,"  # greedy decoding repeats this forever


@pytest.fixture(scope="module")
def backend(local_model: str) -> Iterator[object]:
    from selfinstruct.llm.transformers_backend import TransformersBackend

    yield TransformersBackend(batch_size=4)


@model_test
def test_embedded_default_answers_chat_and_plain_prompts(backend) -> None:
    greedy = GenerationParams(max_tokens=24, temperature=0.0)
    chat, plain = complete(backend, [CHAT, PLAIN], greedy)
    assert backend.info.chat and backend.info.model.startswith("bundled:")
    assert "rainbow" in chat.text.lower()  # a 135M model: on topic, if not always right
    assert "paris" in plain.text.lower()
    for c in (chat, plain):
        assert c.prompt_tokens > 3 and 0 < c.completion_tokens <= 24
        assert c.finish_reason in ("stop", "length")
    # the chat prompt went through the tokenizer's chat template
    assert "<|im_start|>user" in backend.render(CHAT)


@model_test
def test_left_padded_batch_matches_one_by_one(backend) -> None:
    greedy = GenerationParams(max_tokens=16, temperature=0.0)
    batched = complete(backend, [CHAT, SHORT, PLAIN], greedy)
    alone = [complete(backend, [p], greedy)[0] for p in (CHAT, SHORT, PLAIN)]
    assert [c.text for c in batched] == [c.text for c in alone]


@model_test
def test_max_tokens_and_stop_sequences(backend) -> None:
    cut = complete(backend, [CHAT], GenerationParams(max_tokens=3, temperature=0.0))[0]
    assert cut.finish_reason == "length" and cut.completion_tokens == 3
    full = complete(backend, [CHAT], GenerationParams(max_tokens=24, temperature=0.0))[0]
    stop = full.text.strip().split()[1]  # stop at the second word of what it would say
    stopped = complete(
        backend, [CHAT], GenerationParams(max_tokens=24, temperature=0.0, stop=(stop,))
    )[0]
    assert stop not in stopped.text and full.text.startswith(stopped.text)
    assert stopped.finish_reason == "stop"


@model_test
def test_seeded_sampling_is_reproducible_and_usage_adds_up(backend) -> None:
    before = backend.usage.total_tokens
    params = GenerationParams(max_tokens=16, temperature=1.0, top_p=0.95, seed=123)
    a = complete(backend, [CHAT, PLAIN], params)
    b = complete(backend, [CHAT, PLAIN], params)
    assert [c.text for c in a] == [c.text for c in b]
    other = complete(
        backend,
        [CHAT, PLAIN],
        GenerationParams(max_tokens=16, temperature=1.0, top_p=0.95, seed=124),
    )
    assert [c.text for c in other] != [c.text for c in a]
    spent = sum(c.prompt_tokens + c.completion_tokens for c in (*a, *b, *other))
    assert backend.usage.total_tokens - before == spent


@model_test
def test_n_gives_several_completions_per_prompt(backend) -> None:
    params = GenerationParams(max_tokens=8, temperature=1.0, seed=5, n=2)
    out = complete(backend, [CHAT, PLAIN], params)
    assert len(out) == 4


def test_penalty_processor_matches_openai_formula_by_hand() -> None:
    torch = pytest.importorskip("torch")
    from selfinstruct.llm.transformers_backend import OpenAIPenalties

    pad = 0
    # two left-padded rows, prompt width 3; generated so far: [4, 4, 2] and [3, pad, pad]
    input_ids = torch.tensor([[0, 1, 4, 4, 4, 2], [1, 2, 5, 3, 0, 0]])
    scores = torch.arange(12, dtype=torch.float32).reshape(2, 6)
    out = OpenAIPenalties(3, presence=0.5, frequency=0.25, pad_token_id=pad)(input_ids, scores)
    # row 0: token 4 twice -> 2*0.25 + 0.5; token 2 once -> 0.25 + 0.5; prompt's 1 not counted
    # row 1: token 3 once -> 0.75; pad (0) and prompt tokens 2, 5 not counted
    expected = torch.tensor(
        [[0.0, 1.0, 2.0 - 0.75, 3.0, 4.0 - 1.0, 5.0], [6.0, 7.0, 8.0, 9.0 - 0.75, 10.0, 11.0]]
    )
    assert torch.equal(out, expected)
    nothing_yet = OpenAIPenalties(6, 2.0, 2.0, pad)(input_ids, scores)
    assert torch.equal(nothing_yet, scores)


def _token_ids(backend, text: str) -> list[int]:
    return backend.tokenizer(text, add_special_tokens=False)["input_ids"]


@model_test
def test_presence_penalty_reduces_repeated_tokens(backend) -> None:
    plain = GenerationParams(max_tokens=32, temperature=0.0)
    free = _token_ids(backend, complete(backend, [LOOP], plain)[0].text)
    penalised = complete(backend, [LOOP], replace(plain, presence_penalty=2.0))[0]
    fresh = _token_ids(backend, penalised.text)
    assert len(set(free)) <= 5  # " three, one, two," again and again
    assert len(fresh) - len(set(fresh)) < len(free) - len(set(free))
    assert len(set(fresh)) >= 2 * len(set(free))  # it had to move on to new words


@model_test
def test_penalties_count_each_left_padded_row_alone(backend) -> None:
    params = GenerationParams(
        max_tokens=12, temperature=0.0, presence_penalty=1.5, frequency_penalty=0.5
    )
    batched = complete(backend, [LOOP, SHORT], params)  # SHORT's row is left-padded
    alone = [complete(backend, [p], params)[0] for p in (LOOP, SHORT)]
    assert [c.text for c in batched] == [c.text for c in alone]
    free = replace(params, presence_penalty=0.0, frequency_penalty=0.0)
    assert batched[0].text != complete(backend, [LOOP], free)[0].text


@model_test
def test_inline_thinking_is_split_off_in_process(backend) -> None:
    tokenizer = backend.tokenizer
    ids = tokenizer.encode(
        "<think>\nA draft: 1. a poem.\n</think>\n\nYes", add_special_tokens=False
    )
    c = backend._completion(ids, 5, GenerationParams(max_tokens=len(ids) + 10))
    assert (c.text, c.reasoning) == ("Yes", "A draft: 1. a poem.")
    assert 0 < c.reasoning_tokens < c.completion_tokens == len(ids)
    cut = tokenizer.encode("<think>\nStill thinking about", add_special_tokens=False)
    c = backend._completion(cut, 5, GenerationParams(max_tokens=len(cut)))
    assert c.finish_reason == "length" and c.text == "" and c.reasoning.startswith("Still")


@model_test
def test_reasoning_off_reaches_the_chat_template(backend) -> None:
    plain = backend.render(CHAT)
    backend.template_kwargs = {"enable_thinking": False, "thinking": False}
    try:  # SmolLM2's template has no switch: the same prompt, and no error
        assert backend.render(CHAT) == plain
    finally:
        backend.template_kwargs = {}
