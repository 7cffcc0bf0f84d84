"""Structured outputs (`--structured`): the response_format negotiation, the JSON readers, a run.

The negotiation is tested against the stub dressed as each kind of server (one that takes
json_schema, llama-cpp-python's 500 refusal, one that takes neither, one that ignores the field)
and against the suite's real llama.cpp server, which must end on json_object with the schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from llama_server import LlamaServer

from selfinstruct import bootstrap
from selfinstruct.cli import main
from selfinstruct.errors import BackendError, ConfigError
from selfinstruct.json_text import read_json
from selfinstruct.llm.base import GenerationParams
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.structured import UNUSABLE_LIMIT, fits, response_format
from selfinstruct.runtime.rundir import RunDir
from selfinstruct.runtime.structured import SCHEMAS
from selfinstruct.stages.bootstrap.candidates import candidates_from_json
from selfinstruct.stages.classify.answers import label_from_json
from selfinstruct.stages.instances.parsing import instances_from_json
from selfinstruct.stages.judge.scores import scores_from_json
from selfinstruct.testing.openai_stub import Fault, StubServer, task_list

CHAT = [{"role": "user", "content": "List new tasks."}]
LIST = SCHEMAS["json_bootstrap"]


def json_reply(prompt: str, body: dict[str, Any]) -> str:
    """A model that answers each stage's schema in JSON when asked for it, else in text."""
    form = body.get("response_format") or {}
    schema = form.get("schema") or form.get("json_schema", {}).get("schema")
    if schema is None:
        return "1. Not JSON at all, a plain list item."
    keys = list(schema["properties"])
    if keys == ["instructions"]:
        listed = task_list(prompt, body.get("seed"), diverse=True).splitlines()
        items = [line.split(". ", 1)[-1] for line in listed if ". " in line]
        return json.dumps({"instructions": [f"1. {items[0]}", "\n", *items[1:]]})
    if keys == ["is_classification"]:
        return '{"is_classification": false}'
    if keys == ["instances"]:
        return '```json\n{"instances": [{"input": "the sea", "output": "Waves\nroll in."}]}\n```'
    return '{"correctness": 4, "helpfulness": 5}'


def posts(server: StubServer) -> list[dict[str, Any]]:
    return [r.body for r in server.requests if r.method == "POST"]


def sent_formats(server: StubServer) -> list[str | None]:
    return [(body.get("response_format") or {}).get("type") for body in posts(server)]


async def ask(backend: OpenAIBackend, n: int, schema: dict[str, Any] | None = LIST) -> list[str]:
    try:
        params = GenerationParams(max_tokens=200, json_schema=schema)
        return [c.text for c in await backend.acomplete([CHAT] * n, params)]
    finally:
        await backend.aclose()


def test_a_server_that_takes_json_schema_gets_it_on_every_request():
    with StubServer(reply=json_reply, formats={"json_schema", "json_object"}) as server:
        backend = OpenAIBackend(
            model="m", base_url=server.url, structured="auto", max_concurrency=4
        )
        texts = asyncio.run(ask(backend, 6))
    assert sent_formats(server) == ["json_schema"] * 6
    body = posts(server)[0]["response_format"]["json_schema"]
    assert (body["name"], body["strict"], "title" in body["schema"]) == (
        "instructions",
        True,
        False,
    )
    assert all(candidates_from_json(t) for t in texts)
    assert backend.structured.report()["sent"] == {"/chat/completions": "json_schema"}


def test_llama_cpp_pythons_500_refusal_is_not_retried_and_falls_to_json_object(caplog):
    caplog.set_level(logging.INFO, "selfinstruct.llm.structured")
    with StubServer(reply=json_reply, formats={"text", "json_object"}, format_status=500) as srv:
        backend = OpenAIBackend(
            model="m", base_url=srv.url, structured="auto", max_concurrency=4, retry_budget=30
        )
        texts = asyncio.run(ask(backend, 5))
    # one refused json_schema request (a refusal, not a crash to retry), then json_object for all
    assert sent_formats(srv) == ["json_schema"] + ["json_object"] * 5
    assert posts(srv)[1]["response_format"]["schema"]["required"] == ["instructions"]
    assert backend.retries == 0 and all(candidates_from_json(t) for t in texts)
    lines = [r.getMessage() for r in caplog.records if "structured outputs" in r.getMessage()]
    assert len(lines) == 1 and "json_object" in lines[0]


