"""Parity of the similarity index with rouge-score: decisions, maximum scores, top-10, means.

The reference is `RougeScorer(["rougeL"], use_stemmer=False).score(pool_entry, candidate)` run
against the whole pool for every candidate, as the Self-Instruct scripts do. The stream is a
slice of the real corpus in ../shared/corpora when that folder is there, and a deterministic
synthetic near-duplicate corpus always (so the test runs, and can fail, everywhere).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

import numpy as np
import pytest
from corpora import CORPORA
from rouge_score import rouge_scorer

from selfinstruct.errors import ConfigError
from selfinstruct.similarity import (
    SimilarityIndex,
    get_tokenizer,
    rouge_l,
    tokenize_cjk_chars,
    tokenize_en,
    tokenize_jieba_words,
)

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
WORDS = [
    "write", "describe", "explain", "list", "give", "generate", "summarize", "the", "a", "an",
    "of", "to", "in", "for", "and", "with", "your", "story", "poem", "email", "letter", "essay",
    "sentence", "paragraph", "list", "steps", "reasons", "ways", "tips", "about", "how", "why",
    "what", "new", "short", "long", "simple", "detailed", "funny", "formal", "friend", "teacher",
    "city", "river", "computer", "science", "history", "music", "food", "travel", "health",
    "money", "time", "people", "world",
]  # fmt: skip


class _Tokens:
    """A rouge-score tokenizer object around one of our tokenizer functions."""

    def __init__(self, fn: Callable[[str], list[str]]) -> None:
        self.fn = fn

    def tokenize(self, text: str) -> list[str]:
        return self.fn(text)


def synthetic_corpus(n: int, seed: int = 0) -> list[str]:
    """Instructions where about half are edits (drops, swaps, insertions) of earlier ones."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < 0.5:
            words = rng.choice(out).split()
            for _ in range(rng.randint(0, 4)):
                op = rng.randrange(3)
                i = rng.randrange(len(words))
                if op == 0 and len(words) > 2:
                    del words[i]
                elif op == 1:
                    words.insert(i, rng.choice(WORDS))
                else:
                    j = rng.randrange(len(words))
                    words[i], words[j] = words[j], words[i]
            text = " ".join(words)
        else:
            text = " ".join(rng.choices(WORDS, k=rng.randint(3, 25)))
        out.append(text.capitalize() + rng.choice([".", "?", "!", ""]))
    return out


def real_slice(n: int) -> tuple[list[str], list[str]] | None:
    """(175 seed instructions, the corpus's first n instructions), or None without the corpus."""
    seeds, corpus = CORPORA / "seed_instructions.json", CORPORA / "instructions.jsonl"
    if not (seeds.exists() and corpus.exists()):
        return None
    with corpus.open(encoding="utf-8") as f:
        lines = [json.loads(line)["instruction"] for _, line in zip(range(n), f, strict=False)]
    return json.loads(seeds.read_text(encoding="utf-8")), lines


def reference_run(seeds: list[str], stream: list[str], scorer: rouge_scorer.RougeScorer) -> list:
    """rouge-score against the whole pool per candidate: (reject, max, top-10, mean) each."""
    pool = list(seeds)
    results = []
    for text in stream:
        scores = [scorer.score(entry, text)["rougeL"].fmeasure for entry in pool]
        best = max(scores, default=0.0)
        top = sorted(enumerate(scores), key=lambda t: (-t[1], t[0]))[:10]
        results.append((best > 0.7, best, top, float(np.mean(scores))))
        if best <= 0.7:
            pool.append(text)
    return results


def our_run(seeds: list[str], stream: list[str], index: SimilarityIndex) -> list:
    """The same questions through SimilarityIndex."""
    results = []
    with index:
        index.add_many(seeds)
        for text in stream:
            d = index.check(text)
            top = index.most_similar(text, 10)
            results.append((d.reject, d.max_score, top, index.mean_score(text)))
            if not d.reject:
                index.add(text)
    return results


