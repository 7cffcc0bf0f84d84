"""The dataset card `README.md` an export writes beside its files, in the Hugging Face format.

A YAML header (license placeholder, language, task categories, size category, pretty name, one
config per exported format naming its split files, so `datasets.load_dataset(DIR, "alpaca")`
reads the directory as it is), then how the data was made: the seeds, the model and backend,
each stage's decoding, the filters and their thresholds (from `run.json`), the funnel from
requests to rows (from `stats.json`), the date, the files and how to load them. Pure text
from plain data: the export stage gathers the facts and writes the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import yaml

STAGES = ("bootstrap", "classify", "instances", "judge", "export")
SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
)  # fmt: skip
"""Hugging Face's size buckets (upper bound, name) up to a billion rows; above: "n>1B"."""
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
LICENSE_NOTE = (
    "# Set the license before publishing: it depends on your seed tasks and on the terms of "
    "the model that wrote the data."
)


@dataclass
class CardFacts:
    """What the card says: the run's identity, settings, counts and files (never its path)."""

    language: str
    seeds: str
    seed_tasks: int
    rows: int
    files: dict[str, dict[str, str]]
    """format -> split -> file name, in the order exported."""
    meta: dict[str, Any]
    stats: dict[str, Any]
    export: dict[str, Any]
    date: str
    hard_case_column: bool = False


def card_date() -> str:
    """Today (UTC) as YYYY-MM-DD, or the day of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = (
        datetime.fromtimestamp(int(epoch), tz=timezone.utc)
        if epoch.isdigit()
        else datetime.now(tz=timezone.utc)
    )
    return moment.date().isoformat()


def size_category(rows: int) -> str:
    """Hugging Face's `size_categories` bucket of a row count."""
    return next((name for bound, name in SIZE_CATEGORIES if rows < bound), "n>1B")


def render_card(facts: CardFacts) -> str:
    """The whole README.md: YAML header, then the sections."""
    parts = [
        header(facts),
        f"# {pretty_name(facts)}\n\n{summary(facts)}",
        "## How the data was made\n\n" + made(facts),
        "## Funnel\n\n" + funnel(facts.stats),
        "## Files\n\n" + files_section(facts),
        "## Loading\n\n" + loading(facts),
    ]
    return "\n\n".join(p.rstrip("\n") for p in parts) + "\n"


def pretty_name(facts: CardFacts) -> str:
    """The title: the same for every copy of a run, wherever its directory is."""
    return f"Self-Instruct data ({facts.language})"


def header(facts: CardFacts) -> str:
    """The YAML metadata block the Hub and `datasets` read."""
    configs = []
    for n, (fmt, splits) in enumerate(facts.files.items()):
        config: dict[str, Any] = {"config_name": fmt}
        if n == 0:
            config["default"] = True
        config["data_files"] = [{"split": s, "path": f} for s, f in splits.items()]
        configs.append(config)
    meta = {
        "license": "other",
        "language": [facts.language],
        "task_categories": ["text-generation"],
        "tags": ["self-instruct", "synthetic", "instruction-finetuning"],
        "size_categories": [size_category(facts.rows)],
        "pretty_name": pretty_name(facts),
        "configs": configs,
    }
    body = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{LICENSE_NOTE}\n{body}---"


def summary(facts: CardFacts) -> str:
    """What the data is, how much of it, and a caution."""
    export = facts.stats.get("export", {})
    seeds = f" plus {export.get('seed_tasks', 0)} seed tasks" if export.get("seed_tasks") else ""
    return (
        f"Instruction-following examples written by a language model with the Self-Instruct "
        f"method (Wang et al., 2023), made with the `selfinstruct` library: "
        f"{facts.rows} rows from {export.get('machine_tasks', 0)} machine-written tasks{seeds}, "
        f"bootstrapped from {facts.seed_tasks} seed tasks. Machine-written data holds mistakes: "
        "read a sample before training on it."
    )


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
        f"- `{stage}.{key}` = `{_show(recorded[key])}`: {meaning}"
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
    parts = [f"{k} {_show(recorded[k])}" for k in DECODING if k in recorded]
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
            ("instructions accepted", b.get("accepted"), _named(b.get("rejected_by_reason"))),
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
            ("instances kept", i.get("kept"), _named(i.get("dropped"))),
        ]
    if j:
        rows.append(("instances judged", j.get("judged"), _named(j.get("by_score"), "score ")))
    if e:
        dropped = {"duplicates": e.get("duplicates", 0), **(e.get("dropped") or {})}
        rows += [
            ("rows exported", e.get("examples"), _named(dropped)),
            ("train / validation rows", f"{e.get('train', 0)} / {e.get('validation', 0)}", ""),
        ]
    table = ["| step | count | detail |", "| --- | ---: | --- |"]
    table += [f"| {step} | {_show(n)} | {detail} |" for step, n, detail in rows]
    return "\n".join(table)


def files_section(facts: CardFacts) -> str:
    """One table row per exported file, with its columns."""
    export = facts.stats.get("export", {})
    formats = {
        "alpaca": "`instruction`, `input`, `output` (Alpaca)",
        "sharegpt": "`conversations` of `from`/`value` turns (ShareGPT)",
        "messages": "`messages` of `role`/`content` turns (OpenAI chat)",
        "prompt_completion": "`prompt` and `completion` message lists (TRL prompt-completion)",
    }
    lines = ["| config | split | file | columns |", "| --- | --- | --- | --- |"]
    for fmt, splits in facts.files.items():
        for split, name in splits.items():
            lines.append(f"| {fmt} | {split} | `{name}` | {formats.get(fmt, fmt)} |")
    notes = [
        "",
        "The user turn is the instruction, then the input after a blank line when there is one. "
        "`dataset_info.json` registers the files for LLaMA-Factory.",
    ]
    if facts.hard_case_column:
        notes.append(
            f"Every row has a boolean `hard_case`: {export.get('hard_cases', 0)} rows are boundary "
            "examples of classification tasks (inputs close to the line between two labels)."
        )
    return "\n".join(lines + notes)


def loading(facts: CardFacts) -> str:
    """How `datasets`, LLaMA-Factory and TRL read the directory."""
    first = next(iter(facts.files))
    return "\n".join(
        [
            "```python",
            "from datasets import load_dataset",
            "",
            f'ds = load_dataset("path/to/this/directory", "{first}")  # the configs above',
            f'ds = load_dataset("json", data_files="{facts.files[first]["train"]}", split="train")',
            "```",
            "",
            "LLaMA-Factory: `dataset_dir: path/to/this/directory` and `dataset: "
            f"{first}`. TRL: pass the `messages` or `prompt_completion` file's dataset to "
            "`SFTTrainer(train_dataset=...)`.",
        ]
    )


def _named(counts: dict[str, Any] | None, prefix: str = "") -> str:
    """`a: 3, b: 1` for the non-zero counts."""
    items = [(k, v) for k, v in (counts or {}).items() if v]
    return ", ".join(f"{prefix}{k}: {v}" for k, v in items) or ""


def _show(value: Any) -> str:
    """A setting as TOML would write it (null, true, a, b)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)
