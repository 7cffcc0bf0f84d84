"""Similarity filter throughput: rouge-score in a process pool (the reference method) vs ours.

Streams a real instruction corpus through the ROUGE-L filter (reject when the F-measure against
some pool entry exceeds 0.7), starting from the 175 Self-Instruct seed instructions, and times it.
Then, at pool sizes 1K, 5K, 10K and 50K, times both methods in the same run on held-out
candidates (the corpus's last `--holdout` instructions, never streamed into the pool). The pools
are what the filter kept from the rest of the corpus, padded with synthetic instructions (corpus
words drawn at random, corpus-like lengths) where the corpus is too short; the table says so.

(a) reference: for each candidate, open a `multiprocessing.Pool` with one process per core and
    map rouge-score's pure-Python `_score_lcs` over every pool instruction, then take the
    maximum F (the method of the Self-Instruct and Alpaca scripts); slow, so a small sample.
(b) ours: `SimilarityIndex.check`.

Prints candidates/s, the ratio, peak memory, and how many decisions or maximum scores differ.

With `--cjk`, compares instead the tokenizations of Chinese text on a Chinese corpus
(rouge-score's own, CJK characters, jieba words): instructions left with no tokens, near-duplicate
pairs (F > 0.7) found, instructions the filter rejects, and tokenizer speed.

    python benchmarks/similarity.py                 # corpus from ../shared/corpora
    python benchmarks/similarity.py --corpus my.jsonl --quick
    python benchmarks/similarity.py --cjk           # ../shared/corpora/instructions_zh.jsonl
    python benchmarks/similarity.py --verify        # every decision of the stream, brute force
    python benchmarks/similarity.py --pool 1000000  # one big pool: speed, memory, build, resume

`--verify` streams the whole corpus and checks every decision and maximum score against brute
force: rapidfuzz's LCS with every pool entry (checked against rouge-score's own LCS on a sample),
rouge-score's `scoring.fmeasure` on the pairs that can hold the maximum.

`--pool N` builds one pool of N instructions (the filter's pool from the corpus, padded with
synthetic instructions, as the table does) and reports: the time to build the index from a pool
file, and to rebuild it the way a resumed bootstrap run does (one `add()` per line); candidates/s
of `check()` (and of `rejects()`, the decision alone) on the held-out candidates, next to the
reference method on a sample; peak memory; the same brute force as `--verify` on a sample of
the held-out candidates (decisions, maximum scores, argmax; top-10 lists and means on a few);
the cost per call of `most_similar(k=10)` and `mean_score` at 10K, 100K and N; and, with
`--workers 1,2`, check() with the pool split over that many processes.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import LCSseq
from rouge_score import rouge_scorer, scoring

from selfinstruct.similarity import SimilarityIndex, get_tokenizer
from selfinstruct.similarity.codes import TokenCodes
from selfinstruct.similarity.rouge import fmeasure

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
THRESHOLD = 0.7


def read_corpus(path: Path) -> list[str]:
    """Instructions from a JSONL file (field `instruction`) or a JSON list of strings."""
    if path.suffix == ".json":
        return [str(x) for x in json.loads(path.read_text(encoding="utf-8"))]
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["instruction"] for line in f if line.strip()]


def synthetic(corpus: Sequence[str], count: int, seed: int = 0) -> list[str]:
    """Instructions made of corpus words drawn at random, with corpus-like lengths."""
    rng = random.Random(seed)
    words = [w for text in corpus for w in text.split()]
    lengths = [len(text.split()) for text in corpus]
    return [" ".join(rng.choices(words, k=rng.choice(lengths))) for _ in range(count)]


def stream(seeds: Sequence[str], corpus: Sequence[str]) -> tuple[list[str], list[int], float]:
    """Filter the corpus into a pool grown from the seeds; return (pool, pool size before each
    candidate, seconds)."""
    start = time.perf_counter()
    sizes = []
    with SimilarityIndex(workers=1) as index:
        index.add_many(seeds)
        for text in corpus:
            sizes.append(len(index))
            if not index.check(text).reject:
                index.add(text)
        pool = list(index.texts)
    return pool, sizes, time.perf_counter() - start


_SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
ref_tokenize = _SCORER._tokenizer.tokenize
"""rouge-score's own tokenizer, as the reference scripts use it."""


