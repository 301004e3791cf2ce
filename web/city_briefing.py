"""The department's PDF briefing of one city view, to hand round at a meeting: what was looked at
(questionnaire, period, filters, when), the key figures, the dimension means, levels and sectors as
tables, and the dashboard's charts, in the reader's language.

Every figure is one of the dashboard's (``assessment.city_dashboard.Dashboard``, protected by
``assessment.city.aggregates``): a hidden cell prints as "—", as on the screen, and the charts are
drawn by the same ``web.city_charts.dashboard_chart`` as the page's SVGs. The suppression rule is a
footnote on every page, beside any "—" it explains. A refused filter set (too few businesses, or
too few left out) gives a briefing that says only why.
"""

from __future__ import annotations

from datetime import datetime

from fpdf.enums import XPos, YPos

from assessment import reference
from assessment.city.aggregates import Cell
from assessment.city_dashboard import Dashboard
from assessment.messages import N_
from web import city_charts, formatting
from web.i18n import translate
from web.pdf_document import ACCENT, DASH, FONT, MUTED, SHADE, Document, nfc

#: the charts the briefing prints, in this order, each with its caption on the page (web/templates/city.html)
CHARTS = (
    ("levels", N_("Participating businesses per level (n = %(n)s)")),
    ("dimensions", N_("Mean score per dimension, %(n)s participating businesses")),
    ("trend", N_("Mean overall score per quarter, each quarter's participating businesses (their latest round "
                 "in it)")),
    ("sizes", N_("Mean overall score of the participating businesses per size class")),
    ("wards", N_("Mean overall score of the participating businesses per ward, highest first (only wards shown "
                 "in full; the 10 highest and 10 lowest when there are more)")),
    ("heatmap", N_("Mean score per dimension and VSIC section (participating businesses; — hidden)")),
)


def _count(cell: Cell, lang: str) -> str:
    return DASH if cell.suppressed else formatting.number(cell.n, lang)


def filters_text(view: Dashboard, lang: str) -> str:
    """The filters applied beyond questionnaire and period, as "Sector: G – …; Size class: …", or
    that there are none."""

    def _(message: str) -> str:
        return translate(lang, message)

    f = view.filters
    parts: list[tuple[str, str]] = []
    if f.vsic_section is not None:
        section = reference.sections()[f.vsic_section]
        parts.append((_("Sector"), f"{section.code} – {section.name(lang)}"))
    if f.size_class is not None:
        parts.append((_("Size class"), _(f.size_class)))
    if f.district is not None:
        parts.append((_("Former district"), f.district))
    if f.ward is not None:
        parts.append((_("Ward or commune"), reference.wards()[f.ward].name(lang)))
    if not parts:
        return _("none (every participating business of the city)")
    return "; ".join(f"{label}: {value}" for label, value in parts)


