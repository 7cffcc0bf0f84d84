"""Every parser never raises, gives well-formed output, and runs in time linear in its input.

Property tests (hypothesis) feed arbitrary text (control characters, lone surrogates, mixed
scripts, format tokens, 100K-character lines) to each parser and to each stage's
parse -> filter -> write chain. The linearity tests time adversarial lines at 10K and 100K
characters and bound the growth of the time per KB; they record their figures, and the
`pytest_terminal_summary` hook in conftest.py prints the worst per parser in one line.
"""

from __future__ import annotations

import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fuzz import (
    ADVERSARIAL,
    FUZZ,
    LONG,
    SLACK_MS_PER_KB,
    finish_reasons,
    long_lines,
    texts,
    texts_utf8,
)
from hypothesis import given
from hypothesis import strategies as st

from selfinstruct.runtime.jsonl import JsonlWriter, read_jsonl
from selfinstruct.runtime.records import (
    ClassificationRecord,
    InstanceRejection,
    InstancesRecord,
    MachineInstruction,
    Rejection,
)
from selfinstruct.stages.bootstrap.candidates import split_candidates
from selfinstruct.stages.bootstrap.filters import FilterConfig, InstructionFilter
from selfinstruct.stages.classify.answers import parse_yes_no
from selfinstruct.stages.instances.filters import InstanceFilterConfig, filter_task
from selfinstruct.stages.instances.parsing import (
    TRUNCATED,
    UNPARSEABLE,
    ParsedExample,
    parse_instances,
)

EN = InstructionFilter(FilterConfig(language="en"))
ZH = InstructionFilter(FilterConfig(language="zh"))
INSTANCE_CONFIG = InstanceFilterConfig()
REASONS = {
    None, "empty", "too_short", "too_long", "write_a_program", "non_english_start",
    "mostly_latin", "blacklisted_keyword", "starts_with_punctuation",
}  # fmt: skip

# --- what well-formed output means -------------------------------------------------------------


def check_examples(text: str, examples: list[ParsedExample], finish_reason: str) -> None:
    """Examples are trimmed pieces of the response, with a known problem, truncation last."""
    response = text.replace("\r\n", "\n").replace("\r", "\n")
    for i, ex in enumerate(examples):
        assert isinstance(ex, ParsedExample)
        assert ex.problem in (None, UNPARSEABLE, TRUNCATED)
        assert ex.input == ex.input.strip() and ex.output == ex.output.strip()
        assert ex.input in response and ex.output in response  # nothing invented
        if ex.problem == UNPARSEABLE:
            assert ex.output == ""
        if ex.problem == TRUNCATED:
            assert finish_reason == "length" and i == len(examples) - 1
    if finish_reason == "length" and examples:
        assert examples[-1].problem is not None


def run_parse(text: str, classification: bool, reason: str, instruction: str | None) -> list[Any]:
    return parse_instances(
        text, classification=classification, finish_reason=reason, instruction=instruction
    )


@FUZZ
@given(texts, st.booleans(), finish_reasons, st.sampled_from((None, "Write a haiku.")))
def test_parse_instances_is_total_well_formed_and_deterministic(
    text: str, classification: bool, reason: str, instruction: str | None
) -> None:
    examples = run_parse(text, classification, reason, instruction)
    check_examples(text, examples, reason)
    assert run_parse(text, classification, reason, instruction) == examples


@LONG
@given(long_lines, st.booleans(), finish_reasons)
def test_parse_instances_on_long_lines(text: str, classification: bool, reason: str) -> None:
    check_examples(text, run_parse(text, classification, reason, "Write a haiku."), reason)


def _undecorated(text: str) -> str:
    return text.translate(str.maketrans("", "", "*_`"))


def check_candidates(text: str, first: int, continued: bool, reason: str) -> None:
    items = split_candidates(text, first_number=first, continued=continued, finish_reason=reason)
    for item in items:
        assert item.text == " ".join(item.text.split())  # one line, single spaces
        bare = _undecorated(text)  # decoration comes off (unwrap.py), nothing is invented
        assert all(_undecorated(word) in bare for word in item.text.split())
        assert item.number is None or 0 <= item.number <= 999
    if continued:
        assert items and items[0].number == first
    last = len(items) - 1
    assert [c.truncated for c in items] == [
        reason == "length" and i == last for i in range(last + 1)
    ]
    again = split_candidates(text, first_number=first, continued=continued, finish_reason=reason)
    assert again == items


