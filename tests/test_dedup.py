"""`selfinstruct dedup`: rouge-score's decisions on real data, every input format, resume, errors."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from corpora import instructions
from rouge_score import rouge_scorer

import selfinstruct
from selfinstruct.cli import main
from selfinstruct.errors import ConfigError, DataError
from selfinstruct.runtime.dataset_io import open_source, read_rows
from selfinstruct.similarity import tokenize_cjk_chars
from selfinstruct.stages.dedup import stage as dedup_module


def edited(texts: list[str], n: int, seed: int, sep: str = " ") -> list[str]:
    """`texts` with `n` edited copies of some of them (a word or character dropped or doubled)
    mixed in, so that both kinds of near-duplicate removal happen."""
    rng = random.Random(seed)
    out = list(texts)
    for _ in range(n):
        parts = rng.choice(texts).split(sep) if sep else list(rng.choice(texts))
        i = rng.randrange(len(parts))
        parts = parts[:i] + parts[i + 1 :] if rng.random() < 0.5 else parts[: i + 1] + parts[i:]
        if "".join(parts).strip():
            out.insert(rng.randrange(len(out) + 1), sep.join(parts))
    return out


class _Tokens:
    def __init__(self, fn) -> None:
        self.tokenize = fn


def brute_force(texts: list[str], zh: bool) -> list[tuple[bool, float, int | None]]:
    """Each text against every kept one before it with rouge-score itself: (removed, max, at)."""
    tokenizer = _Tokens(tokenize_cjk_chars) if zh else None
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False, tokenizer=tokenizer)
    kept: list[int] = []
    out = []
    for i, text in enumerate(texts):
        best, at = 0.0, None
        for k in kept:
            f = scorer.score(texts[k], text)["rougeL"].fmeasure
            if at is None or f > best:
                best, at = f, k
        removed = best > 0.7
        out.append((removed, best, at))
        if not removed:
            kept.append(i)
    return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


@pytest.mark.parametrize(
    ("corpus", "n", "zh"),
    [("instructions.jsonl", 400, False), ("instructions_zh.jsonl", 250, True)],
)
def test_decisions_scores_and_nearest_rows_are_rouge_scores(
    tmp_path: Path, corpus: str, n: int, zh: bool
) -> None:
    texts = edited(instructions(corpus, n), n // 4, seed=3, sep="" if zh else " ")
    data = write_jsonl(tmp_path / "in.jsonl", [{"instruction": t} for t in texts])
    result = selfinstruct.dedup(data, tmp_path / "out", progress=False)
    expected = brute_force(texts, zh)
    removed = {r["line"]: r for r in map(json.loads, (tmp_path / "out/removed.jsonl").open())}
    assert result.summary["language"] == ("zh" if zh else "en")
    assert sum(e[0] for e in expected) == result.removed == len(removed) > n // 10
    for line, (gone, best, at) in enumerate(expected, start=1):
        assert (line in removed) == gone, texts[line - 1]
        if gone:
            assert removed[line]["score"] == best  # bit for bit
            assert removed[line]["nearest_line"] == at + 1
            assert removed[line]["nearest"] == texts[at]
    kept = [json.loads(x)["instruction"] for x in (tmp_path / "out/in.jsonl").open()]
    assert kept == [t for t, e in zip(texts, expected, strict=True) if not e[0]]


ROWS = [
    ("Write a short poem about the sea.", "", "Waves..."),
    ("Write a short poem about the sea!", "", "Blue..."),  # same tokens: duplicate
    ("Translate the sentence into French.", "Good morning.", "Bonjour."),
    (
        "Translate the sentence into French.",
        "How are you today, my dear old friend?",
        "Bonne nuit.",
    ),
    ("Write a short poem about the ocean.", "", "Deep..."),  # 0.857 to row 1: too_similar
    ("List three uses of a paperclip.", "", "1. ..."),
]


def alpaca(i: str, x: str, o: str) -> dict:
    return {"instruction": i, "input": x, "output": o, "score": len(o)}


def sharegpt(i: str, x: str, o: str) -> dict:
    turns = [{"from": "system", "value": "Be kind."}, {"from": "human", "value": i},
             {"from": "gpt", "value": o}]  # fmt: skip
    return {"conversations": turns, "score": len(o)}


def messages(i: str, x: str, o: str) -> dict:
    turns = [{"role": "user", "content": i}, {"role": "assistant", "content": o}]
    return {"messages": turns, "score": len(o)}


def prompt_completion(i: str, x: str, o: str) -> dict:
    return {"prompt": [{"role": "user", "content": i}],
            "completion": [{"role": "assistant", "content": o}], "score": len(o)}  # fmt: skip


def _write(kind: str, folder: Path, rows: list[dict]) -> Path:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    if kind == "jsonl":
        return write_jsonl(folder / "data.jsonl", rows)
    if kind == "json":
        (folder / "data.json").write_text(json.dumps(rows, indent=1), "utf-8")
        return folder / "data.json"
    if kind == "parquet":
        pq.write_table(pa.Table.from_pylist(rows), folder / "data.parquet")
        return folder / "data.parquet"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder / "data"))
    return folder / "data"


def _instructions(path: Path) -> list[str]:
    return [r.instruction for r in read_rows(open_source(path))]


@pytest.mark.parametrize("container", ["jsonl", "json", "parquet", "datasets"])
@pytest.mark.parametrize("shape", [alpaca, sharegpt, messages, prompt_completion])
def test_every_format_is_read_and_written_back_in_its_own_format(
    tmp_path: Path, container: str, shape
) -> None:
    data = _write(container, tmp_path, [shape(*r) for r in ROWS])
    result = selfinstruct.dedup(data, tmp_path / "out", progress=False)
    assert result.summary["inputs"][0]["format"] == f"{shape.__name__} {container}"
    written = result.files[0]
    assert open_source(written).format == open_source(data).format
    assert _instructions(written) == [ROWS[i][0] for i in (0, 2, 5)]
    reasons = [json.loads(x)["reason"] for x in (tmp_path / "out/removed.jsonl").open()]
    assert reasons == ["duplicate", "duplicate", "too_similar"]


def test_instruction_and_input_and_ordering_by_a_score(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "a.jsonl", [alpaca(*r) for r in ROWS])
    both = selfinstruct.dedup(data, tmp_path / "both", compare="instruction_input", progress=False)
    assert _instructions(both.files[0]) == [ROWS[i][0] for i in (0, 2, 3, 5)]
    assert both.summary["compared"] == "instruction + input"
    best = selfinstruct.dedup(data, tmp_path / "best", order_by="score", progress=False)
    # the longest output of each group wins; the kept rows stay in file order
    kept = [json.loads(x)["output"] for x in best.files[0].open()]
    assert kept == ["Waves...", "Bonne nuit.", "1. ..."]
    assert best.summary["best"] == "highest"
    worst = selfinstruct.dedup(
        data, tmp_path / "worst", order_by="score", ascending=True, progress=False
    )
    assert json.loads(next(iter(worst.files[0].open())))["output"] == "Blue..."


def test_several_inputs_are_deduplicated_together(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    first = write_jsonl(tmp_path / "a.jsonl", [alpaca(*r) for r in ROWS[:3]])
    second = _write("parquet", tmp_path / "x", [messages(*r) for r in ROWS[3:]])
    result = selfinstruct.dedup([first, second], tmp_path / "out", progress=False)
    assert [i["kept"] for i in result.summary["inputs"]] == [2, 1]
    removed = [json.loads(x) for x in (tmp_path / "out/removed.jsonl").open()]
    assert removed[-1]["file"] == str(second) and removed[-1]["nearest_file"] == str(first)


def test_a_crash_loses_nothing_and_a_rerun_resumes(tmp_path: Path, monkeypatch) -> None:
    texts = edited(instructions(n=3000), 1500, seed=5)
    data = write_jsonl(tmp_path / "in.jsonl", [{"instruction": t} for t in texts])
    clean = selfinstruct.dedup(data, tmp_path / "clean", progress=False)
    monkeypatch.setattr(dedup_module, "BATCH", 500)
    calls = {"n": 0}
    decide = dedup_module.Decider.decide

    def crash(self, k: int, g: int):
        calls["n"] += 1
        if calls["n"] == 2200:  # mid-chunk, after four checkpoints
            raise KeyboardInterrupt
        return decide(self, k, g)

    monkeypatch.setattr(dedup_module.Decider, "decide", crash)
    with pytest.raises(KeyboardInterrupt):
        selfinstruct.dedup(data, tmp_path / "out", progress=False)
    progress = [json.loads(x) for x in (tmp_path / "out/progress.jsonl").open()]
    assert progress[-1] == {"done": 2000}
    with (tmp_path / "out/removed.jsonl").open("a") as fh:
        fh.write('{"order": 2100, "fi')  # and a torn last line, as a kill mid-write leaves
    monkeypatch.setattr(dedup_module.Decider, "decide", decide)
    resumed = selfinstruct.dedup(data, tmp_path / "out", progress=False)
    assert resumed.new == len(texts) - 2000
    assert (tmp_path / "out/in.jsonl").read_bytes() == (tmp_path / "clean/in.jsonl").read_bytes()
    assert (tmp_path / "out/removed.jsonl").read_bytes() == (
        tmp_path / "clean/removed.jsonl"
    ).read_bytes()
    assert resumed.removed == clean.removed
    again = selfinstruct.dedup(data, tmp_path / "out", progress=False)
    assert again.new == 0 and again.removed == clean.removed
    with pytest.raises(ConfigError, match="other inputs or settings"):
        selfinstruct.dedup(data, tmp_path / "out", threshold=0.5, progress=False)


def test_bad_rows_name_the_file_line_and_field(tmp_path: Path) -> None:
    rows = [alpaca(*r) for r in ROWS]
    rows[3]["instruction"] = ""
    data = write_jsonl(tmp_path / "a.jsonl", rows)
    with pytest.raises(DataError, match=r"a\.jsonl:4: field 'instruction'"):
        selfinstruct.dedup(data, tmp_path / "out", progress=False)
    rows = [alpaca(*r) for r in ROWS]
    rows[2]["score"] = "high"
    data = write_jsonl(tmp_path / "b.jsonl", rows)
    with pytest.raises(DataError, match=r"b\.jsonl:3: field 'score': 'high' is not a number"):
        selfinstruct.dedup(data, tmp_path / "out", order_by="score", progress=False)
    chat = [messages(*r) for r in ROWS]
    chat[1]["messages"] = [{"role": "assistant", "content": "hi"}]
    (tmp_path / "c.json").write_text(json.dumps(chat, indent=2), "utf-8")
    with pytest.raises(DataError, match=r"c\.json:1[0-9]: field 'messages'"):
        selfinstruct.dedup(tmp_path / "c.json", tmp_path / "out", progress=False)
    write_jsonl(tmp_path / "d.jsonl", [{"text": "no instruction here"}])
    with pytest.raises(DataError, match=r"d\.jsonl:1: no instruction field"):
        selfinstruct.dedup(tmp_path / "d.jsonl", tmp_path / "out", progress=False)


def test_the_command_line(tmp_path: Path, capsys) -> None:
    data = write_jsonl(tmp_path / "a.jsonl", [alpaca(*r) for r in ROWS])
    assert main(["dedup", str(data), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    line = capsys.readouterr().out
    assert "kept 3 of 6 rows (removed 3: duplicate 2, too_similar 1" in line
    summary = json.loads((tmp_path / "out/dedup.json").read_text())
    assert summary["threshold"] == 0.7 and summary["language"] == "en"
    assert main(["dedup", str(data), "--out", str(tmp_path / "o2"), "--threshold", "2"]) == 2
    assert "--threshold" in capsys.readouterr().err
    assert main(["dedup", str(data), "--out", str(tmp_path)]) == 2  # would overwrite the input


def test_semantic_removes_a_paraphrase_rouge_l_keeps(tmp_path: Path) -> None:
    from semantic_cases import IDIOM, PARAPHRASE, POOL, UNRELATED, needs

    needs("minilm")
    rows = [*POOL, PARAPHRASE, UNRELATED, IDIOM]
    data = write_jsonl(tmp_path / "a.jsonl", [{"instruction": t} for t in rows])
    plain = selfinstruct.dedup(data, tmp_path / "plain", progress=False)
    assert plain.removed == 0  # no pair is above 0.7 by ROUGE-L
    result = selfinstruct.dedup(data, tmp_path / "out", semantic=True, progress=False)
    removed = [json.loads(x) for x in (tmp_path / "out/removed.jsonl").open()]
    assert [(r["text"], r["reason"], r["nearest"]) for r in removed] == [
        (PARAPHRASE, "too_similar_semantic", POOL[0]),
        (IDIOM, "too_similar_semantic", POOL[3]),
    ]
    assert result.summary["semantic"] is True and result.kept == 5
