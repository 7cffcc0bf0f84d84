"""TransformersBackend on the embedded SmolLM2 model, in-process (CPU)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from selfinstruct.llm.base import GenerationParams, complete

pytestmark = [pytest.mark.model, pytest.mark.slow]

CHAT = [{"role": "user", "content": "List three colours of the rainbow."}]
SHORT = [{"role": "user", "content": "Say hi."}]
PLAIN = "The capital of France is"


@pytest.fixture(scope="module")
def backend(local_model: str) -> Iterator[object]:
    from selfinstruct.llm.transformers_backend import TransformersBackend

    yield TransformersBackend(batch_size=4)


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


def test_left_padded_batch_matches_one_by_one(backend) -> None:
    greedy = GenerationParams(max_tokens=16, temperature=0.0)
    batched = complete(backend, [CHAT, SHORT, PLAIN], greedy)
    alone = [complete(backend, [p], greedy)[0] for p in (CHAT, SHORT, PLAIN)]
    assert [c.text for c in batched] == [c.text for c in alone]


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


def test_n_gives_several_completions_per_prompt(backend) -> None:
    params = GenerationParams(max_tokens=8, temperature=1.0, seed=5, n=2)
    out = complete(backend, [CHAT, PLAIN], params)
    assert len(out) == 4
