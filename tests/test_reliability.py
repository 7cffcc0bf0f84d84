"""A run's edges: server faults end in a completed run or one line, local errors in one line,
signals in a clean stop; settings, tokens and data survive whatever happened.

Faults come from a local OpenAI-compatible server (selfinstruct.testing.openai_stub); the command
runs as users run it, in-process through `selfinstruct.cli.main` or as a child process for signals,
resource limits and file permissions.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from bootstrap_lists import task_line
from children import CHILD, one_error_line
from fakes import FakeBackend, unscored
from scripted import respond, scripted_server

from selfinstruct import classify
from selfinstruct.cli import main
from selfinstruct.runtime.jsonl import encode_line, read_jsonl
from selfinstruct.runtime.records import MachineInstruction
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.testing.openai_stub import Fault, StubServer

TESTS = Path(__file__).parent


def spawn(procs: list, argv: list[str], **kwargs) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )
    procs.append(proc)
    return proc


def lines_of(path: Path) -> list[dict]:
    return list(read_jsonl(path))


# ---------------------------------------------------------------- server faults, end to end


def test_a_run_through_every_transient_fault_completes(tmp_path: Path, capsys) -> None:
    faults = [
        Fault.http(429, retry_after="0"), Fault.http(503), Fault.http(500), Fault.truncated(),
        Fault.empty_choices(), Fault.html(), Fault.close(), Fault.reset(), Fault.bad_utf8(),
        Fault.surrogate(), Fault.cut(), Fault.garbage(),
    ]  # fmt: skip
    rng = random.Random(3)
    with StubServer(
        reply=lambda _t, body: respond(body.get("messages") or body["prompt"], None),
        fault_fn=lambda n: rng.choice(faults) if n % 3 == 1 else None,
    ) as server:
        argv = ["run", "--out", str(tmp_path), "--base-url", server.url, "--num-instructions",
                "6", "--no-progress", "--concurrency", "3"]  # fmt: skip
        code = main(argv)
        kinds = {k for k in server.statuses}
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert "Traceback" not in err
    assert len(kinds) >= 6  # many kinds of fault were really sent
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["bootstrap"]["accepted"] == 6 and stats["instances"]["tasks"] == 6
    for name in ("machine_instructions.jsonl", "classification.jsonl", "instances.jsonl"):
        lines_of(tmp_path / name)  # every line whole and valid


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (Fault.http(401), ["401", "SELFINSTRUCT_TEST_KEY"]),
        (Fault.http(404), ["404", "model"]),
        (Fault.http(400), ["400"]),
    ],
)
def test_a_fatal_answer_is_one_line_naming_endpoint_status_and_fix(
    tmp_path: Path, capsys, fault: Fault, words: list[str]
) -> None:
    key = "sk-secret-0123456789abcdefghijklmnop"
    os.environ["SELFINSTRUCT_TEST_KEY"] = key
    try:
        with StubServer(fault_fn=lambda n: fault) as server:
            argv = ["bootstrap", "--out", str(tmp_path), "--base-url", server.url, "--model",
                    "m", "--api-key-env", "SELFINSTRUCT_TEST_KEY", "--no-progress"]  # fmt: skip
            assert main(argv) == 2
            url = server.url
    finally:
        del os.environ["SELFINSTRUCT_TEST_KEY"]
    out, err = capsys.readouterr()
    line = one_error_line(err)
    assert url in line and all(w in line for w in words), line
    assert key[3:15] not in out + err  # the server echoed the Authorization header


# ---------------------------------------------------------------- local errors, one line each


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://[::1/v1", ["--base-url", "http://[::1/v1", "Invalid IPv6 URL"]),
        ("http://127.0.0.1:99999/v1", ["--base-url", "99999", "out of range"]),
        ("ftp://127.0.0.1/v1", ["--base-url", "https://"]),
    ],
)
def test_bad_urls_are_one_line(tmp_path: Path, capsys, url: str, words: list[str]) -> None:
    assert main(["bootstrap", "--out", str(tmp_path), "--base-url", url]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert all(w in line for w in words), line


def test_out_that_is_a_file_or_under_a_file_is_one_line(tmp_path: Path, capsys) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me", encoding="utf-8")
    for out in (afile, afile / "run"):
        assert main(["export", "--out", str(out)]) != 0
        line = one_error_line(capsys.readouterr().err)
        assert str(afile) in line
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_missing_prompt_dir_and_empty_directories_are_errors(tmp_path: Path, capsys) -> None:
    assert main(["export", "--out", str(tmp_path), "--prompt-dir", str(tmp_path / "nope")]) == 2
    assert "--prompt-dir" in one_error_line(capsys.readouterr().err)
    for stage, before in (
        ("classify", "bootstrap"),
        ("instances", "bootstrap"),
        ("export", "instances"),
    ):
        assert main([stage, "--out", str(tmp_path / stage)]) == 2
        assert f"selfinstruct {before}" in one_error_line(capsys.readouterr().err)


def made_run(tmp_path: Path, n: int = 4) -> tuple[Path, StubServer]:
    server = scripted_server().start()
    out = tmp_path / "run"
    assert main(["bootstrap", "--out", str(out), "--base-url", server.url, "--num-instructions",
                 str(n), "--no-progress"]) == 0  # fmt: skip
    return out, server


def test_disk_full_is_one_line_and_the_data_stays_whole(tmp_path: Path, capsys) -> None:
    out, server = made_run(tmp_path)
    try:
        before = (out / "machine_instructions.jsonl").read_bytes()
        # stats.json is replaced through stats.json.tmp: every write there fails with ENOSPC
        (out / "stats.json.tmp").symlink_to("/dev/full")
        argv = ["bootstrap", "--out", str(out), "--base-url", server.url, "--num-instructions",
                "8", "--no-progress"]  # fmt: skip
        assert main(argv) == 1
    finally:
        server.stop()
    line = one_error_line(capsys.readouterr().err)
    assert "No space left on device" in line and "the disk is full" in line
    assert not os.path.lexists(out / "stats.json.tmp")  # a failed replacement leaves no temp
    after = (out / "machine_instructions.jsonl").read_bytes()
    assert after.startswith(before) and after.endswith(b"\n")
    assert len(lines_of(out / "machine_instructions.jsonl")) >= 4


def limited(limit: int) -> None:
    """In the child: files may not grow past `limit` bytes (EFBIG instead of SIGXFSZ)."""
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_file_too_large_is_one_line_and_the_rerun_resumes(tmp_path: Path, children) -> None:
    with scripted_server() as server:
        out = tmp_path / "run"
        argv = ["bootstrap", "--out", str(out), "--base-url", server.url, "--num-instructions",
                "40", "--no-progress"]  # fmt: skip
        proc = spawn(children, argv, preexec_fn=lambda: limited(6000))
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        line = one_error_line(err.decode())
        assert "File too large" in line
        kept = lines_of(out / "machine_instructions.jsonl")  # a torn tail is skipped
        assert 0 < len(kept) < 40
        assert main(argv) == 0
        again = lines_of(out / "machine_instructions.jsonl")
    assert unscored(again)[: len(kept)] == kept and len(again) == 40
    assert all(r["max_rouge"] is not None for r in again)  # the rerun scored them all


def without_root_file_powers() -> list[str]:
    """A command prefix under which file permissions apply (root normally bypasses them)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


