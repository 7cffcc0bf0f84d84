"""No credential on disk or screen: a password and keys planted in `--base-url` (user-info and
query) are sent to the server (basic auth, query) but appear in no file a run or a report writes
and in nothing the commands print, error paths included."""

from __future__ import annotations

import base64
import socket
import subprocess
import sys
from pathlib import Path

from selfinstruct.llm.failures import dropped
from selfinstruct.testing.openai_stub import Fault, StubServer
from selfinstruct.text.redact import redact_text, redact_url, secrets_of

PASSWORD, KEY, TOKEN, OTHER = "Pl4ntedPassw0rd", "planted-query-key", "PlantedTok3n", "s3cr3tOther"
BASIC = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
SECRETS = (PASSWORD, KEY, TOKEN, OTHER, BASIC)


def cli(*argv: str) -> tuple[int, str]:
    """Run the CLI in a child process: exit code and everything it printed."""
    proc = subprocess.run(
        [sys.executable, "-m", "selfinstruct.cli", *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout + proc.stderr


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_secrets(url: str, user: str = "alice", password: str = PASSWORD) -> str:
    scheme, rest = url.split("://")
    return f"{scheme}://{user}:{password}@{rest}?key={KEY}&api-version=2024-01"


def test_planted_credentials_are_sent_but_never_written_or_shown(tmp_path: Path) -> None:
    out, failing_out = tmp_path / "run", tmp_path / "failing"
    dead = f"http://bob:{OTHER}@127.0.0.1:{closed_port()}/v1?access_token={TOKEN}"
    with StubServer() as good, StubServer(fault_fn=lambda n: Fault.http(401)) as refusing:
        urls = f"{with_secrets(good.url)},{dead}"
        common = ["--base-url", urls]  # progress bars on: they are printed too
        printed = []
        code, text = cli("run", "--out", str(out), "--num-instructions", "4", *common)
        printed.append(text)
        assert code == 0, text
        assert "access_token=***" in text  # the dead endpoint's retry line, redacted
        code, text = cli("report", "--out", str(out))
        printed.append(text)
        assert code == 0, text
        code, text = cli("run", "--out", str(out), "--dump-config", *common)
        printed.append(text)
        assert code == 0 and "key=***" in text and "127.0.0.1" in text, text
        bad = ["--base-url", with_secrets(refusing.url), "--no-progress"]
        code, text = cli("bootstrap", "--out", str(failing_out), *bad)
        printed.append(text)
        assert code == 2 and "401" in text, text  # the server quoted our Authorization header
        code, text = cli("run", "--out", str(failing_out), "--base-url", f"ftp://a:{PASSWORD}@h")
        printed.append(text)
        assert code == 2 and "ftp://h" in text, text
        seen = good.requests[-1]
    assert seen.headers["authorization"] == f"Basic {BASIC}"  # user-info became basic auth
    assert f"key={KEY}" in seen.path and "api-version=2024-01" in seen.path
    assert seen.path.split("?")[0].endswith("/completions")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) >= 10 and any(p.parent.name == "report" for p in written)
    for secret in SECRETS:
        for path in written:
            assert secret.encode() not in path.read_bytes(), (secret, path)
        for text in printed:
            assert secret not in text, (secret, text)
    stats = (out / "stats.json").read_text()
    assert f"http://127.0.0.1:{good.port}/v1?key=***&api-version=2024-01" in stats


def test_redact_url_drops_user_info_and_masks_secret_looking_parameters() -> None:
    url = "https://u:p%40ss@[::1]:8443/v1?API_KEY=a1&Signature=s2&x-auth-token=t3&sig=q&v=1#f"
    assert redact_url(url) == (
        "https://[::1]:8443/v1?API_KEY=***&Signature=***&x-auth-token=***&sig=***&v=1#f"
    )
    assert redact_url("http://host:8000/v1") == "http://host:8000/v1"
    text = f"error: 'http://alice:{PASSWORD}@h/v1?password=zz', see (https://x:y@z/v1)."
    assert redact_text(text) == "error: 'http://h/v1?password=***', see (https://z/v1)."
    assert set(secrets_of(with_secrets("http://h/v1"))) >= {PASSWORD, KEY, BASIC}


def test_connection_errors_quoting_the_url_are_redacted() -> None:
    exc = OSError(f"cannot connect to http://alice:{PASSWORD}@h:1/v1?token={TOKEN}")
    failure = dropped(exc, "sk-key")
    assert PASSWORD not in failure.what and TOKEN not in failure.what
    assert "http://h:1/v1?token=***" in failure.what


def test_a_real_server_is_reached_through_a_url_with_credentials(llama_server) -> None:
    from selfinstruct.llm.base import GenerationParams, complete
    from selfinstruct.llm.openai_backend import OpenAIBackend

    url = with_secrets(llama_server.base_url)
    backend = OpenAIBackend(model=llama_server.model, base_url=url, server="llama.cpp")
    (answer,) = complete(backend, ["Say hi."], GenerationParams(max_tokens=8, temperature=0))
    assert answer.completion_tokens > 0
    assert answer.endpoint == redact_url(url) and PASSWORD not in answer.endpoint
    assert PASSWORD not in repr(backend) and KEY not in repr(backend)
