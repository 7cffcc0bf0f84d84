"""The leading verb of an English instruction and the head noun of its direct object.

No parser: word lists and the shapes instructions come in. The verb is the first word of the
first imperative clause, after openers ("please", "can you", "you need to", "let's") and an
introduction that ends in a comma ("Given a list of words, return ..."); a question, a statement
("Pipe A can pour ...") or a fragment ("ERROR") has none. The object is the last word of the noun
phrase after the verb ("a short blog post about ..." gives post), none for a pronoun, a clause
("explain how ...") or a prepositional phrase.
"""

from __future__ import annotations

import re


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’-]*|[,;:()\"“”?!]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTE = re.compile(r"(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")
"""A single quote that is no apostrophe: "Translate 'hello'" quotes its object."""
_TASK_OPENERS = (
    ("you", "need", "to"), ("you", "should"), ("you", "must"), ("you", "are", "asked", "to"),
    ("you", "have", "to"), ("your", "task", "is", "to"),
)  # fmt: skip
"""Openers stating the task, also looked for later: "You are given X, and you need to ..."."""
_OPENERS = (
    ("please",), ("kindly",), ("now",), ("then",), ("also",), ("next",), ("finally",),
    ("can", "you"), ("could", "you"), ("would", "you"), ("will", "you"),
    ("i", "want", "you", "to"), ("i", "need", "you", "to"), ("i", "would", "like", "you", "to"),
    ("i'd", "like", "you", "to"), *_TASK_OPENERS, ("let's",), ("let’s",), ("let", "us"),
)  # fmt: skip
_INTRO = _words(
    "given using based with for in after from according by considering taking starting "
    "assuming if when as on without once before while provided suppose at within under "
    "following here having imagining to"
)
"""Words that open an introduction ended by a comma: "Given X, find Y" (the verb is find)."""
VERBS = _words(
    "write generate create identify provide describe explain rewrite suggest give summarize list "
    "come edit find tell correct convert classify name imagine recommend complete compose "
    "translate share determine compare make design help construct extract analyze analyse use "
    "ask choose calculate define change plan rearrange add categorize answer think develop "
    "evaluate paraphrase outline simplify propose predict fill replace brainstorm discuss craft "
    "research select state reflect arrange revise combine offer compile finish transform sort "
    "compute pick take remove formulate expand build solve assess synthesize fix rank sum "
    "compliment reverse do encourage invent narrate reorder output reword recite prepare improve "
    "insert devise draft tag read re-write estimate organize produce advise pretend show instruct "
    "suppose update label delete perform turn teach try decide collaborate talk recall put assign "
    "highlight indicate assemble respond comment search recreate engage detect inspire return "
    "form modify point look reformat split introduce verify review spell implement restate parse "
    "critique retell open start set present check let specify cite interpret discover reply "
    "rephrase submit differentiate print count code spin train aim consider infer proofread "
    "direct shape standardize conduct conjugate hypothesize reformulate practice type pitch "
    "structure debate assume captivate prove capitalize order question improvise derive mention "
    "format reframe spot express transcribe challenge collect follow convince summarise alter cut "
    "merge supply automate decode clarify render curate weigh cook guess encrypt re-design sing "
    "include interview annotate rename represent diagnose trace illustrate learn schedule "
    "appraise refer distinguish multiply resolve re-order characterize react gather swap "
    "exaggerate re-arrange capitalise spend celebrate enter match refactor redact begin compress "
    "troubleshoot believe scramble rotate examine figure decorate adjust notify divide regroup "
    "draw paint sketch compute recommend visualize visualise plot graph chart map tweet email "
    "send post reply describe summarize clean normalize tokenize split join group cluster score "
    "rate grade judge test measure convert list explain justify support argue persuade "
    "critique brainstorm elaborate expound demonstrate portray depict imitate mimic act play "
    "role-play roleplay list enumerate mark underline circle bold emphasize stress paraphrase "
    "shorten lengthen extend condense abbreviate spell-check fact-check refine tune optimize "
    "debug document fill-in address process focus pass press cross toss miss"
)
"""Verbs instructions open with; another first word is a verb only in an imperative frame."""
_NOT_VERBS = _words(
    "a an the this that these those what which who whom whose when where why how is are was were "
    "do does did i you he she it we they my your his her its our their there here if in on at "
    "for of to from by with as and or but not no yes given based using according error errors "
    "instruction task example title description"
)
"""Never the verb: question words, pronouns, articles, labels ("Question: ...", "ERROR")."""
_AUX = _words(
    "is are was were be been am can could will would shall should may might must has have had "
    "does do did isn't aren't can't won't doesn't don't didn't wasn't"
)
_DETS = _words(
    "a an the this that these those some any each every all both few many several more most "
    "another other such no my your our their his her its one two three four five six seven "
    "eight nine ten twelve twenty fifty hundred first second third last next following given "
    "same own least at"
)
_PRONOUNS = _words("me us him her them it you myself yourself itself something someone anything")
_DITRANSITIVE = _words("give tell show send offer teach bring buy find make get hand lend write")
_ADJECTIVES = _words(
    "fun good great new short long brief simple unique creative funny interesting new old big "
    "small young happy sad real main key best nice fine quick clear random healthy cool fresh"
)
_ADJ_ENDINGS = ("able", "ible", "ful", "ous", "ive", "ic", "al", "ary", "less", "ish", "ing")
_BOUNDARY = _words(
    "of for about on in into with from by to between at as like near without within through "
    "over under after before against during than per across around among toward towards via "
    "including and or but nor that which who whom whose where when how why what whether if so "
    "shorter longer more less simpler clearer better easier worse is are was were can could "
    "will would should may might must has have had does do did below above instead while "
    "because please up out down"
)
_IRREGULAR = _words(
    "set written made told known found shown taken seen spoken held built chosen done drawn given "
    "provided put read sent left brought kept"
)
"""Past participles without -ed: "a story set in ..." ends the noun phrase at set."""
_LINKING = _words(
    "using including involving containing featuring based asking telling explaining describing "
    "showing highlighting expressing addressing targeting discussing comparing starring"
)
"""Participles that end a noun phrase whatever follows: "a dish using only five ..."."""
_PARTICLES = _words("up out down off")
_CLAUSE = _words("how what why whether if that when where who which whom whose to")


def find(text: str) -> tuple[str | None, str | None]:
    """(verb, object) of the instruction's first imperative clause; (None, None) when none."""
    for sentence in _SENTENCE.split(_QUOTE.sub('"', text.strip()[:500]))[:3]:
        tokens = _TOKEN.findall(sentence)
        if not tokens:
            continue
        found = _clause(tokens)
        if found[0] is not None or "?" in tokens or ":" in tokens:
            return found  # a question or a label ends the search: what follows is its input
    return None, None


def _clause(tokens: list[str]) -> tuple[str | None, str | None]:
    words = _strip_openers([t.lower() for t in tokens])
    if words and words[0] in _INTRO:  # "Given X, find Y"; without the comma, the verb later
        comma = words.index(",") + 1 if "," in words else None
        words = _strip_openers(words[comma:]) if comma else _verb_later(words)
    at = _verb_at(words, tokens)
    if at is None:
        later = _task_opener(words)
        if later is None:
            return None, None
        words, at = later, 0  # "You are given a list ..., and you need to create ..."
    verb, rest = _phrasal(words[at], words[at + 1 :])
    return verb, _object(verb, rest)


def _task_opener(words: list[str]) -> list[str] | None:
    """The words after a task-stating opener later in a statement, when a verb follows it."""
    for i in range(1, len(words)):
        for opener in _TASK_OPENERS:
            if tuple(words[i : i + len(opener)]) == opener:
                rest = words[i + len(opener) :]
                return rest if rest and rest[0] in VERBS else None
    return None


def _strip_openers(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for opener in _OPENERS:
            if tuple(words[: len(opener)]) == opener:
                words = words[len(opener) :]
                changed = True
    return words


def _verb_later(words: list[str]) -> list[str]:
    """An introduction without its comma: "Using the data below create a chart"."""
    for i in range(2, min(len(words) - 1, 15)):
        if words[i] in VERBS and words[i - 1] not in _DETS and words[i + 1] in _DETS:
            return words[i:]
    return []


def _verb_at(words: list[str], tokens: list[str]) -> int | None:
    """0 when the first word is an imperative verb, else None."""
    if not words:
        return None
    first, after = words[0], words[1:3]
    if first in _NOT_VERBS or not first.replace("-", "").isalpha():
        return None
    if after and (after[0] in _AUX or after[0] == ":"):
        return None  # "John has 5 apples", "Answer: ...": a subject or a label
    if first in VERBS:
        return 0
    if len(after) > 1 and after[1] in _AUX:
        return None  # "Pipe A can pour ...": a subject
    if first.upper() in tokens or first.endswith(("s", "ed", "ly", "ing")):
        return None  # "ERROR", "Describes ...", "Briefly ...": not a bare imperative
    return 0 if after and (after[0] in _DETS or after[0] in _PRONOUNS) else None


def _phrasal(verb: str, rest: list[str]) -> tuple[str, list[str]]:
    if verb == "come" and rest[:2] == ["up", "with"]:
        return "come up with", rest[2:]
    if verb == "think" and rest[:1] == ["of"]:
        return "think of", rest[1:]
    if rest and (rest[0] in _PARTICLES or (verb == "fill" and rest[0] == "in")):
        return verb, rest[1:]
    return verb, rest


def _object(verb: str, rest: list[str]) -> str | None:
    """The head noun of the noun phrase that opens `rest`, or None."""
    if rest and rest[0] in _PRONOUNS:
        if verb not in _DITRANSITIVE or len(rest) < 2 or rest[1] in _BOUNDARY | _CLAUSE:
            return None  # "sort them", "tell me about ...": no noun object
        rest = rest[1:]  # "give me three tips": the tips
    if not rest or rest[0] in _CLAUSE or (rest[0] in _BOUNDARY and rest[0] not in _DETS):
        return None
    if rest[0].endswith("ing") and len(rest[0]) > 4 and _ends_phrase(rest[1:]):
        return None  # "try coming up with ...": a gerund, no noun object
    phrase: list[str] = []
    stop = None
    for i, word in enumerate(rest[:10]):
        after = rest[i + 1 :]
        if (word in _DETS and not phrase) or word[:1].isdigit() or word.endswith(("'s", "’s")):
            continue
        if word in ("and", "or") and phrase and _adjective(phrase[-1], after):
            continue  # "a fun and creative idea"
        coordinated = i > 0 and rest[i - 1] in ("and", "or")
        if word in _BOUNDARY or not word[:1].isalpha():
            stop = word
            break
        if phrase and word.endswith("ly") and len(word) > 4 and _ends_phrase(after):
            break  # "sort the list ascendingly"
        if phrase and (
            word in _LINKING or (not coordinated and _participle(word) and _ends_phrase(after))
        ):
            break  # "a sentence using ...", "a story set in ...": the phrase ended
        phrase.append(word)
    if not phrase:
        return None
    head = phrase[0] if stop in _AUX and len(phrase) > 1 else phrase[-1]
    return None if head in _PRONOUNS or head in _DETS else head


def _ends_phrase(after: list[str]) -> bool:
    """Whether what follows a participle starts something new (so it is no noun modifier)."""
    if not after:
        return True
    nxt = after[0]
    return nxt in _DETS or nxt in _PRONOUNS or nxt in _BOUNDARY or not nxt[:1].isalpha()


def _adjective(word: str | None, after: list[str]) -> bool:
    """Whether `word` and the one after 'and' are adjectives: "a fun and creative idea"."""
    if word is None or not after or after[0] in _DETS or after[0] in _PRONOUNS:
        return False
    return word in _ADJECTIVES or word.endswith(_ADJ_ENDINGS)


def _participle(word: str) -> bool:
    return word in _IRREGULAR or (word.endswith(("ed", "ing")) and len(word) > 4)