@FUZZ
@given(texts, st.integers(1, 999), st.booleans(), finish_reasons)
def test_split_candidates_is_total_single_line_and_deterministic(
    text: str, first: int, continued: bool, reason: str
) -> None:
    check_candidates(text, first, continued, reason)


@LONG
@given(long_lines, st.booleans(), finish_reasons)
def test_split_candidates_on_long_lines(text: str, continued: bool, reason: str) -> None:
    check_candidates(text, 9, continued, reason)


@FUZZ
@given(texts)
def test_parse_yes_no_is_total_and_a_clear_answer_wins(text: str) -> None:
    verdict = parse_yes_no(text)
    assert verdict is True or verdict is False or verdict is None
    assert parse_yes_no(text) is verdict
    assert parse_yes_no("Yes, " + text) is True
    assert parse_yes_no("**No.** " + text) is False
    assert parse_yes_no("是的，" + text) is True
    assert parse_yes_no("不是。" + text) is False
    assert parse_yes_no("Classification task: yes\n" + text) is True


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("Is it a classification task? Yes", True),
        ("是否分类任务？否", False),
        ("**Answer:** No", False),
        ("N/A", None),
        ("n/a - unclear", None),
        ("Answer:" + " " * 5000 + "Yes", True),
        ("Answer" + " " * 5000 + "Yes", None),
    ],
)
def test_parse_yes_no_echoed_questions_and_no_answers(answer: str, expected: bool | None) -> None:
    assert parse_yes_no(answer) is expected


@FUZZ
@given(st.one_of(texts, long_lines))
def test_instruction_filters_are_total_and_name_every_rejection(text: str) -> None:
    for check in (EN, ZH):
        reason = check(text)
        assert reason in REASONS
        assert (reason == "empty") == (not text.strip())
        assert check(text) == reason
        if reason == "blacklisted_keyword":
            assert check.blacklisted(text)


examples_strategy = st.lists(
    st.builds(
        ParsedExample,
        st.one_of(texts, st.sampled_from(("", " a ", "a"))),
        st.one_of(texts, st.sampled_from(("", "A", " A", "Answer:"))),
        st.sampled_from((None, None, None, UNPARSEABLE, TRUNCATED)),
    ),
    max_size=12,
)


@FUZZ
@given(texts, st.one_of(examples_strategy, texts.map(parse_instances)))
def test_filter_task_keeps_only_well_formed_instances(
    instruction: str, examples: list[ParsedExample]
) -> None:
    config = InstanceFilterConfig(max_instances=3, max_input_chars=50, max_output_chars=50)
    result = filter_task(instruction, examples, config)
    assert len(result.kept) <= config.max_instances
    assert len(result.kept) + len(result.dropped) == len(examples)
    assert sum(result.counts.values()) == len(result.dropped)
    assert (result.task_dropped is None) == bool(result.kept)
    for inst in result.kept:
        assert inst.output and inst.output == inst.output.strip()
        assert inst.input == inst.input.strip()
        assert len(inst.input) <= 50 and len(inst.output) <= 50
    assert filter_task(instruction, examples, config) == result


# --- each stage's parse -> filter -> write chain -------------------------------------------------


