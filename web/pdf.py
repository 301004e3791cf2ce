"""The printable report of one submitted assessment, set on the shared page of
:mod:`web.pdf_document` (DejaVu Sans, NFC text, a visible mark for a character the font lacks).
Static labels are English gettext msgids, translated through :func:`web.i18n.translate`; numbers and
dates go through :mod:`web.formatting`, as on the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import markupsafe
from fpdf.enums import XPos, YPos

from assessment import reference
from web import charts, formatting
from web.i18n import translate
from web.pdf_document import ACCENT, DASH, FONT, MUTED, SHADE, Document, nfc
from web.templating import environment

if TYPE_CHECKING:
    from assessment.models import Assessment, Business
    from assessment.results import Peers, ResultView


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
    pdf = Document(lang, title, centre)
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
    pdf.cell(0, 9, nfc(f"  {summary}"),
             fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if view.level is not None:
        pdf.set_font(FONT, "", 9.5)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 5, nfc(view.level.description.get(lang)), fill=True, padding=(1, 3, 2, 3),
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, top, pdf.l_margin, pdf.get_y())
    pdf.set_line_width(0.2)

    # -- dimensions -------------------------------------------------------------------------------
    pdf.heading(_("Results by dimension"))
    pdf.grid([_("Dimension"), _("Score"), _("Level")],
             [[d.dimension.name.get(lang), formatting.score(d.score, lang),
               d.level.name.get(lang) if d.level is not None else _("No score")] for d in view.dimensions],
             widths=(100, 25, 55), align=("LEFT", "RIGHT", "LEFT"))

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
    for k, fig in enumerate(figures):
        if k == 0:  # the heading stays with the first chart
            if not pdf.fits(pdf.chart_height(fig) + 14):
                pdf.add_page()
            pdf.heading(_("Charts"))
        pdf.chart(fig)

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

