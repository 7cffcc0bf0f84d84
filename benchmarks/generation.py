"""Generation throughput: OpenAIBackend vs a bare AsyncOpenAI client at the same concurrency.

Fires the same M completion requests (greedy, so both sides generate the same tokens) at a local
llama.cpp server with K in flight, (a) through a bare `openai.AsyncOpenAI` client behind a
semaphore and (b) through `OpenAIBackend.acomplete`, alternating the two for a few rounds in the
same run, and prints completion tokens/s for each and their ratio (target: ours >= 0.90 x bare).

With `--pipeline`, (b) is the whole bootstrap loop instead (`selfinstruct.bootstrap` with
OpenAIBackend, K requests in flight, stopped by a token budget): its requests are recorded and the
bare client then replays exactly those requests (same messages, sampling parameters and seeds) at
the same concurrency; the pipeline's time includes prompt building, the similarity filter and its
output files.

    python benchmarks/generation.py                      # starts a server on the bundled model
    python benchmarks/generation.py --base-url http://127.0.0.1:8080/v1 --concurrency 8
    python benchmarks/generation.py --pipeline --rounds 2
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import openai

from selfinstruct.llm.base import Completion, GenerationParams, Prompt
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.openai_options import NO_KEY
from selfinstruct.stages.bootstrap.stage import bootstrap

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


class Recorder:
    """A backend wrapper that remembers every request (prompt and parameters) it forwards."""

    def __init__(self, backend: OpenAIBackend) -> None:
        self.backend, self.info = backend, backend.info
        self.requests: list[tuple[Prompt, GenerationParams]] = []
        self.first_sent = self.last_done = 0.0

    @property
    def usage(self) -> Any:
        """The wrapped backend's token counts (the loop reads them for its budget)."""
        return self.backend.usage

    async def acomplete(
        self, prompts: Sequence[Prompt], params: GenerationParams
    ) -> list[Completion]:
        self.first_sent = self.first_sent or time.perf_counter()
        self.requests += [(prompt, params) for prompt in prompts]
        out = await self.backend.acomplete(prompts, params)
        self.last_done = time.perf_counter()
        return out

    async def aclose(self) -> None:
        """Close the wrapped backend's connections (the loop calls this when a stage ends)."""
        await self.backend.aclose()


def request_args(prompt: Prompt, params: GenerationParams, model: str) -> dict[str, Any]:
    """The keyword arguments of the OpenAI call that OpenAIBackend makes for one request."""
    args: dict[str, Any] = {
        "model": model,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "presence_penalty": params.presence_penalty,
        "frequency_penalty": params.frequency_penalty,
    }
    if params.stop:
        args["stop"] = list(params.stop)
    if params.seed is not None:
        args["seed"] = params.seed
    args["prompt" if isinstance(prompt, str) else "messages"] = prompt
    return args


async def replay_bare(
    base_url: str, model: str, k: int, requests: list[tuple[Prompt, GenerationParams]]
) -> tuple[int, float]:
    """The recorded requests through a plain AsyncOpenAI client, at most k in flight."""
    client = openai.AsyncOpenAI(api_key=NO_KEY, base_url=base_url, max_retries=0, timeout=600)
    sem = asyncio.Semaphore(k)

    async def one(prompt: Prompt, params: GenerationParams) -> int:
        args = request_args(prompt, params, model)
        async with sem:
            if "prompt" in args:
                resp: Any = await client.completions.create(**args)
            else:
                resp = await client.chat.completions.create(**args)
        return resp.usage.completion_tokens if resp.usage else 0

    start = time.perf_counter()
    tokens = sum(await asyncio.gather(*(one(p, params) for p, params in requests)))
    elapsed = time.perf_counter() - start
    await client.close()
    return tokens, elapsed


