"""Post-processing filters for candidate instructions; every rejection has a name.

The defaults are the paper's: 4 to 150 words, a keyword blacklist of tasks a text model can't
do, no "Write a program", no leading punctuation or non-English first character. Chinese mode
swaps in character counts, a Chinese blacklist and a mostly-Latin check.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, field

from ...errors import ConfigError

PAPER_BLACKLIST = (
    "image", "images", "graph", "graphs", "picture", "pictures",
    "file", "files", "map", "maps", "draw", "plot", "go to",
)  # fmt: skip
ZH_BLACKLIST = (
    "图片", "图像", "照片", "图表", "画图", "作图", "绘图", "绘制", "地图",
    "文件", "视频", "音频", "流程图", "前往",
)  # fmt: skip
_ZH_PROGRAM = ("编写一个程序", "写一个程序", "编写程序")
_PUNCTUATION = set(string.punctuation) | set("，。！？；：、“”‘’（）《》【】…—·「」『』")
OPENINGS = {
    "zh": {
        "《": "》",
        "“": "”",
        "「": "」",
        "『": "』",
        "（": "）",
        "【": "】",
        "‘": "’",
        "(": ")",
    },
    "en": {'"': '"', "“": "”", "‘": "’", "(": ")"},
}
"""First characters that open a title or a quoted term ("《红楼梦》的…", '"Hamlet" is …'): kept
when the text closes them, unless `strict_start` (the original's first-character rule)."""


@dataclass(frozen=True)
class FilterConfig:
    """Bounds and blacklist for candidates; `language` picks English or Chinese checks."""

    language: str = "en"
    min_words: int = 4
    max_words: int = 150
    min_chars: int = 6
    max_chars: int = 300
    blacklist: tuple[str, ...] | None = None
    max_latin_share: float = 0.5
    strict_start: bool = False

    def __post_init__(self) -> None:
        if self.language not in ("en", "zh"):
            raise ConfigError(f"language must be 'en' or 'zh', got {self.language!r}")
        if not 0 < self.min_words <= self.max_words:
            raise ConfigError(f"need 0 < min_words <= max_words: {self.min_words}-{self.max_words}")
        if not 0 < self.min_chars <= self.max_chars:
            raise ConfigError(f"need 0 < min_chars <= max_chars: {self.min_chars}-{self.max_chars}")

    @property
    def words(self) -> tuple[str, ...]:
        if self.blacklist is not None:
            return self.blacklist
        return ZH_BLACKLIST if self.language == "zh" else PAPER_BLACKLIST


@dataclass
class InstructionFilter:
    """Applies `FilterConfig` to one candidate: returns None to keep it, or the rejection reason."""

    config: FilterConfig = field(default_factory=FilterConfig)

    def __post_init__(self) -> None:
        words = self.config.words
        if self.config.language == "zh":
            self._blacklist = re.compile("|".join(re.escape(w) for w in words)) if words else None
        else:
            pattern = r"\b(?:" + "|".join(re.escape(w) for w in words) + r")\b"
            self._blacklist = re.compile(pattern, re.I) if words else None

    def __call__(self, text: str) -> str | None:
        if not text.strip():
            return "empty"
        check = self._check_zh if self.config.language == "zh" else self._check_en
        reason = check(text)
        if reason:
            return reason
        if self._blacklist is not None and self._blacklist.search(text):
            return "blacklisted_keyword"
        if text[0] in _PUNCTUATION and not self._opens(text):
            return "starts_with_punctuation"
        return None

    def _opens(self, text: str) -> bool:
        """Whether `text` opens with a title or quote mark that it closes later."""
        if self.config.strict_start:
            return False
        close = OPENINGS[self.config.language].get(text[0])
        return close is not None and close in text[1:]

    def blacklisted(self, text: str) -> str | None:
        """The first blacklisted keyword in `text`, for reporting."""
        match = self._blacklist.search(text) if self._blacklist else None
        return match.group(0) if match else None

    def _check_en(self, text: str) -> str | None:
        words = len(text.split())
        if words < self.config.min_words:
            return "too_short"
        if words > self.config.max_words:
            return "too_long"
        if text.startswith("Write a program"):
            return "write_a_program"
        if not text[0].isascii() and not self._opens(text):
            return "non_english_start"
        return None

    def _check_zh(self, text: str) -> str | None:
        chars = sum(1 for ch in text if not ch.isspace())
        if chars < self.config.min_chars:
            return "too_short"
        if chars > self.config.max_chars:
            return "too_long"
        if text.startswith(_ZH_PROGRAM):
            return "write_a_program"
        if latin_share(text) > self.config.max_latin_share:
            return "mostly_latin"
        return None


def latin_share(text: str) -> float:
    """Share of Latin letters among the letters and Han characters of `text`."""
    latin = han = 0
    for ch in text:
        if ch.isascii() and ch.isalpha():
            latin += 1
        elif unicodedata.category(ch) == "Lo":
            han += 1
    return latin / (latin + han) if latin + han else 0.0
