"""The A4 page every PDF of the product is set on (the owner's report, the department's briefing),
built with fpdf2, so both read alike and both handle Vietnamese the same way.

Text is set in matplotlib's bundled DejaVu Sans (regular and bold), which covers Vietnamese; every text
is normalised to NFC so precomposed glyphs are used (fpdf2 does no shaping of combining marks here), and
a character the font lacks (an emoji in a business name) is printed as a visible replacement mark
rather than silently dropped. Callers pass texts already translated (:func:`web.i18n.translate`) and
numbers already formatted (:mod:`web.formatting`), as on the pages.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import matplotlib
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace
from matplotlib.figure import Figure

from web import charts, formatting
from web.i18n import translate

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
INK = (34, 34, 34)
MUTED = (102, 102, 102)
ACCENT = (0, 114, 178)
RULE = (204, 204, 204)
SHADE = (235, 242, 248)
DASH = formatting.DASH
CHART_WIDTH = 125  # mm: the 5-inch figures at about their own size, so their text stays readable
CHART_DPI = 200
REPLACEMENT = "\ufffd"  # �, which DejaVu Sans has
Align = Literal["LEFT", "RIGHT", "CENTER"]


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """The code points both fonts can draw."""
    regular, bold = (TTFont(FONT_DIR / name, lazy=True) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))
    return frozenset(regular.getBestCmap()) & frozenset(bold.getBestCmap())


def nfc(text: str) -> str:
    """NFC, with every character the fonts lack shown as the replacement mark (never dropped)."""
    covered = _covered()
    return "".join(c if ord(c) in covered or c in "\n\t" else REPLACEMENT for c in unicodedata.normalize("NFC", text))


class Document(FPDF):
    """A4 portrait in DejaVu Sans, with a footer naming who issues it, the title and the page
    (``issuer · title · Page n of m``), above it an optional ``footnote`` repeated on every page (the
    briefing's suppression rule must sit on the page of every "—" it explains)."""

    def __init__(self, lang: str, title: str, issuer: str, *, footnote: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.lang = lang
        self.report_title = title
        self.issuer = issuer
        self.footnote = footnote
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18 + (8 if footnote else 0))
        self.set_title(title)
        self.set_creator("dxmaturity")
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_text_color(*MUTED)
        if self.footnote:
            self.set_y(-22)
            self.set_font(FONT, "", 7.5)
            self.multi_cell(0, 3.5, nfc(self.footnote), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        page = translate(self.lang, "Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 5, nfc(f"{self.issuer} · {self.report_title} · {page}"), align="C")
        self.set_text_color(*INK)

    # -- building blocks ------------------------------------------------------------------------
    def paragraph(self, text: str, size: float = 10, style: str = "", height: float = 5.0,
                  color: tuple[int, int, int] = INK) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height, nfc(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 45:  # keep a heading with what follows
            self.add_page()
        self.ln(4)
        self.paragraph(text, size=12.5, style="B", height=7, color=ACCENT)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)

    def fits(self, height: float) -> bool:
        """Whether ``height`` mm more still fit on this page."""
        return self.get_y() + height <= self.page_break_trigger

    def grid(self, headings: Sequence[str], rows: Sequence[Sequence[str]], *, widths: Sequence[float],
             align: Sequence[Align]) -> None:
        """A table with a heading row in the accent colour and rules between the rows, each cell's text
        at its top (a figure beside the first line of a long name); the texts are already formatted
        (a hidden figure as "—")."""
        self.set_font(FONT, "", 9.5)
        self.set_draw_color(*RULE)
        style = FontFace(family=FONT, emphasis="BOLD", color=ACCENT)
        with self.table(col_widths=tuple(widths), text_align=tuple(align), line_height=6,
                        v_align="TOP", borders_layout="HORIZONTAL_LINES", headings_style=style,
                        first_row_as_headings=True) as table:
            table.row([nfc(h) for h in headings])
            for cells in rows:
                table.row([nfc(c) for c in cells])

    @staticmethod
    def chart_height(fig: Figure, width: float = CHART_WIDTH) -> float:
        return width * fig.get_figheight() / fig.get_figwidth()

    def chart(self, fig: Figure, *, caption: str = "", width: float = CHART_WIDTH) -> None:
        """A Matplotlib figure as a PNG (the same figure the pages serve as SVG), centred, with its
        caption above it; caption and figure move to the next page together when they do not fit."""
        height = self.chart_height(fig, width)
        if not self.fits(height + (10 if caption else 0)):
            self.add_page()
        if caption:
            self.paragraph(caption, size=9, style="B", height=4.5)
            self.ln(1)
        y = self.get_y()
        self.image(io.BytesIO(charts.to_png(fig, dpi=CHART_DPI)), x=(self.w - width) / 2, y=y, w=width)
        self.set_y(y + height + 3)
