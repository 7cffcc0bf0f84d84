"""The prompt-echo filter and the semantic near-duplicate stage, as the bootstrap loop uses them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from corpora import CORPORA
from fakes import FakeBackend
from fuzz import FUZZ, texts
from hypothesis import given
from semantic_cases import needs

from selfinstruct import bootstrap, load_seeds
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.similarity.tokenize import tokenize_cjk_chars
from selfinstruct.stages.bootstrap.echo import EchoFilter, own_text
from selfinstruct.templates import load_template

ISSUE_ECHO = (
    'Note: The list is one or two sentences per line, as "number. task", with nothing else '
    "before or after the list."
)
TEMPLATES = [(n, lang) for n in ("bootstrap_chat", "bootstrap_completion") for lang in ("en", "zh")]
DEFAULT_N = {"en": 6, "zh": 8}
ECHO_CHECKS = {
    lang: EchoFilter.of(load_template("bootstrap_chat", lang), DEFAULT_N[lang])
    for lang in DEFAULT_N
}


def test_the_echo_seen_in_a_real_run_is_caught_and_named() -> None:
    check = EchoFilter.of(load_template("bootstrap_chat", "en"), 6)
    assert check(ISSUE_ECHO) == (
        "is one or two sentences … per line as number task with nothing else before or after the list"
    )
    assert EchoFilter.of(load_template("bootstrap_chat", "en"), 0)(ISSUE_ECHO) is None
    # "that a text-only" and "text-only AI assistant" come from two places: they do not chain
    assert check("Rewrite this note so that a text-only AI assistant can read it aloud.") is None
    assert check("As a text-only AI assistant: no images, audio or web browsing.") == (
        "a text only ai assistant … no images audio or web browsing"
    )
    zh = EchoFilter.of(load_template("bootstrap_chat", "zh"), 8)
    full = "注意：每个任务都要与示例和彼此不同，变换话题。"
    assert zh(full) == "每个任务都要与示例和彼此不同变换话题"
    # copied loosely (a word dropped, punctuation changed), as in a real Chinese run: the
    # shared pieces of 4+ characters add up
    loose = "每个任务要与示例、彼此不同；列表继续页落后，关闭了。"
    assert zh(loose) == "每个任务 … 要与示例 … 彼此不同 … 列表继续"


@pytest.mark.parametrize(("name", "language"), TEMPLATES)
def test_in_context_tasks_are_not_the_prompts_own_text(name: str, language: str) -> None:
    """Placeholders are cut out: a seed instruction (what fills {tasks}) never echoes."""
    template = load_template(name, language)
    check = EchoFilter.of(template, DEFAULT_N[language])
    assert [t.instruction for t in load_seeds(language) if check(t.instruction)] == []
    filled = template.replace("{tasks}", "1. Write a poem about the sea in the style of a sailor")
    assert EchoFilter.of(filled, 6)("Write a poem about the sea in the style of a sailor.")


@pytest.mark.skipif(not CORPORA.is_dir(), reason="the shared corpora are not here")
def test_no_real_instruction_echoes_a_bundled_template_at_the_defaults() -> None:
    """The threshold's evidence (benchmarks/echo.py): 0 of ~20K real instructions rejected."""
    texts = {
        lang: [json.loads(x)["instruction"] for x in (CORPORA / name).read_text().splitlines()]
        for lang, name in (("en", "instructions.jsonl"), ("zh", "instructions_zh.jsonl"))
    }
    for name, language in TEMPLATES:
        check = EchoFilter.of(load_template(name, language), DEFAULT_N[language])
        assert [t for t in texts[language] if check(t)] == [], name


def numbered(prompt, *tasks: str) -> str:
    return "\n".join(f"{9 + i}. {t}" for i, t in enumerate(tasks))


