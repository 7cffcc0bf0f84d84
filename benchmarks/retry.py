"""Retry timing against a local fault-injecting endpoint: Retry-After honoured, outages ridden out.

Starts `selfinstruct.testing.openai_stub` endpoints and prints: the wait before the next attempt
after a 429 with `Retry-After: 5` and a 503 with `Retry-After: 3`, and how a request fares
through an outage of `--outage` seconds (refused connections, then 503s) with the default retry
budget (180 s).

    python benchmarks/retry.py               # about 6 minutes: two 150 s outages
    python benchmarks/retry.py --outage 20   # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import time

from selfinstruct import Completion, GenerationParams, OpenAIBackend
from selfinstruct.testing.openai_stub import Fault, StubServer


def ask(backend: OpenAIBackend, prompts: list[str]) -> list[Completion]:
    async def go() -> list[Completion]:
        try:
            return await backend.acomplete(list(prompts), GenerationParams(max_tokens=8))
        finally:
            await backend.aclose()

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--outage", type=float, default=150.0, help="seconds each outage lasts")
    args = ap.parse_args()
    faults = [Fault.http(429, retry_after="5"), Fault.http(503, retry_after="3")]
    with StubServer(faults=faults) as server:
        ask(OpenAIBackend(model="m", base_url=server.url), ["a"])
        t = [r.at for r in server.requests]
        print(f"429 with Retry-After 5: next attempt after {t[1] - t[0]:.2f} s")
        print(f"503 with Retry-After 3: next attempt after {t[2] - t[1]:.2f} s")
    for fault, kind in ((None, "refused connections"), (Fault.http(503), "503s")):
        with StubServer() as server:
            server.outage(args.outage, fault)
            start = time.monotonic()
            out = ask(OpenAIBackend(model="m", base_url=server.url), ["a", "b"])
            print(
                f"outage of {args.outage:.0f} s ({kind}), default retry budget: "
                f"{len(out)} answers after {time.monotonic() - start:.1f} s, "
                f"{server.count} requests reached the server"
            )


if __name__ == "__main__":
    main()
