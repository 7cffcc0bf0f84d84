"""`selfinstruct report --data FILE`: the views of a dataset that need no run, on real data."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from corpora import instructions
from rouge_score import rouge_scorer

import selfinstruct
from selfinstruct.cli import main
from selfinstruct.errors import ConfigError


def near_duplicates(texts: list[str]) -> int:
    """Rows whose rouge-score F against some earlier row exceeds 0.7, by brute force."""
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    return sum(
        any(scorer.score(texts[j], texts[i])["rougeL"].fmeasure > 0.7 for j in range(i))
        for i in range(len(texts))
    )


def test_a_chat_dataset_gets_diversity_duplicates_and_shape(tmp_path: Path) -> None:
    texts = instructions(n=250)
    texts += [texts[3], texts[10].upper(), texts[20] + " Please."]  # repeats and a near one
    rows = [{"messages": [{"role": "user", "content": t},
                          {"role": "assistant", "content": f"answer {i}"}]}
            for i, t in enumerate(texts)]  # fmt: skip
    data = tmp_path / "chat.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    result = selfinstruct.report(tmp_path / "rep", data=data)
    found = result.data
    assert found.dedup.similar_total == near_duplicates(texts) >= 3
    assert all(s.score > 0.7 for s in found.dedup.similar)
    distinct = {" ".join(t.casefold().split()) for t in texts}
    assert found.shape.duplicates["instructions"] == len(texts) - len(distinct) >= 2
    assert len(found.diversity.max_rouge) == len(texts) - 1
    assert found.diversity.verbs and found.diversity.verbs[0].count > 5
    assert found.language == "en" and found.shape.machine.instances == len(texts)
    md = result.markdown.read_text("utf-8")
    for title in ("## Diversity", "## Near duplicates", "## Shape of the data", "messages jsonl"):
        assert title in md
    assert "## Funnel" not in md and "Tokens and cost" not in md
    assert sorted(p.name for p in result.plots) == [
        "lengths.png",
        "rouge.png",
        "tasks.png",
        "verbs.png",
    ]
    assert all(p.stat().st_size > 1000 for p in result.plots)
    assert result.html.read_text("utf-8").count("data:image/png;base64,") == 4


def test_a_chinese_parquet_dataset_and_the_command_line(tmp_path: Path, capsys) -> None:
    texts = instructions("instructions_zh.jsonl", 120)
    table = pa.Table.from_pylist([{"instruction": t, "input": "", "output": "好"} for t in texts])
    pq.write_table(table, tmp_path / "zh.parquet")
    assert main(["report", "--data", str(tmp_path / "zh.parquet")]) == 0
    out = capsys.readouterr().out
    assert "zh.parquet (alpaca parquet, 120 rows, zh)" in out
    assert (tmp_path / "zh.parquet.report" / "index.html").exists()
    with pytest.raises(ConfigError, match="--data FILE"):
        selfinstruct.report()
