"""When to try a request again: jittered exponential backoff, Retry-After, a budget in time.

Pure policy and header parsing; the backend owns the clock and the sleeping.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import ConfigError


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often one request is retried before the backend gives up on it.

    The n-th retry waits a random time in [cap/2, cap], where cap doubles from `backoff_min` up
    to `backoff_max` (jitter spreads out requests that failed together; the floor of cap/2 keeps
    the budget meaningful), or the server's Retry-After (capped at `retry_after_cap`) when that
    is longer. A request gives up after `max_attempts` attempts or once `budget` seconds have
    passed since its first failure, whichever comes first; the last wait is shortened so that
    one attempt lands right at the end of the budget.
    """

    max_attempts: int = 30
    budget: float = 180.0
    backoff_min: float = 1.0
    backoff_max: float = 30.0
    retry_after_cap: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.budget < 0:
            raise ConfigError(f"the retry budget must be 0 s or more, got {self.budget}")
        if not 0 < self.backoff_min <= self.backoff_max:
            got = f"({self.backoff_min}, {self.backoff_max})"
            raise ConfigError(f"backoff needs 0 < min <= max seconds, got {got}")
        if self.retry_after_cap < 0:
            raise ConfigError(f"retry_after_cap must be 0 s or more, got {self.retry_after_cap}")

    def backoff(self, retry: int, draw: float) -> float:
        """The wait before retry number `retry` (1 is the first), for a uniform `draw` in [0, 1)."""
        cap = min(self.backoff_max, self.backoff_min * 2.0 ** min(retry - 1, 60))
        return cap * (0.5 + 0.5 * draw)

    def next_wait(
        self,
        attempts: int,
        elapsed: float,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        `attempts` made so far, `elapsed` seconds since this request first failed, and the
        server's `retry_after` in seconds if it sent one.
        """
        if attempts >= self.max_attempts or elapsed >= self.budget:
            return None
        wait = self.backoff(attempts, rand())
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_cap))
        return min(wait, self.budget - elapsed)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asks us to wait: `retry-after-ms`, then `Retry-After` (seconds or an
    HTTP-date), then the reset time of an exhausted `x-ratelimit-*` quota; None if none says."""
    ms = headers.get("retry-after-ms")
    if ms is not None:
        seconds = _number(ms)
        if seconds is not None:
            return max(0.0, seconds / 1000)
    value = headers.get("retry-after")
    if value is not None:
        seconds = _number(value)
        if seconds is None:
            seconds = _http_date(value, time.time() if now is None else now)
        if seconds is not None:
            return max(0.0, seconds)
    return quota_reset(headers)


def quota_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until an exhausted request or token quota resets (OpenAI's x-ratelimit-*)."""
    waits = []
    for kind in ("requests", "tokens"):
        if headers.get(f"x-ratelimit-remaining-{kind}", "").strip() == "0":
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}", ""))
            waits.append(1.0 if reset is None else reset)
    return max(waits) if waits else None


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """`"1s"`, `"20ms"`, `"6m0s"`, `"1h2m3.5s"` or a bare number of seconds, in seconds."""
    text = text.strip()
    seconds = _number(text)
    if seconds is not None:
        return max(0.0, seconds)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(n) * _UNIT[u] for n, u in parts)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _http_date(text: str, now: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
        return None if when.tzinfo is None else when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
