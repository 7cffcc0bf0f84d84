"""The named counts of one task's line in instances.jsonl, and the stats section they add up to.

Each line carries its own counts, so the stats are summed from the file and always add up
after a crash.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ...runtime.records import InstancesRecord
from ...runtime.state import RunState
from ...runtime.thinking import REASONING_TRUNCATED


def counts_of(line: InstancesRecord) -> Counter[str]:
    """The named counts one task line stands for (dropped examples as `dropped.<reason>`)."""
    counts = Counter(
        tasks=1,
        classification_tasks=int(line.is_classification),
        tasks_kept=int(bool(line.instances)),
        generated=line.generated,
        kept=len(line.instances),
        truncated_responses=int(line.finish_reason == "length"),
        hard_tasks=int(line.hard_raw is not None),
        hard_kept=sum(i.hard_case for i in line.instances),
        reasoning_truncated=int(line.task_dropped == REASONING_TRUNCATED),
    )
    counts.update({f"dropped.{k}": v for k, v in line.dropped.items()})
    if line.task_dropped:
        counts[f"tasks_dropped.{line.task_dropped}"] += 1
    return counts


def summarize(state: RunState, counts: Counter[str]) -> dict[str, Any]:
    """The instances section of stats.json from the counts of every task line."""
    c = state.config.instances
    return {
        "instructions": len(state.machine),
        "tasks": counts["tasks"],
        "classification_tasks": counts["classification_tasks"],
        "tasks_kept": counts["tasks_kept"],
        "tasks_dropped": _grouped(counts, "tasks_dropped."),
        "generated": counts["generated"],
        "kept": counts["kept"],
        "dropped": _grouped(counts, "dropped."),
        "truncated_responses": counts["truncated_responses"],
        "reasoning_truncated": counts[REASONING_TRUNCATED],
        "max_instances": c.max_instances,
        "language": state.language,
        **(_hard_summary(counts) if c.hard_cases or counts["hard_tasks"] else {}),
    }


def _hard_summary(counts: Counter[str]) -> dict[str, Any]:
    """The hard-case counts of the stats (their drops are also in `dropped`, as `hard.*`)."""
    return {
        "hard_cases": {
            "tasks": counts["hard_tasks"],
            "kept": counts["hard_kept"],
            "dropped": _grouped(counts, "dropped.hard."),
        }
    }


def _grouped(counts: Counter[str], prefix: str) -> dict[str, int]:
    return {k[len(prefix) :]: v for k, v in sorted(counts.items()) if k.startswith(prefix) and v}