def reference_max(pool_tokens: list[list[str]], text: str, processes: int) -> float:
    """The reference method for one candidate: a fresh process pool, rouge-score over the pool."""
    tokens = ref_tokenize(text)
    score = functools.partial(rouge_scorer._score_lcs, tokens)
    with mp.get_context("fork").Pool(processes) as workers:
        results = workers.map(score, pool_tokens, chunksize=max(1, len(pool_tokens) // 64))
    return max((r.fmeasure for r in results), default=0.0)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(
    pool: list[str], candidates: list[str], ref_sample: int, ref_budget_s: float, processes: int
) -> dict[str, float]:
    """Both methods against one pool on the same candidates; ours on all, reference on a few."""
    tracemalloc.start()
    build = time.perf_counter()
    index = SimilarityIndex(workers=1)
    index.add_many(pool)
    index.check(candidates[0])  # entries are indexed in bulk before the first question
    build = time.perf_counter() - build
    index_mb = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    with index:
        start = time.perf_counter()
        ours = [index.check(text) for text in candidates]
        ours_s = time.perf_counter() - start
    pool_tokens = [ref_tokenize(text) for text in pool]
    start, ref = time.perf_counter(), []
    for text in candidates[:100]:  # at least ref_sample candidates, more while under budget
        ref.append(reference_max(pool_tokens, text, processes))
        if len(ref) >= ref_sample and time.perf_counter() - start > ref_budget_s:
            break
    ref_s = time.perf_counter() - start
    differ = sum(
        (d.max_score > THRESHOLD, d.max_score) != (r > THRESHOLD, r)
        for d, r in zip(ours, ref, strict=False)
    )
    return {
        "ours": len(candidates) / ours_s,
        "ref": len(ref) / ref_s,
        "differ": differ,
        "compared": len(ref),
        "build_s": build,
        "index_mb": index_mb,
        "rejected": sum(d.reject for d in ours),
    }


def near_pairs(token_lists: list[list[str]], threshold: float) -> set[tuple[int, int]]:
    """Every pair (i < j) with rouge-score F above the threshold, by brute force."""
    codes = TokenCodes()
    seqs = [codes.encode(tokens) for tokens in token_lists]
    lcs = process.cdist(seqs, seqs, scorer=LCSseq.similarity, dtype=np.int32, workers=-1)
    pairs = set()
    for j in range(len(seqs)):
        for i in np.flatnonzero(lcs[j, :j]).tolist():
            f = fmeasure(int(lcs[j, i]), len(seqs[j]), len(seqs[i]))
            if f > threshold:
                pairs.add((i, j))
    return pairs


def verify(seeds: Sequence[str], corpus: Sequence[str], batch: int = 500) -> None:
    """Every decision and maximum of the whole stream against brute force; prints the counts."""
    start = time.perf_counter()
    decisions, sizes = [], []
    with SimilarityIndex() as index:
        index.add_many(seeds)
        for text in corpus:
            sizes.append(len(index))
            decisions.append(index.check(text))
            if not decisions[-1].reject:
                index.add(text)
        pool = list(index.texts)
    print(f"stream: {len(corpus)} candidates in {time.perf_counter() - start:.1f} s")
    codes = TokenCodes()
    pool_tokens = [ref_tokenize(text) for text in pool]
    pool_seqs = [codes.encode(tokens) for tokens in pool_tokens]
    lens = np.array([len(t) for t in pool_tokens])
    rng = random.Random(0)
    for _ in range(2000):  # rapidfuzz's LCS is rouge-score's LCS
        i, j = rng.randrange(len(pool)), rng.randrange(len(pool))
        lcs = LCSseq.similarity(pool_seqs[i], pool_seqs[j])
        ref = rouge_scorer._score_lcs(pool_tokens[i], pool_tokens[j]).fmeasure
        mine = scoring.fmeasure(lcs / lens[j], lcs / lens[i]) if lens[i] and lens[j] else 0.0
        assert mine == ref, (pool[i], pool[j])
    start = time.perf_counter()
    cand_seqs = [codes.encode(ref_tokenize(text)) for text in corpus]
    differ = ties = 0
    for first in range(0, len(corpus), batch):
        seqs = cand_seqs[first : first + batch]
        width = sizes[first + len(seqs) - 1]
        lcs_rows = process.cdist(
            seqs, pool_seqs[:width], scorer=LCSseq.similarity, dtype=np.int32, workers=-1
        )
        for offset, (seq, row) in enumerate(zip(seqs, lcs_rows, strict=True)):
            i, m = first + offset, len(seq)
            n, best = sizes[i], 0.0
            if m:
                lcs, plen = row[:n], lens[:n]
                ratio = 2 * lcs / np.maximum(plen + m, 1)
                ties += int(np.count_nonzero(20 * lcs == 7 * (plen + m)))
                # the float F is the ratio to within a few ulps: these pairs hold its maximum
                for k in np.flatnonzero((ratio >= ratio.max() - 1e-9) & (lcs > 0)).tolist():
                    common, p = int(lcs[k]), int(plen[k])
                    best = max(best, scoring.fmeasure(common / p, common / m))
            d = decisions[i]
            differ += (d.reject, d.max_score) != (best > THRESHOLD, best)
    print(
        f"brute force in {time.perf_counter() - start:.1f} s: {differ} of {len(corpus)} "
        f"decisions or maximum scores differ; {ties} candidate/entry pairs sit exactly on "
        f"2*LCS/(m+n) = {THRESHOLD}"
    )


def cjk_report(path: Path, examples: int = 6) -> None:
    """Compare rouge-score's tokens, CJK characters and jieba words on a Chinese corpus."""
    texts = read_corpus(path)
    tokenizers = {
        "rouge-score": ref_tokenize,
        "zh (chars)": get_tokenizer("zh"),
        "zh-jieba": get_tokenizer("zh-jieba"),
    }
    tokenizers["zh-jieba"]("预热")  # jieba loads its dictionary on first use: not timed
    print(f"corpus {path} ({len(texts)} instructions), threshold {THRESHOLD}")
    print(
        f"{'tokenizer':>12} {'no tokens':>10} {'tokens/instr':>13} {'us/instr':>9} "
        f"{'pairs>0.7':>10} {'rejected':>9} {'stream s':>9}"
    )
    found = {}
    for name, tokenize in tokenizers.items():
        start = time.perf_counter()
        tokens = [tokenize(text) for text in texts]
        per_us = (time.perf_counter() - start) / len(texts) * 1e6
        start = time.perf_counter()
        with SimilarityIndex(tokenizer=tokenize) as index:
            rejected = sum(bool(d.reject) for d in index.check_many(texts))
        stream_s = time.perf_counter() - start
        found[name] = near_pairs(tokens, THRESHOLD)
        empty = sum(not t for t in tokens)
        print(
            f"{name:>12} {empty:>5} {empty / len(texts):>4.0%} "
            f"{sum(map(len, tokens)) / len(texts):>13.1f} {per_us:>9.1f} "
            f"{len(found[name]):>10} {rejected:>9} {stream_s:>9.2f}"
        )
    chars, words = found["zh (chars)"], found["zh-jieba"]
    print(f"pairs: both {len(chars & words)}, chars only {len(chars - words)}, "
          f"jieba only {len(words - chars)}")  # fmt: skip
    rng = random.Random(0)
    for label, pairs in (("chars only", chars - words), ("jieba only", words - chars)):
        print(f"examples, {label}:")
        for i, j in rng.sample(sorted(pairs), min(examples, len(pairs))):
            print(f"  {texts[i]}  |  {texts[j]}")


def write_pool(path: Path, texts: Sequence[str]) -> None:
    """A pool file as a run directory holds it: one JSON object a line."""
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"instruction": text}, ensure_ascii=False) + "\n")


