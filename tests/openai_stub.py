"""A local OpenAI-compatible server for tests and benchmarks: realistic replies, scripted faults.

Stdlib only (asyncio streams, HTTP/1.1 with keep-alive), so one process holds thousands of
connections. It serves GET /v1/models, POST /v1/completions and /v1/chat/completions; by default
a reply is a numbered list of new tasks that continues the prompt's numbering, deterministic
from (prompt, request seed, server seed); `reply(prompt_text, body)` scripts other answers (a
text, cut at the stop sequences and max_tokens with finish_reason "length" when max_tokens cut
it; or a whole message dict, sent as given). Faults come from a queue (`push`), a function of
the request number (`fault_fn`), time windows (`outage`, `window`) or rate limits: `max_in_flight` answers
429 with Retry-After (a concurrency limit has no quota to report), `rps` answers 429 with
Retry-After and OpenAI's x-ratelimit-* headers, which its successes carry too. Every request is
recorded (`requests`, `count`, `statuses`, `peak_in_flight`), and with a `journal` file written
down for a replay; `diverse` lists hold invented names, so tens of thousands of tasks stand
apart (benchmarks/fleet.py runs long bootstraps against them).

    with StubServer(latency=0.05) as server:            # in-process, on a background thread
        server.push(Fault.http(503, retry_after="2"), Fault.truncated())
        backend = OpenAIBackend(model="m", base_url=server.url)

    python tests/openai_stub.py --port 8000 --latency 0.2 --jitter 0.1   # prints its URL
    python tests/openai_stub.py --count 4 --diverse --record /tmp/requests.jsonl  # 4 URLs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import IO, Any, Literal

# ---------------------------------------------------------------- replies: numbered task lists

_EN_TEMPLATES = (
    "Write a {form} about {topic} for {audience}.",
    "Explain {concept} to {audience} using {device}.",
    "Classify each of the following {items} as {labels}.",
    "Rewrite the paragraph below so that it sounds {tone} without changing its meaning.",
    "Summarize the strongest arguments for and against {issue} in {count} bullet points.",
    "Give {count} practical tips for {activity} when {situation}.",
    "Extract every {entity} mentioned in the following {doc} and list them alphabetically.",
    "Solve step by step: {math}",
    "Write a {lang} function that {code}.",
    "Plan a {duration} {plan} for {audience} who {constraint}.",
    "Compare {thing} and {other} in terms of {aspect}.",
    "Suggest {count} names for a {business} that {feature}.",
    "Is the following statement true or false? {claim}",
    "Create a {count}-question quiz about {topic} with answers at the end.",
    "Describe how {process} works, as if talking to {audience}.",
    "List {count} common mistakes people make when {activity}, and how to avoid each.",
    "Draft a {tone} email to {recipient} about {matter}.",
    "What are the pros and cons of {choice} for {audience}?",
    "Turn these notes about {topic} into a {form} of no more than {words} words.",
    "Decide whether this customer review of {product} is positive, negative or mixed.",
    "Find the logical flaw in this argument about {issue} and explain it briefly.",
    "Recommend {count} {media} for someone who enjoys {topic}, with one reason for each.",
    "Estimate how long {activity} takes for a beginner, and explain your assumptions.",
    "Generate a {tone} slogan for a campaign promoting {issue}.",
    "Outline a {duration} study plan to learn {concept} from scratch.",
)
_EN_SLOTS: dict[str, tuple[str, ...]] = {
    "form": (
        "short poem", "limerick", "haiku sequence", "news brief", "product description",
        "bedtime story", "cover letter", "toast", "eulogy", "dialogue", "riddle", "sonnet",
        "movie pitch", "diary entry", "press release", "recipe card", "travel blurb",
        "job advert", "thank-you note", "podcast intro",
    ),
    "topic": (
        "tidal pools", "medieval castles", "solar panels", "sourdough baking", "honeybees",
        "the stock market", "black holes", "urban cycling", "coral reefs", "jazz history",
        "volcanic islands", "public libraries", "vaccines", "chess openings", "rainforests",
        "electric cars", "ancient Rome", "houseplants", "the water cycle", "cryptography",
        "night trains", "origami", "deep-sea fish", "mountain rescue", "street food",
        "wind turbines", "the printing press", "sleep hygiene", "lighthouses", "recycling",
        "migratory birds", "board games", "glaciers", "minimalism", "the Silk Road",
        "community gardens", "submarines", "desert survival", "tea ceremonies", "comets",
    ),
    "audience": (
        "a ten-year-old", "first-year nursing students", "retired engineers", "new managers",
        "a skeptical grandparent", "high-school chemistry teachers", "small business owners",
        "non-native speakers", "busy parents", "software interns", "museum visitors",
        "amateur astronomers", "marathon beginners", "city council members", "exchange students",
    ),
    "concept": (
        "compound interest", "natural selection", "recursion", "inflation", "photosynthesis",
        "supply and demand", "the placebo effect", "entropy", "opportunity cost", "plate tectonics",
        "herd immunity", "public-key encryption", "the greenhouse effect", "Bayes' theorem",
        "machine translation", "game theory", "the scientific method", "circadian rhythms",
    ),
    "device": (
        "a cooking analogy", "a sports metaphor", "three everyday examples", "a short story",
        "a step-by-step walkthrough", "a comparison with traffic", "a single diagram described in words",
        "questions and answers", "a historical anecdote",
    ),
    "items": (
        "animals", "foods", "programming languages", "musical instruments", "cities",
        "sentences", "headlines", "job titles", "chemical elements", "sports",
    ),
    "labels": (
        "mammal, bird or reptile", "sweet or savory", "compiled or interpreted",
        "string, wind or percussion", "coastal or inland", "fact or opinion",
        "clickbait or informative", "technical or creative", "metal or non-metal",
        "team or individual",
    ),
    "tone": (
        "more formal", "friendlier", "more persuasive", "less technical", "more concise",
        "apologetic", "enthusiastic", "neutral and factual", "humorous", "reassuring",
    ),
    "issue": (
        "a four-day work week", "school uniforms", "nuclear power", "remote learning",
        "banning single-use plastics", "universal basic income", "daylight saving time",
        "self-driving taxis", "homework for young children", "a sugar tax",
    ),
    "count": ("three", "four", "five", "six", "seven", "ten"),
    "activity": (
        "moving to a new city", "training a puppy", "writing a thesis", "negotiating a salary",
        "learning to swim as an adult", "planning a wedding", "starting a vegetable garden",
        "giving a conference talk", "saving for retirement", "cooking for a crowd",
        "hiking in the rain", "preparing for a job interview",
    ),
    "situation": (
        "money is tight", "time is short", "the weather is bad", "you work night shifts",
        "you live in a small flat", "nobody else helps", "you are traveling abroad",
    ),
    "entity": (
        "person name", "date", "company", "city", "price", "email address", "drug name",
        "programming library",
    ),
    "doc": (
        "news article", "meeting transcript", "contract clause", "product review",
        "research abstract", "customer complaint", "police report",
    ),
    "math": (
        "a train leaves at 3:40 pm and travels 210 km at 84 km/h; when does it arrive?",
        "what is 17% of 2,340?",
        "if 5 pencils cost $2.35, how much do 12 cost?",
        "find x when 3x - 7 = 2x + 11.",
        "a rectangle has a perimeter of 46 cm and a width of 8 cm; what is its area?",
        "how many seconds are there in a leap year?",
        "split a $96 bill among 3 people when one of them pays double.",
        "what is the average of 14, 29, 31 and 46?",
    ),
    "lang": ("Python", "JavaScript", "Rust", "Go", "SQL", "Bash", "Java", "Haskell"),
    "code": (
        "reverses the words in a sentence", "checks whether a string is a palindrome",
        "merges two sorted lists", "counts the vowels in a text",
        "returns the n-th Fibonacci number", "removes duplicate rows from a table",
        "converts Celsius to Fahrenheit", "validates an email address",
        "finds the longest common prefix of a list of strings", "parses a date in ISO format",
    ),
    "duration": ("one-week", "weekend", "three-day", "month-long", "two-hour", "ten-day"),
    "plan": (
        "meal plan", "workout routine", "reading schedule", "budget", "itinerary",
        "onboarding program", "revision timetable",
    ),
    "constraint": (
        "are vegetarian", "have a bad knee", "only have evenings free", "speak no French",
        "travel with a toddler", "have never done this before", "work from home",
    ),
    "thing": (
        "tea", "trains", "paper books", "cats", "renting", "email", "solar power", "jogging",
        "public schools", "open-source software",
    ),
    "other": (
        "coffee", "planes", "e-readers", "dogs", "buying a home", "instant messaging",
        "wind power", "swimming", "private schools", "proprietary software",
    ),
    "aspect": (
        "cost", "environmental impact", "health effects", "convenience", "long-term value",
        "safety", "learning curve",
    ),
    "business": (
        "bakery", "bike repair shop", "language school", "pet hotel", "coworking space",
        "vegan food truck", "bookshop café", "tutoring startup",
    ),
    "feature": (
        "opens only at night", "is run by students", "uses no plastic", "serves dishes from Peru",
        "is on a boat", "donates its profits",
    ),
    "claim": (
        "Lightning never strikes the same place twice.", "Bats are blind.",
        "The Great Wall of China is visible from the Moon with the naked eye.",
        "Water boils at a lower temperature on a mountain.", "Goldfish have a three-second memory.",
        "Humans use only ten percent of their brains.", "Venus is hotter than Mercury.",
    ),
    "process": (
        "a bill becomes a law", "a vaccine trains the immune system", "a search engine ranks pages",
        "bread rises", "a credit score is calculated", "a refrigerator keeps food cold",
        "an airplane stays in the air", "a blockchain records transactions",
    ),
    "recipient": (
        "a landlord", "a professor", "a new client", "the school principal", "a former colleague",
        "the city council", "a hotel manager",
    ),
    "matter": (
        "a broken heater", "a missed deadline", "a refund request", "a project delay",
        "a noise complaint", "a speaking invitation", "a schedule change",
    ),
    "choice": (
        "working from home", "buying an electric scooter", "learning Latin", "homeschooling",
        "adopting a rescue dog", "taking a gap year", "going freelance",
    ),
    "words": ("50", "80", "100", "150", "200"),
    "product": (
        "a blender", "noise-cancelling headphones", "a budget hotel", "a running shoe",
        "a language app", "an electric kettle",
    ),
    "media": ("novels", "documentaries", "podcasts", "board games", "films", "albums"),
}  # fmt: skip
_EN_EXTRAS = (
    "",
    "",
    "",
    "",
    " Keep it under 120 words.",
    " Use a friendly tone.",
    " Include one surprising fact.",
    " Avoid jargon.",
    " Number each step.",
    " End with a question for the reader.",
)
_EN_BAIT = (
    "Sort it.",
    "Fix this.",
    "Describe the image below in detail.",
    "Look at the picture and say what is wrong with it.",
    "Draw a map of {topic}.",
    "Write a program that {code}.",
    "- {concept} in one word?",
)
_ZH_TEMPLATES = (
    "为{audience}写一篇关于{topic}的{form}。",
    "用{device}向{audience}解释{concept}。",
    "列出{count}条关于{activity}的实用建议。",
    "比较{thing}和{other}在{aspect}方面的区别。",
    "把下面这段话改写得{tone}，但不要改变原意。",
    "总结支持和反对{issue}的主要理由，各写{count}条。",
    "判断下面这句话是事实还是观点，并说明理由：{claim}",
    "制定一个{duration}的{plan}，适合{audience}。",
)
_ZH_SLOTS: dict[str, tuple[str, ...]] = {
    "audience": ("小学生", "退休教师", "新入职的员工", "外国留学生", "忙碌的父母", "大学新生", "社区志愿者"),
    "topic": ("潮汐", "长城", "太阳能", "面包发酵", "蜜蜂", "股市", "黑洞", "城市骑行", "珊瑚礁", "茶文化", "火山", "图书馆"),
    "form": ("短诗", "新闻稿", "产品介绍", "睡前故事", "演讲稿", "日记", "对话"),
    "device": ("生活中的例子", "做饭的比喻", "一个小故事", "问答的形式", "分步骤的说明"),
    "concept": ("复利", "自然选择", "递归", "通货膨胀", "光合作用", "供求关系", "安慰剂效应", "机会成本"),
    "count": ("三", "四", "五", "六"),
    "activity": ("搬家", "训练小狗", "写毕业论文", "谈工资", "成年后学游泳", "种菜", "准备面试"),
    "thing": ("茶", "火车", "纸质书", "猫", "租房"),
    "other": ("咖啡", "飞机", "电子书", "狗", "买房"),
    "aspect": ("成本", "环境影响", "健康", "便利程度", "安全性"),
    "tone": ("更正式", "更亲切", "更有说服力", "更简洁", "更幽默"),
    "issue": ("四天工作制", "校服", "核电", "网课", "禁止一次性塑料", "夏令时"),
    "claim": ("蝙蝠是瞎的。", "金鱼只有三秒的记忆。", "水在高山上沸点更低。", "人只用了大脑的百分之十。"),
    "duration": ("一周", "三天", "一个月", "周末"),
    "plan": ("饮食计划", "健身计划", "阅读计划", "旅行行程", "复习计划"),
}  # fmt: skip
_ZH_BAIT = ("改一下。", "描述下面这张图片的内容。", "画一张{topic}的地图。")

_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\s\u3400-\u9fff]+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def count_tokens(text: str) -> int:
    """Whitespace words, each CJK character counting as one (a stand-in for a tokenizer)."""
    return len(_TOKEN.findall(text))


def next_number(prompt: str) -> tuple[int, bool]:
    """The number the reply starts at, and whether the prompt already wrote it (ends in "9.")."""
    asked = re.search(r"numbered from (\d+)|编号从\s*(\d+)", prompt)
    if asked:
        return int(asked.group(1) or asked.group(2)), False
    open_item = re.search(r"(\d+)\.\s*$", prompt)
    if open_item:
        return int(open_item.group(1)), True
    numbers = re.findall(r"^\s*(\d+)\.", prompt, re.M)
    return (int(numbers[-1]) + 1 if numbers else 1), False


def task_list(prompt: str, seed: int | str | None = 0, *, diverse: bool = False) -> str:
    """A numbered list of 5-8 varied new tasks continuing the prompt's list, English or Chinese.

    `diverse` (English) fills half the noun slots with invented names, so that tens of
    thousands of tasks stand apart under ROUGE-L (the plain slots run out after about a
    thousand), as a long run against a real model needs.
    """
    digest = hashlib.blake2b(f"{seed}\x00{prompt}".encode(), digest_size=8).digest()
    rng = random.Random(int.from_bytes(digest, "big"))
    chinese = len(_CJK.findall(prompt)) > 20
    first, continued = next_number(prompt)
    items = [_task(rng, chinese, diverse) for _ in range(rng.randint(5, 8))]
    lines = [f"{first + i}. {item}" for i, item in enumerate(items)]
    if continued:
        lines[0] = f" {items[0]}"
    elif rng.random() < 0.2:
        lines.insert(0, "以下是新的任务：" if chinese else "Here are some new tasks:")
    return "\n".join(lines)


def _task(rng: random.Random, chinese: bool, diverse: bool = False) -> str:
    templates, slots, bait = (
        (_ZH_TEMPLATES, _ZH_SLOTS, _ZH_BAIT) if chinese else (_EN_TEMPLATES, _EN_SLOTS, _EN_BAIT)
    )
    if rng.random() < 0.08:
        template = rng.choice(bait)
    elif diverse and not chinese:
        return _diverse_task(rng)
    else:
        template = rng.choice(templates)
        if not chinese:
            template += rng.choice(_EN_EXTRAS)
    return re.sub(r"\{(\w+)\}", lambda m: rng.choice(slots[m.group(1)]), template)


def _diverse_task(rng: random.Random) -> str:
    """A short task frame plus one or two qualifiers, half the nouns invented names: few words
    are fixed, so ROUGE-L keeps tens of thousands of them apart, as a real model's would be."""
    parts = [rng.choice(_FRAMES), *rng.sample(_QUALIFIERS, rng.randint(1, 2))]

    def fill(match: re.Match[str]) -> str:
        slot = match.group(1)
        if slot == "name" or (slot in _NAMED_SLOTS and rng.random() < 0.5):
            return _invented_name(rng, person=slot in ("audience", "recipient", "name"))
        return rng.choice(_EN_SLOTS[slot])

    text = re.sub(r"\{(\w+)\}", fill, " ".join(parts)) + "."
    return text + rng.choice(_EN_EXTRAS)


