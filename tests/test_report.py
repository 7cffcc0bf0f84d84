"""The run report: the funnel adds up, the page is self-contained, partial and Chinese runs work.

Runs are made by the real pipeline on a scripted backend (`scripted.respond`, with a few
answers that each filter catches), then reported through the public function and the CLI.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeBackend, prompt_text
from scripted import chinese, respond

import selfinstruct
from selfinstruct.cli import main
from selfinstruct.errors import DataError
from selfinstruct.reporting.data import collect
from selfinstruct.reporting.shape import nearest
from selfinstruct.runtime.records import Rejection
from selfinstruct.runtime.rundir import RunDir

SECTIONS = ("Funnel", "Diversity", "Explainable dedup", "Shape of the data", "Tokens and cost")
PNG = b"\x89PNG\r\n\x1a\n"


def varied(prompt: Any, params: Any) -> str:
    """`respond`, plus answers the filters drop (a short and a blacklisted candidate, a repeat)
    and a judge that gives "done 1" a helpfulness of 2."""
    asked = prompt_text(prompt)
    if "Helpfulness: <1-5>" in asked:
        return f"Correctness: 5\nHelpfulness: {2 if 'Response: done 1' in asked else 5}"
    text = respond(prompt, params)
    if text.startswith(tuple(f"{n}. " for n in range(1, 20))):  # a bootstrap list
        first = int(text.split(".")[0])
        return f"{text}\n{first + 6}. Do it now.\n{first + 7}. Draw a picture of a quiet harbor."
    if "Output: done 2" in text:
        return text + "Example 3\nInput: more\nOutput: done 2\n"  # the same example again
    return text


@pytest.fixture(scope="module")
def en_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A complete English run (12 instructions) and the CLI's summary of its report (priced)."""
    out = tmp_path_factory.mktemp("en") / "run"
    selfinstruct.run(
        "en", out, 12, FakeBackend(respond=varied), concurrency=3, progress=False,
        judge=True, min_score=4,
    )  # fmt: skip
    from contextlib import redirect_stdout
    from io import StringIO

    config = out.parent / "run.toml"  # the flag's input price wins over the file's
    config.write_text("[backend]\nprice_input = 9.0\nprice_output = 2.0\n", encoding="utf-8")
    printed = StringIO()
    with redirect_stdout(printed):
        code = main(["report", "--out", str(out), "--config", str(config), "--price-input", "0.5"])
    assert code == 0
    return out, printed.getvalue()


def test_funnel_adds_up_and_matches_every_stage(en_run: tuple[Path, str]) -> None:
    out, _ = en_run
    f = collect(out).funnel
    assert f.identities and all(i.ok for i in f.identities), [str(i) for i in f.identities]
    stats = json.loads((out / "stats.json").read_text())
    boot, cls, inst, exp = (stats[k] for k in ("bootstrap", "classify", "instances", "export"))
    assert (
        (f.candidates, f.accepted) == (boot["candidates"], boot["accepted"]) == (f.candidates, 12)
    )
    assert f.rejected == dict(sorted(boot["rejected_by_reason"].items(), key=lambda kv: -kv[1]))
    assert {"too_short", "blacklisted_keyword", "too_similar"} <= set(f.rejected)
    assert (f.yes, f.no, f.unparseable) == (
        cls["classification"],
        cls["not_classification"],
        cls["unparseable"],
    )
    assert (f.generated, f.kept, f.instance_dropped) == (
        inst["generated"],
        inst["kept"],
        inst["dropped"],
    )
    assert f.instance_dropped["duplicate"] > 0
    assert f.exported == exp["examples"] > 0 and f.requests == boot["requests"]
    assert f.judged == f.kept and set(f.judge_scores) == {"5", "2"}
    assert f.export_dropped["score_2"] == f.judge_scores["2"] == exp["dropped"]["score_2"]


def test_a_stale_export_does_not_add_up(en_run: tuple[Path, str], tmp_path: Path) -> None:
    out = tmp_path / "copy"
    shutil.copytree(en_run[0], out)
    rows = (out / "alpaca.jsonl").read_text().splitlines(keepends=True)
    (out / "alpaca.jsonl").write_text("".join(rows[1:]))  # one row lost after the export
    bad = [i for i in collect(out).funnel.identities if not i.ok]
    assert [i.equation for i in bad] == ["rows exported = machine + seed examples - export drops"]
    assert "rerun `selfinstruct export`" in str(bad[0])