def read_pool(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line)["instruction"] for line in f]


def rate(fn: Callable[[str], object], texts: Sequence[str]) -> float:
    """Calls per second of fn over texts."""
    start = time.perf_counter()
    for text in texts:
        fn(text)
    return len(texts) / (time.perf_counter() - start)


def brute_force(
    pool: Sequence[str], candidates: Sequence[str], full: int
) -> list[tuple[bool, float, int, list[tuple[int, float]] | None, float | None]]:
    """(reject, max, argmax, top-10, mean) of each candidate against every pool entry.

    LCS by rapidfuzz on rouge-score's tokens (checked against rouge-score's `_score_lcs` on
    random pairs); the maximum by rouge-score's `scoring.fmeasure` on the pairs that can hold it;
    top-10 and mean (for the first `full` candidates) from rouge-score's formula on every pair.
    """
    codes = TokenCodes()
    tokens = [ref_tokenize(text) for text in pool]
    seqs = [codes.encode(t) for t in tokens]
    lens = np.array([len(t) for t in tokens], dtype=np.float64)
    rng = random.Random(0)
    for _ in range(500):
        i, j = rng.randrange(len(pool)), rng.randrange(len(pool))
        ref = rouge_scorer._score_lcs(tokens[i], tokens[j]).fmeasure
        lcs = LCSseq.similarity(seqs[i], seqs[j])
        mine = scoring.fmeasure(lcs / lens[j], lcs / lens[i]) if lens[i] and lens[j] else 0.0
        assert mine == ref, (pool[i], pool[j])
    del tokens
    out = []
    for n, text in enumerate(candidates):
        seq = codes.encode(ref_tokenize(text))
        m = len(seq)
        lcs = process.cdist([seq], seqs, scorer=LCSseq.similarity, dtype=np.int32, workers=-1)[0]
        if not m or not lcs.any():
            out.append((False, 0.0, 0, None, None))
            continue
        ratio = 2 * lcs / (lens + m)
        near = np.flatnonzero((ratio >= ratio.max() - 1e-9) & (lcs > 0)).tolist()
        scores = {k: scoring.fmeasure(int(lcs[k]) / lens[k], int(lcs[k]) / m) for k in near}
        best = max(scores.values())
        argmax = min(k for k, f in scores.items() if f == best)
        top = mean = None
        if n < full:  # rouge-score's formula (scoring.fmeasure) on every pair, vectorized
            with np.errstate(invalid="ignore", divide="ignore"):
                precision, recall = lcs / lens, lcs / m
                f = np.nan_to_num(2 * precision * recall / (precision + recall))
            order = np.lexsort((np.arange(f.size), -f))[:10]
            top = [(int(k), float(f[k])) for k in order]
            mean = float(np.mean(f))
        out.append((best > THRESHOLD, best, argmax, top, mean))
    return out