_FRAMES = (
    "Write a {form} about {topic}", "Explain {concept}", "Summarize the history of {topic}",
    "Compare {thing} and {other}", "List {count} facts about {topic}", "Plan a {duration} {plan}",
    "Draft a {tone} email to {recipient}", "Suggest {count} names for a {business}",
    "Describe how {process} works", "Give {count} tips for {activity}",
    "Classify these {items} as {labels}", "Recommend {count} {media} about {topic}",
    "Estimate the cost of {choice}", "Argue for {issue}", "Argue against {issue}",
    "Create a quiz on {concept}", "Review {product}", "Outline a talk on {topic}",
)  # fmt: skip
_QUALIFIERS = (
    "for {audience}", "set in {name}", "in {count} sentences", "using {device}",
    "mentioning {name} and {name}", "for the {name} newsletter", "as {name} would",
    "without mentioning {thing}", "in under {words} words", "with a nod to {topic}",
)  # fmt: skip
_NAMED_SLOTS = frozenset(
    ("topic", "audience", "concept", "thing", "other", "business", "recipient", "product",
     "issue", "activity", "choice", "process", "items")
)  # fmt: skip
_SYLLABLES = (
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "zu", "fi", "go", "la", "ber",
    "tan", "wen", "dor", "mar", "sel", "vin", "cor", "ash", "el", "ho", "quin", "ru", "sa",
)  # fmt: skip


