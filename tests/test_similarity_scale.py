"""Parity of the large-pool paths of the similarity index with rouge-score.

Pools past `tail_size` entries are frozen into prefix-filtered segments, merged as they grow,
and searched level by level (probe.py); a small `tail_size` puts all of that in play on pools
small enough to check against rouge-score's own `score()` on every pair. Each test asserts
decisions, bit-identical maximum scores and argmax, top-10 lists and means.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from corpora import CORPORA
from rouge_score import rouge_scorer

from selfinstruct.errors import ConfigError
from selfinstruct.similarity import SimilarityIndex

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
WORDS = [
    "write", "describe", "explain", "list", "give", "generate", "summarize", "the", "a", "an",
    "of", "to", "in", "for", "and", "with", "your", "story", "poem", "email", "letter", "essay",
    "sentence", "paragraph", "steps", "reasons", "ways", "tips", "about", "how", "why", "what",
    "new", "short", "long", "simple", "detailed", "funny", "formal", "friend", "teacher", "city",
    "river", "computer", "science", "history", "music", "food", "travel", "health", "money",
    "time", "people", "world",
]  # fmt: skip


def corpus(n: int, seed: int) -> list[str]:
    """The corpus's first n instructions when ../shared/corpora is there, else near-duplicates.

    The synthetic stream edits earlier instructions half the time (drops, swaps, insertions),
    so near-duplicates, exact duplicates and shared templates all occur.
    """
    path = CORPORA / "instructions.jsonl"
    if path.exists() and seed == 0:
        with path.open(encoding="utf-8") as f:
            return [json.loads(line)["instruction"] for _, line in zip(range(n), f, strict=False)]
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < 0.5:
            words = rng.choice(out).split()
            for _ in range(rng.randint(0, 4)):
                i = rng.randrange(len(words))
                op = rng.randrange(3)
                if op == 0 and len(words) > 2:
                    del words[i]
                elif op == 1:
                    words.insert(i, rng.choice(WORDS))
                else:
                    j = rng.randrange(len(words))
                    words[i], words[j] = words[j], words[i]
            out.append(" ".join(words))
        else:
            out.append(" ".join(rng.choices(WORDS, k=rng.randint(1, 30))))
    return out


def reference(pool: list[str], text: str) -> tuple:
    """rouge-score against every pool entry: reject, max, argmax, top-10, mean, and the top-10
    entries with F >= 0.5."""
    scores = [SCORER.score(entry, text)["rougeL"].fmeasure for entry in pool]
    best = max(scores, default=0.0)
    top = sorted(enumerate(scores), key=lambda t: (-t[1], t[0]))[:10]
    argmax = scores.index(best) if scores else None
    mean = float(np.mean(scores)) if scores else 0.0
    return best > 0.7, best, argmax, top, mean, [t for t in top if t[1] >= 0.5]


def ours(index: SimilarityIndex, text: str) -> tuple:
    """The same questions through the index (rejects() and rejection() must agree with check())."""
    d = index.check(text)
    assert index.rejects(text) == d.reject
    assert index.rejection(text) == (d if d.reject else None)
    top, mean = index.most_similar(text, 10), index.mean_score(text)
    return d.reject, d.max_score, d.argmax, top, mean, index.most_similar(text, 10, floor=0.5)


def test_segmented_fixed_pool_matches_rouge_score_exactly():
    """600 entries in 32-entry tails frozen and merged into segments; 30 later candidates."""
    texts = corpus(630, seed=0)
    pool, cands = texts[:600], texts[600:]
    with SimilarityIndex(tail_size=32) as index:
        index.add_many(pool)
        results = [ours(index, text) for text in cands]
    expected = [reference(pool, text) for text in cands]
    assert results == expected
    assert any(r[0] for r in expected) or any(r[1] > 0.5 for r in expected)


def test_growing_stream_through_segments_matches_rouge_score():
    """A near-duplicate stream added one by one: tails freeze, segments merge, every answer
    stays rouge-score's, with the pool in one process and split over two."""
    texts = corpus(150, seed=3)
    pool, expected = texts[:20], []
    for text in texts[20:]:
        expected.append(reference(pool, text))
        if not expected[-1][0]:
            pool.append(text)
    assert sum(r[0] for r in expected) > 15  # plenty of rejections
    for workers in (1, 2):
        results = []
        with SimilarityIndex(tail_size=16, workers=workers) as index:
            index.add_many(texts[:20])
            for text in texts[20:]:
                results.append(ours(index, text))
                if not results[-1][0]:
                    index.add(text)
            assert index.texts == pool
        assert results == expected, f"workers={workers}"