def test_permissions_are_one_line(tmp_path: Path) -> None:
    """An unreadable seed file and a read-only output directory: one line each, exit non-zero."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"instruction": "Say hi.", "output": "Hi."}\n', encoding="utf-8")
    seeds.chmod(0o000)
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    cases = [
        (["seeds", "validate", str(seeds)], "permission denied"),
        (["bootstrap", "--seeds", str(seeds), "--out", str(tmp_path / "o"), "--base-url",
          "http://127.0.0.1:9/v1"], "permission denied"),
        (["export", "--out", str(readonly / "run")], "Permission denied"),
        (["export", "--out", str(readonly)], "Permission denied"),
    ]  # fmt: skip
    try:
        for argv, words in cases:
            done = subprocess.run(
                [*without_root_file_powers(), sys.executable, "-c", CHILD, *argv],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode != 0 and words in done.stderr, (argv, done.stderr)
            assert "Traceback" not in done.stderr
            lines = [x for x in done.stderr.splitlines() if x.strip()]
            assert lines[-1].startswith(("error: ", "invalid: ")), done.stderr
    finally:
        readonly.chmod(0o755)
        seeds.chmod(0o644)


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_cleanly_and_the_rerun_resumes(
    tmp_path: Path, children, signum: int, code: int
) -> None:
    out = tmp_path / "run"
    with StubServer(latency=0.05) as server:
        argv = ["bootstrap", "--out", str(out), "--base-url", server.url, "--num-instructions",
                "100000", "--no-progress", "--patience", "0"]  # fmt: skip
        proc = spawn(children, argv)
        path = out / "machine_instructions.jsonl"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            not path.exists() or path.read_bytes().count(b"\n") < 20
        ):
            time.sleep(0.05)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err
        assert b"Traceback" not in err and b"saved" in err
        kept = lines_of(path)
        assert len(kept) >= 20 and path.read_bytes().endswith(b"\n")
        stats = json.loads((out / "stats.json").read_text())["bootstrap"]
        assert stats["stopped"] == "interrupted" and stats["accepted"] == len(kept)
        resume = [*argv[:6], str(len(kept) + 5), "--no-progress"]
        assert main(resume) == 0
        again = lines_of(path)
    assert unscored(again)[: len(kept)] == kept and len(again) == len(kept) + 5
    assert all(r["max_rouge"] is not None for r in again)  # the rerun scored them all


def test_ctrl_c_while_the_pool_is_scored_keeps_the_file_and_the_rerun_finishes(
    tmp_path: Path, children
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    rng = random.Random(11)
    records = [
        MachineInstruction(instruction=task_line(rng), index=i, request=i // 3) for i in range(3000)
    ]  # as a loop interrupted before its pass leaves them: not scored
    path = out / "machine_instructions.jsonl"
    path.write_bytes(b"".join(encode_line(r) for r in records))
    before = path.read_bytes()
    argv = ["bootstrap", "--out", str(out), "--num-instructions", "3000",
            "--scoring-workers", "2"]  # fmt: skip
    proc = spawn(children, argv)  # the target is reached: no backend, only the pass
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + 120
    while b"scoring" not in seen and time.monotonic() < deadline:
        if select.select([proc.stderr], [], [], 0.1)[0]:
            seen += os.read(proc.stderr.fileno(), 65536)
    time.sleep(0.3)
    workers = [p for p in psutil.Process(proc.pid).children() if "pool_scores" in str(p.cmdline())]
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + err
    assert b"Traceback" not in err
    assert path.read_bytes() == before  # untouched: the pass rewrites it whole or not at all
    assert workers and not any(p.is_running() and p.status() != "zombie" for p in workers)
    assert main([*argv, "--no-progress"]) == 0
    again = lines_of(path)
    assert unscored(again) == lines_of_bytes(before)
    assert all(r["max_rouge"] is not None and r["most_similar"] for r in again)


def lines_of_bytes(data: bytes) -> list[dict]:
    return [json.loads(line) for line in data.splitlines()]


# ---------------------------------------------------------------- settings and accounting


def test_other_settings_in_the_same_directory_are_refused_unless_forced(
    tmp_path: Path, capsys
) -> None:
    out, server = made_run(tmp_path)
    try:
        common = ["bootstrap", "--out", str(out), "--base-url", server.url, "--no-progress",
                  "--num-instructions", "6"]  # fmt: skip
        assert main([*common, "--model", "other-model", "--temperature", "0.9"]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert "model" in line and "other-model" in line and "temperature 0.7 (now 0.9)" in line
        assert "--force" in line and "--out" in line
        assert main([*common, "--seeds", "zh"]) == 2
        assert "seeds" in one_error_line(capsys.readouterr().err)
        assert main([*common, "--model", "other-model", "--force"]) == 0
    finally:
        server.stop()
    meta = json.loads((out / "run.json").read_text())
    assert meta["settings"]["bootstrap"]["model"] == "other-model"


class Failing(FakeBackend):
    """Answers `good` calls, then every call fails before any answer (a dead server)."""

    def __init__(self, good: int) -> None:
        super().__init__(respond=lambda p, _: "Yes")
        self.good = good

    async def acomplete(self, prompts, params):
        if self.calls >= self.good:
            raise ConnectionError("server went away")
        return await super().acomplete(prompts, params)


def test_tokens_add_up_over_interrupted_and_resumed_invocations(tmp_path: Path) -> None:
    out, server = made_run(tmp_path, n=20)
    server.stop()
    spent = 0
    for good in (1, 2, 100):  # two invocations die part-way, the third completes
        backend = Failing(good)
        with contextlib.suppress(ConnectionError):
            classify(out, backend, progress=False, concurrency=1)
        spent += backend.usage.prompt_tokens
    stats = json.loads((out / "stats.json").read_text())["classify"]
    assert stats["classified"] == 20 and stats["stopped"] == "complete"
    assert stats["prompt_tokens"] == spent > 0
    assert RunDir.of(out).read_usage("classify")["invocations"] == 3


def test_raw_answers_are_stored_capped(tmp_path: Path) -> None:
    out, server = made_run(tmp_path, n=2)
    server.stop()
    huge = "No. " + "x" * 5_000_000
    classify(out, FakeBackend(respond=lambda p, _: huge), progress=False)
    size = (out / "classification.jsonl").stat().st_size
    assert size < 20_000
    rows = lines_of(out / "classification.jsonl")
    assert all("more characters not stored" in r["raw"] for r in rows)
