"""Start and stop a llama.cpp server (llama-cpp-python) on the bundled model: tests, benchmarks."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MODEL_ALIAS = "smollm2-135m-instruct"
LAUNCH = (
    "import runpy\n"
    "import llama_cpp.llama_cpp as llama_cpp\n"
    "default = llama_cpp.llama_model_default_params\n"
    "def params():\n"
    "    p = default()\n"
    "    p.use_extra_bufts = False\n"
    "    return p\n"
    "llama_cpp.llama_model_default_params = params\n"
    "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)
"""`python -m llama_cpp.server` without ggml's extra CPU buffer types (AMX, repacked weights):
on CPUs that report AMX where the sandbox does not grant it, the first decode segfaults."""


@dataclass
class LlamaServer:
    """A running server: where to send requests, which model name to ask for, where it logs."""

    base_url: str
    model: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, grace: float = 10.0) -> None:
        """Terminate the server, killing it if it does not exit within `grace` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def unavailable_reason() -> str | None:
    """Why a server cannot be started here (missing package or model), or None if it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (pip install 'selfinstruct[server]')"
    from selfinstruct.llm.model_files import bundled_model_path

    try:
        bundled_model_path()
    except Exception as exc:  # MissingDependencyError or BackendError, both say what to do
        return str(exc)
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    model_path: Path | None = None,
    *,
    n_ctx: int = 2048,
    n_threads: int | None = None,
    deadline: float = 120.0,
) -> LlamaServer:
    """Launch `python -m llama_cpp.server` on a free port and wait until /v1/models answers."""
    if model_path is None:
        from selfinstruct.llm.model_files import bundled_model_path

        model_path = bundled_model_path()
    port = free_port()
    threads = n_threads or min(4, os.cpu_count() or 1)
    cmd = [
        sys.executable, "-c", LAUNCH,
        "--model", str(model_path), "--model_alias", MODEL_ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(threads), "--n_threads_batch", str(threads),
        "--interrupt_requests", "False", "--verbose", "False",
    ]  # fmt: skip
    fd, log_name = tempfile.mkstemp(prefix="llama-server-", suffix=".log")
    with os.fdopen(fd, "wb") as log:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    server = LlamaServer(f"http://127.0.0.1:{port}/v1", MODEL_ALIAS, process, Path(log_name))
    try:
        _wait_ready(server, deadline)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: LlamaServer, deadline: float) -> None:
    """Poll /v1/models until it lists a model; fail with the server's log tail if it never does."""
    stop_at = time.monotonic() + deadline
    while time.monotonic() < stop_at:
        if server.process.poll() is not None:
            raise RuntimeError(f"llama.cpp server exited early:\n{_tail(server.log_path)}")
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=2) as resp:
                if json.load(resp).get("data"):
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        time.sleep(0.25)
    log = _tail(server.log_path)
    raise RuntimeError(f"llama.cpp server not ready after {deadline:.0f} s:\n{log}")


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:]
