"""`selfinstruct judge --data FILE --out DIR`: the judge stage over a dataset you already have.

Every row of any dataset `selfinstruct dedup` reads becomes one judge item (its instruction,
input and output; the first user and assistant turns of a chat), scored by stage.py exactly as
a run's instances are, into DIR/judgements.jsonl; a rerun resumes. A line's `index` is the row's
position in the file and `instance` how many earlier rows share its instruction, so repeated
instructions stay apart. The few-shot examples and the prompt follow the data's language
(detected) unless `--language` / `--seeds` say otherwise. run.json records the data's
fingerprint: another dataset in the same DIR is refused (use another --out, or --force).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

from ...config import RunConfig, make_config
from ...errors import ConfigError
from ...runtime.dataset_io import open_source, read_rows
from ...runtime.state import RunState
from ...text.language import detect_language
from .items import Item


def open_data(
    out_dir: str | Path | RunConfig | None, data: str | Path, **options: Any
) -> tuple[RunState, list[Item]]:
    """The RunState of `out_dir` for judging `data`, and the rows as judge items."""
    source = open_source(data)
    items: list[Item] = []
    seen: Counter[str] = Counter()
    digest = hashlib.sha256()
    for row in read_rows(source):
        items.append(Item(row.instruction, row.index, seen[row.instruction], row.input, row.output))
        seen[row.instruction] += 1
        digest.update(f"{row.instruction}\x00{row.input}\x00{row.output}\x01".encode())
    base = out_dir if isinstance(out_dir, RunConfig) else RunConfig()
    if not isinstance(out_dir, RunConfig) and out_dir is not None:
        options["out"] = out_dir
    language = detect_language(i.instruction for i in items[:20_000])
    for key in ("language", "seeds"):
        if options.get(key) is None and key not in base.model_fields_set:
            options[key] = language
    given = {k: v for k, v in options.items() if v is not None}
    state = RunState.open(make_config(base, **given))
    fingerprint = {"format": source.format, "rows": len(items), "sha256": digest.hexdigest()[:16]}
    recorded = state.meta.get("data")
    if recorded is not None and recorded != fingerprint and not state.config.force:
        raise ConfigError(
            f"{state.rundir.root} holds the judgements of another dataset ({recorded['rows']} "
            f"rows, {recorded['format']}); use another --out, or --force"
        )
    if recorded != fingerprint:
        state.meta["data"] = fingerprint
        state.rundir.write_meta(state.meta)
    return state, items
