"""Soak: a whole `selfinstruct run` under transient faults and repeated SIGKILLs, checked on disk.

Starts local stub endpoints (`selfinstruct.testing.openai_stub`, 127.0.0.1 only, `--diverse` task
lists) that misbehave on `--fault-share` of the requests (429 with Retry-After, 500/503, connection
resets, truncated bodies, stalls), then runs the real command, `selfinstruct run --out DIR
--num-instructions N`, in a child process, SIGKILLs it every `--kill-every` seconds and starts the
same command again, until it exits by itself. After every kill it checks the run directory: every
JSONL line parses (none torn), the pool's indexes are unique and contiguous, no record is
duplicated, and every record that was on disk before the previous kill is still there, unchanged.
At the end it prints requests sent (the stubs' count) and answered (the ledger), kills survived,
records lost/duplicated/torn, the funnel identities of stats.json, and the command's peak RSS over
time (psutil, children included).

    python benchmarks/soak.py                                  # 10,000 instructions
    python benchmarks/soak.py --num-instructions 500 --kill-every 8 --max-kills 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from selfinstruct.testing.openai_stub import random_faults, spawn

SRC = Path(__file__).resolve().parent.parent / "src"
MB = 1024 * 1024
FAULT_MIX = {"429": 0.3, "503": 0.15, "500": 0.1, "reset": 0.15, "truncated": 0.2, "stall": 0.1}
"""How the faulty share of requests splits between kinds of fault."""
FILES = ("machine_instructions", "rejected", "classification", "instances", "instances_rejected")
KEYS = {
    "machine_instructions": "index",
    "classification": "instruction",
    "instances": "instruction",
}
"""Files whose records are unique by a key, and the key."""
STUB_SEED = 11


@dataclass
class Books:
    """What the checks found, over every kill."""

    kills: int = 0
    torn: int = 0
    lost: int = 0
    duplicated: int = 0
    gaps: int = 0
    problems: list[str] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the soak started, RSS in MB of the command and its children)."""


def fault_spec(args: argparse.Namespace) -> list[str]:
    """The stub's `--fault KIND:SHARE` arguments for `--fault-share` split by FAULT_MIX."""
    return [f"{kind}:{share * args.fault_share:.4f}" for kind, share in FAULT_MIX.items()]


def injected(args: argparse.Namespace, sent: int) -> Counter[str]:
    """The faults the stub sent among its first `sent` requests (its draw is seeded)."""
    pick = random_faults(fault_spec(args), STUB_SEED)
    counts: Counter[str] = Counter()
    for number in range(sent):
        fault = pick(number) if pick else None
        if fault is not None:
            counts[str(fault.status) if fault.kind == "http" else fault.kind] += 1
    return counts


def stubs(args: argparse.Namespace) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the fault-injecting endpoints in one process; their URLs."""
    cmd = ["--count", str(args.endpoints), "--diverse",
           "--latency", str(args.latency), "--jitter", str(args.jitter),
           "--seed", str(STUB_SEED)]  # fmt: skip
    for spec in fault_spec(args):
        cmd += ["--fault", spec]
    proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    urls = [proc.stdout.readline().strip() for _ in range(args.endpoints)]
    if not all(u.startswith("http://127.0.0.1") for u in urls):
        proc.kill()
        raise SystemExit(f"the stub endpoints did not start: {urls}")
    return proc, urls


def command(args: argparse.Namespace, out: Path, urls: list[str]) -> list[str]:
    return [
        sys.executable, "-m", "selfinstruct.cli", "run", "--out", str(out),
        "--base-url", ",".join(urls), "--num-instructions", str(args.num_instructions),
        "--concurrency", str(args.concurrency), "--request-timeout", str(args.request_timeout),
        "--retry-budget", "600", "--max-attempts", "100", "--no-progress",
    ]  # fmt: skip


def read_lines(path: Path, books: Books) -> list[dict[str, Any]]:
    """Every line of a JSONL file; a line that does not parse counts as torn."""
    if not path.exists():
        return []
    rows = []
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        books.torn += 1
        books.problems.append(f"{path.name}: last line has no newline")
    for number, line in enumerate(data.splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except ValueError:
            books.torn += 1
            books.problems.append(f"{path.name}:{number}: torn line")
    return rows


def snapshot(out: Path, books: Books) -> dict[str, dict[Any, str]]:
    """Each keyed file's records by key (as JSON text); counts duplicates and index gaps."""
    found: dict[str, dict[Any, str]] = {}
    for name in FILES:
        rows = read_lines(out / f"{name}.jsonl", books)
        key = KEYS.get(name)
        if key is None:
            continue
        keyed = {}
        for row in rows:
            if row[key] in keyed:
                books.duplicated += 1
                books.problems.append(f"{name}: {key} {str(row[key])[:60]!r} twice")
            keyed[row[key]] = json.dumps(row, sort_keys=True)
        found[name] = keyed
    pool = sorted(found["machine_instructions"])
    if pool != list(range(len(pool))):
        books.gaps += 1
        books.problems.append("machine_instructions: indexes not contiguous from 0")
    return found