def test_page_is_self_contained_with_every_plot(en_run: tuple[Path, str]) -> None:
    folder = en_run[0] / "report"
    page = (folder / "index.html").read_text(encoding="utf-8")
    links = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", page)
    assert links and all(link.startswith("data:image/png;base64,") for link in links)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    pngs = sorted(folder.glob("*.png"))
    assert len(pngs) >= 5 and len(links) == len(pngs)
    for path in pngs:
        blob = path.read_bytes()
        width, height = struct.unpack(">II", blob[16:24])  # the IHDR chunk
        assert blob.startswith(PNG) and blob.endswith(b"IEND\xaeB`\x82") and width * height > 0
    embedded = {base64.b64decode(link.split(",", 1)[1]) for link in links}
    assert embedded == {p.read_bytes() for p in pngs}
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in page


def test_markdown_has_the_same_sections_and_links_the_plots(en_run: tuple[Path, str]) -> None:
    folder = en_run[0] / "report"
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert [s for s in SECTIONS if f"\n## {s}\n" not in md] == []
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert sorted(images) == sorted(p.name for p in folder.glob("*.png"))
    assert "| rows exported = machine + seed examples - export drops |" in md
    assert "The numbers add up." in md


def test_dedup_samples_name_the_nearest_pool_entry(en_run: tuple[Path, str]) -> None:
    out = en_run[0]
    data = collect(out)
    pool = {m.instruction for m in RunDir.of(out).read_machine()} | {
        t.instruction for t in selfinstruct.load_seeds("en")
    }
    rejected = {r.instruction for r in RunDir.of(out).read_rejections()}
    assert data.dedup.similar and data.dedup.similar_total >= len(data.dedup.similar)
    for s in data.dedup.similar:
        assert s.candidate in rejected and s.nearest in pool and s.score > 0.7
    assert [s.score for s in data.dedup.similar] == sorted(
        (s.score for s in data.dedup.similar), reverse=True
    )
    assert {e.reason for e in data.dedup.by_reason} == {"too_short", "blacklisted_keyword"}


def test_an_older_run_detail_still_gives_the_nearest_entry() -> None:
    old = Rejection(
        instruction="x", reason="too_similar", request=0, detail='0.8123 vs "it\'s a pool entry"'
    )
    assert nearest(old) == (0.8123, "it's a pool entry")
    assert nearest(Rejection(instruction="x", reason="too_short", request=0)) is None


def test_cli_summary_and_cost_from_flags_and_config_file(en_run: tuple[Path, str]) -> None:
    out, printed = en_run
    stats = json.loads((out / "stats.json").read_text())
    stages = ("bootstrap", "classify", "instances", "judge")
    prompt = sum(stats[s]["prompt_tokens"] for s in stages)
    completion = sum(stats[s]["completion_tokens"] for s in stages)
    cost = (prompt * 0.5 + completion * 2) / 1e6
    assert f"estimated cost {cost:.4g}" in printed
    assert "funnel: " in printed and "numbers add up" in printed
    assert "median ROUGE-L" in printed and "top verbs: " in printed
    assert f"{out / 'report' / 'index.html'}" in printed
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "Estimated cost at 0.5 per million prompt tokens and 2 per million" in page


def test_a_chinese_run(tmp_path: Path) -> None:
    selfinstruct.run("zh", tmp_path, 6, FakeBackend(respond=chinese), concurrency=2, progress=False)
    result = selfinstruct.report(tmp_path)
    data = result.data
    assert data.language == "zh" and data.shape.unit == "characters" and data.funnel.ok
    verbs = {v.verb for v in data.diversity.verbs}
    assert verbs and verbs <= {"写", "判断", "翻译", "总结", "解释"}
    assert all(o == "文章" for v in data.diversity.verbs for o, _ in v.objects)
    assert data.shape.scripts["instructions"] == {"Chinese": 6}  # every instruction
    assert len(result.plots) >= 5 and all(p.read_bytes().startswith(PNG) for p in result.plots)
    md = result.markdown.read_text(encoding="utf-8")
    assert "文章" in md and "median instruction length (characters)" in md


def test_an_interrupted_run_reports_what_is_there(tmp_path: Path) -> None:
    selfinstruct.bootstrap("en", tmp_path, 6, FakeBackend(respond=varied), progress=False)
    with (tmp_path / "machine_instructions.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"instruction": "Write a torn li')  # a crash in the middle of a line
    result = selfinstruct.report(tmp_path)
    f = result.data.funnel
    assert (f.accepted, f.classified, f.exported) == (6, 0, None) and f.ok
    assert len(result.plots) >= 5
    md = result.markdown.read_text(encoding="utf-8")
    assert "| rows exported | not exported yet |" in md
    assert "funnel: " in result.summary and "bootstrap target_reached" in result.summary


def test_a_directory_without_a_run_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="selfinstruct run --out"):
        selfinstruct.report(tmp_path)
    assert not (tmp_path / "report").exists()


def test_importing_selfinstruct_loads_neither_matplotlib_nor_jieba() -> None:
    code = "import sys, selfinstruct; print(sorted({'matplotlib', 'jieba'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
