"""The soak benchmark at a tiny size, so it cannot rot: one SIGKILL mid-run, nothing lost."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks" / "soak.py"


def test_a_tiny_soak_survives_a_kill_with_nothing_lost(tmp_path: Path, capsys, monkeypatch) -> None:
    spec = importlib.util.spec_from_file_location("soak", BENCH)
    assert spec is not None and spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "soak", soak)  # dataclasses look their module up
    spec.loader.exec_module(soak)
    argv = ["--num-instructions", "150", "--kill-every", "4", "--max-kills", "1",
            "--latency", "0.1", "--concurrency", "16", "--work", str(tmp_path)]  # fmt: skip
    code = soak.main(argv)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "finished: exit 0" in out and "1 SIGKILLs survived" in out
    assert "records: 0 lost, 0 duplicated, 0 torn, 0 pools with index gaps" in out
    assert out.count("funnel: ok") == 12 and "FAIL" not in out
    assert "faults injected:" in out and "rss: peak" in out
    assert "kill 1 at" in out  # the kill landed while the run was still working
