"""Balance exported rows: cap any one leading verb and task type, even out each task's labels.

Practitioners' advice for SFT data: no single kind of request may dominate, and a
classification task should not teach one label. Three named drops, each counted:
- `label_balance`: within each classification task, a label keeps at most `label_ratio` times
  as many rows as the task's rarest label (1.0: exactly even); hard cases are kept first.
- `verb_cap`: no leading verb (`verbs.verb_object`) holds more than `verb_share` of the rows;
  instructions without a recognisable verb are never dropped but count in the total.
- `task_type_cap`: neither classification nor other tasks hold more than `task_type_share`.
A cap drops whole tasks of the over-represented group, in a seeded order, until the group
fits (the last task may keep part of its rows). The largest count a group may keep is solved
for exactly, since dropping rows shrinks the total the share is taken of. A cap that no
selection can meet (fewer groups than 1/share) is left unapplied and named in `unmet`.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ...runtime.records import AlpacaExample
from ...text.verbs import verb_object


@dataclass(frozen=True)
class Row:
    """One exported example and what the filters and balancing need to know about it."""

    example: AlpacaExample
    is_classification: bool
    hard_case: bool = False
    reasoning: str = ""
    """The model's thinking before the answer that held this example (--reasoning keep)."""


@dataclass(frozen=True)
class Caps:
    """The shares and ratio `--balance` holds the rows to."""

    verb_share: float = 0.1
    task_type_share: float = 0.9
    label_ratio: float = 1.0


@dataclass
class Balanced:
    """The rows kept (in their input order), drops by name, and the caps left unapplied."""

    rows: list[Row]
    dropped: Counter[str] = field(default_factory=Counter)
    unmet: list[str] = field(default_factory=list)


def balance(rows: Sequence[Row], caps: Caps, language: str = "en", seed: int = 0) -> Balanced:
    """Even out labels, then apply the verb and task-type caps until both hold."""
    verbs: dict[str, str | None] = {}

    def verb(row: Row) -> str | None:
        text = row.example.instruction
        if text not in verbs:
            verbs[text] = verb_object(text, language).verb
        return verbs[text]

    def task_type(row: Row) -> str:
        return "classification" if row.is_classification else "other"

    kept, dropped = even_labels(rows, caps.label_ratio)
    result = Balanced(kept, Counter({"label_balance": dropped}))
    while True:
        unmet = []
        total = 0
        for name, key, share in (
            ("verb_cap", verb, caps.verb_share),
            ("task_type_cap", task_type, caps.task_type_share),
        ):
            result.rows, n, met = cap_groups(result.rows, key, share, f"{seed}:{name}")
            result.dropped[name] += n
            total += n
            if not met:
                unmet.append(name)
        if total == 0:
            result.unmet = unmet
            break
    result.dropped = +result.dropped  # names with a count only
    return result


def even_labels(rows: Sequence[Row], ratio: float) -> tuple[list[Row], int]:
    """Each classification task's labels cut to `ratio` times its rarest label's count."""
    tasks: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row.is_classification:
            tasks[row.example.instruction].append(i)
    drop: set[int] = set()
    for members in tasks.values():
        labels: dict[str, list[int]] = defaultdict(list)
        for i in members:
            labels[label_of(rows[i].example.output)].append(i)
        if len(labels) < 2:
            continue  # one label: nothing to even out
        limit = int(ratio * min(len(v) for v in labels.values()) + 1e-9)
        for ids in labels.values():
            ordered = sorted(ids, key=lambda i: not rows[i].hard_case)  # stable: hard cases first
            drop.update(ordered[limit:])
    return [r for i, r in enumerate(rows) if i not in drop], len(drop)


def label_of(output: str) -> str:
    """A classification output as a label: case, surrounding space and a final period ignored."""
    return output.strip().rstrip(".。").strip().casefold()


def cap_groups(
    rows: Sequence[Row], key: Callable[[Row], str | None], share: float, seed: str
) -> tuple[list[Row], int, bool]:
    """Rows with no group over `share` of the total; (kept, dropped, whether the cap was met)."""
    groups: dict[str, list[int]] = defaultdict(list)
    free = 0
    for i, row in enumerate(rows):
        group = key(row)
        if group is None:
            free += 1
        else:
            groups[group].append(i)
    if not groups:
        return list(rows), 0, True
    limit = largest_count([len(v) for v in groups.values()], free, share)
    if limit is None:
        return list(rows), 0, False
    drop: set[int] = set()
    for name in sorted(groups):
        ids = groups[name]
        if len(ids) > limit:
            drop.update(by_task(rows, ids, f"{seed}:{name}")[limit:])
    return [r for i, r in enumerate(rows) if i not in drop], len(drop), True


def largest_count(counts: Sequence[int], free: int, share: float) -> int | None:
    """The largest m with m <= share * (free + sum(min(c, m))); None when only m = 0 fits.

    The right side minus m is concave in m and >= 0 at m = 0, so the m that fit are 0..m*:
    a bisection finds m*.
    """

    def fits(m: int) -> bool:
        return m <= share * (free + sum(min(c, m) for c in counts)) + 1e-9

    low, high = 0, max(counts)
    if fits(high):
        return high
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low or None


def by_task(rows: Sequence[Row], ids: Sequence[int], seed: str) -> list[int]:
    """`ids` with whole tasks together, tasks in a seeded order (the first ones are kept)."""
    tasks = sorted({rows[i].example.instruction for i in ids})
    random.Random(seed).shuffle(tasks)
    rank = {task: n for n, task in enumerate(tasks)}
    return sorted(ids, key=lambda i: rank[rows[i].example.instruction])
