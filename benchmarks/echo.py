"""Prompt-echo filter: false positives on real instructions, catches on echoed guideline clauses.

For each bundled bootstrap template (chat and completion, English and Chinese) and threshold n,
prints how many real instructions the filter would reject (false positives: the shared corpora
and both seed sets), how many clauses of the template's own text, alone or behind "Note: ", it
catches, and how many of the longer clauses with their middle word replaced. With `--run DIR`, replays the candidates of a bootstrap run (accepted and rejected)
through the filter at the run's language default and prints the share it removes.

    python benchmarks/echo.py                       # corpus from ../shared/corpora
    python benchmarks/echo.py --run runs/en         # share of a real run's candidates
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from selfinstruct.config import BootstrapConfig
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.seeds import load_seeds
from selfinstruct.similarity.tokenize import tokenize_cjk_chars
from selfinstruct.stages.bootstrap.echo import EchoFilter, own_text
from selfinstruct.templates import load_template

ROOT = Path(__file__).resolve().parents[1]
CORPORA = ROOT.parent / "shared" / "corpora"
LATER = ("too_similar", "too_similar_semantic")
CLAUSE = re.compile(r"[.,;:!?\n。，、；：！？（）()]+")


def corpus(language: str) -> list[str]:
    """Real instructions of one language: the shared corpus plus the seed sets."""
    texts = [t.instruction for t in load_seeds(language)]
    if language == "en":
        path = CORPORA / "instructions.jsonl"
        texts += json.loads((CORPORA / "seed_instructions.json").read_text(encoding="utf-8"))
    else:
        path = CORPORA / "instructions_zh.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    return texts + [json.loads(line)["instruction"] for line in lines if line.strip()]


def clauses(template: str) -> list[str]:
    """The template's own sentences and clauses of 4 tokens or more: what an echo looks like."""
    pieces = [c.strip(' -,，、"“”') for part in own_text(template) for c in CLAUSE.split(part)]
    return [c for c in pieces if len(tokenize_cjk_chars(c)) >= 4]


def edited(clause: str, language: str) -> str | None:
    """The clause with its middle token replaced (a model copying loosely); None when short."""
    tokens = tokenize_cjk_chars(clause)
    if len(tokens) < 9:
        return None
    mid = len(tokens) // 2
    tokens[mid] = "也" if language == "zh" else "really"
    return ("" if language == "zh" else " ").join(tokens)


def default_n(language: str) -> int:
    config = BootstrapConfig()
    return config.echo_chars if language == "zh" else config.echo_words


def table() -> None:
    for language in ("en", "zh"):
        texts = corpus(language)
        for name in ("bootstrap_chat", "bootstrap_completion"):
            template = load_template(name, language)
            echoes = clauses(template)
            echoes += [("注意：" if language == "zh" else "Note: ") + c for c in echoes]
            loose = [e for e in (edited(c, language) for c in clauses(template)) if e]
            print(f"\n{name}.{language}: {len(texts)} real instructions, {len(echoes)} echoes")
            print(f"{'n':>3} {'false positives':>16} {'rate':>8} {'echoes caught':>14} "
                  f"{'edited echoes caught':>21}")  # fmt: skip
            for n in range(4, 11):
                check = EchoFilter.of(template, n)
                false = [t for t in texts if check(t)]
                caught = sum(check(e) is not None for e in echoes)
                caught_loose = sum(check(e) is not None for e in loose)
                mark = "  <- default" if n == default_n(language) else ""
                print(
                    f"{n:>3} {len(false):>16} {len(false) / len(texts):>8.3%} "
                    f"{caught:>7}/{len(echoes):<6} {caught_loose:>14}/{len(loose):<6}{mark}"
                )
                for text in false[:2]:
                    print(f"      e.g. {text[:90]!r} ({check(text)!r})")


def replay(out: Path, template: str | None) -> None:
    """The share of a run's candidates the filter would have removed (chat template default)."""
    rundir = RunDir.of(out, create=False)
    meta = rundir.read_meta()
    language = meta.get("language", "en")
    text = Path(template).read_text(encoding="utf-8") if template else None
    check = EchoFilter.of(text or load_template("bootstrap_chat", language), default_n(language))
    rejections = list(rundir.read_rejections())
    # the echo check comes after the post-processing filters and before the similarity ones
    candidates = [m.instruction for m in rundir.read_machine()]
    candidates += [r.instruction for r in rejections if r.reason in LATER]
    echoed = [c for c in candidates if check(c)]
    already = sum(r.reason == "echoes_prompt" for r in rejections)
    total = len(rundir.read_machine()) + len(rejections)
    print(f"{out}: {total} candidates, {already} rejected as echoes_prompt, {len(echoed)} more "
          f"at today's filter: {(len(echoed) + already) / max(total, 1):.2%} in all")  # fmt: skip
    for c in echoed[:10]:
        print(f"  {c[:100]!r} -> {check(c)!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, help="replay a bootstrap run directory's candidates")
    parser.add_argument("--template", help="the run's own template file (default: bundled chat)")
    args = parser.parse_args()
    if args.run:
        replay(args.run, args.template)
    else:
        table()


if __name__ == "__main__":
    main()
