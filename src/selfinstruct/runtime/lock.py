"""One writer per run directory: `run.lock`, an OS lock held while a stage or a run works.

The lock is `flock` on `DIR/run.lock`, an open file held by the process, so the kernel drops it
the moment the process ends however it ends (SIGKILL, a crash, power loss); the file records
who holds it (pid, host, command, start) for the message another process gets, and its mtime
is refreshed every `HEARTBEAT` seconds. The rule (docs/pipeline.md): a lock the kernel grants
is free, unless its record names another host whose heartbeat is younger than `STALE_AFTER`
(a shared file system that does not carry flock between hosts); a granted lock that still
holds a record was left by a dead process and is taken over with a line saying so. Taking it
is re-entrant within one process (a run's stages share it); the last release removes the file.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RunDirBusy
from ..text.redact import redact_text

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: only the recorded holder and heartbeat count
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "run.lock"
HEARTBEAT = 30.0
"""Seconds between refreshes of the lock file's mtime, the sign of life other hosts can see."""
STALE_AFTER = 150.0
"""Another host's lock whose mtime is older than this is stale (its holder died or hung up)."""
log = logging.getLogger(__name__)
command: list[str] | None = None
"""The command line to record for this process (the CLI sets it); default: sys.argv."""


@dataclass
class RunLock:
    """A held lock: its file, the open descriptor that holds it, how many users share it."""

    path: Path
    fd: int
    count: int = 1
    stop: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        """Give up one use; the last one removes the file and lets the lock go."""
        release(self)


_held: dict[str, RunLock] = {}
_guard = threading.Lock()


def acquire(root: Path) -> RunLock:
    """Take the lock of run directory `root`, or raise RunDirBusy naming who holds it."""
    path = Path(root) / LOCK_NAME
    key = os.path.realpath(path)
    with _guard:
        mine = _held.get(key)
        if mine is not None:
            mine.count += 1
            return mine
        lock = _take(path)
        _held[key] = lock
    threading.Thread(target=_heartbeat, args=(lock,), daemon=True).start()
    return lock


def release(lock: RunLock) -> None:
    """Give up one use of `lock` (see RunLock.release)."""
    with _guard:
        lock.count -= 1
        if lock.count > 0:
            return
        _held.pop(os.path.realpath(lock.path), None)
        lock.stop.set()
        try:
            if _same_file(lock.fd, lock.path):
                os.unlink(lock.path)  # while still locked: no one can take a lock on it after
        except OSError:
            pass
        os.close(lock.fd)  # closing drops the flock


def _take(path: Path) -> RunLock:
    for _ in range(20):  # the file may be removed and recreated between open and flock
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            granted = _flock(fd)
            if granted and not _same_file(fd, path):
                os.close(fd)
                continue
            record = _parse(_read(fd))
            if not granted:
                for _ in range(40):  # the holder may not have written its record yet
                    if record is not None:
                        break
                    time.sleep(0.05)
                    record = _parse(_read(fd))
                raise RunDirBusy(_busy(path.parent, record, None))
            age = time.time() - os.fstat(fd).st_mtime
            if record and record.get("host") != socket.gethostname() and age < STALE_AFTER:
                raise RunDirBusy(_busy(path.parent, record, age))
            if record and record.get("pid") != os.getpid():
                gone = (
                    "which is no longer running"
                    if record.get("host") == socket.gethostname()
                    else f"silent for {age:.0f} s"
                )
                log.warning("taking over %s: left by %s, %s", path, _who(record), gone)
            _write(fd, _record())
        except BaseException:
            os.close(fd)
            raise
        return RunLock(path, fd)
    raise RunDirBusy(f"{path}: cannot take the lock (it keeps being replaced); try again")


def _flock(fd: int) -> bool:
    """Try to take the OS lock without waiting: True when granted."""
    if fcntl is None:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False


def _record() -> dict[str, Any]:
    argv = command or [_program(), *sys.argv[1:]]
    line = redact_text(shlex.join(argv))
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": line[:300],
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
    }


def _who(record: dict[str, Any]) -> str:
    return (
        f"pid {record.get('pid')} on {record.get('host')} (`{record.get('command')}`, "
        f"since {record.get('started')})"
    )


def _busy(root: Path, record: dict[str, Any] | None, age: float | None) -> str:
    """The one line for a directory another process is working in."""
    who = _who(record) if record else "another process"
    if age is None:
        return f"{root} is in use by {who}: wait for it to finish or stop it, or pass another --out"
    return (
        f"{root} is in use by {who}, alive {age:.0f} s ago: wait for it to finish or stop "
        f"it; if it is gone, {LOCK_NAME} counts as stale after {STALE_AFTER:.0f} s "
        f"(or delete {root / LOCK_NAME})"
    )


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 4096).decode("utf-8", "replace")


def _write(fd: int, record: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(record) + "\n").encode("utf-8"), 0)
    os.fsync(fd)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _heartbeat(lock: RunLock) -> None:
    """Refresh the lock file's mtime until released: other hosts see the holder is alive."""
    while not lock.stop.wait(HEARTBEAT):
        with contextlib.suppress(OSError):
            os.utime(lock.fd)


def _program() -> str:
    """The command's name: `selfinstruct` for the CLI however it was started."""
    first = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    if Path(first).name == "__main__.py" and "selfinstruct" in first:
        return "selfinstruct"
    return Path(first).name