def _invented_name(rng: random.Random, person: bool) -> str:
    """A made-up place or product name (a person's first and last name for `person`)."""

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()

    return f"{word()} {word()}" if person else word()


# ---------------------------------------------------------------- faults

FaultKind = Literal[
    "http", "truncated", "cut", "empty_choices", "html", "bad_utf8", "surrogate",
    "drip", "stall", "close", "reset", "refuse", "garbage",
]  # fmt: skip


@dataclass(frozen=True)
class Fault:
    """One way to misbehave on one request; build them with the class methods."""

    kind: FaultKind
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    interval: float = 1.0
    echo_auth: bool = True
    """Error bodies quote the request's Authorization header, as a careless server might."""

    @classmethod
    def http(
        cls,
        status: int,
        retry_after: str | float | None = None,
        headers: dict[str, str] | None = None,
        echo_auth: bool = True,
    ) -> Fault:
        """An error status with an OpenAI-style JSON error body (and Retry-After if given)."""
        pairs = dict(headers or {})
        if retry_after is not None:
            pairs["Retry-After"] = str(retry_after)
        return cls("http", status, tuple(pairs.items()), echo_auth=echo_auth)

    @classmethod
    def truncated(cls) -> Fault:
        """Status 200 and a well-framed body holding the first half of the JSON."""
        return cls("truncated")

    @classmethod
    def cut(cls) -> Fault:
        """Status 200 announcing the full length, half the body, then the connection closes."""
        return cls("cut")

    @classmethod
    def empty_choices(cls) -> Fault:
        return cls("empty_choices")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """An HTML page (a proxy's or a web UI's) instead of JSON."""
        return cls("html", status)

    @classmethod
    def bad_utf8(cls) -> Fault:
        """A JSON body whose text holds bytes that are not UTF-8."""
        return cls("bad_utf8")

    @classmethod
    def surrogate(cls) -> Fault:
        """A reply whose text holds a lone surrogate (JSON "\\ud800")."""
        return cls("surrogate")

    @classmethod
    def drip(cls, interval: float = 1.0) -> Fault:
        """Status 200, then the body one byte every `interval` seconds."""
        return cls("drip", interval=interval)

    @classmethod
    def stall(cls) -> Fault:
        """Read the request and never answer."""
        return cls("stall")

    @classmethod
    def close(cls) -> Fault:
        """Close the connection without a response."""
        return cls("close")

    @classmethod
    def garbage(cls) -> Fault:
        """Bytes that are not HTTP at all (another protocol on that port), then close."""
        return cls("garbage")

    @classmethod
    def reset(cls) -> Fault:
        """Reset the connection (TCP RST) without a response."""
        return cls("reset")


