"""Text parsing vs structured outputs on the same requests to a llama.cpp server, side by side.

Bootstrap: M prompts, built as the loop builds them (seed instructions drawn with a fixed seed,
the bundled chat template), go to the server twice: as plain text requests read by the list
splitter, and with the stage's JSON note and schema (`--structured auto`: the server's own
response_format) read by the JSON reader. For each mode it prints the share of answers that
parse (give at least one candidate, read as the stage reads them: JSON first when asked; and
the share whose JSON fits the schema), the
candidates and the accepted candidates per request (each mode's own pool: the filters and the
ROUGE-L check against the seeds and what that mode accepted before), and the distinct first
words of the accepted (a rough measure of diversity). Classify (`--classify N`): N seed tasks,
labelled both ways; the share parsed and the share right against the seed's own label.

    python benchmarks/formats.py                 # starts a server on the bundled model
    python benchmarks/formats.py --requests 24 --classify 24 --base-url http://127.0.0.1:8080/v1
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfinstruct.config import BootstrapConfig
from selfinstruct.llm.base import Completion, GenerationParams, Prompt
from selfinstruct.llm.openai_backend import OpenAIBackend
from selfinstruct.llm.structured import usable
from selfinstruct.runtime.seeds import load_seeds
from selfinstruct.runtime.structured import SCHEMAS, JsonAsk
from selfinstruct.stages.bootstrap.candidates import Candidate, answer_candidates
from selfinstruct.stages.bootstrap.pool import Pool
from selfinstruct.stages.bootstrap.prompt import PromptStyle, encode_prompt, sample_instructions
from selfinstruct.stages.classify.answers import label_from_json, parse_yes_no
from selfinstruct.stages.classify.stage import ClassifyPrompt, params_for, pick_examples
from selfinstruct.templates import load_template


@dataclass
class Tally:
    """One mode's figures over the same requests."""

    answers: int = 0
    parsed: int = 0
    fit: int = 0
    candidates: int = 0
    accepted: list[str] = field(default_factory=list)
    seconds: float = 0.0
    tokens: int = 0


def bootstrap_prompts(m: int, seed: int) -> list[Prompt]:
    """M chat prompts as the loop writes them (8 seed instructions each, fixed draws)."""
    seeds = [t.instruction for t in load_seeds("en")]
    style = PromptStyle(chat=True, language="en")
    template = load_template(style.template_name, "en")
    prompts = []
    for i in range(m):
        chosen = sample_instructions(random.Random(f"{seed}:{i}"), seeds, [], 8, 0)
        prompts.append(encode_prompt(chosen, style, template))
    return prompts


async def complete(
    backend: OpenAIBackend, prompts: list[Prompt], params: GenerationParams
) -> tuple[list[Completion], float]:
    start = time.perf_counter()
    done = await backend.acomplete(prompts, params)
    return done, time.perf_counter() - start


async def bootstrap_modes(
    url: str, model: str, m: int, k: int, seed: int, max_tokens: int
) -> dict[str, Tally]:
    """Both modes on the same M prompts; returns their tallies."""
    config = BootstrapConfig(max_tokens=max_tokens)
    prompts = bootstrap_prompts(m, seed)
    ask = JsonAsk("json_bootstrap", (load_template("json_bootstrap", "en").strip(),))
    base = GenerationParams(
        max_tokens=config.max_tokens, temperature=config.temperature, top_p=config.top_p,
        stop=PromptStyle(chat=True).stop(), seed=seed,
    )  # fmt: skip
    modes = {
        "text": ("off", prompts, base),
        "structured": ("auto", [ask.prompt(p) for p in prompts], ask.params(base)),
    }
    seeds = [t.instruction for t in load_seeds("en")]
    out: dict[str, Tally] = {}
    for name, (mode, mode_prompts, params) in modes.items():
        backend = OpenAIBackend(model=model, base_url=url, max_concurrency=k, structured=mode)
        try:
            answers, seconds = await complete(backend, mode_prompts, params)
        finally:
            await backend.aclose()
        tally = out[name] = Tally(answers=len(answers), seconds=seconds)
        tally.tokens = sum(a.completion_tokens for a in answers)
        pool = Pool(config, "en", seeds, [], load_template("bootstrap_chat", "en"))
        try:
            for answer in answers:
                found = _candidates(answer, name == "structured")
                tally.parsed += bool(found)
                tally.fit += name == "structured" and usable(answer.text, SCHEMAS["json_bootstrap"])
                tally.candidates += len(found)
                for cand in found:
                    if pool.judge(cand.text, cand.truncated) is None:
                        pool.accept(cand.text, 0, [])
                        tally.accepted.append(cand.text)
        finally:
            pool.close()
        if name == "structured":
            print(f"structured: the server took {backend.structured.report()['sent']}")
    return out


