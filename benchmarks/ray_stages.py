"""The instances stage through one driver vs on Ray: requests/s and CPU per request, side by side.

Starts `--endpoints` local OpenAI-compatible stubs (`selfinstruct.testing.openai_stub`, as
benchmarks/fleet.py does: separate processes, `--latency` plus up to `--jitter` seconds per
answer), makes a run directory of `--instructions` machine instructions and classifies them
(untimed), then runs the real command `selfinstruct instances` on copies of it: plain with K in
flight, plain with W*K in flight (what the Ray run keeps in flight), and with `--ray local
--ray-workers W` (a local Ray cluster started by the command; each worker keeps K in flight). A
thread samples the CPU time of the command's whole process tree (the driver, and with Ray the
workers, raylet and GCS) with psutil. Printed: wall time (with Ray's start), the stage's own time
(usage.jsonl), requests/s over it (stats.json's request count), CPU milliseconds per request of the
driver alone and of the whole tree (the Ray cluster's start included), and whether both runs wrote
the same lines.

Then the scoring pass after the bootstrap loop (stages/bootstrap/pool_scores.py) on a pool of
`--scoring-pool` synthetic tasks, its second half scored in `--workers` spans: local processes
vs Ray tasks on a local cluster (its start timed apart), and whether the scores are the same.

    python benchmarks/ray_stages.py                        # 4 endpoints, 1,000 instructions
    python benchmarks/ray_stages.py --instructions 5000 --concurrency 128 --workers 4
    python benchmarks/ray_stages.py --scoring-only --scoring-pool 20000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fleet import endpoints

from selfinstruct.runtime.jsonl import JsonlWriter
from selfinstruct.runtime.records import MachineInstruction
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.stages.bootstrap.pool_scores import score_pool
from selfinstruct.stages.bootstrap.pool_scores_ray import RayScorer


@dataclass
class Figures:
    label: str
    wall_s: float
    stage_s: float
    requests: int
    driver_cpu_s: float
    tree_cpu_s: float

    def show(self) -> str:
        rate = self.requests / self.stage_s if self.stage_s else 0.0
        per = 1000 / max(1, self.requests)
        return (
            f"{self.label:<16} {self.wall_s:7.1f} {self.stage_s:8.1f} {self.requests:9d} {rate:11.1f} "
            f"{self.driver_cpu_s * per:14.2f} {self.tree_cpu_s * per:12.2f}"
        )


def make_run(root: Path, count: int) -> None:
    """A run directory holding `count` distinct machine instructions."""
    rundir = RunDir.of(root)
    rundir.write_meta({"seeds": "en", "language": "en"})
    with JsonlWriter(rundir.machine_instructions) as out:
        for i in range(count):
            text = f"Write a short story of {i} words about a lighthouse keeper number {i}."
            out.write(
                MachineInstruction(instruction=text, index=i, request=0, max_rouge=0, mean_rouge=0)
            )


def command(stage: str, out: Path, urls: list[str], concurrency: int) -> list[str]:
    return [
        sys.executable, "-m", "selfinstruct.cli", stage, "--out", str(out), "--no-progress",
        "--base-url", ",".join(urls), "--model", "stub-model", "--concurrency", str(concurrency),
    ]  # fmt: skip


def run_measured(label: str, cmd: list[str], out: Path) -> Figures:
    """Run `cmd`, sampling its process tree's CPU time; the figures of its instances stage."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    seen: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                for p in [root, *root.children(recursive=True)]:
                    with_cpu = p.cpu_times()
                    seen[p.pid] = with_cpu.user + with_cpu.system
            except psutil.Error:
                pass
            time.sleep(0.1)

    start = time.perf_counter()
    spy = threading.Thread(target=sample, daemon=True)
    spy.start()
    _, err = proc.communicate()
    wall = time.perf_counter() - start
    done.set()
    spy.join()
    if proc.returncode != 0:
        raise SystemExit(f"{label}: {' '.join(cmd)} failed:\n{err[-3000:]}")
    stats = json.loads((out / "stats.json").read_text())["instances"]
    ledger = [json.loads(line) for line in (out / "usage.jsonl").read_text().splitlines()]
    stage_s = sum(line["elapsed_s"] for line in ledger if line["stage"] == "instances")
    driver = seen.get(proc.pid, 0.0)
    return Figures(label, wall, stage_s, stats["requests"], driver, sum(seen.values()))


