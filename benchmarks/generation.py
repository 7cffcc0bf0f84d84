"""Generation throughput: OpenAIBackend vs a bare AsyncOpenAI client at the same concurrency.

Fires the same M completion requests (greedy, so both sides generate the same tokens) at a local
llama.cpp server with K in flight, (a) through a bare `openai.AsyncOpenAI` client behind a
semaphore and (b) through `OpenAIBackend.acomplete`, alternating the two for a few rounds in the
same run, and prints completion tokens/s for each and their ratio (target: ours >= 0.90 x bare).

    python benchmarks/generation.py                      # starts a server on the bundled model
    python benchmarks/generation.py --base-url http://127.0.0.1:8080/v1 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import openai

from selfinstruct.llm.base import GenerationParams
from selfinstruct.llm.openai_backend import NO_KEY, OpenAIBackend

TOPICS = [
    "the ocean", "a rainy day", "bicycles", "coffee", "mountains", "a lost key", "libraries",
    "the moon", "trains", "gardening", "a first job", "winter", "robots", "bread", "friendship",
    "a city at night", "chess", "volcanoes", "music", "an old map", "bees", "the desert",
    "a birthday", "clocks", "rivers", "a storm", "painting", "owls", "a market", "snow",
    "the internet", "a lighthouse",
]  # fmt: skip

Run = Callable[[list[str]], Awaitable[tuple[int, float]]]
"""Send all prompts; return (completion tokens, seconds)."""


def make_prompts(m: int) -> list[str]:
    """M distinct instruction prompts (topics cycle, with a number to keep them distinct)."""
    return [
        f"Instruction: Write a short paragraph about {TOPICS[i % len(TOPICS)]} ({i}).\nResponse:"
        for i in range(m)
    ]


def bare_runner(base_url: str, model: str, k: int, max_tokens: int) -> Run:
    """Requests through a plain AsyncOpenAI client, at most k in flight."""

    async def run(prompts: list[str]) -> tuple[int, float]:
        client = openai.AsyncOpenAI(api_key=NO_KEY, base_url=base_url, max_retries=0, timeout=600)
        sem = asyncio.Semaphore(k)

        async def one(prompt: str) -> int:
            async with sem:
                resp = await client.completions.create(
                    model=model, prompt=prompt, max_tokens=max_tokens, temperature=0
                )
            return resp.usage.completion_tokens if resp.usage else 0

        start = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(p) for p in prompts)))
        elapsed = time.perf_counter() - start
        await client.close()
        return tokens, elapsed

    return run


def backend_runner(base_url: str, model: str, k: int, max_tokens: int) -> Run:
    """The same requests through OpenAIBackend.acomplete."""

    async def run(prompts: list[str]) -> tuple[int, float]:
        backend = OpenAIBackend(model=model, base_url=base_url, max_concurrency=k, timeout=600)
        params = GenerationParams(max_tokens=max_tokens, temperature=0)
        start = time.perf_counter()
        out = await backend.acomplete(prompts, params)
        elapsed = time.perf_counter() - start
        await backend.aclose()
        return sum(c.completion_tokens for c in out), elapsed

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="a running OpenAI-compatible server (default: start one)")
    ap.add_argument("--model", help="model name to request (default: the server's first)")
    ap.add_argument("--prompts", type=int, default=16, help="requests per measurement (M)")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight (K)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating bare/ours rounds")
    ap.add_argument("--n-threads", type=int, default=None, help="threads of a started server")
    args = ap.parse_args(argv)

    server = None
    if args.base_url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from llama_server import start_server, unavailable_reason

        reason = unavailable_reason()
        if reason:
            print(f"cannot start a llama.cpp server: {reason}", file=sys.stderr)
            return 2
        server = start_server(n_threads=args.n_threads)
        args.base_url, args.model = server.base_url, args.model or server.model
    try:
        return asyncio.run(_measure(args))
    finally:
        if server is not None:
            server.stop()


async def _measure(args: argparse.Namespace) -> int:
    model = args.model or await OpenAIBackend(base_url=args.base_url).aresolve_model()
    prompts = make_prompts(args.prompts)
    runners = {
        "bare AsyncOpenAI": bare_runner(args.base_url, model, args.concurrency, args.max_tokens),
        "OpenAIBackend": backend_runner(args.base_url, model, args.concurrency, args.max_tokens),
    }
    print(
        f"server {args.base_url} model {model}: {args.prompts} requests x {args.max_tokens} "
        f"max tokens, {args.concurrency} in flight, {args.rounds} alternating rounds"
    )
    await runners["bare AsyncOpenAI"](prompts[: args.concurrency])  # warm-up, not measured
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for r in range(args.rounds):
        order = list(runners) if r % 2 == 0 else list(reversed(runners))
        for name in order:
            tokens, seconds = await runners[name](prompts)
            rates[name].append(tokens / seconds)
            print(f"  round {r + 1} {name:17s} {tokens:6d} tokens {seconds:7.2f} s "
                  f"{tokens / seconds:8.1f} tok/s")  # fmt: skip
    bare, ours = (statistics.median(rates[name]) for name in runners)
    print(f"median completion tokens/s: bare {bare:.1f}, OpenAIBackend {ours:.1f}")
    print(f"ratio OpenAIBackend / bare = {ours / bare:.3f} (target >= 0.90)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
