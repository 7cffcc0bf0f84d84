"""`selfinstruct dedup` at a million rows, beside rouge-score (a sample) and datasketch MinHash LSH.

The dataset: the real English corpus (../shared/corpora/instructions.jsonl, 18,245 rows, with
near-duplicates of its own) first, padded to `--rows` with synthetic rows, said so in the output:
30% are edited copies of earlier rows (a word dropped, doubled or swapped with its neighbour:
the near-duplicates a dedup is for), the rest are corpus words drawn at random with corpus-like
lengths (mostly unique: the pool grows nearly as fast as the rows, the hard case for the exact
filter; and full of common words, which MinHash's sets see as alike).

(a) ours: `selfinstruct.dedup` on the JSONL file (read, decide, write the kept rows), in a child
    process of its own so that its peak RSS is its own.
(b) rouge-score: each of the first `--sample` rows against every row kept before it with
    `rouge_scorer.RougeScorer(["rougeL"]).score` (the reference method, single process); its
    decisions against ours on the same rows (ours decide the first rows alike at any size).
(c) MinHash LSH (datasketch, the usual alternative): word-unigram sets of the same tokens,
    128 permutations, LSH at Jaccard `--jaccard`; each row is removed when the LSH finds a kept
    row (as LSH dedup is commonly run), and in a second pass only when a found row's estimated
    Jaccard similarity reaches the threshold; else inserted. Own child processes. Then: how
    many of the rows exact ROUGE-L removes MinHash keeps (missed near-duplicates), and how many
    it removes that ROUGE-L keeps, by the kind of row.

    python benchmarks/dedup.py                  # 1M rows
    python benchmarks/dedup.py --rows 200000    # smaller
    python benchmarks/dedup.py --workers 2      # the kept rows split over 2 processes
    python benchmarks/dedup.py --corpus /path/to/instructions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"


def corpus(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line)["instruction"] for line in fh if line.strip()]


def build(real: list[str], rows: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """`real` first (its own near-duplicates), then padding to `rows`: edited copies of earlier
    rows (30%) and random-word rows, interleaved; the kind of each row beside it."""
    rng = random.Random(seed)
    words = [w for text in real for w in text.split()]
    lengths = [len(text.split()) for text in real]
    out = list(real[:rows])
    kinds = ["corpus"] * len(out)
    while len(out) < rows:
        if rng.random() < 0.3:
            parts = rng.choice(out).split()
            i = rng.randrange(len(parts))
            op = rng.randrange(3)
            if op == 0 and len(parts) > 1:
                del parts[i]
            elif op == 1:
                parts.insert(i, parts[i])
            elif i + 1 < len(parts):
                parts[i], parts[i + 1] = parts[i + 1], parts[i]
            out.append(" ".join(parts))
            kinds.append("edited copy")
        else:
            out.append(" ".join(rng.choices(words, k=rng.choice(lengths))))
            kinds.append("random words")
    return out, kinds


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU time so far (user + system) of this process and its finished workers: the time it
    would take on one idle core."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def worker_rss_mib() -> float:
    """The largest peak RSS of this process's finished workers (0 without workers)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# -- the two children -------------------------------------------------------------------------


def child_ours(data: Path, out: Path, workers: int) -> dict:
    import selfinstruct

    start = time.perf_counter()
    result = selfinstruct.dedup(data, out, progress=False, similarity_workers=workers)
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "decide_seconds": result.summary["elapsed_s"],
            "removed": result.removed, "rss_mib": peak_rss_mib(), "cpu_s": cpu_seconds(),
            "worker_rss_mib": worker_rss_mib()}  # fmt: skip


def child_minhash(data: Path, out: Path, jaccard: float, perms: int, verify: bool) -> dict:
    """Rows in order: removed when the LSH finds a kept row (with `verify`: one whose estimated
    Jaccard similarity is >= `jaccard`), else inserted."""
    import numpy as np
    from datasketch import MinHash, MinHashLSH

    from selfinstruct.similarity import tokenize_en

    texts = [json.loads(line)["instruction"] for line in data.open(encoding="utf-8")]
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=jaccard, num_perm=perms)
    kept: dict[int, np.ndarray] = {}
    removed = []
    for first in range(0, len(texts), 10_000):
        chunk = texts[first : first + 10_000]
        sets = [[t.encode() for t in set(tokenize_en(text))] for text in chunk]
        for offset, m in enumerate(MinHash.bulk(sets, num_perm=perms)):
            found = lsh.query(m)
            if verify:
                found = [k for k in found if np.mean(kept[k] == m.hashvalues) >= jaccard]
            if found:
                removed.append(first + offset)
            else:
                lsh.insert(first + offset, m, check_duplication=False)
                if verify:
                    kept[first + offset] = m.hashvalues
    elapsed = time.perf_counter() - start
    (out / f"minhash_removed_{int(verify)}.json").write_text(json.dumps(removed))
    return {"seconds": elapsed, "removed": len(removed), "rss_mib": peak_rss_mib(),
            "cpu_s": cpu_seconds()}  # fmt: skip


