"""The dataset card `README.md` an export writes beside its files, in the Hugging Face format.

A YAML header (license placeholder, language, task categories, size category, pretty name, one
config per exported format naming its split files, so `datasets.load_dataset(DIR, "alpaca")`
reads the directory as it is), then how the data was made: the seeds, the model and backend,
each stage's decoding, the filters and their thresholds (from `run.json`), the funnel from
requests to rows (from `stats.json`; these two sections are provenance.py's), the date, the
files and how to load them. Pure text from plain data: the export stage gathers the facts
(card_facts.py) and writes the file.
"""

from __future__ import annotations

from typing import Any

import yaml

from .card_facts import CardFacts
from .provenance import funnel, made

SIZE_CATEGORIES = (
    (1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"),
)  # fmt: skip
"""Hugging Face's size buckets (upper bound, name) up to a billion rows; above: "n>1B"."""
LICENSE_NOTE = (
    "# Set the license before publishing: it depends on your seed tasks and on the terms of "
    "the model that wrote the data."
)


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