def assert_same(ours: list, ref: list) -> None:
    """Identical decisions, bit-identical max scores, top-10 lists and means."""
    assert len(ours) == len(ref)
    for i, (o, r) in enumerate(zip(ours, ref, strict=True)):
        assert o[0] == r[0], f"candidate {i}: reject {o[0]} vs rouge-score {r[0]}"
        assert o[1] == r[1], f"candidate {i}: max {o[1]!r} vs rouge-score {r[1]!r}"
        assert o[2] == r[2], f"candidate {i}: top-10 differs"
        assert o[3] == r[3], f"candidate {i}: mean {o[3]!r} vs rouge-score {r[3]!r}"


def test_real_or_synthetic_stream_matches_rouge_score_exactly():
    """The corpus slice when present (else a synthetic one): everything equal to rouge-score."""
    data = real_slice(300) or (synthetic_corpus(60, seed=1), synthetic_corpus(300, seed=2))
    seeds, stream = data
    ref = reference_run(seeds, stream, SCORER)
    assert_same(our_run(seeds, stream, SimilarityIndex()), ref)
    rejected = sum(r[0] for r in ref)
    assert 0 < rejected < len(stream)  # the slice exercises both outcomes


def test_large_fixed_pool_matches_rouge_score_exactly():
    """2,000 pool entries (dense index rows in play), 60 later candidates, pool not growing."""
    data = real_slice(2060)
    texts = data[1] if data else synthetic_corpus(2060, seed=4)
    pool, cands = texts[:2000], texts[2000:]
    with SimilarityIndex() as index:
        index.add_many(pool)
        for text in cands:
            scores = [SCORER.score(entry, text)["rougeL"].fmeasure for entry in pool]
            top = sorted(enumerate(scores), key=lambda t: (-t[1], t[0]))[:10]
            d = index.check(text)
            assert (d.reject, d.max_score) == (max(scores) > 0.7, max(scores))
            assert index.most_similar(text, 10) == top
            assert index.mean_score(text) == float(np.mean(scores))


def test_synthetic_near_duplicates_match_rouge_score_exactly():
    """A stream with many near-duplicates, with and without extra worker processes."""
    corpus = synthetic_corpus(400, seed=3)
    seeds, stream = corpus[:50], corpus[50:]
    ref = reference_run(seeds, stream, SCORER)
    assert sum(r[0] for r in ref) > 50  # plenty of rejections
    assert_same(our_run(seeds, stream, SimilarityIndex()), ref)
    assert_same(our_run(seeds, stream, SimilarityIndex(workers=2)), ref)


def tie_cases() -> list[tuple[list[str], list[str]]]:
    """(candidate, pool entry) token lists with LCS exactly 0.35 * (m + n): 2*LCS/(m+n) == 0.7."""
    cases = []
    for m in range(1, 81):
        for n in range(1, 81):
            if (m + n) % 20 == 0 and 7 * (m + n) // 20 <= min(m, n):
                lcs = 7 * (m + n) // 20
                cand = [f"c{i}" for i in range(m)]
                entry = cand[:lcs] + [f"e{i}" for i in range(n - lcs)]
                cases.append((cand, entry))
    return cases


def test_float_ties_at_the_threshold_decide_as_rouge_score_does():
    """On exact ties rouge-score's float F lands above or below 0.7 by length; we follow it."""
    outcomes = set()
    for cand, entry in tie_cases():
        ref = SCORER.score(" ".join(entry), " ".join(cand))["rougeL"].fmeasure
        with SimilarityIndex() as index:
            index.add(" ".join(entry))
            d = index.check(" ".join(cand))
        assert (d.reject, d.max_score) == (ref > 0.7, ref), (len(cand), len(entry))
        outcomes.add(d.reject)
    assert outcomes == {True, False}  # ties both ways are covered