def run_child(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- rouge-score on a sample --------------------------------------------------------------------


def rouge_score_sample(texts: list[str]) -> tuple[set[int], float]:
    """Rows rouge-score removes among `texts` (in order, against every kept row), and seconds."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    start = time.perf_counter()
    kept: list[str] = []
    removed = set()
    for i, text in enumerate(texts):
        if any(scorer.score(k, text)["rougeL"].fmeasure > 0.7 for k in kept):
            removed.add(i)
        else:
            kept.append(text)
    return removed, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, default=CORPORA / "instructions.jsonl")
    parser.add_argument("--sample", type=int, default=2_000, help="rows rouge-score decides")
    parser.add_argument("--jaccard", type=float, default=0.5, help="MinHash LSH threshold")
    parser.add_argument("--perms", type=int, default=128, help="MinHash permutations")
    parser.add_argument("--workers", type=int, default=1, help="dedup's --similarity-workers")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, data, out = args.child[0], Path(args.child[1]), Path(args.child[2])
        result = (
            child_ours(data, out, int(args.child[3]))
            if kind == "ours"
            else child_minhash(
                data, out, float(args.child[3]), int(args.child[4]), args.child[5] == "1"
            )
        )
        print(json.dumps(result))
        return
    real = corpus(args.corpus)
    texts, kinds = build(real, args.rows)
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data = folder / "rows.jsonl"
        with data.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"instruction": t}) + "\n" for t in texts)
        made = ", ".join(f"{n:,} {k}" for k, n in Counter(kinds).items())
        print(f"dataset: {args.rows:,} rows = {made} (the corpus first, then the padding)")
        ours = run_child("ours", str(data), str(folder / "ours"), str(args.workers))
        gone = {json.loads(x)["order"] for x in (folder / "ours/removed.jsonl").open()}
        minhash = {}
        for verify in ("0", "1"):
            mine = run_child("minhash", str(data), str(folder), str(args.jaccard),
                             str(args.perms), verify)  # fmt: skip
            removed = set(json.loads((folder / f"minhash_removed_{verify}.json").read_text()))
            minhash[verify] = (mine, removed)
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    report(args, ours, gone, minhash, texts, kinds)


def report(
    args, ours: dict, gone: set[int], minhash: dict, texts: list[str], kinds: list[str]
) -> None:
    n = args.rows
    print(f"ours (selfinstruct.dedup, exact ROUGE-L > 0.7, {args.workers} similarity "
          f"worker(s)): {ours['seconds']:.1f} s wall "
          f"({n / ours['seconds']:,.0f} rows/s; deciding {ours['decide_seconds']:.1f} s), "
          f"{ours['cpu_s']:.1f} CPU-s ({n / ours['cpu_s']:,.0f} rows per CPU-s), "
          f"peak RSS {ours['rss_mib']:,.0f} MiB (each worker at most "
          f"{ours.get('worker_rss_mib', 0):,.0f} MiB), removed {ours['removed']:,}")  # fmt: skip
    for verify, (mine, theirs) in minhash.items():
        how = (
            "candidates checked: estimated Jaccard >=" if verify == "1" else "any LSH candidate at"
        )
        print(f"MinHash LSH (datasketch, {args.perms} perms, {how} {args.jaccard}): "
              f"{mine['seconds']:.1f} s wall ({n / mine['seconds']:,.0f} rows/s), "
              f"{mine['cpu_s']:.1f} CPU-s, peak RSS {mine['rss_mib']:,.0f} MiB, "
              f"removed {mine['removed']:,}")  # fmt: skip
        missed, extra = gone - theirs, theirs - gone
        print(f"  of the {len(gone):,} near-duplicates exact ROUGE-L removes, MinHash keeps "
              f"{len(missed):,} ({len(missed) / max(1, len(gone)):.1%}: "
              f"{_kinds(missed, kinds)}); it removes {len(extra):,} rows ROUGE-L keeps "
              f"({_kinds(extra, kinds)})")  # fmt: skip
    sample = min(args.sample, n)
    ref, seconds = rouge_score_sample(texts[:sample])
    ours_sample = {k for k in gone if k < sample}
    print(f"rouge-score brute force on the first {sample:,} rows (real corpus rows): "
          f"{seconds:.1f} s ({sample / seconds:,.0f} rows/s at that size, falling as the kept "
          f"rows grow); {len(ref ^ ours_sample)} decisions differ from ours "
          f"({len(ref):,} removed by both)")  # fmt: skip
    memory = ours["rss_mib"] + args.workers * ours.get("worker_rss_mib", 0) * (args.workers > 1)
    target = "met" if ours["seconds"] < 600 and memory < 4096 else "NOT met"
    print(f"targets (1M rows < 600 s, peak RSS < 4,096 MiB, workers' peaks added): {target} at "
          f"{n:,} rows ({ours['seconds']:.0f} s, {memory:,.0f} MiB)")  # fmt: skip


def _kinds(rows: set[int], kinds: list[str]) -> str:
    return ", ".join(f"{k} {n:,}" for k, n in Counter(kinds[r] for r in rows).most_common())


if __name__ == "__main__":
    main()
