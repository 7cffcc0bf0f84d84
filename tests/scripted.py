"""Scripted model answers: what a cooperative model says to each stage's prompt (English and
Chinese), and a stub server on 127.0.0.1 that answers the same way for CLI runs."""

from __future__ import annotations

import random
import re
from typing import Any

from fakes import prompt_text

from selfinstruct.llm.base import GenerationParams, Prompt
from selfinstruct.testing.openai_stub import StubServer

WORDS = [
    "lamp",
    "river",
    "basket",
    "violin",
    "cactus",
    "harbor",
    "pepper",
    "lantern",
    "meadow",
    "rocket",
    "tunnel",
]
VERBS = ["Explain", "Describe", "Summarize", "Compare", "Classify", "Plan", "Estimate"]


def numbered_list(prompt: Prompt) -> str:
    """A bootstrap response: six fresh tasks continuing the prompt's numbered list."""
    text = prompt_text(prompt)
    rng = random.Random(text)
    first = len(re.findall(r"^\d+\. ", text, re.M)) + 1
    tasks = [
        f"{rng.choice(VERBS)} how a {rng.choice(WORDS)} {rng.randrange(10**6)} differs from a "
        f"{rng.choice(WORDS)} {rng.randrange(10**6)} in daily use."
        for _ in range(6)
    ]
    return "\n".join(f"{first + i}. {t}" for i, t in enumerate(tasks))


def is_instances_prompt(prompt: Prompt) -> bool:
    """Chat: few-shot turns ending with a user "Task: ..."; completion: ends with "Example 1"."""
    if isinstance(prompt, str):
        return prompt.rstrip().endswith("Example 1")
    last = prompt[-1]["content"]
    return last.startswith("Task: ") and not last.endswith("Classification task:")


def respond(prompt: Prompt, params: GenerationParams) -> str:
    """Answers each stage's prompt the way a cooperative model would."""
    text = prompt_text(prompt).rstrip()
    if text.endswith("Classification task:"):
        task = text.split("\n")[-2]
        return "Yes" if "Classify" in task else "No"
    if is_instances_prompt(prompt):
        task = text.split("Task: ")[-1].split("\n")[0]
        if "class label" in text.split("Task: ")[0].lower():
            return "Class label: A\nInput: first\nExample 2\nClass label: B\nInput: second\n"
        return f"Input: {task[:12]}\nOutput: done 1\nExample 2\nInput: more\nOutput: done 2\n"
    return numbered_list(prompt)


def chinese(prompt: Any, params: Any) -> str:
    """A cooperative model in Chinese: new tasks, 是/否, and input/output examples."""
    text = prompt_text(prompt).rstrip()
    if text.endswith("是否分类任务："):
        return "是" if "判断" in text.split("\n")[-2] else "否"
    if "编号从" in text:
        rng = random.Random(text)
        first = int(re.search(r"编号从 (\d+)", text).group(1))  # type: ignore[union-attr]
        verbs, chars = (
            ["写", "判断", "翻译", "总结", "解释"],
            "春夏秋冬山水风云花鸟虫鱼日月星辰江河湖海",
        )
        topic = lambda: "".join(rng.sample(chars, 10))  # noqa: E731
        return "\n".join(
            f"{first + i}. 请{rng.choice(verbs)}关于{topic()}的文章。" for i in range(4)
        )
    return "示例 1\n输入：春天来了\n输出：万物复苏\n示例 2\n输入：下雨了\n输出：带伞出门"


def scripted_server() -> StubServer:
    """An OpenAI-compatible server on 127.0.0.1 answering like `respond` (the CLI's backend)."""
    return StubServer(
        reply=lambda _text, body: respond(body.get("messages") or body["prompt"], None)
    )
