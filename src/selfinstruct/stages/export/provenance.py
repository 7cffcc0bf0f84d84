"""The dataset card's account of how the data was made: settings from run.json, the funnel from
stats.json (pure text from plain data; dataset_card.py puts the card together).
"""

from __future__ import annotations

from typing import Any

from .card_facts import CardFacts

STAGES = ("bootstrap", "classify", "instances", "judge", "export")
DECODING = ("temperature", "top_p", "presence_penalty", "frequency_penalty", "max_tokens")
FILTERS = {
    "bootstrap": {
        "threshold": "reject an instruction whose ROUGE-L F against the pool exceeds",
        "min_words": "shortest instruction, in words (en)",
        "max_words": "longest instruction, in words (en)",
        "min_chars": "shortest instruction, in characters (zh)",
        "max_chars": "longest instruction, in characters (zh)",
        "blacklist": "instructions with these keywords rejected (null: the paper's list)",
        "echo_words": "reject an instruction sharing this many words in a row with its prompt (en)",
        "echo_chars": "the same, in characters (zh)",
        "semantic": "also reject instructions close in meaning to a pool entry",
        "semantic_threshold": "embedding cosine above which `semantic` rejects",
    },
    "instances": {
        "max_instances": "instances kept per task",
        "max_input_chars": "longest input, in characters",
        "max_output_chars": "longest output, in characters",
        "hard_cases": "boundary examples asked for classification tasks",
    },
    "export": {
        "include_seeds": "seed tasks' own instances added",
        "min_score": "judge score (1-5) an instance needs",
        "balance": "leading verbs and task types capped, labels evened out",
        "max_verb_share": "most rows one leading verb may have (with balance)",
        "max_task_type_share": "most rows one task type may have (with balance)",
        "max_label_ratio": "most common label / rarest label in a task (with balance)",
    },
}
"""The settings shown as filters, with what each means; every setting is in run.json."""


def made(facts: CardFacts) -> str:
    """Seeds, model, date, each stage's decoding and the filters' thresholds, from run.json."""
    settings: dict[str, dict[str, Any]] = facts.meta.get("settings", {})
    first = next((settings[s] for s in STAGES if s in settings), {})
    models = {
        (s.get("model"), s.get("backend"), s.get("chat")) for s in settings.values() if "model" in s
    }
    lines = [
        f"- **Seeds**: `{facts.seeds}`, {facts.seed_tasks} tasks "
        f"(content digest `{facts.meta.get('seeds_sha256', '?')}`), language `{facts.language}`",
        f"- **Random seed**: {first.get('seed', '?')}",
    ]
    if len(models) == 1:
        model, backend, chat = next(iter(models))
        style = "chat messages" if chat else "completion prompts"
        lines.append(f"- **Model**: `{model}` through the `{backend}` backend ({style})")
    else:
        for stage in STAGES:
            if stage in settings and "model" in settings[stage]:
                s = settings[stage]
                lines.append(f"- **Model ({stage})**: `{s['model']}` through `{s.get('backend')}`")
    lines.append(f"- **Date**: {facts.date}")
    table = ["| stage | decoding |", "| --- | --- |"]
    for stage in STAGES:
        if stage in settings and stage != "export":
            table.append(f"| {stage} | {decoding(settings[stage])} |")
    filters = [
        f"- `{stage}.{key}` = `{show(recorded[key])}`: {meaning}"
        for stage, meanings in FILTERS.items()
        for recorded in [facts.export if stage == "export" else settings.get(stage, {})]
        for key, meaning in meanings.items()
        if key in recorded and applies(meaning, facts.language, facts.export)
    ]
    return "\n".join(
        [
            *lines,
            "",
            "### Decoding",
            "",
            *table,
            "",
            "### Filters",
            "",
            "Bootstrap rejects near-duplicate instructions by ROUGE-L and the paper's named "
            "filters; instances are checked one by one (empty, repeated, truncated, too long, "
            "refusals); export removes exact duplicates. Thresholds:",
            "",
            *filters,
            "",
            "Every setting of every stage is recorded in `run.json`.",
        ]
    )


def applies(meaning: str, language: str, export: dict[str, Any]) -> bool:
    """Whether a filter setting matters here: the run's language, balance caps with balance on."""
    other = "(zh)" if language == "en" else "(en)"
    return other not in meaning and ("(with balance)" not in meaning or bool(export.get("balance")))


def decoding(recorded: dict[str, Any]) -> str:
    """One stage's decoding parameters; stages without a temperature setting decode greedily."""
    parts = [f"{k} {show(recorded[k])}" for k in DECODING if k in recorded]
    if "temperature" not in recorded:
        parts.insert(0, "greedy (temperature 0)")
    return ", ".join(parts)


def funnel(stats: dict[str, Any]) -> str:
    """From requests to exported rows, with each stage's named drops."""
    rows: list[tuple[str, Any, str]] = []
    b, c, i, j, e = (stats.get(s, {}) for s in STAGES)
    if b:
        rows += [
            ("bootstrap requests", b.get("requests"), ""),
            ("candidate instructions", b.get("candidates"), ""),
            ("instructions accepted", b.get("accepted"), named(b.get("rejected_by_reason"))),
        ]
    if c:
        rows.append(
            ("instructions classified", c.get("classified"),
             f"{c.get('classification', 0)} classification, "
             f"{c.get('not_classification', 0)} other, {c.get('unparseable', 0)} unparseable")
        )  # fmt: skip
    if i:
        rows += [
            ("instances generated", i.get("generated"), f"for {i.get('tasks', 0)} tasks"),
            ("instances kept", i.get("kept"), named(i.get("dropped"))),
        ]
    if j:
        rows.append(("instances judged", j.get("judged"), named(j.get("by_score"), "score ")))
    if e:
        dropped = {"duplicates": e.get("duplicates", 0), **(e.get("dropped") or {})}
        rows += [
            ("rows exported", e.get("examples"), named(dropped)),
            ("train / validation rows", f"{e.get('train', 0)} / {e.get('validation', 0)}", ""),
        ]
    table = ["| step | count | detail |", "| --- | ---: | --- |"]
    table += [f"| {step} | {show(n)} | {detail} |" for step, n, detail in rows]
    return "\n".join(table)


def named(counts: dict[str, Any] | None, prefix: str = "") -> str:
    """`a: 3, b: 1` for the non-zero counts."""
    items = [(k, v) for k, v in (counts or {}).items() if v]
    return ", ".join(f"{prefix}{k}: {v}" for k, v in items) or ""


def show(value: Any) -> str:
    """A setting as TOML would write it (null, true, a, b)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