def utf8_safe(value: Any) -> Any:
    """What a JSONL line can hold: lone surrogates become U+FFFD, strings otherwise kept."""
    if isinstance(value, str):
        return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, dict):
        return {utf8_safe(k): utf8_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [utf8_safe(v) for v in value]
    return value


def round_trip(records: list[Any]) -> None:
    """Write records with JsonlWriter, read them back, and compare field by field."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.jsonl"
        with JsonlWriter(path, fsync=False) as writer:
            writer.write_many(records)
        back = list(read_jsonl(path))
    assert back == [utf8_safe(r.model_dump(mode="json")) for r in records]


def instances_chain(text: str, classification: bool, reason: str) -> None:
    instruction = "Write a haiku."
    parsed = run_parse(text, classification, reason, instruction)
    result = filter_task(instruction, parsed, INSTANCE_CONFIG)
    record = InstancesRecord(
        instruction=instruction,
        index=0,
        is_classification=classification,
        instances=result.kept,
        generated=len(parsed),
        dropped=result.counts,
        task_dropped=result.task_dropped,
        finish_reason=reason,
        raw=text,
    )
    rows = [
        InstanceRejection(
            instruction=instruction, index=0, input=e.input, output=e.output, reason=r
        )
        for e, r in result.dropped
    ]
    round_trip([record, *rows])


def bootstrap_chain(text: str, continued: bool, reason: str, check: InstructionFilter) -> None:
    records: list[Any] = []
    for i, cand in enumerate(
        split_candidates(text, first_number=9, continued=continued, finish_reason=reason)
    ):
        why = "truncated" if cand.truncated else check(cand.text)
        if why is None:
            records.append(
                MachineInstruction(
                    instruction=cand.text, index=i, request=0, max_rouge=0.0, mean_rouge=0.0
                )
            )
        else:
            records.append(
                Rejection(
                    instruction=cand.text,
                    reason=why,
                    request=0,
                    detail=check.blacklisted(cand.text),
                )
            )
    round_trip(records)


def classify_chain(text: str) -> None:
    verdict = parse_yes_no(text)
    record = ClassificationRecord(
        instruction="Sort these words.", index=0, is_classification=bool(verdict),
        raw=text, fallback=verdict is None,
    )  # fmt: skip
    round_trip([record])


@FUZZ
@given(texts_utf8, st.booleans(), finish_reasons)
def test_chains_round_trip_valid_utf8(text: str, flag: bool, reason: str) -> None:
    instances_chain(text, flag, reason)
    bootstrap_chain(text, flag, reason, ZH if flag else EN)
    classify_chain(text)


@FUZZ
@given(texts, st.booleans(), finish_reasons)
def test_chains_never_raise_on_lone_surrogates(text: str, flag: bool, reason: str) -> None:
    instances_chain(text + "\ud800", flag, reason)
    bootstrap_chain("\udfff" + text, flag, reason, EN if flag else ZH)
    classify_chain(text + "\udc00")


@LONG
@given(long_lines, st.booleans())
def test_chains_on_long_lines(text: str, flag: bool) -> None:
    instances_chain(text, flag, "length")
    bootstrap_chain(text, flag, "stop", EN)


# --- linearity ---------------------------------------------------------------------------------


def _filter_after_parse(text: str) -> Callable[[], object]:
    examples = parse_instances(text)  # parsed outside the timing: this times the filter alone
    return lambda: filter_task("Write a haiku.", examples, INSTANCE_CONFIG)


PARSERS: dict[str, tuple[str, Callable[[str], Callable[[], object]]]] = {
    "parse_instances": ("parse_instances", lambda t: lambda: parse_instances(t)),
    "parse_instances (classification, length, instruction)": (
        "parse_instances",
        lambda t: (
            lambda: parse_instances(
                t, classification=True, finish_reason="length", instruction="Write a haiku."
            )
        ),
    ),
    "split_candidates (continued)": (
        "split_candidates",
        lambda t: lambda: split_candidates(t, first_number=9, continued=True),
    ),
    "split_candidates (chat, length)": (
        "split_candidates",
        lambda t: (
            lambda: split_candidates(t, first_number=9, continued=False, finish_reason="length")
        ),
    ),
    "parse_yes_no": ("parse_yes_no", lambda t: lambda: parse_yes_no(t)),
    "InstructionFilter (en)": ("InstructionFilter", lambda t: lambda: EN(t)),
    "InstructionFilter (zh)": ("InstructionFilter", lambda t: lambda: ZH(t)),
    "filter_task": ("filter_task", _filter_after_parse),
}


def ms_per_kb(run: Callable[[], object], chars: int, repeats: int) -> float:
    """The best of `repeats` timings of `run`, in milliseconds per 1,000 input characters."""
    best = float("inf")
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - start)
    finally:
        gc.enable()
    return best * 1000 / (chars / 1000)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("input_name", list(ADVERSARIAL))
@pytest.mark.parametrize("parser_name", list(PARSERS))
def test_parsers_are_linear(
    parser_name: str, input_name: str, record_property: Callable[[str, object], None]
) -> None:
    family, prepare = PARSERS[parser_name]
    build = ADVERSARIAL[input_name]
    small_run, big_run = prepare(build(10_000)), prepare(build(100_000))
    for _ in range(3):  # a load spike on this shared machine gets two more chances
        small = ms_per_kb(small_run, 10_000, repeats=5)
        big = ms_per_kb(big_run, 100_000, repeats=2)
        if big <= 3 * small + SLACK_MS_PER_KB:
            break
    detail = f"100K-char {input_name}" + parser_name.removeprefix(family)
    record_property("parser_ms_per_kb", (family, big, detail))
    assert big <= 3 * small + SLACK_MS_PER_KB, (
        f"{parser_name} on a {input_name}: {small:.4f} ms/KB at 10K but {big:.4f} ms/KB at 100K"
    )
