"""The bootstrap loop's logic on a scripted backend: filters, stats, determinism, resume, budget.

The fake writes plausible numbered task lists from a seeded generator, salted with candidates
every filter must catch; the real backends run the same loop in test_bootstrap_real.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from pathlib import Path

import pytest
from bootstrap_lists import numbered_list, run_bootstrap
from fakes import FakeBackend, prompt_text, unscored
from rouge_score import rouge_scorer
from runs import read_lines

from selfinstruct import ConfigError, bootstrap, load_seeds
from selfinstruct.llm.base import Completion, GenerationParams, Prompt
from selfinstruct.runtime.rundir import RunDir


class JitteryBackend(FakeBackend):
    """Answers after a random delay, so requests finish out of order."""

    async def acomplete(self, prompts: list[Prompt], params: GenerationParams) -> list[Completion]:
        await asyncio.sleep(random.random() * 0.01)
        return await super().acomplete(prompts, params)


def test_reaches_target_with_stats_that_add_up(tmp_path: Path) -> None:
    result = run_bootstrap(tmp_path, 30, concurrency=4)
    rundir = RunDir.of(tmp_path)
    records = read_lines(rundir.machine_instructions)
    rejected = read_lines(rundir.rejected)
    stats = json.loads(rundir.stats.read_text())["bootstrap"]

    assert result.stopped == "target_reached"
    assert len(records) == result.accepted == stats["accepted"] == 30
    assert [r["index"] for r in records] == list(range(30))
    assert stats["candidates"] == stats["accepted"] + sum(stats["rejected_by_reason"].values())
    assert stats["rejected"] == len(rejected)
    reasons = stats["rejected_by_reason"]
    for reason in ("blacklisted_keyword", "too_short", "too_similar", "write_a_program"):
        assert reasons[reason] > 0, reasons
    assert all(r["reason"] in reasons for r in rejected)
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0


def test_accepted_records_carry_their_neighbours(tmp_path: Path) -> None:
    run_bootstrap(tmp_path, 12)
    seeds = [t.instruction for t in load_seeds("en")]
    records = read_lines(RunDir.of(tmp_path).machine_instructions)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pool = list(seeds)
    for record in records:
        top = record["most_similar"]
        assert len(top) == 10
        scores = [s["score"] for s in top]
        assert scores == sorted(scores, reverse=True)
        assert record["max_rouge"] == scores[0] <= 0.7
        # the scores are rouge-score's own against the pool as it stood
        best = max(scorer.score(p, record["instruction"])["rougeL"].fmeasure for p in pool)
        assert best == pytest.approx(record["max_rouge"], abs=1e-12)
        assert len(record["prompt_instructions"]) == 8
        machine_in_prompt = [p for p in record["prompt_instructions"] if p not in seeds]
        assert len(machine_in_prompt) <= 2
        pool.append(record["instruction"])


def test_same_seed_same_output_whatever_the_timing(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        backend = JitteryBackend(respond=lambda p, _: numbered_list(p))
        run_bootstrap(tmp_path / name, 25, backend, concurrency=6, seed=7)
        outputs.append((tmp_path / name / "machine_instructions.jsonl").read_text())
    assert outputs[0] == outputs[1]
    run_bootstrap(tmp_path / "c", 25, concurrency=6, seed=8)
    assert (tmp_path / "c" / "machine_instructions.jsonl").read_text() != outputs[0]


def test_rerun_resumes_without_duplicates(tmp_path: Path) -> None:
    run_bootstrap(tmp_path, 10)
    path = RunDir.of(tmp_path).machine_instructions
    first = path.read_text().splitlines()
    again = run_bootstrap(tmp_path, 10)
    assert again.new == 0 and path.read_text().splitlines() == first
    result = run_bootstrap(tmp_path, 25)
    lines = path.read_text().splitlines()
    assert lines[:10] == first
    assert result.accepted == 25 and result.new == 15 and len(lines) == 25
    records = [json.loads(line) for line in lines]
    assert [r["index"] for r in records] == list(range(25))
    assert len({r["instruction"] for r in records}) == 25
    assert min(r["request"] for r in records[10:]) > max(r["request"] for r in records[:10])


def test_crash_mid_run_keeps_every_accepted_line_and_resumes(tmp_path: Path) -> None:
    calls = {"n": 0}

    def flaky(prompt: Prompt, _: GenerationParams) -> str:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("server went away")
        return numbered_list(prompt)

    with pytest.raises(RuntimeError, match="server went away"):
        run_bootstrap(tmp_path, 40, FakeBackend(respond=flaky), concurrency=1)
    rundir = RunDir.of(tmp_path)
    kept = read_lines(rundir.machine_instructions)  # every line parses: nothing half-written
    assert 0 < len(kept) < 40
    assert json.loads(rundir.stats.read_text())["bootstrap"]["stopped"] == "error"
    assert all(r["max_rouge"] is None for r in kept)  # the crash came before the scoring pass
    result = run_bootstrap(tmp_path, 40)
    records = read_lines(rundir.machine_instructions)
    assert unscored(records)[: len(kept)] == kept
    assert all(r["max_rouge"] is not None and len(r["most_similar"]) == 10 for r in records)
    assert result.accepted == len(records) == 40
    assert len({r["instruction"] for r in records}) == 40


def test_token_budget_stops_cleanly(tmp_path: Path) -> None:
    result = run_bootstrap(tmp_path, 1000, token_budget=2000, concurrency=2)
    assert result.stopped == "token_budget"
    stats = json.loads(RunDir.of(tmp_path).stats.read_text())["bootstrap"]
    spent = stats["prompt_tokens"] + stats["completion_tokens"]
    assert 2000 <= spent < 2000 + 4 * 600  # at most the requests already in flight go over
    assert 0 < result.accepted == len(read_lines(RunDir.of(tmp_path).machine_instructions))


def test_cut_off_last_candidate_is_rejected_as_truncated(tmp_path: Path) -> None:
    def cut(prompt: Prompt, _: GenerationParams) -> Completion:
        text = numbered_list(prompt) + "\n18. Describe the history of the"
        return Completion(text=text, finish_reason="length")

    run_bootstrap(tmp_path, 12, FakeBackend(respond=cut))
    rejected = read_lines(RunDir.of(tmp_path).rejected)
    truncated = [r for r in rejected if r["reason"] == "truncated"]
    assert truncated and truncated[0]["instruction"] == "Describe the history of the"


def test_a_model_that_never_helps_stalls_instead_of_spinning(tmp_path: Path) -> None:
    result = run_bootstrap(
        tmp_path, 5, FakeBackend(respond=lambda p, _: "9. Draw a map."), patience=6
    )
    assert result.stopped == "stalled" and result.accepted == 0
    stats = json.loads(RunDir.of(tmp_path).stats.read_text())["bootstrap"]
    assert 6 <= stats["requests"] <= 6 + 16  # the window of requests already sent


def test_configurable_blacklist_and_bounds(tmp_path: Path) -> None:
    run_bootstrap(tmp_path, 10, blacklist=("explain", "describe", "compare"), max_words=12)
    records = read_lines(RunDir.of(tmp_path).machine_instructions)
    assert not any(
        r["instruction"].split()[0] in ("Explain", "Describe", "Compare") for r in records
    )
    assert all(len(r["instruction"].split()) <= 12 for r in records)
    stats = json.loads(RunDir.of(tmp_path).stats.read_text())["bootstrap"]
    assert stats["rejected_by_reason"].get("too_long", 0) > 0
    assert (
        stats["rejected_by_reason"]["blacklisted_keyword"] > 0
    )  # "Explain ...", "Describe ..." tasks
    assert any(r["instruction"].startswith("Draw") for r in records)  # no longer blacklisted


def test_other_seeds_on_the_same_directory_are_refused(tmp_path: Path) -> None:
    run_bootstrap(tmp_path, 3)
    with pytest.raises(ConfigError, match="seeds='en'"):
        bootstrap("zh", tmp_path, 3, FakeBackend(), progress=False)


def test_bad_options_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="num_machine_instructions"):
        run_bootstrap(tmp_path, 3, num_machine_instructions=9)
    with pytest.raises(ConfigError, match="threshold"):
        run_bootstrap(tmp_path, 3, threshold=1.5)


ZH_TASKS = [
    "请为一家{a}店写一句{b}的广告语。",
    "解释{a}和{b}之间的区别。",
    "列出三种{a}的{b}方法。",
]
ZH_WORDS = (
    "咖啡",
    "书",
    "花",
    "茶",
    "面包",
    "自行车",
    "雨伞",
    "钢琴",
    "旅行",
    "节能",
    "健康",
    "安全",
)


def chinese_list(prompt: Prompt) -> str:
    rng = random.Random(prompt_text(prompt))
    items = [
        rng.choice(ZH_TASKS).format(a=rng.choice(ZH_WORDS), b=rng.choice(ZH_WORDS))
        for _ in range(3)
    ]
    items.append("Please write a short poem about the sea.")  # mostly Latin: not Chinese
    copied = re.findall(r"^\d+\. (.+)$", prompt_text(prompt), re.M)[0]
    items.append(copied[:-1] + "吧。")  # a one-character variation: too similar once CJK-tokenised
    return "\n".join(f"{9 + i}. {t}" for i, t in enumerate(items))


def test_chinese_mode_filters_latin_and_cjk_near_duplicates(tmp_path: Path) -> None:
    result = bootstrap(
        "zh", tmp_path, 8, FakeBackend(respond=lambda p, _: chinese_list(p)), progress=False
    )
    stats = json.loads(RunDir.of(tmp_path).stats.read_text())["bootstrap"]
    assert result.accepted == 8 and stats["language"] == "zh"
    assert stats["rejected_by_reason"]["mostly_latin"] > 0
    assert stats["rejected_by_reason"]["too_similar"] > 0
    records = read_lines(RunDir.of(tmp_path).machine_instructions)
    assert all(r["max_rouge"] <= 0.7 for r in records)
    assert any(r["max_rouge"] > 0 for r in records)  # CJK characters are tokens, not dropped


def test_mean_rouge_exact_is_rouge_scores_mean_and_off_is_not_computed(tmp_path: Path) -> None:
    run_bootstrap(tmp_path / "exact", 6, mean_rouge="exact")
    run_bootstrap(tmp_path / "off", 6, mean_rouge="off")
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pool = [t.instruction for t in load_seeds("en")]
    exact = read_lines(RunDir.of(tmp_path / "exact").machine_instructions)
    for record in exact:
        scores = [scorer.score(p, record["instruction"])["rougeL"].fmeasure for p in pool]
        assert record["mean_rouge"] == pytest.approx(sum(scores) / len(scores), abs=1e-12)
        pool.append(record["instruction"])
    off = read_lines(RunDir.of(tmp_path / "off").machine_instructions)
    assert [r["mean_rouge"] for r in off] == [None] * 6
    # the same instructions either way: the mean is a diagnostic, not a decision
    assert [r["instruction"] for r in off] == [r["instruction"] for r in exact]


def test_sampling_positions_picks_what_sampling_the_list_picks() -> None:
    from selfinstruct.stages.bootstrap.prompt import sample_instructions

    seeds = [f"seed task {i}" for i in range(50)]
    machine = [f"machine task {i}" for i in range(300)]
    for seed in range(20):
        visible = seed * 15
        by_positions = sample_instructions(random.Random(seed), seeds, machine, 8, 2, visible)
        rng = random.Random(seed)  # the draws as rng.sample makes them from copies of the lists
        picked = rng.sample(machine[:visible], min(2, visible))
        chosen = picked + rng.sample(seeds, 8 - len(picked))
        rng.shuffle(chosen)
        assert by_positions == chosen
