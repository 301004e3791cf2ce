"""The printable report of one submitted assessment, built with fpdf2.

Text is set in matplotlib's bundled DejaVu Sans (regular and bold), which covers Vietnamese; every text
is normalised to NFC so precomposed glyphs are used (fpdf2 does no shaping of combining marks here), and
a character the font lacks (an emoji in a business name) is printed as a visible replacement mark
rather than silently dropped. Static labels are English gettext msgids, translated through
:func:`web.i18n.translate`; numbers and dates go through :mod:`web.formatting`, as on the pages.
"""

from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import markupsafe
import matplotlib
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from assessment import reference
from web import charts, formatting
from web.i18n import translate
from web.templating import environment

if TYPE_CHECKING:
    from assessment.models import Assessment, Business
    from assessment.results import Peers, ResultView

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
FONT = "DejaVu"
INK = (34, 34, 34)
MUTED = (102, 102, 102)
ACCENT = (0, 114, 178)
RULE = (204, 204, 204)
SHADE = (235, 242, 248)
DASH = formatting.DASH
CHART_WIDTH = 125  # mm: the 5-inch figures at about their own size, so their text stays readable


REPLACEMENT = "\ufffd"  # �, which DejaVu Sans has


@lru_cache(maxsize=1)
def _covered() -> frozenset[int]:
    """The code points both report fonts can draw."""
    regular, bold = (TTFont(FONT_DIR / name, lazy=True) for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"))
    return frozenset(regular.getBestCmap()) & frozenset(bold.getBestCmap())


def _nfc(text: str) -> str:
    """NFC, with every character the fonts lack shown as the replacement mark (never dropped)."""
    covered = _covered()
    return "".join(c if ord(c) in covered or c in "\n\t" else REPLACEMENT for c in unicodedata.normalize("NFC", text))


class _Report(FPDF):
    def __init__(self, lang: str, title: str, centre: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.lang = lang
        self.report_title = title
        self.centre = centre
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
        self.cell(0, 5, _nfc(f"{self.centre} · {self.report_title} · {page}"), align="C")
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


def peer_sentence(peers: Peers, minimum: int, lang: str) -> str:
    """The pages' sentence naming the peer group (``web/templates/_peers.html``), as plain text."""
    module = environment.get_template("_peers.html").make_module({"lang_code": lang})
    html = module.sentence(peers, minimum)  # type: ignore[attr-defined]  # a macro of the template
    return markupsafe.Markup(html).unescape().strip()


def report_pdf(*, view: ResultView, business: Business, assessment: Assessment, lang: str, peers: Peers,
               min_cell: int, centre: str, contact: str) -> bytes:
    """The PDF report of ``view`` (an :class:`assessment.results.ResultView`) in ``lang``, issued by
    ``centre`` (the support centre's name, with its ``contact`` line: both settings), with ``peers``
    (``assessment.results.peers``, compared within groups of at least ``min_cell``)."""

    def _(message: str) -> str:
        return translate(lang, message)

    instrument = view.instrument
    title = instrument.title.get(lang)
    pdf = _Report(lang, title, centre)
    pdf.add_page()

    # -- title block ------------------------------------------------------------------------------
    pdf.paragraph(title, size=17, style="B", height=8, color=ACCENT)
    pdf.ln(1)
    pdf.paragraph(business.name, size=13, style="B", height=7)
    ward = reference.wards().get(business.ward_code)
    section = reference.sections(business.vsic_version).get(business.vsic_section)
    facts = [
        _("Tax code: %(code)s") % {"code": business.tax_code or DASH},
        _("Ward or commune: %(ward)s") % {"ward": ward.name(lang) if ward else DASH},
        _("Sector: %(section)s") % {"section": f"{section.code} – {section.name(lang)}" if section else DASH},
        _("Size class: %(size)s") % {"size": _(business.size_class)},
        _("Submitted: %(date)s") % {"date": formatting.day(assessment.submitted_at, lang)},
    ]
    pdf.paragraph("\n".join(facts), size=9.5, color=MUTED)
    pdf.paragraph(_("Issued by %(centre)s") % {"centre": centre} + (f" · {contact}" if contact else ""),
                  size=9.5, color=MUTED)

    # -- overall ----------------------------------------------------------------------------------
    pdf.ln(4)
    pdf.set_fill_color(*SHADE)
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 12)
    level = view.level.name.get(lang) if view.level is not None else DASH
    overall = formatting.score(view.overall, lang)
    summary = _("Overall score: %(score)s / 100 · Level: %(level)s") % {"score": overall, "level": level}
    pdf.cell(0, 9, _nfc(f"  {summary}"),
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
            table.row([_nfc(d.dimension.name.get(lang)), formatting.score(d.score, lang),
                       _nfc(d.level.name.get(lang)) if d.level is not None else _nfc(_("No score"))])

    # -- peers ------------------------------------------------------------------------------------
    pdf.heading(_("Comparison with similar businesses"))
    text = peer_sentence(peers, min_cell, lang)
    pdf.paragraph(text)

    # -- charts -----------------------------------------------------------------------------------
    labels = [d.dimension.name.get(lang) for d in view.dimensions]
    levels = instrument.levels
    figures = [charts.radar(labels, view.scores, lang=lang),
               charts.bars(labels, view.scores, [lv.min_score for lv in levels], [lv.name.get(lang) for lv in levels],
                           lang=lang)]
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
        step = f"{rec.level.name.get(lang)} → {rec.next_level.name.get(lang)}"
        if rec.lifts_overall_level:
            step += "  " + _("(raises the overall level)")
        advice = rec.dimension.recommendations.get(rec.level.id)
        # a recommendation is never split across pages, so no page holds a stray paragraph of one
        with pdf.unbreakable() as block:
            block.paragraph(f"{number}. {rec.dimension.name.get(lang)}", size=10.5, style="B", height=6)
            block.paragraph(step, size=9, color=ACCENT)
            if advice is not None:
                block.paragraph(advice.get(lang), size=9.5)
            block.ln(2)

    return bytes(pdf.output())

