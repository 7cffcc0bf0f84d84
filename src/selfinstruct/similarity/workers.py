"""Worker processes that each hold one slice (a Shard) of the pool and answer queries on it.

Each worker is `python -m selfinstruct.similarity.worker`, talking pickles over its stdin and
stdout, so nothing depends on how the parent was started (no re-import of the user's main
module, no fork of a threaded parent). The parent sends a command to every worker, does its own
slice meanwhile, then reads the replies in worker order. Workers run in their own session, so a
Ctrl-C reaches only the parent, which stops them; they also exit when their stdin closes, so
none outlives the parent.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from ..errors import SelfInstructError

_STOP_TIMEOUT_S = 5.0
_WORKER_MODULE = "selfinstruct.similarity.worker"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


class WorkerError(SelfInstructError, RuntimeError):
    """A similarity worker process died; its slice of the pool is gone."""


def start_worker(module: str, *args: str) -> subprocess.Popen[bytes]:
    """`python -m module args...`, talking over its stdin and stdout, importing selfinstruct
    from where this process did, in its own session (a Ctrl-C reaches the parent only, which
    stops it)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_PACKAGE_ROOT, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        start_new_session=True,
    )


def _shutdown(procs: list[subprocess.Popen[bytes]]) -> None:
    """Close every worker's pipes (it then exits) and reap it; kill any that lingers."""
    for proc in procs:
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
    for proc in procs:
        try:
            proc.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class ShardPool:
    """`size` worker processes, one Shard each, addressed by worker number 0..size-1."""

    def __init__(self, threshold: float, size: int, tail_size: int) -> None:
        self.size = size
        self._procs: list[subprocess.Popen[bytes]] = []
        self._finalizer = weakref.finalize(self, _shutdown, self._procs)
        for _ in range(size):
            self._procs.append(start_worker(_WORKER_MODULE, repr(float(threshold)), str(tail_size)))
        self._pending: list[list[str]] = [[] for _ in range(size)]

    def add(self, worker_no: int, seq: str) -> None:
        """Queue an entry for a worker's slice; queued entries go out before the next query."""
        self._pending[worker_no].append(seq)

    def add_many(self, worker_no: int, seqs: list[str]) -> None:
        """Queue entries for a worker's slice, in order."""
        self._pending[worker_no].extend(seqs)

    def _send(self, proc: subprocess.Popen[bytes], message: tuple[object, ...]) -> None:
        stdin = proc.stdin
        if stdin is None:  # start_worker always opens a pipe
            raise RuntimeError("a similarity worker was started without a stdin pipe")
        try:
            pickle.dump(message, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
        except (BrokenPipeError, ValueError) as exc:
            raise self._died(proc) from exc

    def _died(self, proc: subprocess.Popen[bytes]) -> WorkerError:
        return WorkerError(
            f"similarity worker (pid {proc.pid}) exited with code {proc.poll()}; "
            "rerun, or use workers=1 to keep the whole pool in this process"
        )

    def _broadcast(self, *message: object) -> None:
        self._send_each([message] * self.size)

    def _send_each(self, messages: list[tuple[object, ...]]) -> None:
        """One message to each worker, after the entries queued for it."""
        if not self._procs or self._finalizer.alive is False:
            raise WorkerError("the similarity workers are closed; create a new SimilarityIndex")
        for proc, pending, message in zip(self._procs, self._pending, messages, strict=True):
            if pending:
                self._send(proc, ("add", pending))
            self._send(proc, message)
        self._pending = [[] for _ in range(self.size)]

    def send_best(self, seqs: list[str]) -> None:
        """Ask every worker for (max F, local position) of each query in its slice."""
        self._broadcast("best", seqs)

    def send_rejection(self, seqs: list[str]) -> None:
        """Ask every worker, per query, for (max F, local position) if it exceeds the threshold."""
        self._broadcast("rejection", seqs)

    def send_top(self, seq: str, k: int, floor: float) -> None:
        """Ask every worker for its k best (local position, F), those below floor left out."""
        self._broadcast("top", seq, k, floor)

    def send_all(self, seq: str) -> None:
        """Ask every worker for the F of every entry of its slice, in local order."""
        self._broadcast("all", seq)

    def send_at(self, seq: str, positions: list[list[int]]) -> None:
        """Ask each worker for the F of the entries at its own list of local positions."""
        self._send_each([("at", seq, these) for these in positions])

    def receive(self) -> list[Any]:
        """The replies to the last query, in worker order."""
        replies = []
        for proc in self._procs:
            try:
                replies.append(pickle.load(proc.stdout))  # type: ignore[arg-type]
            except EOFError as exc:
                raise self._died(proc) from exc
        return replies

    def close(self) -> None:
        """Stop the workers (idempotent)."""
        self._finalizer()
