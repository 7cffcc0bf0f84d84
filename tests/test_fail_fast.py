"""Transient faults are ridden out, hopeless ones end in one line at once.

Truncated bodies from an endpoint that has answered well are retried (a wrong URL still gives up
quickly); a host name that does not resolve fails at once; `--num-instructions 0` and a
malformed config file are refused up front, each in one line.
"""

from __future__ import annotations

import json
import random
import socket
import time
from pathlib import Path

import pytest
from children import one_error_line

import selfinstruct
from selfinstruct.cli import main
from selfinstruct.errors import ConfigError
from selfinstruct.llm.base import GenerationParams, complete
from selfinstruct.llm.failures import dropped
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.testing.openai_stub import Fault, StubServer

FAST = {"backoff": (0.01, 0.05), "cooldown": (0.05, 0.1), "server": "openai"}


def truncating(share: float, after: int, seed: int = 7):
    """Truncated bodies for `share` of the requests after the first `after`."""

    def pick(number: int) -> Fault | None:
        if number < after:
            return None
        return Fault.truncated() if random.Random(seed * 1_009 + number).random() < share else None

    return pick


def test_truncated_bodies_from_an_endpoint_that_answered_well_are_retried() -> None:
    with StubServer(fault_fn=truncating(0.3, after=2)) as server:
        backend = OpenAIBackend(model="m", base_url=server.url, max_concurrency=8, **FAST)
        prompts = [f"prompt {i}" for i in range(120)]
        done = complete(backend, prompts, GenerationParams(max_tokens=20))
        garbled = server.statuses.get("truncated", 0)
    assert len(done) == 120 and all(c.text for c in done)
    assert garbled >= 25 and backend.retries >= garbled  # really truncated, each retried


def test_a_run_with_30_percent_truncated_bodies_completes(tmp_path: Path, capsys) -> None:
    with StubServer(fault_fn=truncating(0.3, after=1)) as server:
        argv = ["run", "--out", str(tmp_path), "--base-url", server.url, "--num-instructions",
                "8", "--no-progress", "--concurrency", "4"]  # fmt: skip
        code = main(argv)
        garbled = server.statuses.get("truncated", 0)
    _out, err = capsys.readouterr()
    assert code == 0, err
    assert garbled >= 3
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["bootstrap"]["accepted"] == 8 and stats["instances"]["tasks"] == 8


def test_an_endpoint_that_never_answered_well_still_gives_up_quickly() -> None:
    with StubServer(fault_fn=lambda n: Fault.truncated()) as server:
        backend = OpenAIBackend(model="m", base_url=server.url, **FAST)
        started = time.monotonic()
        with pytest.raises(selfinstruct.BackendError, match="not valid JSON"):
            complete(backend, ["a"], GenerationParams(max_tokens=5))
    assert time.monotonic() - started < 10 and server.count == 4


def test_a_host_name_that_does_not_resolve_fails_at_once(tmp_path: Path, capsys) -> None:
    started = time.monotonic()
    code = main(["bootstrap", "--out", str(tmp_path), "--no-progress", "--base-url",
                 "http://no-such-host.invalid:8000/v1", "--num-instructions", "3"])  # fmt: skip
    took = time.monotonic() - started
    line = one_error_line(capsys.readouterr().err)
    assert code == 2 and took < 30  # not the 180 s retry budget of a restarting server
    assert "no-such-host.invalid" in line and "does not resolve" in line


@pytest.mark.parametrize(
    ("exc", "final"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), True),
        (OSError("[Errno 8] nodename nor servname provided, or not known"), True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), False),
        (ConnectionRefusedError(111, "Connection refused"), False),
    ],
)
def test_only_a_name_that_does_not_exist_is_final(exc: BaseException, final: bool) -> None:
    wrapped = RuntimeError("All connection attempts failed")
    wrapped.__cause__ = exc
    failure = dropped(wrapped, "sk-x")
    assert failure.retry is not final
    assert ("does not resolve" in failure.hint) is final


def test_zero_instructions_are_refused_up_front(tmp_path: Path, capsys) -> None:
    for command in ("run", "bootstrap"):
        code = main([command, "--out", str(tmp_path / command), "--num-instructions", "0"])
        line = one_error_line(capsys.readouterr().err)
        assert code == 2 and "--num-instructions = 0" in line and ">= 1" in line
        assert not (tmp_path / command).exists()  # refused before the directory is made
    with pytest.raises(ConfigError, match="num-instructions = 0"):
        selfinstruct.run("en", tmp_path / "lib", num_instructions=0)
    with pytest.raises(ConfigError, match="num-instructions = 0"):
        selfinstruct.bootstrap("en", tmp_path / "lib", num_instructions=0)


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        (
            "bad.yaml",
            "out: x\nbootstrap:\n  threshold: [0.5, 0.6\nseed: 3\n",
            ":4:5: not valid YAML",
        ),
        ("bad.yml", "out: x\n\tseed: 3\n", ":2:1: not valid YAML"),
        ("bad.toml", 'out = "x"\n[bootstrap\nthreshold = 0.6\n', ":2:11: not valid TOML"),
        ("bad2.toml", "seed = \n", ":1:8: not valid TOML"),
    ],
)
def test_a_malformed_config_file_is_one_line_naming_file_line_and_column(
    tmp_path: Path, capsys, name: str, text: str, where: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert main(["run", "--config", str(path), "--dump-config"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"{path}{where}" in line, line
    with pytest.raises(ConfigError) as err:
        selfinstruct.RunConfig.from_file(path)
    assert "\n" not in str(err.value)
