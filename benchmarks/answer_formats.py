"""Answer formats of today's chat models, read through the CLI: the figures of issue 19.

Runs `selfinstruct run --backend openai` against the stub endpoint scripted with the
answer-format fixtures (tests/fixtures/answers, thinking ones included: inline and in the
reasoning fields), once per language, and prints per stage and format: the share of
real instructions that reached the pool, of labels, instances and scores read right, and the
instances invented; plus the parsers alone over every fixture, reasoning ones included (their
answer part).

    python benchmarks/answer_formats.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from answer_fixtures import answer, load
from answer_run import measure, run_cli, totals

from selfinstruct.stages.bootstrap.candidates import split_candidates
from selfinstruct.stages.classify.answers import parse_yes_no
from selfinstruct.stages.instances.parsing import parse_instances
from selfinstruct.stages.judge.scores import parse_scores


def parsers_alone() -> dict[str, tuple[int, int]]:
    """(right, of) per stage and language over every fixture, parsed without a run."""
    out: dict[str, tuple[int, int]] = {}

    def add(key: str, right: int, of: int) -> None:
        r, o = out.get(key, (0, 0))
        out[key] = (r + right, o + of)

    for f in load("bootstrap"):
        got = [c.text for c in split_candidates(answer(f), first_number=9, continued=False)]
        want = f["expect"]["instructions"]
        add(f"bootstrap/{f['language']}", sum(w in got for w in want), len(want))
    for f in load("classify"):
        add(
            f"classify/{f['language']}",
            parse_yes_no(answer(f)) is f["expect"]["is_classification"],
            1,
        )
    for f in load("instances"):
        e = f["expect"]
        got = {
            (x.input, x.output)
            for x in parse_instances(answer(f), classification=e["classification"])
        }
        want = {tuple(p) for p in e["instances"]}
        add(f"instances/{f['language']}", len(want & got), len(want))
    for f in load("judge"):
        s = parse_scores(answer(f))
        want = (f["expect"]["correctness"], f["expect"]["helpfulness"])
        add(f"judge/{f['language']}", (s.correctness, s.helpfulness) == want, 1)
    return out


def main() -> None:
    print("through the CLI (stub endpoint, every stage):")
    for language in ("en", "zh"):
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(Path(tmp), run_cli(Path(tmp), language))
        for key, row in result["figures"].items():
            hit = row.get("reached", row.get("right", 0))
            of = row.get("real", row.get("answers", 0))
            extra = f", {row['invented']} invented" if "invented" in row else ""
            print(f"  {language} {key:32} {hit:3}/{of:<3} {hit / of:6.1%}{extra}")
        for stage in ("bootstrap", "classify", "instances", "judge"):
            hit, of, invented = totals(result["figures"], stage)
            print(f"  {language} {stage:32} {hit:3}/{of:<3} {hit / of:6.1%}, {invented} invented")
        print(
            f"  {language} entries in the pool that are no real instruction: {len(result['extra'])}"
        )
    print("parsers alone, every fixture (reasoning ones: their answer part):")
    for key, (right, of) in sorted(parsers_alone().items()):
        print(f"  {key:20} {right:3}/{of:<3} {right / of:6.1%}")


if __name__ == "__main__":
    main()