def tasks_of(root: Path, which: str = "instances") -> list[str]:
    """The instructions of a run's instances.jsonl (or machine instructions), sorted.

    The stubs' answers depend on which endpoint got the request, so the lines themselves
    differ between two runs over several endpoints; the set of instructions must not."""
    name = "instances.jsonl" if which == "instances" else "machine_instructions.jsonl"
    rows = [json.loads(line) for line in (root / name).read_text().splitlines() if line.strip()]
    return sorted(row["instruction"] for row in rows)


def synthetic_pool(n: int) -> list[str]:
    """`n` task-like sentences (seeded) over a 3,000-word vocabulary of made-up words."""
    rng = random.Random(0)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 8))) for _ in range(3000)]
    verbs = ["Write", "Explain", "Summarize", "List", "Describe", "Compare"]
    return [
        f"{rng.choice(verbs)} the {' '.join(rng.sample(words, 5))} in {i % 97 + 3} sentences."
        for i in range(n)
    ]


def scoring_figures(pool_size: int, spans: int) -> bool:
    """Print the scoring pass's wall time local vs on Ray; whether the scores are the same."""
    import ray

    pool, start = synthetic_pool(pool_size), pool_size // 2
    began = time.perf_counter()
    local = asyncio.run(score_pool(pool, start, "en", 0.7, "auto", spans))
    local_s = time.perf_counter() - began
    began = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False)
    ray.get(ray.remote(lambda: None).remote())  # a worker up
    init_s, began = time.perf_counter() - began, time.perf_counter()
    on_ray = asyncio.run(RayScorer("local")(pool, start, "en", 0.7, "auto", spans))
    ray_s = time.perf_counter() - began
    ray.shutdown()
    n = pool_size - start
    print(f"scoring pass: {n} instructions against a pool of {pool_size}, {spans} spans")
    print(f"{'':<16} {'wall s':>7} {'ms/inst':>8}")
    print(f"{'local processes':<16} {local_s:7.2f} {1000 * local_s / n:8.3f}")
    print(f"{'Ray tasks':<16} {ray_s:7.2f} {1000 * ray_s / n:8.3f}   (Ray's start: {init_s:.1f} s)")
    print(f"the same scores to the bit: {local == on_ray}")
    return local == on_ray


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoints", type=int, default=4)
    ap.add_argument("--stub-processes", type=int, default=2)
    ap.add_argument("--instructions", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=64, help="requests in flight per client")
    ap.add_argument("--workers", type=int, default=2, help="Ray actors")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--jitter", type=float, default=0.1)
    ap.add_argument("--scoring-pool", type=int, default=20_000, help="0: no scoring figure")
    ap.add_argument("--scoring-only", action="store_true", help="only the scoring figure")
    args = ap.parse_args(argv)
    if args.scoring_only:
        return 0 if scoring_figures(args.scoring_pool, args.workers) else 1
    args.diverse = True
    work = Path(tempfile.mkdtemp(prefix="ray-stages-"))
    try:
        with endpoints(args, work) as urls:
            base = work / "base"
            make_run(base, args.instructions)
            subprocess.run(command("classify", base, urls, args.concurrency), check=True)
            plain, wide, on_ray = work / "plain", work / "wide", work / "ray"
            for copy in (plain, wide, on_ray):
                shutil.copytree(base, copy)
            ray_flags = ["--ray", "local", "--ray-workers", str(args.workers)]
            in_flight = args.workers * args.concurrency
            figures = [
                run_measured(
                    "1 driver", command("instances", plain, urls, args.concurrency), plain
                ),
                run_measured(
                    f"1 driver, {in_flight}", command("instances", wide, urls, in_flight), wide
                ),
                run_measured(
                    f"Ray, {args.workers} workers",
                    command("instances", on_ray, urls, args.concurrency) + ray_flags,
                    on_ray,
                ),
            ]
        print(
            f"instances of {args.instructions} instructions, {args.endpoints} stub endpoints "
            f"({args.latency}+{args.jitter} s), {args.concurrency} in flight per client"
        )
        print(f"{'':<16} {'wall s':>7} {'stage s':>8} {'requests':>9} {'requests/s':>11} "
              f"{'driver CPU ms/req':>14} {'all CPU ms/req':>12}")  # fmt: skip
        for f in figures:
            print(f.show())
        same = (
            tasks_of(plain)
            == tasks_of(wide)
            == tasks_of(on_ray)
            == sorted(tasks_of(base, "machine"))
        )
        print(f"every instruction answered exactly once both ways: {same}")
        if args.scoring_pool:
            same = scoring_figures(args.scoring_pool, args.workers) and same
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
