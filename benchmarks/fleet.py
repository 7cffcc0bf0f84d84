"""The bootstrap loop at fleet scale: requests/s, accepted/s, CPU per request, memory, vs bare.

Starts N local OpenAI-compatible endpoints (`selfinstruct.testing.openai_stub`, in separate
processes so their CPU is not the loop's) that answer after `--latency` plus up to `--jitter`
seconds with varied numbered task lists (`--diverse` names, so tens of thousands of tasks stand
apart), and runs the real command, `selfinstruct bootstrap --base-url a,b,... --concurrency K
--num-instructions M`, in a child process. A thread samples the child's CPU time and RSS (psutil)
and its progress (stats.json) every `--sample` seconds. The stubs journal every request; a bare
`openai.AsyncOpenAI` client (one per endpoint, K in flight behind a semaphore) then replays exactly
those requests, each to the endpoint that got it, in arrival order. Rounds alternate which side
goes first. Printed per pass and as medians: requests/s (overall, from the first request to the end
of the loop, and sustained, between 10% and 90% of the requests), accepted instructions/s, the loop
process' CPU per request and share of a core, its RSS over the loop (start, middle, end, peak), the
ratio ours / bare in requests/s, and the time the command then spends scoring the accepted
instructions against the pool (stages/bootstrap/pool_scores.py), once the fleet is idle.

    python benchmarks/fleet.py                 # 4 endpoints, 256 in flight, 10,000 instructions
    python benchmarks/fleet.py --endpoints 16 --concurrency 1000 --instructions 20000 \\
        --latency 0.5 --jitter 0.5 --rounds 2                 # the throughput target
    python benchmarks/fleet.py --endpoints 16 --concurrency 1000 --instructions 50000 \\
        --latency 0.5 --jitter 0.5 --rounds 1 --no-bare       # memory over a long run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import psutil

from selfinstruct.testing.openai_stub import spawn

MODEL = "stub-model"
NO_KEY = "sk-no-key"
MB = 1024 * 1024


# ---------------------------------------------------------------- the endpoints


@contextlib.contextmanager
def endpoints(args: argparse.Namespace, journal_dir: Path) -> Iterator[list[str]]:
    """Start `--endpoints` stubs over `--stub-processes` processes; yield their URLs."""
    n, p = args.endpoints, min(args.stub_processes or args.endpoints, args.endpoints)
    counts = [n // p + (i < n % p) for i in range(p)]
    procs: list[subprocess.Popen[str]] = []
    try:
        for i, count in enumerate(counts):
            cmd = [
                "--count", str(count), "--model", MODEL,
                "--latency", str(args.latency), "--jitter", str(args.jitter),
                "--seed", str(i), "--record", str(journal_dir / f"journal-{i}.jsonl"),
            ]  # fmt: skip
            if args.diverse:
                cmd.append("--diverse")
            procs.append(spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
        urls = []
        for proc, count in zip(procs, counts, strict=True):
            assert proc.stdout is not None
            urls += [proc.stdout.readline().strip() for _ in range(count)]
        if not all(u.startswith("http") for u in urls):
            raise SystemExit("a stub server did not start")
        yield urls
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(30)


@dataclass
class Recorded:
    at: float
    url: str
    path: str
    body: dict[str, Any]


def read_journals(journal_dir: Path) -> list[Recorded]:
    """The completion requests the stubs received, in arrival order."""
    rows = []
    for path in sorted(journal_dir.glob("journal-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["path"].endswith("completions"):
                rows.append(Recorded(row["at"], row["url"], row["path"], row["body"]))
    rows.sort(key=lambda r: r.at)
    return rows


# ---------------------------------------------------------------- ours: the real command


@dataclass
class Sample:
    t: float
    cpu: float
    """CPU seconds of the loop process (all its threads)."""
    children_cpu: float
    """CPU seconds of its child processes (similarity workers), if any."""
    rss: int
    requests: int
    accepted: int
    looping: bool = True
    """False once stats.json says the loop stopped (the pool is being scored, stages/bootstrap/pool_scores.py)."""


@dataclass
class Pass:
    """One measured pass over the same requests."""

    side: str
    requests: int
    seconds: float
    cpu_ms: float
    """ms of CPU per request (ours: steady state, the loop process; bare: the whole replay)."""
    sustained: float = 0.0
    accepted: int = 0
    accepted_rate: float = 0.0
    core: float = 0.0
    rss: dict[str, float] = field(default_factory=dict)
    note: str = ""
    scoring_s: float = 0.0
    """ours: seconds from the end of the loop to the end of the command (the scoring pass)."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