def test_a_real_500_is_still_retried_with_the_format_it_had():
    with StubServer(reply=json_reply, formats={"json_schema"}) as server:
        server.push(Fault.http(500))
        backend = OpenAIBackend(
            model="m", base_url=server.url, structured="auto", backoff=(0.01, 0.02), server="openai"
        )
        asyncio.run(ask(backend, 1))
    assert sent_formats(server) == ["json_schema", "json_schema"]
    assert backend.retries == 1


def test_a_server_that_takes_neither_gets_text_under_auto_and_is_an_error_under_on(caplog):
    with StubServer(reply=json_reply, formats={"text"}) as server:
        backend = OpenAIBackend(
            model="m", base_url=server.url, structured="auto", max_concurrency=3
        )
        texts = asyncio.run(ask(backend, 4))
        assert sent_formats(server) == ["json_schema", "json_object", None, None, None, None]
        assert texts == ["1. Not JSON at all, a plain list item."] * 4
        assert "neither" in backend.structured.report()["fallback"]["/chat/completions"]
        strict = OpenAIBackend(model="m", base_url=server.url, structured="on")
        with pytest.raises(BackendError, match=r"--structured on: .* takes neither") as caught:
            asyncio.run(ask(strict, 2))
        assert "\n" not in str(caught.value)


def test_off_never_sends_a_response_format():
    with StubServer(reply=json_reply) as server:
        backend = OpenAIBackend(model="m", base_url=server.url, structured="off")
        asyncio.run(ask(backend, 2))
    assert sent_formats(server) == [None, None]


def test_auto_stops_asking_after_a_run_of_unusable_json():
    def junk(prompt: str, body: dict[str, Any]) -> str:
        return '{"tasks": 3}' if body.get("response_format") else "1. Some task to do today."

    with StubServer(reply=junk) as server:  # takes any response_format and ignores it
        backend = OpenAIBackend(model="m", base_url=server.url, structured="auto")

        async def one_by_one() -> None:
            for _ in range(UNUSABLE_LIMIT + 3):  # requests already sent keep their format
                await backend.acomplete([CHAT], GenerationParams(json_schema=LIST))
            await backend.aclose()

        asyncio.run(one_by_one())
    formats = sent_formats(server)
    assert formats == ["json_schema"] * UNUSABLE_LIMIT + [None] * 3
    assert "no usable JSON" in backend.structured.report()["fallback"]["/chat/completions"]


def test_response_format_bodies_and_the_schema_check():
    assert response_format("json_object", LIST) == {
        "type": "json_object",
        "schema": {k: v for k, v in LIST.items() if k != "title"},
    }
    items = SCHEMAS["json_instances"]
    assert fits(
        {"instances": [{"label": "Yes", "input": "x"}, {"input": "", "output": "y"}]}, items
    )
    assert not fits({"instances": [{"input": "x"}]}, items)
    assert not fits({"correctness": 6, "helpfulness": 5}, SCHEMAS["json_judge"])
    assert not fits({"is_classification": "yes"}, SCHEMAS["json_classify"])


# -- readers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "finish", "expected"),
    [
        # what the 135M model wrote through llama-cpp-python's json_object mode
        ('{"tasks":[",\n" ,"\n" ,"Write a poem\n about rain."]}', "stop", ["Write a poem about rain."]),
        ('{"instructions":[ "1. Name three rivers.", "2) Sort these words."]}', "stop",
         ["Name three rivers.", "Sort these words."]),
        ('```json\n{"instructions": ["Plan a picnic.",]}\n```', "stop", ["Plan a picnic."]),
        ('Sure! {"instructions": ["写一首关于秋天的诗。"]} Hope it helps.', "stop", ["写一首关于秋天的诗。"]),
        ('{"instructions": ["Plan a picnic.", "Describe a c', "length", ["Plan a picnic."]),
        ('[{"instruction": "Translate hello."}]', "stop", ["Translate hello."]),
        ('{"type": "json", "description": 4}', "stop", []),  # JSON of another shape: nothing
    ],
)  # fmt: skip
def test_candidates_from_json(answer: str, finish: str, expected: list[str]):
    assert [c.text for c in candidates_from_json(answer, finish) or []] == expected
    assert candidates_from_json(answer, finish) is not None