def _label(text: str, structured: bool) -> bool | None:
    """As the classify stage reads an answer: its JSON when asked for, else (or then) its text."""
    label = label_from_json(text) if structured else None
    return parse_yes_no(text) if label is None else label


def _candidates(answer: Completion, structured: bool) -> list[Candidate]:
    """As the bootstrap stage reads an answer: its JSON when asked for, else its text."""
    return answer_candidates(
        answer.text, answer.finish_reason, asked=structured, truncation="last",
        first_number=9, continued=False,
    )  # fmt: skip


async def classify_modes(url: str, model: str, n: int, k: int, seed: int) -> dict[str, Any]:
    """N seed tasks labelled both ways: (parsed, right) per mode."""
    seeds = load_seeds("en")
    examples = pick_examples(seeds, 8, seed)
    shown = {text for text, _ in examples}
    rest = [t for t in seeds if t.instruction not in shown]
    yes = [t for t in rest if t.is_classification][: n // 2]
    tasks = yes + [t for t in rest if not t.is_classification][: n - len(yes)]
    prompt = ClassifyPrompt.build(load_template("classify", "en"), examples, "en", chat=True)
    ask = JsonAsk("json_classify", (load_template("json_classify", "en").strip(),))
    base = params_for(True, seed)
    out: dict[str, Any] = {}
    for name, mode in (("text", "off"), ("structured", "auto")):
        prompts = [prompt.render(t.instruction) for t in tasks]
        params = base
        if mode == "auto":
            prompts, params = [ask.prompt(p) for p in prompts], ask.params(base)
        backend = OpenAIBackend(model=model, base_url=url, max_concurrency=k, structured=mode)
        try:
            answers, _ = await complete(backend, prompts, params)
        finally:
            await backend.aclose()
        labels = [_label(a.text, mode == "auto") for a in answers]
        right = sum(lab == t.is_classification for lab, t in zip(labels, tasks, strict=True))
        said_yes = sum(lab is True for lab in labels)
        out[name] = (sum(lab is not None for lab in labels), right, len(tasks), said_yes)
    return out


def report(boot: dict[str, Tally], labels: dict[str, Any] | None) -> None:
    rows = [
        ("answers that parse", lambda t: f"{t.parsed}/{t.answers} ({t.parsed / t.answers:.0%})"),
        ("answers whose JSON fits the schema", lambda t: f"{t.fit}/{t.answers}" if t.fit else "-"),
        ("candidates per request", lambda t: f"{t.candidates / t.answers:.2f}"),
        ("accepted per request", lambda t: f"{len(t.accepted) / t.answers:.2f}"),
        ("distinct first words of accepted", lambda t: str(len({_first(a) for a in t.accepted}))),
        ("completion tokens per request", lambda t: f"{t.tokens / t.answers:.0f}"),
        ("seconds", lambda t: f"{t.seconds:.1f}"),
    ]
    print(f"\nbootstrap, {boot['text'].answers} requests       text            structured")
    for label, cell in rows:
        print(f"  {label:<36} {cell(boot['text']):<15} {cell(boot['structured'])}")
    if labels:
        half = labels["text"][2] // 2
        print(
            f"\nclassify, {labels['text'][2]} seed tasks ({half} yes)  text            structured"
        )
        for i, label in ((0, "answers that parse"), (1, "labels right"), (3, "answered yes")):
            cells = [f"{labels[m][i]}/{labels[m][2]}" for m in ("text", "structured")]
            print(f"  {label:<36} {cells[0]:<15} {cells[1]}")
    for name in ("text", "structured"):
        print(f"\nfirst accepted ({name}): {boot[name].accepted[:4]}")


def _first(text: str) -> str:
    return text.split()[0].lower() if text.split() else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="a running server (default: start one)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--requests", type=int, default=16, help="bootstrap requests per mode")
    parser.add_argument("--classify", type=int, default=16, help="seed tasks to label (0: skip)")
    parser.add_argument("--max-tokens", type=int, default=400, help="per bootstrap answer")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-threads", type=int, default=2)
    args = parser.parse_args(argv)
    server = None
    url, model = args.base_url, args.model
    if url is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from llama_server import start_server, unavailable_reason

        reason = unavailable_reason()
        if reason:
            print(f"cannot start a server: {reason}", file=sys.stderr)
            return 2
        server = start_server(n_threads=args.n_threads)
        url, model = server.base_url, server.model
    try:
        k, seed = args.concurrency, args.seed
        boot = asyncio.run(bootstrap_modes(url, model, args.requests, k, seed, args.max_tokens))
        labels = (
            asyncio.run(classify_modes(url, model, args.classify, k, seed))
            if args.classify
            else None
        )
    finally:
        if server is not None:
            server.stop()
    report(boot, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