@dataclass(frozen=True)
class Window:
    """`fault` for every request arriving in [start, end) seconds of the server's clock."""

    start: float
    end: float
    fault: Fault


@dataclass
class Recorded:
    """One request as it arrived: seconds since start, method, path, JSON body, headers."""

    at: float
    method: str
    path: str
    body: Any
    headers: dict[str, str]


_REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    408: "Request Timeout", 409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip
ReplyFn = Callable[[str, dict[str, Any]], "str | dict[str, Any]"]


@dataclass(frozen=True)
class Thinking:
    """How the stub plays a reasoning model: where its thinking goes, and what it refuses.

    `where`: "inline" (a `<think>` block in the text, as a server without a reasoning parser
    sends it), "open" (the chat template opened the block: the text is `thoughts</think>answer`),
    "reasoning" or "reasoning_content" (a message field, as vLLM / llama.cpp and DeepSeek send
    it). The thinking counts against max_tokens before the answer does, so a small budget cuts
    it off inside the thinking. `openai_rules` refuses, with OpenAI's own 400 messages,
    `max_tokens` and any sampling parameter but its default, and the `reasoning_effort` values
    not in `efforts`. `chat_template_kwargs.enable_thinking: false` or an effort of
    "none"/"minimal" switches the thinking off. `usage_details`: report reasoning_tokens.
    """

    where: str = "inline"
    text: Callable[[str], str] = lambda prompt: (
        "Okay, the user wants more tasks. Let me draft a few.\n1. Something like writing a poem "
        "about the sea.\n2. Maybe an arithmetic one.\nInput: a draft input\nOutput: a draft "
        "output\nYes, I think so. Correctness: 2 Helpfulness: 2\nI will now answer."
    )
    openai_rules: bool = False
    efforts: tuple[str, ...] = ("minimal", "low", "medium", "high")
    usage_details: bool = True

    def refusal(self, body: dict[str, Any]) -> tuple[str, str] | None:
        """(parameter, OpenAI's message) for a request a reasoning model refuses, else None."""
        if not self.openai_rules:
            return None
        if "max_tokens" in body:
            return "max_tokens", (
                "Unsupported parameter: 'max_tokens' is not supported with this model. "
                "Use 'max_completion_tokens' instead."
            )
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            default = 1 if name in ("temperature", "top_p") else 0
            if name in body and body[name] != default:
                return name, (
                    f"Unsupported value: '{name}' does not support {body[name]} with this "
                    f"model. Only the default ({default}) value is supported."
                )
        effort = body.get("reasoning_effort")
        if effort is not None and effort not in self.efforts:
            listed = ", ".join(f"'{e}'" for e in self.efforts)
            return "reasoning_effort", (
                f"Unsupported value: 'reasoning_effort' does not support '{effort}' with this "
                f"model. Supported values are: {listed}."
            )
        return None

    def thinks(self, body: dict[str, Any]) -> bool:
        kwargs = body.get("chat_template_kwargs") or {}
        if kwargs.get("enable_thinking") is False:
            return False
        return body.get("reasoning_effort") not in ("none", "minimal")

    def answer(
        self, prompt: str, body: dict[str, Any], answer: str, chat: bool
    ) -> tuple[dict[str, Any], str, int, int]:
        """(the message fields or text, finish reason, completion tokens, reasoning tokens)."""
        thought = self.text(prompt) if self.thinks(body) else ""
        budget = body.get("max_tokens", body.get("max_completion_tokens"))
        spent = count_tokens(thought)
        if thought and isinstance(budget, int) and spent >= budget:
            thought, answer, reason = _cut(thought, budget, None)[0], "", "length"
            spent = budget
        else:
            left = budget - spent if isinstance(budget, int) else None
            answer, reason = _cut(answer, left, body.get("stop"))
        where = self.where if chat else "inline"
        if not thought:
            fields: dict[str, Any] = {"content": answer}
        elif where in ("reasoning", "reasoning_content"):
            fields = {"content": answer or None, where: thought}
        elif where == "open":
            closed = reason != "length" or answer
            fields = {"content": f"{thought}\n</think>\n\n{answer}" if closed else thought}
        else:
            closed = reason != "length" or answer
            tail = f"\n</think>\n\n{answer}" if closed else ""
            fields = {"content": f"<think>\n{thought}{tail}"}
        return fields, reason, spent + count_tokens(answer), spent


