"""A Chinese run's plots draw their Chinese labels with a font that has the glyphs.

This machine has no CJK font of its own: the font is the one the `[zh]`/`[report]` extra
installs, found and registered by `report_fonts`. Each Text artist with Chinese in it is traced
to the font file matplotlib picks for it, and that file's character map must cover the text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeBackend
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text
from scripted import chinese

import selfinstruct
from selfinstruct.reporting import fonts as report_fonts
from selfinstruct.reporting.data import collect
from selfinstruct.reporting.plots import figures
from selfinstruct.text.language import is_han


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zh") / "run"
    selfinstruct.run("zh", out, 6, FakeBackend(respond=chinese), concurrency=2, progress=False)
    return out


def _texts(figure: object) -> list[Text]:
    return [t for t in figure.findobj(Text) if t.get_text()]  # type: ignore[attr-defined]


def test_chinese_labels_are_drawn_with_a_font_that_has_them(zh_run: Path) -> None:
    report_fonts.cjk_font.cache_clear()
    data = collect(zh_run)
    assert data.diversity.verbs, "the run has verbs to draw"
    drawn: set[str] = set()
    for name, _, figure in figures(data):
        FigureCanvasAgg(figure).draw()  # lay out and draw every artist, as savefig does
        for text in _texts(figure):
            assert "no font with Chinese glyphs" not in text.get_text(), name
            han = {ch for ch in text.get_text() if is_han(ch)}
            if not han:
                continue
            path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
            cmap = TTFont(path, fontNumber=0, lazy=True).getBestCmap()
            missing = sorted(ch for ch in han if ord(ch) not in cmap)
            assert not missing, f"{name}: {text.get_text()!r} drawn with {path}, lacks {missing}"
            drawn |= han
    verbs = {ch for v in data.diversity.verbs for ch in v.verb}
    assert verbs <= drawn, "every verb label was drawn in Chinese, not numbered"
    assert report_fonts.packaged_font() is not None  # the extra's font is installed


def test_without_a_chinese_font_the_bars_are_numbered_and_the_extra_named(
    zh_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_fonts, "cjk_font", lambda: None)
    data = collect(zh_run)
    verbs = dict((name, fig) for name, _, fig in figures(data))["verbs"]
    texts = [t.get_text() for t in _texts(verbs)]
    assert any("pip install 'selfinstruct[zh]'" in t for t in texts)
    assert {"#1"} <= set(texts) and not any(is_han(ch) for t in texts for ch in t)


def test_the_report_writes_the_zh_plots(zh_run: Path) -> None:
    result = selfinstruct.report(zh_run)
    assert {"verbs.png", "funnel.png", "lengths.png"} <= {p.name for p in result.plots}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in result.plots)