def test_bootstrap_rejects_an_echo_of_the_users_own_template(tmp_path: Path) -> None:
    template = tmp_path / "mine.txt"
    template.write_text(
        "Here are tasks for a careful assistant:\n{tasks}\n"
        "Add new tasks from {next} to {last}, each a single polite request in plain English.\n",
        encoding="utf-8",
    )
    echo = "Each a single polite request in plain English, please."
    task = "Describe how a lighthouse keeper spent a winter night in 1890."
    backend = FakeBackend(respond=lambda p, _: numbered(p, echo, task))
    out = tmp_path / "run"
    result = bootstrap("en", out, 1, backend, template=template, progress=False)
    assert result.accepted == 1
    rejected = list(RunDir.of(out).read_rejections())
    assert [(r.reason, r.detail) for r in rejected] == [
        ("echoes_prompt", "each a single polite request in plain english")
    ]
    assert result.stats["rejected_by_reason"] == {"echoes_prompt": 1}
    off = bootstrap(
        "en", tmp_path / "off", 2, backend, template=template, echo_words=0, progress=False
    )
    assert off.accepted == 2


@pytest.mark.slow
def test_semantic_stage_rejects_paraphrases_of_seeds_and_of_resumed_instructions(
    tmp_path: Path,
) -> None:
    needs("minilm")
    seeds = load_seeds("en")[:5]  # a few seeds: embedding them is the slow part on a loaded CPU
    seed = "Suggest three catchy slogans for a neighborhood bicycle repair shop."
    assert seed in [t.instruction for t in seeds]
    of_seed = "Come up with three memorable slogans for a local bike repair shop."  # cosine 0.91
    first = "Generate a list of ingredients for a vegan lasagna recipe."
    of_first = "List the ingredients needed to make a vegan lasagna."  # ROUGE-L 0.53
    fresh = "Name three planets of the solar system and describe their moons."
    options = {"semantic": True, "progress": False, "concurrency": 1}
    once = FakeBackend(respond=lambda p, _: numbered(p, of_seed, first))
    assert bootstrap(seeds, tmp_path, 1, once, **options).accepted == 1
    backend = FakeBackend(respond=lambda p, _: numbered(p, of_first, fresh))
    result = bootstrap(seeds, tmp_path, 2, backend, **options)  # resumes: `first` from the file
    assert [m.instruction for m in RunDir.of(tmp_path).read_machine()] == [first, fresh]
    rejections = list(RunDir.of(tmp_path).read_rejections())
    assert [(r.reason, r.similar) for r in rejections] == [
        ("too_similar_semantic", seed),  # seeds are in the index from the start
        ("too_similar_semantic", first),  # and so are the machine instructions of a resumed run
    ]
    assert all(r.score is not None and r.score > 0.9 for r in rejections)
    assert result.stats["rejected_by_reason"] == {"too_similar_semantic": 2}


@FUZZ
@given(texts)
def test_echo_filter_is_total_and_names_only_what_the_candidate_holds(text: str) -> None:
    for language, check in ECHO_CHECKS.items():
        found = check(text)
        assert found == check(text)
        if found is not None:
            tokens = tokenize_cjk_chars(text)
            assert all(
                t in tokens for piece in found.split(" … ") for t in tokenize_cjk_chars(piece)
            )
            assert (
                sum(len(tokenize_cjk_chars(p)) for p in found.split(" … ")) >= DEFAULT_N[language]
            )


@pytest.mark.parametrize("language", ["en", "zh"])
def test_echo_filter_is_linear(language: str) -> None:
    """A candidate made of the template itself: the most work per token the filter can do."""
    unit = "".join(own_text(load_template("bootstrap_chat", language)))
    check = ECHO_CHECKS[language]

    def cpu_ms_per_kb(n: int) -> float:
        text = (unit * (n // len(unit) + 1))[:n]
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            check(text)
            best = min(best, time.process_time() - start)
        return best * 1000 / (n / 1000)

    small, big = cpu_ms_per_kb(10_000), cpu_ms_per_kb(100_000)
    assert big <= 3 * small + 0.1, f"{small:.3f} ms/KB at 10K, {big:.3f} at 100K"