def compare(before: dict[str, dict[Any, str]], after: dict[str, dict[Any, str]], books: Books):
    """Every record of `before` is in `after` (pool lines may gain their scores, nothing else)."""
    for name, rows in before.items():
        for key, text in rows.items():
            now = after[name].get(key)
            if now is None:
                books.lost += 1
                books.problems.append(f"{name}: {str(key)[:60]!r} lost")
            elif now != text and not _same_instruction(name, text, now):
                books.lost += 1
                books.problems.append(f"{name}: {str(key)[:60]!r} changed")


def _same_instruction(name: str, was: str, now: str) -> bool:
    """A pool line rewritten with its ROUGE scores filled in (stages/bootstrap/pool_scores.py) is the same."""
    if name != "machine_instructions":
        return False
    a, b = json.loads(was), json.loads(now)
    return all(a[k] == b[k] for k in ("instruction", "index", "request"))


def watch(proc: subprocess.Popen[bytes], books: Books, started: float, stop: threading.Event):
    """Sample the command's RSS (children included) every second until it ends."""
    try:
        root = psutil.Process(proc.pid)
    except psutil.NoSuchProcess:
        return
    while not stop.wait(1.0):
        try:
            rss = sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return
        books.rss.append((time.monotonic() - started, rss / MB))


def attempt(cmd: list[str], args: argparse.Namespace, books: Books, started: float, log: Path):
    """One start of the command: killed after `--kill-every` s (while kills remain), or done."""
    with log.open("ab") as sink:
        paths = [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}  # this checkout's code
        proc = subprocess.Popen(cmd, stdout=sink, stderr=sink, env=env)
        stop = threading.Event()
        sampler = threading.Thread(target=watch, args=(proc, books, started, stop), daemon=True)
        sampler.start()
        kill = args.max_kills is None or books.kills < args.max_kills
        try:
            proc.wait(timeout=args.kill_every if kill else None)
            killed = False
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed = True
        stop.set()
        sampler.join()
    return killed, proc.returncode


def funnel(stats: dict[str, Any], out: Path) -> list[tuple[str, bool]]:
    """The identities stats.json must satisfy, each with whether it holds."""
    b, c, i, e = (stats.get(k, {}) for k in ("bootstrap", "classify", "instances", "export"))
    lines = {n: sum(1 for _ in (out / f"{n}.jsonl").open()) for n in FILES}
    kept = sum(len(r["instances"]) for r in map(json.loads, (out / "instances.jsonl").open()))
    alpaca = sum(1 for _ in (out / "alpaca.jsonl").open())
    return [
        ("bootstrap: candidates = accepted + rejected",
         b["candidates"] == b["accepted"] + b["rejected"]),
        ("bootstrap: rejected = sum of rejected_by_reason",
         b["rejected"] == sum(b["rejected_by_reason"].values())),
        ("bootstrap: accepted = target = pool lines",
         b["accepted"] == b["target"] == lines["machine_instructions"]),
        ("bootstrap: rejected = rejected.jsonl lines", b["rejected"] == lines["rejected"]),
        ("classify: classified = classification + not_classification = instructions",
         c["classified"] == c["classification"] + c["not_classification"] == c["instructions"]),
        ("classify: instructions = bootstrap accepted = classification.jsonl lines",
         c["instructions"] == b["accepted"] == lines["classification"]),
        ("instances: tasks = tasks_kept + each tasks_dropped = instructions",
         i["tasks"] == i["tasks_kept"] + sum(i["tasks_dropped"].values()) == i["instructions"]),
        ("instances: generated = kept + each named drop",
         i["generated"] == i["kept"] + sum(i["dropped"].values())),
        ("instances: kept = instances in instances.jsonl", i["kept"] == kept),
        ("export: machine_examples = instances kept", e["machine_examples"] == i["kept"]),
        ("export: examples = machine + seed - duplicates - each named drop",
         e["examples"] == e["machine_examples"] + e["seed_examples"] - e["duplicates"]
         - sum(e["dropped"].values())),
        ("export: examples = train + validation = alpaca.jsonl lines + validation",
         e["examples"] == e["train"] + e["validation"] and e["train"] == alpaca),
    ]  # fmt: skip


