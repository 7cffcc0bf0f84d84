"""Verb/object finders against the hand labels in tests/fixtures (the paper's Figure 2 analysis).

For each fixture (line numbers of ../shared/corpora and their labels) prints the agreement of
`verb_object` with the labels: verb and object both equal (in Chinese, an object also agrees when
one ends with the other, a compound and its head), the same without that allowance, and the
verb alone; then, over the whole corpus, the share of instructions with a verb and with a verb
and an object (the paper found a verb-object structure in about half of its instructions).

    python benchmarks/verbs.py                      # corpus from ../shared/corpora
    python benchmarks/verbs.py --corpora DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from selfinstruct.text.verbs import verb_object

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FILES = {"en": "instructions.jsonl", "zh": "instructions_zh.jsonl"}
SETS = (("en", "en"), ("en_heldout", "en"), ("zh", "zh"), ("zh_heldout", "zh"))


def _labels(name: str) -> list[tuple[int, str | None, str | None]]:
    rows = []
    for line in (FIXTURES / f"verbs_{name}.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            n, verb, obj = line.split("\t")
            rows.append((int(n), None if verb == "-" else verb, None if obj == "-" else obj))
    return rows


def _texts(corpora: Path, language: str) -> list[str]:
    lines = (corpora / FILES[language]).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["instruction"] for line in lines]


def _report(name: str, language: str, texts: list[str], misses: bool) -> None:
    rows = _labels(name)
    both = strict = verb_only = 0
    for n, verb, obj in rows:
        found = verb_object(texts[n - 1], language)
        heads = obj and found.obj and (found.obj.endswith(obj) or obj.endswith(found.obj))
        same = found.obj == obj or (language == "zh" and bool(heads))
        verb_only += found.verb == verb
        strict += found.verb == verb and found.obj == obj
        both += found.verb == verb and same
        if misses and not (found.verb == verb and same):
            print(f"  line {n}: labelled {verb}/{obj}, found {found.verb}/{found.obj}")
    k = len(rows)
    print(f"{name:11} {k} lines: verb+object {both / k:.1%} (exact {strict / k:.1%}), "
          f"verb {verb_only / k:.1%}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--misses", action="store_true", help="print each disagreement")
    args = parser.parse_args()
    texts = {language: _texts(args.corpora, language) for language in FILES}
    for name, language in SETS:
        _report(name, language, texts[language], args.misses)
    for language, items in texts.items():
        found = [verb_object(t, language) for t in items]
        verbs = sum(f.verb is not None for f in found) / len(found)
        pairs = sum(f.verb is not None and f.obj is not None for f in found) / len(found)
        print(f"corpus {language}: {len(found):,} instructions, {verbs:.1%} with a verb, "
              f"{pairs:.1%} with a verb and an object")  # fmt: skip


if __name__ == "__main__":
    main()