def run_pipeline(
    base_url: str, model: str, k: int, max_tokens: int, budget: int
) -> tuple[int, float, float, list[tuple[Prompt, GenerationParams]]]:
    """One bootstrap run to a token budget.

    Returns (completion tokens, seconds of the whole call, seconds from the first request sent to
    the last reply, the requests).
    """
    backend = Recorder(OpenAIBackend(model=model, base_url=base_url, max_concurrency=k))
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        bootstrap(
            "en", out, 100_000, backend, concurrency=k, max_tokens=max_tokens,
            token_budget=budget, progress=False, patience=None,
        )  # fmt: skip
        elapsed = time.perf_counter() - start
    span = backend.last_done - backend.first_sent
    return backend.backend.usage.completion_tokens, elapsed, span, backend.requests


async def _measure_pipeline(args: argparse.Namespace, model: str) -> int:
    budget = args.prompts * (args.max_tokens + 400)  # bootstrap prompts are ~400 tokens
    print(
        f"server {args.base_url} model {model}: bootstrap loop with a {budget}-token budget "
        f"(about {args.prompts} requests x {args.max_tokens} max tokens), {args.concurrency} "
        f"in flight, vs a bare client replaying the same requests; {args.rounds} rounds"
    )
    rates: dict[str, list[float]] = {"bare AsyncOpenAI": [], "bootstrap pipeline": []}
    requests: list[tuple[Prompt, GenerationParams]] = []
    for r in range(args.rounds):
        # a fixed seed makes every bootstrap run send the same requests; the bare client replays
        # the first run's, and the two alternate which goes first
        for name in list(rates) if r % 2 else list(reversed(rates)):
            if name == "bare AsyncOpenAI":
                tokens, seconds = await replay_bare(
                    args.base_url, model, args.concurrency, requests
                )
                note = ""
            else:
                tokens, seconds, span, sent = await asyncio.to_thread(
                    run_pipeline, args.base_url, model, args.concurrency, args.max_tokens, budget
                )
                requests = requests or sent
                note = f" (first request to last reply {span:.2f} s)"
            rates[name].append(tokens / seconds)
            print(f"  round {r + 1} {name:18s} {len(requests):3d} requests {tokens:6d} tokens "
                  f"{seconds:7.2f} s {tokens / seconds:8.1f} tok/s{note}")  # fmt: skip
    bare, ours = (statistics.median(rates[name]) for name in rates)
    ours_rates, bare_rates = rates["bootstrap pipeline"], rates["bare AsyncOpenAI"]
    paired = [o / b for o, b in zip(ours_rates, bare_rates, strict=True)]
    print(f"median completion tokens/s: bare {bare:.1f}, bootstrap pipeline {ours:.1f}")
    print(f"ratio pipeline / bare = {ours / bare:.3f} (target >= 0.90); per round "
          f"{', '.join(f'{x:.3f}' for x in paired)}")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-url", help="a running OpenAI-compatible server (default: start one)")
    ap.add_argument("--model", help="model name to request (default: the server's first)")
    ap.add_argument("--prompts", type=int, default=16, help="requests per measurement (M)")
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight (K)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating bare/ours rounds")
    ap.add_argument("--n-threads", type=int, default=None, help="threads of a started server")
    ap.add_argument("--pipeline", action="store_true", help="the bootstrap loop vs bare replay")
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
    warm_up = bare_runner(args.base_url, model, args.concurrency, args.max_tokens)
    await warm_up(make_prompts(args.concurrency))  # a fresh server's first requests are slow
    if args.pipeline:
        return await _measure_pipeline(args, model)
    prompts = make_prompts(args.prompts)
    runners = {
        "bare AsyncOpenAI": bare_runner(args.base_url, model, args.concurrency, args.max_tokens),
        "OpenAIBackend": backend_runner(args.base_url, model, args.concurrency, args.max_tokens),
    }
    print(
        f"server {args.base_url} model {model}: {args.prompts} requests x {args.max_tokens} "
        f"max tokens, {args.concurrency} in flight, {args.rounds} alternating rounds"
    )
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