def test_exact_float_ties_inside_segments_decide_as_rouge_score_does():
    """Pairs with 2 * LCS / (m + n) == 0.7 exactly: rouge-score's float lands on either side."""
    cases = []
    for m in range(1, 41):
        for n in range(1, 41):
            if (m + n) % 20 == 0 and 7 * (m + n) // 20 <= min(m, n):
                lcs = 7 * (m + n) // 20
                cand = [f"c{m}x{n}x{i}" for i in range(m)]  # each case its own words
                cases.append((cand, cand[:lcs] + [f"e{m}x{n}x{i}" for i in range(n - lcs)]))
    pool = [" ".join(entry) for _, entry in cases]
    outcomes = set()
    with SimilarityIndex(tail_size=8) as index:
        index.add_many(pool + pool)  # every entry twice: argmax must be the first copy
        for cand, _ in cases:
            text = " ".join(cand)
            scores = [SCORER.score(entry, text)["rougeL"].fmeasure for entry in pool + pool]
            d = index.check(text)
            assert (d.reject, d.max_score, d.argmax) == (
                max(scores) > 0.7,
                max(scores),
                scores.index(max(scores)),
            )
            outcomes.add(d.reject)
    assert outcomes == {True, False}


def test_long_entries_and_repeated_tokens_in_segments():
    """Entries past the packed length and rank caps (255) and tokens repeated many times."""
    rng = random.Random(5)
    base = [rng.choice(WORDS) for _ in range(300)]
    pool = [" ".join(base[: rng.randint(250, 300)]) for _ in range(6)]
    pool += [" ".join(["the"] * rng.randint(1, 40) + rng.choices(WORDS, k=5)) for _ in range(30)]
    pool += corpus(40, seed=6)
    cands = [" ".join(base[:280]), " ".join(base[10:270]), " ".join(["the"] * 20 + ["poem"])]
    cands += [" ".join(["the"] * 3), pool[40], "write a poem"]
    with SimilarityIndex(tail_size=8) as index:
        index.add_many(pool)
        for text in cands:
            assert ours(index, text) == reference(pool, text), text


def test_bulk_and_one_by_one_adds_give_the_same_answers():
    texts = corpus(400, seed=7)
    with SimilarityIndex(tail_size=32) as bulk, SimilarityIndex(tail_size=32) as single:
        bulk.add_many(texts[:300])
        for text in texts[:300]:
            single.add(text)
        for text in texts[300:]:
            assert bulk.check(text) == single.check(text)
            assert bulk.most_similar(text, 5) == single.most_similar(text, 5)


def test_tail_size_must_be_positive():
    with pytest.raises(ConfigError, match="tail_size"):
        SimilarityIndex(tail_size=0)


def test_sampled_mean_averages_exact_scores_at_reproducible_positions():
    """mean_score(sample=K): numpy's mean of rouge-score's F at K positions drawn from `seed`,
    the same with the pool split over two processes; sample >= pool size is the exact mean."""
    texts = corpus(310, seed=8)
    pool, cands = texts[:300], texts[300:]
    drawn = np.sort(np.random.default_rng(3).choice(len(pool), 40, replace=False))
    expected = []
    for text in cands:
        scores = np.array([SCORER.score(entry, text)["rougeL"].fmeasure for entry in pool])
        expected.append((float(np.mean(scores[drawn])), float(np.mean(scores))))
    for workers in (1, 2):
        with SimilarityIndex(tail_size=32, workers=workers) as index:
            index.add_many(pool)
            got = [
                (index.mean_score(t, sample=40, seed=3), index.mean_score(t, 300)) for t in cands
            ]
        assert got == expected, f"workers={workers}"
    with pytest.raises(ConfigError, match="sample"):
        SimilarityIndex().mean_score("x", sample=0)
