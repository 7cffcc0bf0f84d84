"""The main verb of a Chinese instruction and the head noun of its object, from jieba's tags.

`jieba.posseg` (the `[zh]` extra) cuts and tags the words. The verb opens the first imperative
clause, after 请/您能 and a leading 给定X，, or follows a prepositional phrase (在/用/为/根据 ...),
a light verb's noun counts as the verb (进行总结 -> 总结) and a result 成/为 is dropped
(翻译成 -> 翻译). The object is the last noun of the phrase after the verb, across 的 modifiers
(这部小说的主题 -> 主题), or the noun fronted by 将/把 (or 对 before 进行); none for a pronoun
or a clause (判断以下句子是...). Questions and statements have no verb. Text without Chinese
characters goes to the English finder.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from ..errors import MissingDependencyError
from . import verbs_en
from .language import is_han

Token = tuple[str, str]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


VERB_TAGS = frozenset(("v", "vn", "vd"))
"""jieba's verb tags; a set phrase (`l`) is a verb only with a result, as 翻译成."""
VERB_WORDS = _words(
    "总结 计划 比较 评价 建议 分类 整理 规划 证明 排序 润色 想象 举例 区分 命名 设想 定义 编辑 "
    "大写 小写 评分 打分 除以 乘以 头脑风暴 归类 翻译 概括 标记 改写 重写 描述 分析 检测 检查 "
    "制作 设计 解释 列举 创作 回答 说出 想出 找出 列出 写出 给出 提出 指出 算出"
)
"""Verbs whatever jieba tags them (it tags 总结, 分类, 编辑 as nouns)."""
_POLITE = (
    ("请",), ("请你",), ("请您",), ("麻烦",), ("帮", "我"), ("帮", "我们"), ("帮我",), ("帮",),
    ("您", "能"), ("你", "能"), ("您", "可以"), ("你", "可以"), ("能否",), ("可以",),
    ("我们", "来"), ("让", "我们"),
)  # fmt: skip
_CHANGE_TO = _words("改为 改成 译为 译成 变为 变成")
"""Two-character verbs with a result 成/为 (改为 -> 改); 生成, 完成, 认为 are words of their own."""
_GIVEN = _words("给定 假设 已知 假定")
_IF = _words("如果 若 假如 如")
_PREPS = _words(
    "在 用 使用 利用 根据 按照 基于 通过 以 为 给 对 针对 从 向 与 依据 参照 围绕"
) | _words("按 借助 运用 关于 就 对于 于")
_FRONTING = _words("将 把")
_LIGHT = _words("进行 加以 予以 作 做")
_VERBAL_NOUNS = _words("排序 分析 比较 评估 修改 解释 说明 讨论 研究 调查 翻译 回答 总结 分类")
_AFTER_NOT_VERB = _PREPS | _words("的 以下 下列 下面 上述 这 这个 那个 此 该 一 所 不 没 没有 未")
_NOT_VERB = _words(
    "是 有 能 可以 应该 需要 会 要 将 起来 出来 下去 一下 到 给定 所给 下列 相关 可能 能够"
)
_DETS = _words("以下 下列 下面 上述 如下 给定 所给 这个 这些 那个 此 该 其中")
_PRONOUNS = _words("其 它 它们 他 她 他们 她们 我 你 您 我们 你们 自己")
_DITRANSITIVE = _words("告诉 给 教 问 送 递 提供 给出")
_CLAUSE_WORDS = ("是", "什么", "哪", "如何", "为什么", "怎么", "怎样", "多少", "是否", "能否")
_QUESTION_WORDS = (*_CLAUSE_WORDS[1:], "吗", "呢", "？", "?")
_STOPS = _words("并 并且 以 来 使 以便 从而 然后 而且 同时 用于 以及")
_SOFT = _words("和 或 与 及 或者 还是 给 从 在 向 为 对 用 按照 成 到")
_CLASSIFIERS = frozenset("个段句篇首本部条张幅组种项份封道则")
_NUMERALS = frozenset("一二两三四五六七八九十百千万几0123456789")
_HARD = frozenset("，。：；？！,.:;?!\n")
_QUOTES = frozenset("“\"「《'‘")
_NOT_HEAD_TAGS = _words("x uj ul u uz ug ud y d c p r m f")


def find(text: str) -> tuple[str | None, str | None]:
    """(verb, object) of the instruction's first imperative clause; (None, None) when none."""
    if not any(is_han(ch) for ch in text):
        return verbs_en.find(text)
    tokens = _mask_quotes(_merge(_posseg()(text[:200])))
    for clause in _clauses(tokens)[:4]:
        found = _clause(clause)
        if found is not None:
            return found
        if any(w in _QUESTION_WORDS or w.endswith("吗") for w, _ in clause):
            return None, None  # a question, not a command
    return None, None


def _clauses(tokens: list[Token]) -> list[list[Token]]:
    clauses: list[list[Token]] = [[]]
    for i, (word, flag) in enumerate(tokens):
        clauses[-1].append((word, flag))
        between_digits = word in ",.:" and i > 0 and tokens[i - 1][0][-1:].isdigit()
        if word in _HARD and word not in "？?" and not between_digits:
            clauses.append([])
    return [c for c in clauses if any(w not in _HARD for w, _ in c)]


