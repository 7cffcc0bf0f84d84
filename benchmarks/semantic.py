"""Semantic filter throughput: candidates/s at pool 10K and 50K, embedding and search apart.

The pool is the corpus's distinct instructions (less the held-out candidates), padded with
synthetic instructions (corpus words, or for Chinese characters, drawn at random with
corpus-like lengths) up to each size; the table says how many are synthetic. Every pool text is
embedded for real: the build column is that time, growing the same index from one size to the
next. Candidates are the corpus's last `--holdout` instructions, never in the pool, checked
`--batch` at a time (the candidates of one response) without joining the pool, so its size
holds. Embedding and search are timed apart: embedding is the model alone (once: it does not
depend on the pool), search is `check_many` on already-embedded candidates (one float32 matrix
product against the pool per batch).

    python benchmarks/semantic.py                              # MiniLM, English, pools 10K and 50K
    python benchmarks/semantic.py --lang zh                    # multilingual USE, Chinese corpus
    python benchmarks/semantic.py --sizes 1000 2000 --holdout 200    # a quick look
    python benchmarks/semantic.py --pairs [--lang zh]          # the evidence for the thresholds
    python benchmarks/semantic.py --search-only --sizes 10000 50000 200000    # search alone

`--pairs` prints, for hand-made paraphrase pairs, related-but-different task pairs, and 1,000
random pairs of corpus instructions, the cosine distribution and the share each threshold
rejects, and how many of the hand-made pairs ROUGE-L > 0.7 already rejects.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402

from selfinstruct.similarity import SimilarityIndex, Tokenizer, get_tokenizer  # noqa: E402
from selfinstruct.similarity.semantic import SemanticIndex, model_for  # noqa: E402

CORPORA = ROOT.parent / "shared" / "corpora"
CORPUS = {"en": "instructions.jsonl", "zh": "instructions_zh.jsonl"}

# Hand-made pairs for --pairs: paraphrases (one task, reworded: should be rejected) and hard
# negatives (related but different tasks: should be kept). First members come from the corpora.
PARAPHRASES_EN = [
    (
        "Convert the given binary number to its decimal equivalent.",
        "Turn this binary number into a decimal number.",
    ),
    (
        "Write a short story about an unexpected adventure.",
        "Compose a brief tale about an adventure nobody saw coming.",
    ),
    (
        "Generate a list of ingredients for a vegan lasagna recipe.",
        "List the ingredients needed to make a vegan lasagna.",
    ),
    (
        "Write down the key points of the given article.",
        "Summarize the main points of this article.",
    ),
    (
        "Create a list of five reasons why someone should learn a new language.",
        "Give five reasons for learning a foreign language.",
    ),
    (
        "Write an algorithm to find the intersection of two arrays.",
        "Design an algorithm that computes the common elements of two arrays.",
    ),
    (
        "Edit the following sentence to be more concise and clear.",
        "Rewrite this sentence so that it is shorter and clearer.",
    ),
    ("What is the Pythagorean Theorem?", "Explain what the Pythagorean theorem states."),
    (
        "Come up with a fun game to play with friends.",
        "Invent an enjoyable game that friends can play together.",
    ),
    (
        "Write a short letter to a friend who is feeling sad or lonely.",
        "Write a brief note to cheer up a lonely, sad friend.",
    ),
    ("Compose a tweet about successful teamwork", "Write a tweet celebrating good teamwork."),
    (
        "Given the following input, classify the verb as transitive or intransitive.",
        "Decide whether the verb in the input is transitive or intransitive.",
    ),
    (
        "Make a list of activities to teach a 3-year-old the concept of shapes.",
        "Suggest activities that help a three-year-old learn about shapes.",
    ),
    (
        "Brainstorm a list of possible New Year's resolutions.",
        "Come up with several ideas for New Year's resolutions.",
    ),
    (
        "Explain the following idiom to me, and try to give me some examples.",
        "What does this idiom mean? Please include a few examples.",
    ),
    (
        "Generate an appropriate subjective title for the following email:",
        "Suggest a fitting subject line for this email.",
    ),
    (
        "Compare and contrast the roles of an educator and a politician.",
        "Describe how the roles of a teacher and a politician are similar and different.",
    ),
    ("Translate the following sentence into French.", "Render this sentence in French."),
    ("Find the largest number in the list.", "Which number in this list is the biggest?"),
    (
        "Write a haiku about autumn leaves.",
        "Compose a haiku on the subject of falling leaves in autumn.",
    ),
    ("Sort the given words in alphabetical order.", "Arrange these words alphabetically."),
    ("Identify the main character of the story.", "Who is the protagonist of this story?"),
    ("Describe the process of photosynthesis.", "Explain how photosynthesis works."),
    ("Suggest three healthy breakfast ideas.", "Recommend three nutritious options for breakfast."),
]
RELATED_EN = [
    (
        "Write a short story about an unexpected adventure.",
        "Write a poem about an unexpected adventure.",
    ),
    (
        "Convert the given binary number to its decimal equivalent.",
        "Convert the given decimal number to binary.",
    ),
    (
        "Translate the following sentence into French.",
        "Translate the following sentence into German.",
    ),
    ("Find the largest number in the list.", "Find the smallest number in the list."),
    ("Sort the given words in alphabetical order.", "Count the vowels in the given words."),
    ("Describe the process of photosynthesis.", "Describe the process of cellular respiration."),
    ("Write a haiku about autumn leaves.", "Write a haiku about winter snow."),
    (
        "Generate a list of ingredients for a vegan lasagna recipe.",
        "Write the cooking steps for a vegan lasagna.",
    ),
    ("Suggest three healthy breakfast ideas.", "Suggest three healthy dinner ideas."),
    (
        "Write an algorithm to find the intersection of two arrays.",
        "Write an algorithm to find the union of two arrays.",
    ),
    (
        "Compose a tweet about successful teamwork",
        "Write a blog post about the challenges of remote teamwork.",
    ),
    ("Identify the main character of the story.", "Identify the setting of the story."),
    ("What is the Pythagorean Theorem?", "Prove the Pythagorean theorem."),
    (
        "Edit the following sentence to be more concise and clear.",
        "Edit the following sentence to fix its grammar.",
    ),
    (
        "Create a list of five reasons why someone should learn a new language.",
        "Create a list of five tips for learning a new language.",
    ),
    ("Write down the key points of the given article.", "Write a title for the given article."),
]
PARAPHRASES_ZH = [
    ("生成一份计算机特征列表。", "列出计算机的各项特征。"),
    ("总结睡眠的重要性", "概括一下睡眠为什么重要。"),
    ("什么是机器学习的一句话定义？", "用一句话解释什么是机器学习。"),
    ("分析以下对话，并解释角色的动机。", "分析下面这段对话，说明人物的动机。"),
    ("列举出使用人工智能技术的五个例子。", "举出五个应用人工智能技术的例子。"),
    ("将以下颜色分类为暖色和冷色。", "把下面的颜色分成暖色调和冷色调。"),
    ("列出教室内的物品清单", "写出教室里有哪些物品。"),
    ("改写给定的句子，但保持主要意思不变。", "在不改变原意的情况下重写这个句子。"),
    ("生成关于勇敢的骑士与邪恶女巫战斗的故事。", "写一个勇敢骑士大战邪恶女巫的故事。"),
    ("把下面的句子翻译成英文。", "将以下句子译为英语。"),
    ("找出列表中最大的数字。", "这个列表里哪个数最大？"),
    ("写一首关于秋天落叶的诗。", "创作一首描写秋日落叶的诗歌。"),
    ("给出三个健康早餐的建议。", "推荐三种有营养的早餐。"),
    ("解释光合作用的过程。", "说明光合作用是如何进行的。"),
    ("为这封电子邮件想一个合适的标题。", "给下面的邮件拟一个恰当的主题。"),
    ("把这些单词按字母顺序排列。", "将给定的单词按字母表顺序排序。"),
]
RELATED_ZH = [
    ("把下面的句子翻译成英文。", "把下面的句子翻译成法文。"),
    ("找出列表中最大的数字。", "找出列表中最小的数字。"),
    ("写一首关于秋天落叶的诗。", "写一首关于冬天雪花的诗。"),
    ("给出三个健康早餐的建议。", "给出三个健康晚餐的建议。"),
    ("解释光合作用的过程。", "解释细胞呼吸的过程。"),
    ("生成关于勇敢的骑士与邪恶女巫战斗的故事。", "写一首关于勇敢骑士的诗。"),
    ("总结睡眠的重要性", "列出改善睡眠质量的方法。"),
    ("将以下颜色分类为暖色和冷色。", "将以下动物分类为哺乳动物和鸟类。"),
    ("分析以下对话，并解释角色的动机。", "续写以下对话。"),
    ("改写给定的句子，但保持主要意思不变。", "找出给定句子中的语法错误。"),
]
PAIRS = {
    "en": (PARAPHRASES_EN, RELATED_EN),
    "zh": (PARAPHRASES_ZH, RELATED_ZH),
}


def read_corpus(path: Path) -> list[str]:
    """Distinct instructions of a JSONL file (field `instruction`), in file order."""
    with path.open(encoding="utf-8") as f:
        texts = [json.loads(line)["instruction"] for line in f if line.strip()]
    return list(dict.fromkeys(texts))


def synthetic(corpus: Sequence[str], count: int, chars: bool, seed: int = 0) -> list[str]:
    """Instructions of corpus words (characters for Chinese) drawn at random, corpus-like lengths."""
    rng = random.Random(seed)
    split = list if chars else str.split
    units = [u for text in corpus for u in split(text)]
    lengths = [len(split(text)) for text in corpus]
    glue = "" if chars else " "
    return [glue.join(rng.choices(units, k=rng.choice(lengths))) for _ in range(count)]


def time_embedding(index: SemanticIndex, candidates: list[str], batch: int) -> float:
    """Seconds the model takes to embed the candidates, `batch` at a time (no cache)."""
    t0 = time.perf_counter()
    for start in range(0, len(candidates), batch):
        index.encoder(candidates[start : start + batch])
    return time.perf_counter() - t0


def time_search(index: SemanticIndex, candidates: list[str], batch: int) -> tuple[float, int]:
    """Seconds `check_many` takes on embedded candidates, and how many it rejects."""
    search, rejected = 0.0, 0
    for start in range(0, len(candidates), batch):
        part = candidates[start : start + batch]
        index.forget()  # a cold check: scores against the whole pool
        index.embed(part)  # remembered: check_many below only searches
        t0 = time.perf_counter()
        decisions = index.check_many(part, add_accepted=False)
        search += time.perf_counter() - t0
        rejected += sum(d.reject for d in decisions)
    return search, rejected


def pair_report(index: SemanticIndex, lang: str, corpus: list[str], randoms: int = 1000) -> None:
    """Cosine distributions of paraphrases, related tasks and random corpus pairs; what
    thresholds reject of each; and what ROUGE-L > 0.7 rejects of the same hand-made pairs."""
    rng = random.Random(0)
    unrelated = [tuple(rng.sample(corpus, 2)) for _ in range(randoms)]
    paraphrases, related = PAIRS[lang]
    groups = {"paraphrases": paraphrases, "related tasks": related, "random pairs": unrelated}
    cosines = {}
    for name, pairs in groups.items():
        left, right = index.encoder([a for a, _ in pairs]), index.encoder([b for _, b in pairs])
        cosines[name] = (left * right).sum(axis=1)
    print(f"model {index.model}, {lang}: cosine of each pair")
    print(f"{'':>14} {'n':>5} {'min':>6} {'p5':>6} {'median':>6} {'p95':>6} {'max':>6}")
    for name, values in cosines.items():
        q = np.percentile(values, [0, 5, 50, 95, 100])
        print(f"{name:>14} {len(values):>5} " + " ".join(f"{v:>6.3f}" for v in q))
    print("share rejected at threshold t:")
    print(f"{'t':>6} " + " ".join(f"{name:>14}" for name in cosines))
    for t in (0.8, 0.85, 0.9, 0.95):
        print(f"{t:>6} " + " ".join(f"{np.mean(v > t):>14.3f}" for v in cosines.values()))
    tokenizer = get_tokenizer(lang)
    for name in ("paraphrases", "related tasks"):
        rouge = [_rouge(tokenizer, a, b) for a, b in groups[name]]
        print(f"ROUGE-L > 0.7 rejects {sum(r > 0.7 for r in rouge)} of {len(rouge)} {name}")


def _rouge(tokenizer: Tokenizer, a: str, b: str) -> float:
    index = SimilarityIndex(tokenizer)
    index.add(a)
    return index.check(b).max_score


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", choices=sorted(CORPUS), default="en")
    parser.add_argument("--model", help="a semantic model name (default: the language's)")
    parser.add_argument("--corpus", type=Path, help="JSONL with `instruction` (default: shared)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--holdout", type=int, default=500, help="candidates, never in the pool")
    parser.add_argument("--batch", type=int, default=8, help="candidates checked together")
    parser.add_argument("--pairs", action="store_true", help="cosine of hand-made pairs instead")
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="pool of random unit vectors, not embedded texts: search costs the same, builds free",
    )
    args = parser.parse_args(argv)

    path = args.corpus or CORPORA / CORPUS[args.lang]
    if not path.exists():
        sys.exit(f"no corpus at {path}: pass --corpus")
    corpus = read_corpus(path)
    holdout = min(args.holdout, len(corpus) // 5)
    candidates, real = corpus[-holdout:], corpus[:-holdout]
    model = args.model or model_for(args.lang)

    if args.pairs:
        pair_report(SemanticIndex(model, language=args.lang), args.lang, corpus)
        return
    t0 = time.perf_counter()
    index = SemanticIndex(model, language=args.lang)
    index.encoder(synthetic(real, 8, chars=args.lang == "zh", seed=-1))  # some models load lazily
    load = time.perf_counter() - t0
    n, batches = len(candidates), -(-len(candidates) // args.batch)
    embed = n / time_embedding(index, candidates, args.batch)
    print(
        f"model {model} (threshold {index.threshold}), loaded in {load:.1f} s; corpus {path.name}: "
        f"{len(real)} distinct pool instructions, {n} held-out candidates, "
        f"checked {args.batch} at a time"
    )
    print(f"embedding: {embed:.1f} candidates/s (does not depend on the pool)")
    print(
        f"{'pool':>7} {'synthetic':>9} {'build s':>8} {'build/s':>8} {'search c/s':>11} "
        f"{'total c/s':>10} {'search ms/batch':>15} {'rejected':>8} {'MiB':>6}"
    )
    build = 0.0
    for size in sorted(args.sizes):
        have = len(index)
        t0 = time.perf_counter()
        if args.search_only:
            vectors = np.random.default_rng(size).standard_normal((size - have, index.dim))
            index.add_many([f"#{i}" for i in range(have, size)], vectors)
            padded = size
        else:
            extra = real[have:size]
            pad = size - have - len(extra)
            index.add_many(extra + synthetic(real, pad, chars=args.lang == "zh", seed=size))
            padded = max(0, size - len(real))
        build += time.perf_counter() - t0
        time_search(index, candidates[: args.batch], args.batch)  # warm-up: BLAS threads
        search, rejected = time_search(index, candidates, args.batch)
        total = 1 / (1 / embed + search / n)
        print(
            f"{size:>7,} {padded:>9,} {build:>8.1f} {size / build:>8.0f} {n / search:>11.0f} "
            f"{total:>10.1f} {1000 * search / batches:>15.2f} {rejected:>8} "
            f"{index.vectors.nbytes / 2**20:>6.1f}"
        )
    print(
        "build: seconds to embed the whole pool so far; search, total (embedding + search): "
        "candidates/s; MiB: the float32 pool matrix"
    )


if __name__ == "__main__":
    main()
