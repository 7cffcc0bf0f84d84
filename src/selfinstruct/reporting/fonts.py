"""A font with Chinese glyphs for the report's plots: installed on the system, or the extra's.

Chinese labels drawn with matplotlib's default DejaVu Sans come out as empty boxes. The plots
look for a CJK font by name among the installed ones, then for the Noto Sans CJK font that the
`[zh]` and `[report]` extras install (the `cvttf-notosanscjk-regular` wheel), registered with
matplotlib at plot time, then for any installed font that has Chinese glyphs.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from ..text.language import is_han

CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Noto Serif CJK SC", "Source Han Sans SC",
    "Source Han Sans CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Sarasa Gothic SC",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB",
    "AR PL UMing CN", "AR PL UKai CN", "Droid Sans Fallback", "Noto Sans CJK JP",
)  # fmt: skip
"""Fonts with Chinese glyphs, tried first; the extra's font is next, then any installed one."""
PACKAGED_FONT = ("cvttf_NotoSansCJK_Regular", "NotoSansCJKtc-Regular.otf")
"""The module and file of the Noto Sans CJK font (SIL Open Font License) the extras install."""
INSTALL_HINT = "install a font with Chinese glyphs: pip install 'selfinstruct[zh]'"
"""The line the plots and the report show when no Chinese font is found."""


def packaged_font() -> Path | None:
    """The extra's Noto Sans CJK font file, when the wheel is installed."""
    spec = importlib.util.find_spec(PACKAGED_FONT[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / PACKAGED_FONT[1]
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of a font with Chinese glyphs (registering the extra's), or None when none."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    path = packaged_font()
    if path is not None:
        with contextlib.suppress(Exception):  # a damaged file: look further
            font_manager.fontManager.addfont(str(path))
            return font_manager.FontProperties(fname=str(path)).get_name()
    return _any_cjk_font()


def _any_cjk_font() -> str | None:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    for font in font_manager.fontManager.ttflist[:500]:
        if "last resort" in font.name.lower():  # matplotlib's own: a box for every character
            continue
        with contextlib.suppress(Exception):
            if FT2Font(font.fname).get_char_index(ord("中")):
                return font.name
    return None


@contextlib.contextmanager
def fonts(language: str) -> Iterator[None]:
    """matplotlib settings for the report's plots, with the Chinese font first for a zh run."""
    import matplotlib

    family = cjk_font() if language == "zh" else None
    with matplotlib.rc_context(
        {"font.size": 9, "axes.spines.top": False, "axes.spines.right": False}
    ):
        if family is not None:
            matplotlib.rcParams["font.family"] = [family, "DejaVu Sans"]
        yield


def drawable(text: str, language: str) -> bool:
    """Whether `text` can be drawn legibly: no Chinese in it, or a Chinese font is found."""
    return not any(is_han(ch) for ch in text) or (language == "zh" and cjk_font() is not None)