def report(books: Books, out: Path, sent: int, faults: Counter[str], elapsed: float, rc: int):
    stats = json.loads((out / "stats.json").read_text()) if (out / "stats.json").exists() else {}
    answered = sum(
        stats.get(s, {}).get("requests", 0) for s in ("bootstrap", "classify", "instances")
    )
    print(f"finished: exit {rc} after {elapsed:.0f} s, {books.kills} SIGKILLs survived")
    print(f"requests: {sent} sent, {answered} answered into the books (usage.jsonl), "
          f"{sent - answered} retried or lost in flight at a kill ({(sent - answered) / max(sent, 1):.1%})")  # fmt: skip
    print(f"records: {books.lost} lost, {books.duplicated} duplicated, {books.torn} torn, "
          f"{books.gaps} pools with index gaps")  # fmt: skip
    kinds = ", ".join(f"{n} {k}" for k, n in faults.most_common())
    print(f"faults injected: {sum(faults.values())} ({sum(faults.values()) / max(sent, 1):.1%}"
          f" of requests: {kinds})")  # fmt: skip
    for problem in books.problems[:20]:
        print(f"  problem: {problem}")
    ok = rc == 0 and not (books.lost or books.duplicated or books.torn or books.gaps)
    if rc == 0:
        for name, holds in funnel(stats, out):
            print(f"funnel: {'ok  ' if holds else 'FAIL'} {name}")
            ok = ok and holds
        b, i, e = stats["bootstrap"], stats["instances"], stats["export"]
        print(f"funnel: {b['candidates']} candidates -> {b['accepted']} accepted -> "
              f"{i['tasks_kept']} tasks with instances -> {i['kept']} instances -> "
              f"{e['examples']} examples")  # fmt: skip
    if books.rss:
        peak = max(r for _, r in books.rss)
        step = max(1, len(books.rss) // 10)
        over = ", ".join(f"{t:.0f}s {r:.0f}" for t, r in books.rss[::step])
        print(f"rss: peak {peak:.0f} MB; over time (s MB): {over}")
    return ok


def soak(args: argparse.Namespace) -> bool:
    work = Path(args.work or tempfile.mkdtemp(prefix="selfinstruct-soak-"))
    out, books, log = work / "run", Books(), work / "command.log"
    server, urls = stubs(args)
    started = time.monotonic()
    try:
        cmd = command(args, out, urls)
        before: dict[str, dict[Any, str]] | None = None
        while True:
            killed, rc = attempt(cmd, args, books, started, log)
            now = snapshot(out, books) if (out / "machine_instructions.jsonl").exists() else None
            if before is not None and now is not None:
                compare(before, now, books)
            before = now or before
            if not killed:
                break
            books.kills += 1
            print(f"kill {books.kills} at {time.monotonic() - started:.0f} s: "
                  f"{len((now or {}).get('machine_instructions', {}))} instructions, "
                  f"{len((now or {}).get('instances', {}))} tasks with instances on disk",
                  flush=True)  # fmt: skip
        if rc != 0:
            print(log.read_text(errors="replace")[-2000:])
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    sent = sum(int(w.split("=")[1]) for w in err.split() if w.startswith("requests="))
    ok = report(books, out, sent, injected(args, sent), time.monotonic() - started, rc)
    if not args.work and ok:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"run directory kept: {out}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--num-instructions", type=int, default=10_000)
    parser.add_argument("--kill-every", type=float, default=90.0, help="seconds between SIGKILLs")
    parser.add_argument("--max-kills", type=int, help="stop killing after this many")
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--jitter", type=float, default=0.05)
    parser.add_argument("--fault-share", type=float, default=0.10, help="requests that misbehave")
    parser.add_argument("--request-timeout", type=float, default=5.0, help="rides out stalls")
    parser.add_argument("--work", help="directory to keep the run in (default: a temporary one)")
    return 0 if soak(parser.parse_args(argv)) else 1


if __name__ == "__main__":
    sys.exit(main())