class Sampler(threading.Thread):
    """Samples a process' CPU, RSS and the run's progress (stats.json) every `interval` s."""

    def __init__(self, pid: int, stats: Path, interval: float) -> None:
        super().__init__(daemon=True)
        self.proc, self.stats, self.interval = psutil.Process(pid), stats, interval
        self.samples: list[Sample] = []
        self._halt = threading.Event()
        self._progress: tuple[int, int, bool] = (0, 0, True)

    def run(self) -> None:
        while not self._halt.is_set():
            with contextlib.suppress(psutil.Error):
                self.samples.append(self._sample())
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()

    def _sample(self) -> Sample:
        with self.proc.oneshot():
            times, rss = self.proc.cpu_times(), self.proc.memory_info().rss
        children = 0.0
        for child in self.proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                c = child.cpu_times()
                children += c.user + c.system
        with contextlib.suppress(OSError, ValueError, KeyError):
            section = json.loads(self.stats.read_text(encoding="utf-8"))["bootstrap"]
            looping = section["stopped"] == "running"
            self._progress = (int(section["requests"]), int(section["accepted"]), looping)
        return Sample(time.time(), times.user + times.system, children, rss, *self._progress)


@dataclass
class Ran:
    """What a run of the command left: its samples, end time, resource usage and stats."""

    samples: list[Sample]
    end: float
    usage: Any
    stats: dict[str, Any]