def _merge(tokens: list[Token]) -> list[Token]:
    """Glue what jieba cuts apart (头脑 风暴, 想 出) and split 请为 into 请 + 为."""
    out: list[Token] = []
    for word, flag in tokens:
        if out and out[-1][0] + word == "头脑风暴":
            out[-1] = ("头脑风暴", "v")
        elif out and word == "出" and out[-1][1] in VERB_TAGS | {"n"} and len(out[-1][0]) <= 2:
            out[-1] = (out[-1][0] + "出", "v")
        elif len(word) == 2 and word[0] == "请" and word[1] in _PREPS:
            out += [("请", "v"), (word[1], "p")]
        elif len(word) == 2 and word[0] in _PREPS and word[1] in _DETS:
            out += [(word[0], "p"), (word[1], "r")]  # 对此指令
        elif out and out[-1][0] == "所" and word == "给":
            out[-1] = ("所给", "r")
        elif word.strip():
            out.append((word, flag))
    return out


def _mask_quotes(tokens: list[Token]) -> list[Token]:
    """Each closed quotation as one token, so a quoted sentence's words and ? are not read."""
    out: list[Token] = []
    opened: int | None = None
    for word, flag in tokens:
        closes = word in ("”", "」") or (word == '"' and opened is not None)
        if opened is not None and closes:
            out[opened:] = [("“”", "x")]
            opened = None
        elif opened is None and word in ("“", "「", '"'):
            opened = len(out)
            out.append((word, flag))
        else:
            out.append((word, flag))
    return out


def _clause(tokens: list[Token]) -> tuple[str | None, str | None] | None:
    """The clause's verb and object, or None when it has no imperative verb."""
    tokens = _strip_polite(tokens)
    if not tokens or tokens[0][0] in _GIVEN:
        return None
    if tokens[0][0] in _IF:
        then = next((i for i, (w, _) in enumerate(tokens) if w in ("则", "就")), None)
        return None if then is None else _clause(tokens[then + 1 :])
    adverb = tokens[0][1] in ("d", "ad", "a") and tokens[0][0] not in ("不", "没", "没有", "未")
    if adverb and len(tokens) > 1 and _verbish(tokens[1]):
        tokens = tokens[1:]  # 重新表述, 简要描述: the verb after its adverb
    first = tokens[0][0]
    if first in _PREPS or first in _FRONTING:
        return _after_phrase(tokens)
    if not _verbish(tokens[0]) or (len(tokens) > 1 and tokens[1][0] in ("是", "的")):
        return None  # 冷战是..., 给出的数字是...: a subject, not a command
    return _verb_form(first), _object(first, tokens[1:])


def _strip_polite(tokens: list[Token]) -> list[Token]:
    changed = True
    while changed and tokens:
        changed = False
        for opener in _POLITE:
            if tuple(w for w, _ in tokens[: len(opener)]) == opener:
                tokens = tokens[len(opener) :]
                changed = True
    return tokens


def _after_phrase(tokens: list[Token]) -> tuple[str | None, str | None] | None:
    """A clause opening with a preposition or 将/把: the verb after the phrase, its object."""
    if any(w in _QUESTION_WORDS for w, _ in tokens):
        return None  # 使用人工智能进行市场分析的好处是什么？
    at = _main_verb(tokens)
    light = next((i for i, (w, _) in enumerate(tokens) if w in _LIGHT and i), None)
    if light is not None and (at is None or at < light):
        noun = _head(_phrase(tokens[light + 1 :], fronted=False))
        if noun is not None and (noun in VERB_WORDS or noun in _VERBAL_NOUNS):
            at = light + 1 + [w for w, _ in tokens[light + 1 :]].index(noun)  # 进行两句话的总结
    if at is None:
        return None
    word = tokens[at][0]
    light = next((i for i, (w, _) in enumerate(tokens[:at]) if w in _LIGHT), at)
    marker = next((i for i, (w, _) in enumerate(tokens[:light]) if w in _FRONTING), None)
    if marker is None and light < at and tokens[0][0] in ("对", "针对"):
        marker = 0  # 对以下文本进行总结: the 文本
    if marker is not None:
        return _verb_form(word), _head(_phrase(tokens[marker + 1 : light], fronted=True))
    return _verb_form(word), _object(word, tokens[at + 1 :])


def _main_verb(tokens: list[Token]) -> int | None:
    """The verb after an opening phrase: the last that takes an object of its own (a numeral
    or no 的 before the next verb), or one with a result 成/为; else the last verb."""
    last = passing = strong = None
    end = next((i for i, (w, _) in enumerate(tokens) if w in _STOPS and i > 1), len(tokens))
    for i in range(1, end):
        before = tokens[i - 1]
        if not _verbish(tokens[i]) or before[1] in ("m", "p") or before[0] in _AFTER_NOT_VERB:
            continue  # 为促销产品, 以下类比, 的应用, 不超过: a noun's place, or a modifier
        if tokens[i][0] in _LIGHT:
            continue
        last = i
        rest = tokens[i + 1 : end]
        if rest[:1] and rest[0][0] in ("成", "为"):
            return i
        nxt = next((j for j, t in enumerate(rest) if _verbish(t)), len(rest))
        words = [w for w, _ in rest[:nxt]]
        numeral = next((j for j, (_, f) in enumerate(rest[:nxt]) if f == "m"), len(rest))
        if "的" not in words or numeral < words.index("的"):
            passing = i
            if any(f.startswith("n") or f in ("eng", "m") for _, f in rest[:nxt]):
                strong = i  # with a noun after it: 为宠物店生成名称创意 is about 生成
    return next((i for i in (strong, passing, last) if i is not None), None)


