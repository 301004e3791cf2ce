"""The printable report of one submitted assessment, built with fpdf2.

Text is set in matplotlib's bundled DejaVu Sans (regular and bold), which covers Vietnamese; every text
is normalised to NFC so precomposed glyphs are used (fpdf2 does no shaping of combining marks here).
Static labels are English gettext msgids, translated through :func:`web.i18n.translate`.
"""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from web import charts
from web.i18n import translate

if TYPE_CHECKING:
    from assessment.models import Assessment, Business
    from assessment.results import ResultView

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
INK = (34, 34, 34)
MUTED = (102, 102, 102)
ACCENT = (0, 114, 178)
RULE = (204, 204, 204)
SHADE = (235, 242, 248)
DASH = "—"
CHART_WIDTH = 125  # mm: the 5-inch figures at about their own size, so their text stays readable


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _score(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


class _Report(FPDF):
    def __init__(self, lang: str, title: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.lang = lang
        self.report_title = title
        self.add_font(FONT, "", str(FONT_DIR / "DejaVuSans.ttf"))
        self.add_font(FONT, "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(title)
        self.set_creator("dxmaturity")
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 8)
        self.set_text_color(*MUTED)
        page = translate(self.lang, "Page %(page)s of %(pages)s") % {"page": self.page_no(), "pages": "{nb}"}
        self.cell(0, 5, _nfc(f"{self.report_title} · {page}"), align="C")
        self.set_text_color(*INK)

    # -- building blocks ------------------------------------------------------------------------
    def paragraph(self, text: str, size: float = 10, style: str = "", height: float = 5.0,
                  color: tuple[int, int, int] = INK) -> None:
        self.set_font(FONT, style, size)
        self.set_text_color(*color)
        self.multi_cell(0, height, _nfc(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 45:  # keep a heading with what follows
            self.add_page()
        self.ln(4)
        self.paragraph(text, size=12.5, style="B", height=7, color=ACCENT)
        self.set_draw_color(*ACCENT)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.ln(2)


def report_pdf(*, view: ResultView, business: Business, assessment: Assessment, lang: str, peers: int,
               percentile: float | None, peer_min: int) -> bytes:
    """The PDF report of ``view`` (an :class:`assessment.results.ResultView`) in ``lang``."""

    def _(message: str) -> str:
        return translate(lang, message)

    instrument = view.instrument
    title = instrument.title.get(lang)
    pdf = _Report(lang, title)
    pdf.add_page()

    # -- title block ------------------------------------------------------------------------------
    pdf.paragraph(title, size=17, style="B", height=8, color=ACCENT)
    pdf.ln(1)
    pdf.paragraph(business.name, size=13, style="B", height=7)
    submitted = assessment.submitted_at
    date = DASH if submitted is None else submitted.strftime("%d/%m/%Y" if lang == "vi" else "%Y-%m-%d")
    pdf.paragraph(f"{_('Tax code')}: {business.tax_code or DASH}    {_('Submitted')}: {date}", size=9.5,
                  color=MUTED)

    # -- overall ----------------------------------------------------------------------------------
    pdf.ln(4)
    pdf.set_fill_color(*SHADE)
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 12)
    level = view.level.name.get(lang) if view.level is not None else DASH
    pdf.cell(0, 9, _nfc(f"  {_('Overall score')}: {_score(view.overall)} / 100  ·  {_('Level')}: {level}"),
             fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if view.level is not None:
        pdf.set_font(FONT, "", 9.5)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 5, _nfc(view.level.description.get(lang)), fill=True, padding=(1, 3, 2, 3),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, top, pdf.l_margin, pdf.get_y())
    pdf.set_line_width(0.2)

    # -- dimensions -------------------------------------------------------------------------------
    pdf.heading(_("Results by dimension"))
    pdf.set_font(FONT, "", 9.5)
    pdf.set_draw_color(*RULE)
    headings = FontFace(family=FONT, emphasis="BOLD", color=ACCENT)
    with pdf.table(col_widths=(100, 25, 55), text_align=("LEFT", "RIGHT", "LEFT"), line_height=6,
                   borders_layout="HORIZONTAL_LINES", headings_style=headings,
                   first_row_as_headings=True) as table:
        table.row([_nfc(_("Dimension")), _nfc(_("Score")), _nfc(_("Level"))])
        for d in view.dimensions:
            table.row([_nfc(d.dimension.name.get(lang)), _score(d.score),
                       _nfc(d.level.name.get(lang)) if d.level is not None else _nfc(_("No score"))])

    # -- peers ------------------------------------------------------------------------------------
    pdf.heading(_("Comparison with similar businesses"))
    if percentile is not None:
        text = _("Better than %(percent)s%% of %(peers)s peers (businesses of the same sector and size).") % {
            "percent": f"{percentile:.0f}", "peers": peers}
    else:
        text = _("Fewer than %(minimum)s businesses of the same sector and size have been assessed so far, "
                 "so there is no peer comparison yet.") % {"minimum": peer_min}
    pdf.paragraph(text)

    # -- charts -----------------------------------------------------------------------------------
    labels = [d.dimension.name.get(lang) for d in view.dimensions]
    levels = instrument.levels
    figures = [charts.radar(labels, view.scores),
               charts.bars(labels, view.scores, [lv.min_score for lv in levels], [lv.name.get(lang) for lv in levels])]
    width = CHART_WIDTH
    for k, fig in enumerate(figures):
        height = width * fig.get_figheight() / fig.get_figwidth()
        if pdf.get_y() + height + (14 if k == 0 else 0) > pdf.page_break_trigger:
            pdf.add_page()
        if k == 0:
            pdf.heading(_("Charts"))
        y = pdf.get_y()
        pdf.image(io.BytesIO(charts.to_png(fig, dpi=200)), x=(pdf.w - width) / 2, y=y, w=width)
        pdf.set_y(y + height + 3)

    # -- recommendations --------------------------------------------------------------------------
    pdf.heading(_("Recommendations, most useful first"))
    if not view.recommendations:
        pdf.paragraph(_("Every dimension is at the top level: no recommendations."))
    for number, rec in enumerate(view.recommendations, start=1):
        if pdf.get_y() > pdf.page_break_trigger - 20:
            pdf.add_page()
        pdf.paragraph(f"{number}. {rec.dimension.name.get(lang)}", size=10.5, style="B", height=6)
        step = f"{rec.level.name.get(lang)} → {rec.next_level.name.get(lang)}"
        if rec.lifts_overall_level:
            step += f"  ({_('raises the overall level')})"
        pdf.paragraph(step, size=9, color=ACCENT)
        advice = rec.dimension.recommendations.get(rec.level.id)
        if advice is not None:
            pdf.paragraph(advice.get(lang), size=9.5)
        pdf.ln(2)

    return bytes(pdf.output())