# ---------------------------------------------------------------- the server


class StubServer:
    """An OpenAI-compatible HTTP/1.1 server on 127.0.0.1 (see the module docstring)."""

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        model: str = "stub-model",
        latency: float = 0.0,
        jitter: float = 0.0,
        token_latency: float = 0.0,
        seed: int = 0,
        reply: ReplyFn | None = None,
        faults: Iterable[Fault] = (),
        fault_fn: Callable[[int], Fault | None] | None = None,
        max_in_flight: int | None = None,
        rps: float | None = None,
        retry_after: str = "1",
        record: bool = True,
        diverse: bool = False,
        journal: IO[str] | None = None,
        gather: int | None = None,
        thinking: Thinking | None = None,
        formats: Iterable[str] | None = None,
        format_status: int = 400,
    ) -> None:
        self.host, self.port, self.model = host, port, model
        self.thinking = thinking
        """Play a reasoning model (see `Thinking`)."""
        self.formats = None if formats is None else frozenset(formats)
        self.format_status = format_status
        """`formats`: the response_format types taken (None: any, ignored as Ollama does); any
        other is refused with `format_status` as that kind of server words it: 500 is
        llama-cpp-python's ("Input should be 'text' or 'json_object'"), 400 OpenAI's and vLLM's."""
        self.gather = gather
        """`gather`: each completion waits until this many requests are in flight at once
        (at most 60 s) before its latency starts, so a test of concurrency does not depend on
        how fast a loaded machine sends them."""
        self._gathered: asyncio.Event | None = None
        self.latency, self.jitter, self.token_latency, self.seed = (
            latency,
            jitter,
            token_latency,
            seed,
        )
        self.reply, self.fault_fn = reply, fault_fn
        self.faults: deque[Fault] = deque(faults)
        self.windows: list[Window] = []
        self.max_in_flight, self.rps, self.retry_after = max_in_flight, rps, retry_after
        self.record, self.diverse, self.journal = record, diverse, journal
        """`journal`: a text file that gets one JSON line per POST (wall-clock time, this
        server's URL, path, body), for replaying the same requests with another client."""
        self.requests: list[Recorded] = []
        self.count = 0
        """Requests received (recorded or not)."""
        self.in_flight = self.peak_in_flight = 0
        self.statuses: dict[int | str, int] = {}
        """How many responses of each status (or fault kind without one) were sent."""
        self._started = time.monotonic()
        self._recent: deque[float] = deque()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def now(self) -> float:
        """Seconds since the server started (the clock of `Recorded.at` and windows)."""
        return time.monotonic() - self._started

    # -- scripting

    def push(self, *faults: Fault) -> None:
        """Queue faults for the next requests, one each, in order."""
        self.faults.extend(faults)

    def window(self, start: float, end: float, fault: Fault) -> None:
        """`fault` for requests arriving between `start` and `end` seconds from now."""
        now = self.now()
        self.windows.append(Window(now + start, now + end, fault))

    def outage(self, seconds: float, fault: Fault | None = None) -> None:
        """For `seconds` from now answer everything with `fault`; None refuses connections."""
        self.window(0, seconds, fault or Fault("refuse"))
        if fault is None:
            self._call(self._refuse, seconds)

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    # -- lifecycle

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> StubServer:
        """Serve on a background thread with its own event loop; returns once listening."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self.astart())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.close()

        self._thread = threading.Thread(target=main, name="openai-stub", daemon=True)
        self._thread.start()
        ready.wait(30)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)
            self._thread = None

    async def astart(self) -> None:
        """Listen in the running loop (the command-line mode and `start` use this)."""
        _raise_fd_limit()
        self._loop = asyncio.get_running_loop()
        await self._listen()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self.port, backlog=4096, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in the server's loop, from any thread."""
        if self._loop is None:
            raise RuntimeError("the stub server is not running")
        self._loop.call_soon_threadsafe(fn, *args)

    def _refuse(self, seconds: float) -> None:
        """Stop listening (new connections are refused) and listen again after `seconds`."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, lambda: loop.create_task(self._listen()))

    # -- HTTP

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            keep = True
            while keep:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                keep = await self._request(method, path, headers, raw, writer)
                keep = keep and headers.get("connection", "").lower() != "close"
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            pass
        except asyncio.CancelledError:
            pass  # the server is shutting down (asyncio would log a cancelled handler)
        finally:
            self._writers.discard(writer)
            writer.close()

    async def _request(
        self, method: str, path: str, headers: dict[str, str], raw: bytes, writer: Any
    ) -> bool:
        """Answer one request; False when the connection must close."""
        number, self.count = self.count, self.count + 1
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        if self.record:
            self.requests.append(Recorded(self.now(), method, path, body, headers))
        if self.journal is not None and method == "POST":
            line = {"at": time.time(), "url": self.url, "path": path, "body": body}
            self.journal.write(json.dumps(line, ensure_ascii=False) + "\n")
        fault = self._fault(number)
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if fault is not None:
                return await self._misbehave(fault, path, headers, body, writer)
            route = path.split("?", 1)[0]  # a base URL may carry a query (?key=..., Azure's)
            if method == "GET" and route.rstrip("/").endswith("/models"):
                model = {"id": self.model, "object": "model", "created": 0, "owned_by": "stub"}
                return await self._send(writer, 200, {"object": "list", "data": [model]})
            if method != "POST" or not route.endswith("completions"):
                return await self._send(writer, 404, _error(f"no route {method} {path}", "", False))
            if not isinstance(body, dict):
                return await self._send(writer, 400, _error("body is not a JSON object", "", False))
            refused = self.thinking.refusal(body) if self.thinking is not None else None
            if refused is not None:
                error = {"message": refused[1], "type": "invalid_request_error"}
                error |= {"param": refused[0], "code": "unsupported_parameter"}
                return await self._send(writer, 400, {"error": error})
            refused = self._refused_format(body)
            if refused is not None:
                return await self._send(writer, self.format_status, _error(refused, "", False))
            payload, tokens = self._completion(route, body, number)
            await self._wait_for_gather()
            delay = self.latency + self.token_latency * tokens
            if self.jitter:
                delay += random.Random(self.seed * 1_000_003 + number).uniform(0, self.jitter)
            if delay > 0:
                await asyncio.sleep(delay)
            return await self._send(writer, 200, payload, self._limit_headers())
        finally:
            self.in_flight -= 1

    async def _wait_for_gather(self) -> None:
        """Hold this request until `gather` requests are in flight together (see __init__)."""
        if self.gather is None:
            return
        if self._gathered is None:
            self._gathered = asyncio.Event()
        if self.in_flight >= self.gather:
            self._gathered.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._gathered.wait(), 60)

    def _fault(self, number: int) -> Fault | None:
        """The fault for request `number`: a window, the queue, `fault_fn`, then rate limits."""
        now = self.now()
        for window in self.windows:
            if window.start <= now < window.end:
                return window.fault
        if self.faults:
            return self.faults.popleft()
        if self.fault_fn is not None:
            fault = self.fault_fn(number)
            if fault is not None:
                return fault
        if self.max_in_flight is not None and self.in_flight >= self.max_in_flight:
            return Fault.http(429, self.retry_after, echo_auth=False)
        if self.rps is not None:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rps:
                return self._too_many(reset=self._recent[0] + 1.0 - now)
            self._recent.append(now)
        return None

    def _refused_format(self, body: dict[str, Any]) -> str | None:
        """The error message refusing the body's response_format, or None when it is taken."""
        form = body.get("response_format")
        kind = form.get("type") if isinstance(form, dict) else None
        if self.formats is None or kind is None or kind in self.formats:
            return None
        if self.format_status == 500:
            taken = " or ".join(f"'{k}'" for k in sorted(self.formats))
            return (
                f"1 validation error:\n  {{'type': 'literal_error', 'loc': ('body', "
                f"'response_format', 'type'), 'msg': \"Input should be {taken}\", "
                f"'input': '{kind}'}}"
            )
        return f"Invalid parameter: 'response_format' of type '{kind}' is not supported."

    def _too_many(self, reset: float) -> Fault:
        """A 429 for a spent requests-per-second quota, with OpenAI's x-ratelimit headers."""
        headers = {
            "x-ratelimit-limit-requests": str(int(self.rps or 0)),
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": f"{max(reset, 0.001) * 1000:.0f}ms",
        }
        return Fault.http(429, self.retry_after, headers, echo_auth=False)

    def _limit_headers(self) -> dict[str, str]:
        if self.rps is None:
            return {}
        left = max(0, int(self.rps) - len(self._recent))
        reset = (self._recent[0] + 1.0 - self.now()) if self._recent else 0.0
        return {
            "x-ratelimit-limit-requests": str(int(self.rps)),
            "x-ratelimit-remaining-requests": str(left),
            "x-ratelimit-reset-requests": f"{max(reset, 0.0) * 1000:.0f}ms",
        }

    def _completion(self, path: str, body: dict[str, Any], number: int) -> tuple[dict, int]:
        """The OpenAI JSON of a reply to `body`, and its completion tokens."""
        chat = path.endswith("/chat/completions")
        if chat:
            prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages") or [])
        else:
            prompt = body.get("prompt") or ""
            prompt = prompt if isinstance(prompt, str) else "\n".join(map(str, prompt))
        choices, completion_tokens, reasoning_tokens = [], 0, 0
        for index in range(int(body.get("n") or 1)):
            seed = f"{self.seed}:{body.get('seed')}:{index}"
            if self.reply is not None:
                text = self.reply(prompt, body)
            else:
                text = task_list(prompt, seed, diverse=self.diverse)
            if isinstance(text, dict):  # a whole message, reasoning fields and all, as given
                fields, reason = {"content": "", **text}, "stop"
                completion_tokens += count_tokens("".join(map(str, fields.values())))
            elif self.thinking is not None:
                fields, reason, used, thought = self.thinking.answer(prompt, body, text, chat)
                completion_tokens += used
                reasoning_tokens += thought
            else:
                text, reason = _cut(text, body.get("max_tokens"), body.get("stop"))
                completion_tokens += count_tokens(text)
                fields = {"content": text}
            if chat:
                choice = {"index": index, "message": {"role": "assistant", **fields}}
            else:
                choice = {"index": index, "text": fields["content"], "logprobs": None}
            choices.append({**choice, "finish_reason": reason})
        prompt_tokens = count_tokens(prompt)
        payload = {
            "id": f"cmpl-stub-{number}",
            "object": "chat.completion" if chat else "text_completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        if self.thinking is not None and self.thinking.usage_details:
            details = {"reasoning_tokens": reasoning_tokens}
            payload["usage"]["completion_tokens_details"] = details  # type: ignore[index]
        return payload, completion_tokens

    async def _misbehave(
        self, fault: Fault, path: str, headers: dict[str, str], body: Any, writer: Any
    ) -> bool:
        """Answer with `fault`; False when the connection must close."""
        self.statuses[fault.kind] = self.statuses.get(fault.kind, 0) + 1
        auth = headers.get("authorization", "") if fault.echo_auth else ""
        if fault.kind in ("close", "refuse"):
            writer.close()
            return False
        if fault.kind == "reset":
            with contextlib.suppress(OSError):
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        if fault.kind == "garbage":
            await self._write(writer, b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01binary")
            writer.close()
            return False
        if fault.kind == "stall":
            await asyncio.Event().wait()
        if fault.kind == "http":
            text = f"{_REASONS.get(fault.status, 'Error')} (request n°{self.count})"
            payload = _error(text, auth, fault.status == 429)
            return await self._send(writer, fault.status, payload, dict(fault.headers))
        if fault.kind == "html":
            page = f"<html><body><h1>Welcome</h1><p>{auth}</p></body></html>".encode()
            return await self._raw(writer, fault.status, page, "text/html")
        payload, _ = self._completion(path, body if isinstance(body, dict) else {}, self.count)
        data = json.dumps(payload).encode()
        if fault.kind == "empty_choices":
            data = json.dumps({**payload, "choices": []}).encode()
        elif fault.kind == "truncated":
            data = data[: len(data) // 2]
        elif fault.kind == "surrogate":
            data = json.dumps(_with_text(payload, "Lone \ud800 surrogate")).encode()
        elif fault.kind == "bad_utf8":
            marker = "BAD-BYTES-HERE"
            data = json.dumps(_with_text(payload, marker)).encode()
            data = data.replace(marker.encode(), b"bad \xff\xfe\xc3 bytes")
        elif fault.kind == "cut":
            head = _head(200, len(data), "application/json", {})
            await self._write(writer, head + data[: len(data) // 2])
            writer.transport.abort()
            return False
        elif fault.kind == "drip":
            if not await self._write(writer, _head(200, len(data), "application/json", {})):
                return False
            for i in range(len(data)):
                await asyncio.sleep(fault.interval)
                if not await self._write(writer, data[i : i + 1]):
                    return False
            return True
        return await self._raw(writer, 200, data, "application/json")

    async def _send(
        self, writer: Any, status: int, payload: Any, headers: dict[str, str] | None = None
    ) -> bool:
        data = json.dumps(payload).encode()
        return await self._raw(writer, status, data, "application/json", headers)

    async def _raw(
        self,
        writer: Any,
        status: int,
        data: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> bool:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        return await self._write(writer, _head(status, len(data), content_type, headers) + data)

    @staticmethod
    async def _write(writer: Any, data: bytes) -> bool:
        """Write and drain; False when the client has gone."""
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, RuntimeError):
            return False
        return not writer.is_closing()


def _raise_fd_limit(wanted: int = 8192) -> None:
    """Let this process hold thousands of sockets (many systems start at 1024 descriptors)."""
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def _head(status: int, length: int, content_type: str, headers: dict[str, str] | None) -> bytes:
    lines = [
        f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {length}",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _error(message: str, auth: str, rate: bool) -> dict[str, Any]:
    """An OpenAI-style error body; quotes `auth` when a careless server would."""
    if auth:
        message += f" - request had Authorization: {auth}"
    kind = "rate_limit_exceeded" if rate else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _with_text(payload: dict[str, Any], text: str) -> dict[str, Any]:
    choice = dict(payload["choices"][0])
    if "message" in choice:
        choice["message"] = {"role": "assistant", "content": text}
    else:
        choice["text"] = text
    return {**payload, "choices": [choice]}


def _cut(text: str, max_tokens: Any, stop: Any) -> tuple[str, str]:
    """Apply the stop sequences, then max_tokens; the finish reason says which cut."""
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    for s in stops:
        at = text.find(s) if s else -1
        if at >= 0:
            text = text[:at]
    if isinstance(max_tokens, int) and max_tokens >= 0:
        tokens = list(_TOKEN.finditer(text))
        if len(tokens) > max_tokens:
            end = tokens[max_tokens - 1].end() if max_tokens else 0
            return text[:end], "length"
    return text, "stop"


# ---------------------------------------------------------------- command line


def _random_faults(spec: list[str], seed: int) -> Callable[[int], Fault | None] | None:
    """`--fault 503:0.05 --fault close:0.01` -> a seeded function of the request number."""
    if not spec:
        return None
    table: list[tuple[float, Fault]] = []
    for item in spec:
        name, _, share = item.partition(":")
        fault = Fault.http(int(name), "1") if name.isdigit() else Fault(name)  # type: ignore[arg-type]
        table.append((float(share or 0.05), replace(fault, echo_auth=False)))

    def pick(number: int) -> Fault | None:
        draw = random.Random(seed * 7_919 + number).random()
        for share, fault in table:
            if draw < share:
                return fault
            draw -= share
        return None

    return pick


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks free ports")
    parser.add_argument(
        "--count", type=int, default=1,
        help="serve this many endpoints (ports PORT, PORT+1, ...); prints one URL a line",
    )  # fmt: skip
    parser.add_argument("--model", default="stub-model")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--jitter", type=float, default=0.0, help="plus up to this many seconds")
    parser.add_argument("--token-latency", type=float, default=0.0, help="seconds per token")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-in-flight", type=int, help="429 beyond this many at once")
    parser.add_argument("--rps", type=float, help="429 beyond this many requests a second")
    parser.add_argument(
        "--diverse", action="store_true",
        help="invented names in the task lists: tens of thousands of distinct tasks",
    )  # fmt: skip
    parser.add_argument(
        "--record", metavar="PATH",
        help="append each completion request as a JSON line (time, path, body) to PATH",
    )  # fmt: skip
    parser.add_argument(
        "--fault", action="append", default=[], metavar="KIND:SHARE",
        help="e.g. 503:0.05, close:0.01, truncated:0.02 (repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--outage", action="append", default=[], metavar="AT:SECONDS[:STATUS]",
        help="from AT s after start, for SECONDS s, refuse connections (or answer STATUS)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    journal = open(args.record, "a", encoding="utf-8") if args.record else None  # noqa: SIM115
    stubs = [
        StubServer(
            host=args.host, port=args.port + i if args.port else 0, model=args.model,
            latency=args.latency, jitter=args.jitter, token_latency=args.token_latency,
            seed=args.seed, max_in_flight=args.max_in_flight, rps=args.rps, record=False,
            fault_fn=_random_faults(args.fault, args.seed), diverse=args.diverse,
            journal=journal,
        )
        for i in range(args.count)
    ]  # fmt: skip

    async def serve() -> None:
        for stub in stubs:
            await stub.astart()
            for spec in args.outage:
                at, seconds, *status = spec.split(":")
                fault = Fault.http(int(status[0]), "5", echo_auth=False) if status else None
                asyncio.get_running_loop().call_later(float(at), stub.outage, float(seconds), fault)
        done = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, done.set)
        print("\n".join(stub.url for stub in stubs), flush=True)
        await done.wait()

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve())
    finally:
        if journal is not None:
            journal.close()
    for stub in stubs:
        print(f"requests={stub.count} peak_in_flight={stub.peak_in_flight}", file=sys.stderr)


if __name__ == "__main__":
    main()
