"""CPU per request: OpenAIBackend vs a bare AsyncOpenAI client, against the local stub server.

Starts `selfinstruct.testing.openai_stub` as a separate process (so its CPU is not ours), then
sends the same chat requests K at a time (a) through a bare `openai.AsyncOpenAI` client's
`chat.completions.create` behind a semaphore and (b) through `OpenAIBackend.acomplete` with
`max_concurrency=K`, alternating which goes first over the rounds. For each it prints this
process's CPU time per request (`time.process_time`, all threads) and requests/s, then the medians
and the ratio ours / bare (below 1: ours spends less CPU per request).

    python benchmarks/client_overhead.py                      # 1,000 requests, 32 in flight
    python benchmarks/client_overhead.py --requests 2000 --rounds 6 --latency 0.05
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import openai

from selfinstruct.llm.base import GenerationParams, Prompt
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.openai_options import NO_KEY
from selfinstruct.testing.openai_stub import spawn

MODEL = "stub-model"
MAX_TOKENS = 64

Run = Callable[[str, list[Prompt], int], Awaitable[int]]
"""Send all prompts to the server at a URL, k in flight; return how many answers came back."""


def make_prompts(m: int) -> list[Prompt]:
    """M distinct chat prompts that ask the stub for a numbered list, as bootstrap does."""
    return [
        [{"role": "user", "content": f"Tasks so far:\n1. Write a poem about item {i}.\n2."}]
        for i in range(m)
    ]


async def bare(url: str, prompts: list[Prompt], k: int) -> int:
    """The prompts through a plain AsyncOpenAI client's chat.completions.create."""
    client = openai.AsyncOpenAI(api_key=NO_KEY, base_url=url, max_retries=0, timeout=600)
    sem = asyncio.Semaphore(k)

    async def one(messages: Any) -> int:
        async with sem:
            resp = await client.chat.completions.create(
                model=MODEL, messages=messages, max_tokens=MAX_TOKENS, temperature=1.0, n=1
            )
        return int(bool(resp.choices[0].message.content))

    try:
        return sum(await asyncio.gather(*(one(p) for p in prompts)))
    finally:
        await client.close()


async def ours(url: str, prompts: list[Prompt], k: int) -> int:
    """The same prompts through OpenAIBackend.acomplete."""
    backend = OpenAIBackend(model=MODEL, base_url=url, max_concurrency=k, timeout=600)
    try:
        out = await backend.acomplete(prompts, GenerationParams(max_tokens=MAX_TOKENS))
    finally:
        await backend.aclose()
    return sum(bool(c.text) for c in out)


async def measure(run: Run, url: str, prompts: list[Prompt], k: int) -> tuple[float, float]:
    """(ms of this process's CPU per request, requests/s) for one pass over the prompts."""
    cpu, wall = time.process_time(), time.perf_counter()
    answered = await run(url, prompts, k)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if answered != len(prompts):
        raise SystemExit(f"only {answered} of {len(prompts)} requests got an answer")
    return 1000 * cpu / len(prompts), len(prompts) / wall


async def compare(url: str, args: argparse.Namespace) -> None:
    runners: dict[str, Run] = {"bare AsyncOpenAI": bare, "OpenAIBackend": ours}
    prompts = make_prompts(args.requests)
    for run in runners.values():  # warm up: imports, first connections, the client's platform
        await measure(run, url, prompts[: args.concurrency * 2], args.concurrency)
    cpu: dict[str, list[float]] = {name: [] for name in runners}
    rate: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(args.rounds):
        for name in list(runners) if r % 2 == 0 else list(reversed(runners)):
            ms, rps = await measure(runners[name], url, prompts, args.concurrency)
            cpu[name].append(ms)
            rate[name].append(rps)
            print(f"  round {r + 1} {name:17s} {ms:6.3f} ms CPU/request {rps:8.1f} requests/s")
    (b_cpu, o_cpu), (b_rate, o_rate) = (
        [statistics.median(d[name]) for name in runners] for d in (cpu, rate)
    )
    print(f"median CPU per request: bare {b_cpu:.3f} ms, OpenAIBackend {o_cpu:.3f} ms")
    print(f"median requests/s: bare {b_rate:.1f}, OpenAIBackend {o_rate:.1f}")
    paired = [o / b for o, b in zip(cpu["OpenAIBackend"], cpu["bare AsyncOpenAI"], strict=True)]
    print(
        f"ratio OpenAIBackend / bare: CPU per request {o_cpu / b_cpu:.3f} "
        f"(ours {100 * (1 - o_cpu / b_cpu):.0f}% less; per round "
        f"{', '.join(f'{x:.3f}' for x in paired)}), requests/s {o_rate / b_rate:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000, help="requests per pass")
    ap.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    ap.add_argument("--rounds", type=int, default=4, help="alternating bare/ours rounds")
    ap.add_argument("--latency", type=float, default=0.05, help="the stub's seconds per request")
    ap.add_argument("--jitter", type=float, default=0.05, help="plus up to this many seconds")
    args = ap.parse_args(argv)
    stub = spawn(
        ["--model", MODEL, "--latency", str(args.latency), "--jitter", str(args.jitter)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert stub.stdout is not None
        url = stub.stdout.readline().strip()  # the stub prints its URL once it listens
        if not url.startswith("http"):
            print("the stub server did not start", file=sys.stderr)
            return 2
        print(
            f"stub {url} (latency {args.latency} s + up to {args.jitter} s): {args.requests} "
            f"chat requests, {args.concurrency} in flight, {args.rounds} alternating rounds"
        )
        asyncio.run(compare(url, args))
    finally:
        stub.terminate()
        stub.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