def run_ours(args: argparse.Namespace, urls: list[str], work: Path) -> Ran:
    """`selfinstruct bootstrap` against the stubs in a child process, sampled as it runs."""
    out = work / "run"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [
        sys.executable, "-m", "selfinstruct.cli", "bootstrap", "--out", str(out),
        "--base-url", ",".join(urls), "--model", MODEL, "--concurrency", str(args.concurrency),
        "--num-instructions", str(args.instructions), "--patience", "0", "--no-progress",
        *args.extra,
    ]  # fmt: skip
    log = (work / "bootstrap.log").open("w+")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    sampler = Sampler(proc.pid, out / "stats.json", args.sample)
    spy = None
    try:
        sampler.start()
        if args.py_spy:
            spy = subprocess.Popen(
                [shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
                 "record", "--pid", str(proc.pid), "--format", "raw", "--rate", "100",
                 "--output", str(args.py_spy), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        end = time.time()
        proc.returncode = os.waitstatus_to_exitcode(status)
    finally:
        sampler.stop()
        if proc.returncode is None:
            proc.kill()
            proc.wait()
        if spy is not None:
            spy.wait(60)
    log.seek(0)
    output = log.read().strip()
    log.close()
    if proc.returncode != 0:
        raise SystemExit(f"bootstrap failed ({proc.returncode}):\n{output}")
    stats = json.loads((out / "stats.json").read_text())["bootstrap"]
    return Ran(sampler.samples, end, usage, stats)


def ours_figures(ran: Ran, sent: list[Recorded]) -> Pass:
    """The figures of one run of the command; `sent` are the requests the stubs received."""
    requests, accepted, end, usage = (
        int(ran.stats["requests"]),
        int(ran.stats["accepted"]),
        ran.end,
        ran.usage,
    )
    first = sent[0].at if sent else end
    samples = [s for s in ran.samples if s.t >= first and s.rss]  # rss 0: exited, not reaped
    final = Sample(end, usage.ru_utime + usage.ru_stime, 0.0, usage.ru_maxrss * 1024,
                   requests, accepted, looping=False)  # fmt: skip
    loop_end = next((s.t for s in samples if not s.looping), end)
    samples.append(final)
    steady = window(samples, requests)
    (a, b) = steady
    span = b.t - a.t
    core = (b.cpu - a.cpu) / span if span > 0 else 0.0
    cpu_ms = 1000 * (b.cpu - a.cpu) / max(1, b.requests - a.requests)
    note = f"{len(sent) - requests} sent but cancelled at the end" if len(sent) > requests else ""
    if any(s.children_cpu for s in samples):
        note += f"; child processes {max(s.children_cpu for s in samples):.1f} s CPU"
    return Pass(
        "ours", requests, loop_end - first, cpu_ms, scoring_s=end - loop_end,
        sustained=(b.requests - a.requests) / span if span > 0 else 0.0,
        accepted=accepted, accepted_rate=(b.accepted - a.accepted) / span if span > 0 else 0.0,
        core=core, rss=memory(samples[:-1] or samples, usage.ru_maxrss * 1024), note=note,
    )  # fmt: skip


def window(samples: list[Sample], total: int) -> tuple[Sample, Sample]:
    """The samples at 10% and 90% of the requests (the steady middle of the run)."""
    lo = next((s for s in samples if s.requests >= 0.1 * total), samples[0])
    hi = next((s for s in samples if s.requests >= 0.9 * total), samples[-1])
    if hi.t - lo.t < 1.0:
        lo, hi = samples[0], samples[-1]
    return lo, hi


def memory(samples: list[Sample], peak: int) -> dict[str, float]:
    """RSS in MiB over the loop: at the first request, half way through the instructions, at
    the end, its peak; and the peak of the whole command (`peak`: the scoring pass included)."""
    looping = [s for s in samples if s.looping] or samples
    started = [s for s in looping if s.requests > 0] or looping
    half = started[-1].accepted / 2
    middle = min(started, key=lambda s: abs(s.accepted - half))
    end = started[-1]
    growth = (end.rss - middle.rss) / max(1, end.accepted - middle.accepted) * 10_000
    return {
        "start": started[0].rss / MB,
        "middle": middle.rss / MB,
        "end": end.rss / MB,
        "peak": max(s.rss for s in looping) / MB,
        "second_half_per_10k": growth / MB,
        "command_peak": max(peak, max(s.rss for s in samples)) / MB,
    }


# ---------------------------------------------------------------- bare: the same requests


@dataclass
class Call:
    """One recorded request as the bare client's `create(**args, extra_body=extra)` takes it."""

    url: str
    chat: bool
    args: dict[str, Any]
    extra: dict[str, Any] | None


def calls_of(requests: list[Recorded], urls: list[str]) -> list[Call]:
    """The recorded requests as bare-client calls, each to the fresh stub in its endpoint's place
    (prepared before the clock starts: only sending them is timed)."""
    moved = dict(zip(sorted({r.url for r in requests}), urls, strict=False))
    known = {
        chat: set(inspect.signature(method).parameters)
        for chat, method in ((True, openai.resources.chat.AsyncCompletions.create),
                             (False, openai.resources.AsyncCompletions.create))
    }  # fmt: skip
    calls = []
    for r in requests:
        chat = r.path.endswith("/chat/completions")
        args = {key: v for key, v in r.body.items() if key in known[chat]}
        extra = {key: v for key, v in r.body.items() if key not in known[chat]}
        calls.append(Call(moved[r.url], chat, args, extra or None))
    return calls


async def replay(calls: list[Call], k: int) -> int:
    """Send the calls through plain AsyncOpenAI clients (one per endpoint), k in flight."""
    clients = {
        url: openai.AsyncOpenAI(api_key=NO_KEY, base_url=url, max_retries=0, timeout=600)
        for url in {c.url for c in calls}
    }
    sem = asyncio.Semaphore(k)

    async def one(c: Call) -> int:
        client = clients[c.url]
        async with sem:
            if c.chat:
                resp = await client.chat.completions.create(**c.args, extra_body=c.extra)
                return int(bool(resp.choices[0].message.content))
            answer = await client.completions.create(**c.args, extra_body=c.extra)
            return int(bool(answer.choices[0].text))

    try:
        return sum(await asyncio.gather(*(one(c) for c in calls)))
    finally:
        for client in clients.values():
            await client.close()


def run_bare(args: argparse.Namespace, urls: list[str], requests: list[Recorded]) -> Pass:
    """Replay the recorded requests against fresh stubs, K in flight, timed."""
    calls = calls_of(requests, urls)
    cpu, wall = time.process_time(), time.perf_counter()
    answered = asyncio.run(replay(calls, args.concurrency))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if answered != len(calls):
        raise SystemExit(f"bare: only {answered} of {len(calls)} requests got an answer")
    return Pass("bare", len(calls), wall, 1000 * cpu / len(calls), sustained=len(calls) / wall,
                core=cpu / wall)  # fmt: skip


# ---------------------------------------------------------------- report


def show(p: Pass) -> None:
    line = (
        f"  {p.side:4s} {p.requests:7d} requests in {p.seconds:6.1f} s: {p.rate:7.1f}/s overall, "
        f"{p.sustained:7.1f}/s sustained; CPU {p.cpu_ms:.2f} ms/request ({p.core:.0%} of a core)"
    )
    if p.side == "ours":
        m = p.rss
        line += (
            f"\n       {p.accepted} accepted ({p.accepted / max(1, p.requests):.2f} per request), "
            f"{p.accepted_rate:.1f}/s sustained; RSS MiB start "
            f"{m['start']:.0f}, middle {m['middle']:.0f}, end {m['end']:.0f}, peak "
            f"{m['peak']:.0f} (second half: {m['second_half_per_10k']:+.1f} MiB per 10k)"
        )
        line += (
            f"\n       then {p.scoring_s:.1f} s scoring the pool after the loop "
            f"(peak RSS of the command {m['command_peak']:.0f} MiB)"
        )
        if p.note:
            line += f"\n       ({p.note.strip('; ')})"
    print(line, flush=True)


def summarize(passes: list[Pass], args: argparse.Namespace) -> None:
    ours = [p for p in passes if p.side == "ours"]
    bare = [p for p in passes if p.side == "bare"]

    def med(xs: list[Pass], attr: str) -> float:
        return statistics.median(getattr(p, attr) for p in xs)

    print(
        f"ours (median of {len(ours)}): {med(ours, 'rate'):.1f} requests/s overall, "
        f"{med(ours, 'sustained'):.1f} sustained; {med(ours, 'accepted_rate'):.1f} accepted/s; "
        f"loop CPU {med(ours, 'cpu_ms'):.2f} ms/request ({med(ours, 'core'):.0%} of a core); "
        f"then {med(ours, 'scoring_s'):.1f} s scoring the pool"
    )
    if bare:
        b_rate, b_cpu = med(bare, "rate"), med(bare, "cpu_ms")
        print(f"bare AsyncOpenAI (median of {len(bare)}): {b_rate:.1f} requests/s, "
              f"CPU {b_cpu:.2f} ms/request")  # fmt: skip
        print(
            f"ratio ours / bare: requests/s {med(ours, 'rate') / b_rate:.3f} overall, "
            f"{med(ours, 'sustained') / b_rate:.3f} sustained; "
            f"CPU per request {med(ours, 'cpu_ms') / b_cpu:.2f}"
        )
    ideal = args.concurrency / (args.latency + args.jitter / 2)
    print(f"ideal at {args.concurrency} in flight: {ideal:.0f} requests/s; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=4, help="stub endpoints (N)")
    ap.add_argument("--stub-processes", type=int, help="processes serving them (default: N)")
    ap.add_argument("--concurrency", type=int, default=256, help="requests in flight (K)")
    ap.add_argument("--instructions", type=int, default=10000, help="target instructions (M)")
    ap.add_argument("--latency", type=float, default=0.2, help="seconds per answer")
    ap.add_argument("--jitter", type=float, default=0.1, help="plus up to this many seconds")
    ap.add_argument("--rounds", type=int, default=1, help="rounds, alternating who goes first")
    ap.add_argument("--sample", type=float, default=0.5, help="seconds between samples")
    ap.add_argument("--no-bare", dest="bare", action="store_false", help="skip the replay")
    ap.add_argument(
        "--plain", dest="diverse", action="store_false",
        help="the stub's plain task lists (they run dry after about a thousand instructions)",
    )  # fmt: skip
    ap.add_argument("--py-spy", type=Path, help="record the loop with py-spy (raw) to this file")
    ap.add_argument("extra", nargs="*", help="more bootstrap flags, after --")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # end the children on the way out
    ideal = args.concurrency / (args.latency + args.jitter / 2)
    print(
        f"{args.endpoints} endpoints ({args.stub_processes or args.endpoints} processes), "
        f"latency {args.latency} s + up to {args.jitter} s, {args.concurrency} in flight "
        f"(ideal {ideal:.0f} requests/s), {args.instructions} instructions, {args.rounds} "
        f"round(s); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    passes: list[Pass] = []
    recorded: list[Recorded] = []
    with tempfile.TemporaryDirectory(prefix="fleet-") as tmp:
        work = Path(tmp)
        for r in range(args.rounds):
            sides = ["ours", "bare"] if r % 2 == 0 or not recorded else ["bare", "ours"]
            for side in sides if args.bare else ["ours"]:
                journals = work / f"journals-{r}-{side}"
                journals.mkdir()
                with endpoints(args, journals) as urls:  # the stubs flush journals on exit
                    if side == "ours":
                        ran = run_ours(args, urls, work)
                    else:
                        passes.append(run_bare(args, urls, recorded))
                if side == "ours":
                    sent = read_journals(journals)
                    passes.append(ours_figures(ran, sent))
                    recorded = recorded or sent
                show(passes[-1])
    summarize(passes, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
