"""What a whole run will cost, projected from a small pilot run's books.

The pilot (see `pipeline.estimate`) runs every stage on a handful of requests in a scratch
directory; this module turns its stats into requests, tokens and, with prices, money for the
full target. Bootstrap requests come from the pilot's acceptance rate (accepted instructions per
request); a pool that grows accepts less, so for large targets the projection is a floor, and
the report says so. Every later stage makes one request per instruction (judge: per instance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StageEstimate:
    """One stage: what the pilot spent per request and what the full run will."""

    stage: str
    pilot_requests: int
    prompt_per_request: float
    completion_per_request: float
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    reasoning_tokens: int = 0
    """Of `completion_tokens`, those a thinking model will spend thinking (priced as output)."""


@dataclass
class Estimate:
    """The projection for the whole target, stage by stage."""

    target: int
    accepted_per_request: float
    acceptance: float
    stages: list[StageEstimate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(s.prompt_tokens + s.completion_tokens for s in self.stages)

    @property
    def cost(self) -> float | None:
        costs = [s.cost for s in self.stages]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)

    def lines(self) -> list[str]:
        """The estimate as lines for a terminal."""
        head = (
            f"estimate for {self.target} instructions, from a pilot accepting "
            f"{self.accepted_per_request:.2f} instructions per request ({self.acceptance:.0%} "
            "of candidates):"
        )
        out = [head]
        for s in self.stages:
            money = "" if s.cost is None else f", cost {s.cost:,.2f}"
            money = f" ({s.reasoning_tokens:,} thinking){money}" if s.reasoning_tokens else money
            out.append(
                f"  {s.stage:9s} {s.requests:>9,} requests, {s.prompt_tokens:>12,} prompt + "
                f"{s.completion_tokens:>11,} completion tokens{money} "
                f"(pilot: {s.pilot_requests} requests)"
            )
        total = "" if self.cost is None else f", cost {self.cost:,.2f}"
        out.append(f"  total     {self.tokens:,} tokens{total}")
        out += [f"  note: {n}" for n in self.notes]
        return out


def cost_of(
    prompt_tokens: int, completion_tokens: int, price_in: float | None, price_out: float | None
) -> float | None:
    """Money for these tokens at prices per million tokens; None without both prices."""
    if price_in is None or price_out is None:
        return None
    return (prompt_tokens * price_in + completion_tokens * price_out) / 1_000_000


def project(
    pilot: dict[str, Any],
    target: int,
    price_in: float | None,
    price_out: float | None,
    instances_per_task: float | None = None,
) -> Estimate:
    """Project the pilot's stats.json sections onto `target` instructions."""
    boot = pilot.get("bootstrap", {})
    requests = max(1, int(boot.get("requests", 0)))
    accepted = int(boot.get("accepted", 0))
    per_request = accepted / requests
    candidates = int(boot.get("candidates", 0))
    estimate = Estimate(target, per_request, accepted / candidates if candidates else 0.0)
    if accepted == 0:
        estimate.notes.append("the pilot accepted nothing: the model may not follow the prompt")
    counts = {
        "bootstrap": round(target / per_request) if per_request else 0,
        "classify": target,
        "instances": target,
    }
    if "judge" in pilot:
        counts["judge"] = round(target * (instances_per_task or 0))
    for stage, full in counts.items():
        section = pilot.get(stage, {})
        n = int(section.get("requests", 0))
        if n == 0:
            continue
        p = section.get("prompt_tokens", 0) / n
        c = section.get("completion_tokens", 0) / n
        pt, ct = round(p * full), round(c * full)
        rt = round(section.get("reasoning_tokens", 0) / n * full)
        cost = cost_of(pt, ct, price_in, price_out)
        estimate.stages.append(StageEstimate(stage, n, p, c, full, pt, ct, cost, rt))
        if section.get("reasoning_truncated"):
            estimate.notes.append(
                f"{stage}: {section['reasoning_truncated']} pilot answers were cut off while "
                "thinking (reasoning_truncated): raise --thinking-tokens before the full run"
            )
    if target > 10 * max(accepted, 1):
        estimate.notes.append(
            "acceptance falls as the pool grows (more candidates are too similar): "
            "bootstrap requests and tokens are a floor"
        )
    return estimate
