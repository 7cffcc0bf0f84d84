"""The few exception types selfinstruct raises; each message says what to fix."""

from __future__ import annotations


class SelfInstructError(Exception):
    """Base class of every error selfinstruct raises on purpose."""


class DataError(SelfInstructError, ValueError):
    """A data file (pool, instances, training data) is invalid; names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str | None, problem: str) -> None:
        self.path, self.line, self.field, self.problem = path, line, field, problem
        where = path if line is None else f"{path}:{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {problem}")


class SeedError(DataError):
    """A seed file is unreadable or invalid; the message names file, line and field."""


class ConfigError(SelfInstructError, ValueError):
    """An option or config file value is out of range or inconsistent."""


class RunDirBusy(ConfigError):
    """Another live process is working in the run directory; names it and what to do."""


class BackendError(SelfInstructError, RuntimeError):
    """The LLM backend failed in a way retries cannot fix (bad request, auth, no endpoint)."""


class MissingDependencyError(SelfInstructError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, feature: str, extra: str) -> None:
        super().__init__(
            f"Please install `{package}` to use {feature} (`pip install 'selfinstruct[{extra}]'`)."
        )


class BudgetExhausted(SelfInstructError):
    """The token budget is spent; everything accepted so far is on disk.

    Kept for API compatibility: nothing raises it. A spent `token_budget` is a normal stop, not
    an error: bootstrap returns with `stopped == "token_budget"` and `run` goes on to the later
    stages with what was accepted.
    """


class Terminated(KeyboardInterrupt):
    """SIGTERM asked the run to stop; it stops as cleanly as on Ctrl-C (exit code 143)."""