def test_a_text_answer_goes_to_the_text_parser():
    assert candidates_from_json("1. Write a poem.\n2. Sing.") is None
    assert instances_from_json("Input: x\nOutput: y", classification=False) is None
    assert label_from_json("Yes") is None and scores_from_json("Correctness: 4") is None


def test_labels_examples_and_scores_from_json():
    assert label_from_json('{"is_classification": true}') is True
    assert label_from_json('```json\n{"is_classification": "No"}\n```') is False
    assert label_from_json('{"answer": false}') is False
    examples = instances_from_json(
        '{"instances": [{"label": "Positive", "input": "Loved it"}, {"input": "Meh"}]}', True
    )
    assert [(e.input, e.output, e.problem) for e in examples] == [
        ("Loved it", "Positive", None),
        ("Meh", "", "unparseable"),
    ]
    cut = instances_from_json(
        '{"instances": [{"input": "a", "output": "b"}, {"input": "c", "ou', False
    )
    assert [(e.input, e.output) for e in cut] == [("a", "b")]
    assert instances_from_json('[{"input": "", "output": 42}]', False)[0].output == "42"
    assert instances_from_json('{"note": "no list"}', False) == []
    scores = scores_from_json('{"correctness": 4, "helpfulness": "5"}')
    assert (scores.correctness, scores.helpfulness, scores.score) == (4, 5, 4)
    assert scores_from_json('{"correctness": 9}') is None


def test_read_json_keeps_the_complete_part_of_a_cut_off_answer():
    assert read_json('{"instructions": ["a", "b", "c') == {"instructions": ["a", "b"]}
    assert read_json('{"a": "x", "b') is None  # an object cut mid-way keeps nothing
    assert read_json('[note] then {"a": 1}') == {"a": 1}
    assert read_json('{"s": "say \\"hi\\", ok", "t": [1, 2') == {"s": 'say "hi", ok', "t": [1]}


def test_python_literals_are_read_as_json():
    """Small models answer `{'is_classification': True}`: single quotes, Python's constants."""
    assert label_from_json("{'is_classification': True}") is True
    assert read_json("Scores: {'correctness': 4, 'helpfulness': 5,}") == {
        "correctness": 4,
        "helpfulness": 5,
    }
    assert read_json("[{'input': 'x', 'output': None}]") == [{"input": "x", "output": None}]
    assert read_json("{'a': __import__('os')}") is None  # a literal, never code


# -- stages ----------------------------------------------------------------------------------


def test_a_run_with_structured_on_reads_every_stage_from_json(tmp_path: Path):
    with StubServer(reply=json_reply, formats={"text", "json_object"}, format_status=500) as srv:
        args = [
            "run", "--seeds", "en", "--out", str(tmp_path), "--num-instructions", "3",
            "--base-url", srv.url, "--model", "m", "--structured", "on", "--judge",
            "--no-progress", "--concurrency", "2",
        ]  # fmt: skip
        assert main(args) == 0
    rundir = RunDir.of(tmp_path)
    machine = [
        json.loads(x)["instruction"] for x in rundir.machine_instructions.read_text().splitlines()
    ]
    assert len(machine) == 3 and not [m for m in machine if m[0].isdigit() or not m.strip()]
    labels = [json.loads(x) for x in rundir.classification.read_text().splitlines()]
    assert [(x["is_classification"], x["fallback"]) for x in labels] == [(False, False)] * 3
    tasks = [json.loads(x) for x in rundir.instances.read_text().splitlines()]
    pairs = [[(x["input"], x["output"]) for x in t["instances"]] for t in tasks]
    assert pairs == [[("the sea", "Waves\nroll in.")]] * 3
    judged = [json.loads(x) for x in rundir.judgements.read_text().splitlines()]
    assert [j["score"] for j in judged] == [4] * 3
    meta = json.loads(rundir.run_json.read_text())
    for stage in ("bootstrap", "classify", "instances", "judge"):
        assert meta["structured"][stage]["sent"] == {"/chat/completions": "json_object"}
    prompts = [body["messages"][-1]["content"] for body in posts(srv)]
    assert all('{"' in p for p in prompts)  # every prompt said what JSON to write
    classify = [b for b in posts(srv) if "is_classification" in json.dumps(b["response_format"])]
    shots = [m["content"] for m in classify[0]["messages"] if m["role"] == "assistant"]
    assert shots and {label_from_json(x) for x in shots} == {True, False}  # examples in JSON too


