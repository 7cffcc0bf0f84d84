"""A local OpenAI-compatible server for tests and benchmarks: realistic replies, scripted faults.

Stdlib only (asyncio streams, HTTP/1.1 with keep-alive), so one process holds thousands of
connections. It serves GET /v1/models, POST /v1/completions and /v1/chat/completions; by
default a reply is a numbered list of new tasks that continues the prompt's numbering,
deterministic from (prompt, request seed, server seed); `reply(prompt_text, body)` scripts
other answers (a text, cut at the stop sequences and max_tokens with finish_reason "length"
when max_tokens cut it; or a whole message dict, sent as given). Faults come from a queue
(`push`), a function of the request number (`fault_fn`), time windows (`outage`, `window`) or
rate limits: `max_in_flight` answers 429 with Retry-After (a concurrency limit has no quota to
report), `rps` answers 429 with Retry-After and OpenAI's x-ratelimit-* headers, which its
successes carry too. Every request is recorded (`requests`, `count`, `statuses`,
`peak_in_flight`), and with a `journal` file written down for a replay; `diverse` lists hold
invented names, so tens of thousands of tasks stand apart (benchmarks/fleet.py runs long
bootstraps against them).

    with StubServer(latency=0.05) as server:            # in-process, on a background thread
        server.push(Fault.http(503, retry_after="2"), Fault.truncated())
        backend = OpenAIBackend(model="m", base_url=server.url)

    python -m selfinstruct.testing.openai_stub --port 8000 --latency 0.2  # prints its URL
    python -m selfinstruct.testing.openai_stub --count 4 --diverse --record r.jsonl  # 4 URLs
    proc = spawn(["--count", "4"], stdout=subprocess.PIPE)  # the same, from a benchmark
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from selfinstruct.testing.faults import Fault, Window, random_faults
from selfinstruct.testing.handler import Recorded
from selfinstruct.testing.server import StubServer
from selfinstruct.testing.task_lists import count_tokens, next_number, task_list
from selfinstruct.testing.thinking import Thinking

__all__ = [
    "Fault",
    "Recorded",
    "StubServer",
    "Thinking",
    "Window",
    "count_tokens",
    "main",
    "next_number",
    "random_faults",
    "spawn",
    "task_list",
]

MODULE = "selfinstruct.testing.openai_stub"


def _parser() -> argparse.ArgumentParser:
    """The command line: one or more endpoints, their latency, faults, outages and journal."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks free ports")
    parser.add_argument(
        "--count", type=int, default=1,
        help="serve this many endpoints (ports PORT, PORT+1, ...); prints one URL a line",
    )  # fmt: skip
    parser.add_argument("--model", default="stub-model")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--jitter", type=float, default=0.0, help="plus up to this many seconds")
    parser.add_argument("--token-latency", type=float, default=0.0, help="seconds per token")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-in-flight", type=int, help="429 beyond this many at once")
    parser.add_argument("--rps", type=float, help="429 beyond this many requests a second")
    parser.add_argument(
        "--diverse", action="store_true",
        help="invented names in the task lists: tens of thousands of distinct tasks",
    )  # fmt: skip
    parser.add_argument(
        "--record", metavar="PATH",
        help="append each completion request as a JSON line (time, path, body) to PATH",
    )  # fmt: skip
    parser.add_argument(
        "--fault", action="append", default=[], metavar="KIND:SHARE",
        help="e.g. 503:0.05, close:0.01, truncated:0.02 (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--outage", action="append", default=[], metavar="AT:SECONDS[:STATUS]",
        help="from AT s after start, for SECONDS s, refuse connections (or answer STATUS)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    journal = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115
    stubs = [
        StubServer(
            host=args.host, port=args.port + i if args.port else 0, model=args.model,
            latency=args.latency, jitter=args.jitter, token_latency=args.token_latency,
            seed=args.seed, max_in_flight=args.max_in_flight, rps=args.rps, record=False,
            fault_fn=random_faults(args.fault, args.seed), diverse=args.diverse,
            journal=journal,
        )
        for i in range(args.count)
    ]  # fmt: skip

    async def serve() -> None:
        for stub in stubs:
            await stub.astart()
            for spec in args.outage:
                at, seconds, *status = spec.split(":")
                fault = Fault.http(int(status[0]), "5", echo_auth=False) if status else None
                asyncio.get_running_loop().call_later(float(at), stub.outage, float(seconds), fault)
        done = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        print("\n".join(stub.url for stub in stubs), flush=True)
        await done.wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    finally:
        if journal is not None:
            journal.close()
    for stub in stubs:
        print(f"requests={stub.count} peak_in_flight={stub.peak_in_flight}", file=sys.stderr)


def spawn(args: Sequence[str], **popen: Any) -> subprocess.Popen[str]:
    """Run this command line in a child process (text mode) on the sources imported here.

    The folder holding this `selfinstruct` goes first on the child's PYTHONPATH, so a checkout
    run from its `src/` serves its own stub, whatever the environment has installed.
    """
    source = str(Path(__file__).resolve().parents[2])
    env = dict(popen.pop("env", None) or os.environ)
    env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [env.get("PYTHONPATH")])])
    command = [sys.executable, "-m", MODULE, *args]
    return subprocess.Popen(command, env=env, text=True, **popen)


if __name__ == "__main__":
    main()