def briefing_pdf(*, view: Dashboard, lang: str, department: str, now: datetime) -> bytes:
    """The briefing of ``view`` in ``lang``, issued by ``department`` (its name: a setting) at ``now``."""

    def _(message: str) -> str:
        return translate(lang, message)

    k = view.k
    instrument = view.filters.definition
    title = _("Briefing on city-wide readiness")
    rule = _("— : hidden, because fewer than %(k)d businesses are behind it, or because it would let a hidden "
             "figure be worked out from the others.") % {"k": k}
    pdf = Document(lang, title, department, footnote="" if view.refused else rule)
    pdf.add_page()

    # -- what is looked at ------------------------------------------------------------------------
    pdf.paragraph(department, size=11, style="B", height=6, color=MUTED)
    pdf.paragraph(title, size=16, style="B", height=8, color=ACCENT)
    pdf.ln(1)
    total = view.total
    facts = [
        _("Questionnaire: %(title)s, version %(version)s") % {"title": instrument.title.get(lang),
                                                              "version": view.filters.version},
        _("Period: %(period)s") % {"period": view.filters.period},
        _("Filters: %(filters)s") % {"filters": filters_text(view, lang)},
        _("Generated: %(moment)s (Hanoi time)") % {"moment": formatting.moment(now, lang)},
    ]
    if not view.refused:
        facts.append(_("Participating businesses: %(n)s") % {"n": _count(total, lang)})
    pdf.paragraph("\n".join(facts), size=9.5)
    pdf.ln(1)
    pdf.paragraph(_("Participating businesses only: each business's latest closed round of the questionnaire "
                    "version in the period. Groups of fewer than %(k)d businesses are hidden.") % {"k": k},
                  size=8.5, color=MUTED, height=4.5)

    if view.refused:
        pdf.ln(4)
        pdf.paragraph(_(view.refused) % {"k": k}, size=11, style="B", height=6)
        return bytes(pdf.output())

    # -- key figures ------------------------------------------------------------------------------
    pdf.heading(_("Key figures"))
    level_name = next(lv.name.get(lang) for lv in instrument.levels if lv.id == view.level)
    share = view.share
    lines = [_("Mean overall score: %(score)s / 100") % {"score": formatting.score(total.mean_overall, lang)}]
    if share.suppressed:
        lines.append(_("Share at or above %(level)s: — (hidden: it would reveal fewer than %(k)d businesses).")
                     % {"level": level_name, "k": k})
    else:
        lines.append(_("At or above %(level)s: %(share)s of the participating businesses (%(above)s of %(n)s).")
                     % {"level": level_name, "share": formatting.percent(share.share, lang),
                        "above": formatting.number(share.at_or_above, lang), "n": formatting.number(share.n, lang)})
    target = view.target
    if target is not None and target.level == view.level:
        line = _("Target: %(target)s.") % {"target": formatting.percent(target.target_share, lang)}
        if share.share is not None:
            line += " " + (_("Reached.") if share.share >= target.target_share else
                           _("%(points)s percentage points to go.") % {
                               "points": formatting.score(target.target_share - share.share, lang)})
        lines.append(line)
    else:
        lines.append(_("No target is set for this level."))
    pdf.set_fill_color(*SHADE)
    top = pdf.get_y()
    pdf.set_font(FONT, "B", 11)
    pdf.multi_cell(0, 6.5, nfc("\n".join(lines)), fill=True, padding=(2, 3, 2, 3), new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.8)
    pdf.line(pdf.l_margin, top, pdf.l_margin, pdf.get_y())
    pdf.set_line_width(0.2)

    # -- tables -----------------------------------------------------------------------------------
    means = total.dimension_means or {}
    pdf.heading(_("Mean score per dimension"))
    pdf.grid([_("Dimension"), _("Mean score")],
             [[d.name.get(lang), formatting.score(means.get(d.id), lang)] for d in instrument.dimensions],
             widths=(130, 50), align=("LEFT", "RIGHT"))
    counts = total.level_counts or {}
    pdf.heading(_("Level of the participating businesses"))
    pdf.grid([_("Level"), _("Participating businesses")],
             [[lv.name.get(lang), formatting.number(counts.get(lv.id), lang)] for lv in instrument.levels],
             widths=(130, 50), align=("LEFT", "RIGHT"))
    pdf.heading(_("By sector"))
    sections = reference.sections()
    pdf.grid([_("Sector"), _("Participating businesses"), _("Mean overall")],
             [[f"{r.keys['vsic_section']} – {sections[r.keys['vsic_section']].name(lang)}"
               if r.keys["vsic_section"] in sections else r.keys["vsic_section"],
               _count(r.cell, lang), formatting.score(r.cell.mean_overall, lang)]
              for r in view.tables["sections"].rows],
             widths=(92, 48, 40), align=("LEFT", "RIGHT", "RIGHT"))

    # -- charts -----------------------------------------------------------------------------------
    n = _count(total, lang)
    for number, (kind, caption) in enumerate(CHARTS):
        fig = city_charts.dashboard_chart(kind, view.tables.__getitem__, instrument, k=k, lang=lang)
        if number == 0:  # the heading stays with the first chart
            if not pdf.fits(pdf.chart_height(fig) + 24):
                pdf.add_page()
            pdf.heading(_("Charts"))
        pdf.chart(fig, caption=_(caption) % {"n": n})
    return bytes(pdf.output())
