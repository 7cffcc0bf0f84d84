"""Every stage's parser against the answer-format fixtures: each answer gives its expected parse."""

from __future__ import annotations

from typing import Any

import pytest
from answer_fixtures import answer, load

from selfinstruct.stages.bootstrap.candidates import split_candidates
from selfinstruct.stages.bootstrap.filters import FilterConfig, InstructionFilter
from selfinstruct.stages.classify.answers import parse_yes_no
from selfinstruct.stages.instances.filters import InstanceFilterConfig, filter_task
from selfinstruct.stages.instances.parsing import parse_instances
from selfinstruct.stages.judge.scores import parse_scores


def ids(fixtures: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in fixtures]


BOOTSTRAP, CLASSIFY, INSTANCES, JUDGE = (
    load(s) for s in ("bootstrap", "classify", "instances", "judge")
)


@pytest.mark.parametrize("fixture", BOOTSTRAP, ids=ids(BOOTSTRAP))
def test_bootstrap_items_are_the_instructions_and_pass_the_filters(fixture: dict[str, Any]) -> None:
    items = split_candidates(answer(fixture), first_number=9, continued=False)
    assert [c.text for c in items] == fixture["expect"]["instructions"]
    check = InstructionFilter(FilterConfig(language=fixture["language"]))
    assert {c.text: check(c.text) for c in items} == {c.text: None for c in items}
    if fixture["format"] in DECORATED:
        assert any(c.unwrapped for c in items)  # counted as read without decoration
    elif fixture["format"] != "closing_remark":
        assert not any(c.unwrapped for c in items)


DECORATED = {"bold", "quoted", "curly_quoted", "italic_code", "labelled", "titled"}


@pytest.mark.parametrize("fixture", CLASSIFY, ids=ids(CLASSIFY))
def test_classify_answers_give_their_label(fixture: dict[str, Any]) -> None:
    assert parse_yes_no(answer(fixture)) is fixture["expect"]["is_classification"]


@pytest.mark.parametrize("fixture", INSTANCES, ids=ids(INSTANCES))
def test_instance_answers_give_their_examples(fixture: dict[str, Any]) -> None:
    expect = fixture["expect"]
    parsed = parse_instances(
        answer(fixture), classification=expect["classification"], instruction=expect["instruction"]
    )
    assert [(e.input, e.output) for e in parsed] == [tuple(p) for p in expect["instances"]]
    kept = filter_task(expect["instruction"], parsed, InstanceFilterConfig()).kept
    assert [(i.input, i.output) for i in kept] == [tuple(p) for p in expect["instances"]]


@pytest.mark.parametrize("fixture", JUDGE, ids=ids(JUDGE))
def test_judge_answers_give_their_scores(fixture: dict[str, Any]) -> None:
    scores = parse_scores(answer(fixture))
    expect = fixture["expect"]
    assert (scores.correctness, scores.helpfulness) == (
        expect["correctness"],
        expect["helpfulness"],
    )


def test_every_stage_has_both_languages_and_reasoning_variants() -> None:
    for fixtures in (BOOTSTRAP, CLASSIFY, INSTANCES, JUDGE):
        assert {f["language"] for f in fixtures} == {"en", "zh"}
    for fixtures in (BOOTSTRAP, CLASSIFY, INSTANCES):
        kinds = {f["reasoning"] for f in fixtures}
        assert {"inline", "field"} <= kinds
        keys = {k for f in fixtures for k in f["message"]} - {"role", "content"}
        assert keys <= {"reasoning_content", "reasoning"} and keys
