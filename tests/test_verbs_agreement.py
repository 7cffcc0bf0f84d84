"""The verb finders against hand labels of real instructions (the paper's Figure 2 analysis).

The fixtures hold line numbers of ../shared/corpora and the labels a reader gave them, never the
texts: those are read from the corpus at test time. Agreement is the share of lines where the
verb and the object both equal the label (or both are none); in Chinese an object also agrees
when one of the two ends with the other (a compound and its head: 死刑制度 / 制度). The held-out
files were labelled and measured before the finders were tuned on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import require_all
from corpora import CORPORA

from selfinstruct.text.verbs import verb_object

FIXTURES = Path(__file__).parent / "fixtures"
FILES = {"en": "instructions.jsonl", "zh": "instructions_zh.jsonl"}


def labels(name: str) -> list[tuple[int, str | None, str | None]]:
    rows = []
    for line in (FIXTURES / f"verbs_{name}.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            number, verb, obj = line.split("\t")
            rows.append((int(number), None if verb == "-" else verb, None if obj == "-" else obj))
    return rows


def same_object(found: str | None, label: str | None, language: str) -> bool:
    if found == label:
        return True
    if language != "zh" or found is None or label is None:
        return False
    return found.endswith(label) or label.endswith(found)


def agreement(name: str, language: str) -> tuple[float, float, int]:
    """(verb and object, verb only, lines) agreement of the finder with one fixture."""
    if not CORPORA.is_dir():  # beside the clone in CI; a user's copy may not have it
        if require_all():
            pytest.fail(f"CI needs the shared corpora at {CORPORA}")
        pytest.skip(f"the shared corpora are not at {CORPORA}")
    texts = (CORPORA / FILES[language]).read_text(encoding="utf-8").splitlines()
    rows = labels(name)
    both = verb_only = 0
    for number, verb, obj in rows:
        found = verb_object(json.loads(texts[number - 1])["instruction"], language)
        verb_only += found.verb == verb
        both += found.verb == verb and same_object(found.obj, obj, language)
    return both / len(rows), verb_only / len(rows), len(rows)


def test_the_fixtures_hold_line_numbers_and_labels_only() -> None:
    for name, size in (("en", 200), ("zh", 200), ("en_heldout", 100), ("zh_heldout", 100)):
        rows = labels(name)
        assert len(rows) == size == len({n for n, _, _ in rows})
        assert all(n > 0 and (v is not None or o is None) for n, v, o in rows)
    en = {n for n, _, _ in labels("en")}
    assert not en & {n for n, _, _ in labels("en_heldout")}


@pytest.mark.parametrize(("name", "language"), [("en", "en"), ("zh", "zh")])
def test_agreement_with_the_hand_labels(name: str, language: str) -> None:
    both, verb_only, lines = agreement(name, language)
    assert lines == 200
    assert both >= 0.95, f"{name}: verb and object agree on {both:.1%}"
    assert verb_only >= both


@pytest.mark.parametrize(("name", "language"), [("en_heldout", "en"), ("zh_heldout", "zh")])
def test_agreement_on_the_held_out_labels(name: str, language: str) -> None:
    both, verb_only, _ = agreement(name, language)
    assert both >= 0.9 and verb_only >= 0.9, f"{name}: {both:.1%} / verb {verb_only:.1%}"