def index_costs(index: SimilarityIndex, texts: Sequence[str], calls: int) -> dict[str, float]:
    """ms per call of most_similar(k=10), mean_score and mean_score(sample=10,000)."""
    return {
        "top": 1000 / rate(lambda t: index.most_similar(t, 10), texts[:calls]),
        "mean": 1000 / rate(index.mean_score, texts[: max(3, calls // 10)]),
        "sampled": 1000 / rate(lambda t: index.mean_score(t, sample=10_000), texts[:calls]),
    }


def call_costs(pool: Sequence[str], texts: Sequence[str], calls: int) -> dict[str, float]:
    """index_costs() on a fresh index of this pool."""
    with SimilarityIndex() as index:
        index.add_many(pool)
        index.check(texts[0])
        return index_costs(index, texts, calls)


def scale_report(args: argparse.Namespace, seeds: list[str], corpus: list[str]) -> None:
    """The --pool N report (see the module docstring)."""
    size, holdout = args.pool, min(args.holdout, len(corpus) // 2)
    kept, _, _ = stream(seeds, corpus[:-holdout])
    pad = max(0, size - len(kept))
    start = time.perf_counter()
    pool = kept[:size] + synthetic(corpus[:-holdout], pad)
    candidates = list(corpus[-holdout:])
    print(
        f"pool {size}: the filter's pool from the first {len(corpus) - holdout} corpus "
        f"instructions ({min(size, len(kept))} kept) + {pad} synthetic instructions (corpus words "
        f"drawn at random, corpus-like lengths; made in {time.perf_counter() - start:.0f} s); "
        f"candidates: the corpus's last {holdout}, never in the pool; {os.cpu_count()} cores",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pool.jsonl"
        write_pool(path, pool)
        del pool
        start = time.perf_counter()
        texts = read_pool(path)
        read_s = time.perf_counter() - start
        index = SimilarityIndex()
        index.add_many(texts)
        index.check(candidates[0])  # entries are indexed in bulk before the first question
        build_s = time.perf_counter() - start
        with SimilarityIndex() as resumed:  # as a resumed run does: one add() per record
            start = time.perf_counter()
            with path.open(encoding="utf-8") as f:
                for line in f:
                    resumed.add(json.loads(line)["instruction"])
            resumed.check(candidates[0])
            resume_s = time.perf_counter() - start
    print(
        f"index from the pool file: {build_s:.1f} s (reading the JSONL {read_s:.1f} s, then "
        f"add_many + indexing); rebuilt as a resume does (add() per line): {resume_s:.1f} s",
        flush=True,
    )
    ours = [index.check(text) for text in candidates]
    check_rate = rate(index.check, candidates)
    rejects_rate = rate(index.rejects, candidates)
    rss = peak_rss_mb()
    rejected = sum(d.reject for d in ours)
    print(
        f"ours: check() {check_rate:.0f} candidates/s on {len(candidates)} candidates "
        f"({rejected} rejected); rejects() alone {rejects_rate:.0f}/s; "
        f"peak RSS {rss:.0f} MiB (this process, everything above included)",
        flush=True,
    )

    start = time.perf_counter()
    sample = candidates[: args.brute]
    brute = brute_force(texts, sample, full=args.brute_full)
    differ = sum(
        (d.reject, d.max_score, d.argmax) != b[:3] for d, b in zip(ours, brute, strict=False)
    )
    full = [(c, b) for c, b in zip(sample, brute, strict=True) if b[3] is not None]
    differ_full = sum(
        (index.most_similar(c, 10), index.mean_score(c)) != (b[3], b[4]) for c, b in full
    )
    print(
        f"brute force (every pool entry) on the first {len(sample)} candidates "
        f"({sum(b[0] for b in brute)} rejected), {time.perf_counter() - start:.0f} s: "
        f"{differ} differ in decision, maximum score or argmax; top-10 lists and means of the "
        f"first {len(full)}: {differ_full} differ",
        flush=True,
    )

    pool_tokens = [ref_tokenize(text) for text in texts]
    start, ref = time.perf_counter(), []
    for text in candidates:
        ref.append(reference_max(pool_tokens, text, args.processes))
        if len(ref) >= args.ref_sample:
            break
    ref_rate = len(ref) / (time.perf_counter() - start)
    del pool_tokens
    differ_ref = sum(
        (d.reject, d.max_score) != (r > THRESHOLD, r) for d, r in zip(ours, ref, strict=False)
    )
    print(
        f"reference (multiprocessing.Pool({args.processes}) of rouge-score per candidate) on "
        f"{len(ref)} candidates: {ref_rate:.3f} candidates/s; ratio {check_rate / ref_rate:.0f}; "
        f"{differ_ref} of {len(ref)} differ",
        flush=True,
    )

    accepted = [c for c, d in zip(candidates, ours, strict=True) if not d.reject]
    print("cost per call for an accepted candidate (exact; mean sampled: 10,000 entries):")
    print(f"{'pool':>8} {'most_similar(10) ms':>20} {'mean_score ms':>14} {'sampled mean ms':>16}")
    for n in sorted({n for n in (10_000, 100_000) if n < size} | {size}):
        r = index_costs(index, accepted, 100) if n == size else call_costs(texts[:n], accepted, 100)
        print(f"{n:>8} {r['top']:>20.1f} {r['mean']:>14.1f} {r['sampled']:>16.2f}", flush=True)
    index.close()
    del index

    print("workers (processes holding slices of the pool): check() candidates/s")
    for workers in args.workers:
        with SimilarityIndex(workers=workers) as split:
            start = time.perf_counter()
            split.add_many(texts)
            split.check(candidates[0])
            built = time.perf_counter() - start
            print(
                f"  workers={workers}: {rate(split.check, candidates):.0f}/s "
                f"(built in {built:.0f} s)",
                flush=True,
            )
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS {peak_rss_mb():.0f} MiB (whole run; worker processes: {children:.0f} MiB)")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPORA / "instructions.jsonl")
    parser.add_argument("--seeds", type=Path, default=CORPORA / "seed_instructions.json")
    parser.add_argument("--quick", action="store_true", help="fewer candidates, no 50K pool")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--holdout", type=int, default=2000, help="candidates kept out of pools")
    parser.add_argument("--cjk", action="store_true", help="compare Chinese tokenizations")
    parser.add_argument("--verify", action="store_true", help="brute-force check of the stream")
    parser.add_argument("--pool", type=int, help="one pool of this size: the scale report")
    parser.add_argument("--brute", type=int, default=300, help="--pool: brute-force sample")
    parser.add_argument("--brute-full", type=int, default=20, help="--pool: top-10/means checked")
    parser.add_argument("--ref-sample", type=int, default=3, help="--pool: reference sample")
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2],
        help="--pool: worker counts to time, e.g. 1,2",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.cjk:
        zh = args.corpus if args.corpus != CORPORA / "instructions.jsonl" else None
        zh = zh or CORPORA / "instructions_zh.jsonl"
        if not zh.exists():
            sys.exit(f"{zh} not found: pass --corpus PATH (Chinese JSONL, `instruction` field)")
        cjk_report(zh)
        return
    for path in (args.corpus, args.seeds):
        if not path.exists():
            sys.exit(f"{path} not found: pass --corpus PATH (JSONL with an `instruction` field)")
    seeds, corpus = read_corpus(args.seeds), read_corpus(args.corpus)
    if args.verify:
        verify(seeds, corpus)
        return
    if args.pool:
        scale_report(args, seeds, corpus)
        return
    sizes = [1000, 5000, 10000] if args.quick else [1000, 5000, 10000, 50000]
    ours_n, ref_n, budget = (300, 2, 2.0) if args.quick else (2000, 5, 8.0)
    print(
        f"corpus {args.corpus} ({len(corpus)} instructions), {len(seeds)} seeds, "
        f"{args.processes} processes for the reference, {os.cpu_count()} cores"
    )

    pool, _, seconds = stream(seeds, corpus)
    print(
        f"stream: whole corpus through the filter in {seconds:.1f} s "
        f"({len(corpus) / seconds:.0f} candidates/s), pool grew {len(seeds)} -> {len(pool)}, "
        f"peak RSS {peak_rss_mb():.0f} MiB"
    )

    holdout = min(args.holdout, len(corpus) // 2)
    kept, _, _ = stream(seeds, corpus[:-holdout])
    candidates = list(corpus[-holdout:])[:ours_n]
    print(
        f"pools below: the filter's pool from the first {len(corpus) - holdout} instructions "
        f"({len(kept)} kept); candidates: the last {holdout} ({len(candidates)} timed for ours; "
        f"the reference is timed on a sample of at least {ref_n}, more while under {budget:.0f} s, "
        "because it is slow)"
    )
    print(
        f"{'pool':>6} {'ref cand/s':>11} {'ours cand/s':>12} {'ratio':>8} {'differ':>7} "
        f"{'index MiB':>10} {'build s':>8}  note"
    )
    for size in sizes:
        note = ""
        base = kept[:size]
        if size > len(kept):
            pad = size - len(kept)
            base = kept + synthetic(corpus[:-holdout], pad)
            note = f"padded with {pad} synthetic instructions"
        r = measure(base, candidates, ref_n, budget, args.processes)
        print(
            f"{size:>6} {r['ref']:>11.2f} {r['ours']:>12.0f} {r['ours'] / r['ref']:>8.0f} "
            f"{r['differ']:>3}/{r['compared']:<3} {r['index_mb']:>10.1f} {r['build_s']:>8.2f}  "
            f"{note}",
            flush=True,
        )
    print(f"peak RSS {peak_rss_mb():.0f} MiB (whole run)")


if __name__ == "__main__":
    main()