def test_ties_and_duplicates_in_a_shared_pool_report_the_first_position():
    cases = [(c, e) for c, e in tie_cases() if len(c) + len(e) <= 60]
    texts = [" ".join(entry) for _, entry in cases]
    with SimilarityIndex() as index:
        index.add_many(texts + texts)  # every entry twice: argmax must be the first copy
        for cand, _ in cases:
            text = " ".join(cand)
            scores = [SCORER.score(t, text)["rougeL"].fmeasure for t in index.texts]
            d = index.check(text)
            assert d.max_score == max(scores)
            assert d.argmax == scores.index(max(scores))


def test_empty_texts_pool_and_unseen_words():
    with SimilarityIndex() as index:
        assert index.check("anything") == index.check("")
        assert index.check("anything").argmax is None
        assert index.most_similar("x") == [] and index.mean_score("x") == 0.0
        index.add_many(["!!!", "Write a poem about the sea."])
        assert index.check("???").max_score == 0.0  # no tokens: rouge-score gives 0
        d = index.check("Write a poem about the desert.")  # "desert" is new to the pool
        ref = SCORER.score("Write a poem about the sea.", "Write a poem about the desert.")
        assert d.max_score == ref["rougeL"].fmeasure and d.reject and d.argmax == 1
        poem = rouge_l(["poem"], tokenize_en("Write a poem about the sea."))
        assert index.most_similar("poem", k=5) == [(1, poem), (0, 0.0)]


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "0.7"])
def test_bad_threshold_is_a_config_error(threshold):
    with pytest.raises(ConfigError, match="threshold"):
        SimilarityIndex(threshold=threshold)


def test_unknown_tokenizer_language_names_the_choices():
    with pytest.raises(ConfigError, match="zh-jieba"):
        get_tokenizer("fr")


def test_english_tokens_are_rouge_scores():
    texts = [
        "Don't use the 3rd-party API!",
        "Naïve café: ÉCOLE 42",
        "Ｆｕｌｌ width",
        "",
        "İstanbul",
    ]
    for text in texts:
        assert tokenize_en(text) == SCORER._tokenizer.tokenize(text)


CHINESE = [
    "介绍一下平安健康保险股份有限公司",
    "请介绍一下平安健康保险股份有限公司。",
    "写一首关于秋天的诗",
    "写一首关于秋天落叶的短诗。",
    "把下面的句子翻译成英文",
]


def test_cjk_tokenizer_lets_rouge_l_see_chinese_near_duplicates():
    assert all(SCORER._tokenizer.tokenize(t) == [] for t in CHINESE)  # rouge-score sees nothing
    with SimilarityIndex() as english:
        english.add(CHINESE[0])
        assert english.check(CHINESE[1]).max_score == 0.0
    zh = SimilarityIndex(tokenizer=get_tokenizer("zh"))
    zh_scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=_Tokens(tokenize_cjk_chars))
    ref = reference_run(CHINESE[:1], CHINESE[1:], zh_scorer)
    ours = our_run(CHINESE[:1], CHINESE[1:], zh)
    assert_same(ours, ref)
    assert [r[0] for r in ours] == [True, False, True, False]  # the two near-duplicates go


def test_cjk_chars_keep_latin_words_and_digits():
    assert tokenize_cjk_chars("用Python写3个函数") == ["用", "python", "写", "3", "个", "函", "数"]


def test_jieba_tokenizer_segments_words_when_installed():
    pytest.importorskip("jieba", reason="jieba is the optional [zh] extra")
    tokens = tokenize_jieba_words("请介绍一下平安健康保险股份有限公司 in English")
    assert "介绍" in tokens and tokens[-2:] == ["in", "english"]
    with SimilarityIndex(tokenizer=get_tokenizer("zh-jieba")) as index:
        index.add(CHINESE[0])
        assert index.check(CHINESE[1]).reject