def test_structured_on_needs_chat_prompts_and_a_server(tmp_path: Path):
    with StubServer() as srv:
        options: dict[str, Any] = {"base_url": srv.url, "model": "m", "progress": False}
        with pytest.raises(ConfigError, match="--structured on needs chat prompts"):
            bootstrap("en", tmp_path / "a", 2, structured="on", chat=False, **options)
        result = bootstrap("en", tmp_path / "b", 2, structured="auto", chat=False, **options)
    assert result.accepted == 2 and set(sent_formats(srv)) == {None}


# -- the real server --------------------------------------------------------------------------


@pytest.mark.server
def test_the_llama_cpp_server_negotiates_json_object_and_its_answers_parse(
    llama_server: LlamaServer,
):
    backend = OpenAIBackend(
        model=llama_server.model, base_url=llama_server.base_url, structured="auto"
    )
    schema = SCHEMAS["json_classify"]
    prompt = [{"role": "user", "content": 'Is "Sort these numbers" a classification task? '
               'Answer with JSON only: {"is_classification": true} or {"is_classification": false}'}]  # fmt: skip

    async def go() -> list[str]:
        try:
            params = GenerationParams(max_tokens=24, temperature=0.0, json_schema=schema)
            return [c.text for c in await backend.acomplete([prompt] * 3, params)]
        finally:
            await backend.aclose()

    texts = asyncio.run(go())
    assert backend.structured.report()["sent"] == {"/chat/completions": "json_object"}
    assert all(label_from_json(t) is not None for t in texts), texts


@pytest.mark.server
def test_a_small_run_with_structured_on_against_the_llama_cpp_server(
    llama_server: LlamaServer, tmp_path: Path
):
    args = [
        "run", "--seeds", "en", "--out", str(tmp_path), "--num-instructions", "3",
        "--backend", "openai", "--base-url", llama_server.base_url, "--model", llama_server.model,
        "--structured", "on", "--seed", "1", "--max-tokens", "300", "--instance-max-tokens",
        "300", "--concurrency", "2", "--patience", "30", "--no-progress",
    ]  # fmt: skip
    assert main(args) == 0
    rundir = RunDir.of(tmp_path)
    assert len(rundir.machine_instructions.read_text().splitlines()) == 3
    labels = [json.loads(x) for x in rundir.classification.read_text().splitlines()]
    assert len(labels) == 3 and sum(x["fallback"] for x in labels) == 0
    assert len(rundir.instances.read_text().splitlines()) == 3
    meta = json.loads(rundir.run_json.read_text())
    assert meta["structured"]["bootstrap"]["sent"] == {"/chat/completions": "json_object"}
    stats = json.loads(rundir.stats.read_text())
    assert stats["bootstrap"]["accepted"] == 3


def test_refusal_tells_a_format_refusal_from_a_crash():
    from selfinstruct.llm.failures import refusal

    body = json.dumps({"error": {"message": (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
        "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
    ), "type": "internal_server_error"}}).encode()  # what llama-cpp-python 0.3.36 sends  # fmt: skip
    refused = refusal(500, {}, body, "sk-x")
    assert (refused.format_refused, refused.retry, refused.down) == (True, False, False)
    crash = refusal(500, {}, b'{"error": {"message": "CUDA out of memory"}}', "sk-x")
    assert (crash.format_refused, crash.retry, crash.down) == (False, True, True)
    openai = (
        b'{"error": {"message": "Invalid parameter: \'response_format\' of type \'json_schema\'"}}'
    )
    assert refusal(400, {}, openai, "sk-x").format_refused
    assert not refusal(
        400, {}, b'{"error": {"message": "max_tokens too large"}}', "k"
    ).format_refused