def _verbish(token: Token) -> bool:
    word, flag = token
    if word in _NOT_VERB or word in _PREPS or word in _DETS:
        return False
    if flag == "l":  # set phrases: verbs with a result (翻译成), or nouns (自然语言, 两句话)
        return word in VERB_WORDS or word.endswith(("成", "为", "出", "到", "入"))
    return word in VERB_WORDS or flag in VERB_TAGS


def _verb_form(word: str) -> str:
    """The verb without a result 成/为 or 一下 (翻译成 -> 翻译); two-character V出 words stay."""
    if word.endswith("一下") and len(word) > 2:
        word = word[:-2]
    if word.endswith(("成", "为")) and (len(word) > 2 or word in _CHANGE_TO):
        return word[:-1]
    if word.endswith("出") and len(word) > 2:
        return word[:-1]
    return word


def _object(verb: str, tokens: list[Token]) -> str | None:
    """The head noun of the object after `verb`, or None for a pronoun, a clause or nothing."""
    if tokens and tokens[0][0] in ("和", "与") and len(tokens) > 1 and _verbish(tokens[1]):
        tokens = tokens[2:]  # 比较和对比 X: the object of both
    if tokens and tokens[0][0] in _PRONOUNS and tokens[1:2] != [("的", "uj")]:
        if verb not in _DITRANSITIVE:
            return None
        tokens = tokens[1:]  # 告诉我 ... 的方法: the 方法
    span = _until(_until(tokens, _HARD), _words("以及 并 并且 然后 从而"))
    if any(any(q in w for q in _CLAUSE_WORDS) for w, _ in span):
        return None  # 判断以下句子是..., 解释为什么...: a clause
    verb_first = span and span[0][1] in ("v", "vn") and span[0][0] not in _DETS
    if verb_first and "的" not in (w for w, _ in span):
        return None  # 协助调试脚本: a verb phrase
    return _head(_phrase(span, fronted=False))


def _until(tokens: list[Token], stops: frozenset[str]) -> list[Token]:
    end = next((i for i, (w, _) in enumerate(tokens) if w in stops), len(tokens))
    return tokens[:end]


def _phrase(span: list[Token], fronted: bool) -> list[Token]:
    """The noun phrase that opens `span`: after its last 的, cut at a stop or a new clause."""
    cut = next((i for i, (w, _) in enumerate(span) if w in _STOPS and (i or w != "以")), None)
    span = _serial(span[:cut])
    if fronted:  # 将以下单词与它们的同义词: the phrase ends at 与
        span = span[: next((i for i, (_, f) in enumerate(span) if f == "p" and i), None)]
    words = [w for w, _ in span]
    if "的" in words:
        last = len(words) - 1 - words[::-1].index("的")
        return _until(span[last + 1 :], _SOFT)
    for i, (word, flag) in enumerate(span):
        if word in _SOFT or word in _QUOTES or (fronted and flag == "p"):
            return span[:i]
    return span


def _serial(span: list[Token]) -> list[Token]:
    """Cut before a second verb with its own numbered object: 设计一个算法|解决一个问题."""
    if not span or span[0][1] != "m":
        return span
    seen_noun = False
    for i, (_, flag) in enumerate(span):
        if seen_noun and flag == "v" and span[i + 1 : i + 2] and span[i + 1][1] == "m":
            return span[:i]
        seen_noun = seen_noun or flag.startswith("n")
    return span


def _head(phrase: list[Token]) -> str | None:
    for word, flag in reversed(phrase):
        if word in _DETS or word in _PRONOUNS or not word.strip():
            continue
        if flag in _NOT_HEAD_TAGS and not (flag == "d" and len(word) > 1):
            continue  # 的好处 is tagged as an adverb
        if word[0] in _NUMERALS and not flag.startswith("n"):
            continue  # 五大
        if len(word) > 2 and word[0] in "这那此该每" and word[1] in _CLASSIFIERS:
            word = word[2:]  # 这段话 cut as one word: the 话
        if any(is_han(ch) for ch in word) or word.isalpha():
            return word
    return None


@lru_cache(maxsize=1)
def _posseg() -> Callable[[str], list[Token]]:
    try:
        import jieba
        import jieba.posseg
    except ModuleNotFoundError:
        raise MissingDependencyError("jieba", "Chinese verb/noun analysis", "zh") from None
    jieba.setLogLevel(60)  # no "Building prefix dict" chatter
    return lambda text: [(p.word, p.flag) for p in jieba.posseg.cut(text)]
