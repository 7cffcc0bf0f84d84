"""One writer per run directory: real processes through the CLI against the stub server.

Two runs started together on one directory (one finishes, the other is refused in one line that
names the first), a SIGKILLed run rerun without cleanup, stale locks of dead processes and of
other hosts, read-only commands beside a live run, and a pool corrupted before the lock existed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from children import CHILD

from selfinstruct.cli import main
from selfinstruct.runtime.jsonl import read_jsonl
from selfinstruct.runtime.lock import LOCK_NAME, STALE_AFTER
from selfinstruct.testing.openai_stub import StubServer

HOLDER = (
    "import sys, time; from selfinstruct.runtime.lock import acquire; acquire(sys.argv[1]); "
    "print('held', flush=True); time.sleep(120)"
)
"""A process that holds a run directory's lock and does nothing else."""


def spawn(procs: list, *argv: str, code: str = CHILD) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    procs.append(proc)
    return proc


def error_lines(err: str) -> list[str]:
    assert "Traceback" not in err, err
    return [line for line in err.splitlines() if line.strip()]


def indexes(out: Path) -> list[int]:
    return [row["index"] for row in read_jsonl(out / "machine_instructions.jsonl")]


def test_two_runs_started_together_one_finishes_the_other_is_refused(
    tmp_path: Path, children
) -> None:
    out = tmp_path / "run"
    with StubServer(latency=0.15) as server:
        argv = ["run", "--out", str(out), "--base-url", server.url, "--num-instructions", "30",
                "--no-progress", "--concurrency", "4"]  # fmt: skip
        procs = [spawn(children, *argv), spawn(children, *argv)]
        results = [(p.pid, *p.communicate(timeout=120)) for p in procs]
        results = [(pid, p.returncode, o, e) for p, (pid, o, e) in zip(procs, results, strict=True)]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], results
    (winner,) = [r for r in results if r[1] == 0]
    (loser,) = [r for r in results if r[1] == 2]
    lines = error_lines(loser[3].decode())
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert f"pid {winner[0]}" in lines[0] and "in use" in lines[0] and "--out" in lines[0]
    assert "selfinstruct run --out" in lines[0]  # the holder's command, for the user to find
    got = indexes(out)
    assert sorted(got) == list(range(30)) and len(set(got)) == 30
    assert not (out / LOCK_NAME).exists()  # released when the winner finished


def test_a_sigkilled_run_is_rerun_without_manual_cleanup(tmp_path: Path, children, caplog) -> None:
    out = tmp_path / "run"
    with StubServer(latency=0.03) as server:
        argv = ["bootstrap", "--out", str(out), "--base-url", server.url, "--num-instructions",
                "100000", "--no-progress", "--patience", "0"]  # fmt: skip
        proc = spawn(children, *argv)
        path = out / "machine_instructions.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not path.exists() or path.read_bytes().count(b"\n") < 10
        ):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert (out / LOCK_NAME).exists()  # what SIGKILL leaves behind
        before = indexes(out)
        resume = [*argv[:6], str(len(before) + 5), "--no-progress"]
        assert main(resume) == 0
    err = caplog.text  # a WARNING: what a user without logging set up sees on stderr
    assert f"taking over {out / LOCK_NAME}: left by pid {proc.pid}" in err, err
    assert "no longer running" in err
    after = indexes(out)
    assert after[: len(before)] == before and after == list(range(len(before) + 5))


def test_read_only_commands_never_block_and_a_second_writer_is_refused(
    tmp_path: Path, children, capsys
) -> None:
    out = tmp_path / "run"
    with StubServer() as server:
        common = ["--out", str(out), "--base-url", server.url, "--no-progress"]
        assert main(["run", *common, "--num-instructions", "3"]) == 0
        holder = spawn(children, str(out), code=HOLDER)
        assert holder.stdout.readline() == b"held\n"
        capsys.readouterr()
        assert main(["report", "--out", str(out)]) == 0
        assert main(["run", *common, "--dump-config"]) == 0
        assert main(["run", *common, "--num-instructions", "3", "--estimate"]) == 0
        capsys.readouterr()
        for command in (["run", *common, "--num-instructions", "3"], ["export", *common[:2]]):
            assert main(command) == 2
            (line,) = error_lines(capsys.readouterr().err)
            assert f"in use by pid {holder.pid}" in line and "since" in line
    import selfinstruct

    with pytest.raises(selfinstruct.ConfigError, match=f"in use by pid {holder.pid}"):
        selfinstruct.export_run(out)  # the library takes the same lock
    assert len(selfinstruct.to_dataset(out)) == 3  # and reading never waits for it


@pytest.mark.parametrize("age", [0.0, STALE_AFTER + 60])
def test_another_hosts_lock_is_honoured_while_alive_and_taken_over_when_stale(
    tmp_path: Path, capsys, caplog, age: float
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    lock = out / LOCK_NAME
    record = {"pid": 4242, "host": "gpu-node-7", "command": "selfinstruct run", "started": "x"}
    lock.write_text(json.dumps(record))
    then = time.time() - age
    os.utime(lock, (then, then))
    with StubServer() as server:
        code = main(["run", "--out", str(out), "--base-url", server.url, "--no-progress",
                     "--num-instructions", "2"])  # fmt: skip
    err = capsys.readouterr().err
    if age == 0.0:
        assert code == 2
        (line,) = error_lines(err)
        assert "pid 4242 on gpu-node-7" in line and "stale after" in line
        assert json.loads(lock.read_text()) == record  # untouched
    else:
        assert code == 0, err
        err = caplog.text
        assert "left by pid 4242 on gpu-node-7" in err and "silent for" in err
        assert not lock.exists()


def test_a_pool_whose_indexes_repeat_is_refused_not_resumed(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    with StubServer() as server:
        argv = ["run", "--out", str(out), "--base-url", server.url, "--no-progress",
                "--num-instructions", "4"]  # fmt: skip
        assert main(argv) == 0
        pool = out / "machine_instructions.jsonl"
        lines = pool.read_bytes().splitlines(keepends=True)
        pool.write_bytes(b"".join([*lines, *lines]))  # two pools interleaved, as before the lock
        capsys.readouterr()
        sent = server.count
        assert main([*argv[:-1], "8"]) == 2
        assert main(["report", "--out", str(out)]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)
    assert f"{pool}:5: field 'index'" in lines[0] and "also on line 1" in lines[0]
    assert "new --out" in lines[0]
    assert server.count == sent  # refused before any request
