"""Charts of the city's tables, in the style and sizes of ``web.charts`` (the same width, fonts,
palette and ≥ 11 px text on a 375 px phone), with suppressed figures marked, never drawn as zero: a
hatched grey placeholder and "—" where a bar, a cell or a point would be.

``dashboard_chart`` picks the table behind each of the dashboard's charts and draws it: the page's
SVGs and the PDF briefing call it alike, so a chart reads the same on the screen and on paper.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from assessment import city_dashboard
from assessment.city.aggregates import Table
from assessment.city_dashboard import TABLES
from assessment.messages import N_
from questionnaires.schema import Instrument
from web import formatting
from web.charts import (
    ACCENT,
    GRID,
    INK,
    MUTED,
    PALETTE,
    STYLE,
    TEXT,
    TICKS,
    WIDTH,
    _figure,
    _label_rows,
    _open_box,
    _wrap,
)
from web.i18n import translate

#: the dashboard's charts, by the name their URL takes
KINDS = ("levels", "dimensions", "heatmap", "wards", "districts", "areas", "sizes", "trend")
WARD_CHART_ENDS = 10  # the ward chart: the 10 highest and the 10 lowest when more are shown
AREA_NAMES = {"ward": N_("Inner-city wards"), "commune": N_("Suburban communes")}
HIDDEN_FILL = "#eeeeee"
HIDDEN_HATCH = "///"
DASH = formatting.DASH


def _hidden_legend(fig: Figure, label: str) -> None:
    fig.legend(handles=[Patch(facecolor=HIDDEN_FILL, edgecolor=MUTED, hatch=HIDDEN_HATCH, label=label)],
               loc="outside lower left", fontsize=TEXT, frameon=False)


def bars(labels: Sequence[str], values: Sequence[float | None], *, lang: str, hidden_label: str,
         counts: bool = False, target: float | None = None, target_label: str = "") -> Figure:
    """Horizontal bars, first on top: scores on 0-100 (``counts``: businesses from 0), each with its
    figure written beside it; a hidden value (None) as a hatched placeholder across the axis with "—"."""
    n = len(values)
    shown = [float(v) for v in values if v is not None]
    top = 100.0 if not counts else max([*shown, 1.0]) * 1.18
    write: Callable[[float], str] = (lambda v: formatting.number(int(v), lang)) if counts else (
        lambda v: formatting.score(v, lang))
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.4, 1.3 + 0.36 * n + (0.3 if None in values else 0)))
        ax = fig.add_subplot()
        for i, value in enumerate(values):
            if value is None:
                ax.barh(i, top, height=0.6, color=HIDDEN_FILL, hatch=HIDDEN_HATCH, edgecolor=GRID, linewidth=0,
                        zorder=1)
                ax.text(top * 0.02, i, DASH, va="center", ha="left", fontsize=TEXT, color=MUTED, zorder=3)
                continue
            ax.barh(i, value, height=0.6, color=ACCENT, zorder=2)
            inside = value > top * 0.82
            ax.text(value - top * 0.015 if inside else value + top * 0.015, i, write(value), va="center",
                    ha="right" if inside else "left", fontsize=TEXT, fontweight="bold",
                    color="white" if inside else INK, zorder=3)
        _label_rows(ax, list(labels))
        ax.set_xlim(0, top)
        if counts:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
        else:
            ax.set_xticks(TICKS)
        if target is not None:
            ax.axvline(target, color=PALETTE[1], linewidth=1.5, linestyle="--", zorder=4, label=target_label)
        ax.grid(axis="x", color=GRID, linewidth=0.8, zorder=0)
        _open_box(ax)
        if None in values:
            _hidden_legend(fig, hidden_label)
    return fig


def heatmap(rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float | None]], *, lang: str,
            hidden_label: str) -> Figure:
    """A table of mean scores (rows × columns, first row on top), each cell shaded by its score on a
    light-to-dark blue scale and its score written in it; a hidden cell hatched grey with "—"."""
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list("scores", ["#f2f7fb", ACCENT])
    n_rows, n_cols = len(rows), len(columns)
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.6, 1.9 + 0.3 * n_rows))
        ax = fig.add_subplot()
        for i in range(n_rows):
            for j in range(n_cols):
                value = values[i][j]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=HIDDEN_FILL,
                                                              hatch=HIDDEN_HATCH, edgecolor="white", linewidth=1))
                    ax.text(j, i, DASH, ha="center", va="center", fontsize=TEXT, color=MUTED)
                    continue
                shade = min(max(float(value), 0.0), 100.0) / 100
                ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, facecolor=cmap(shade),
                                                          edgecolor="white", linewidth=1))
                ax.text(j, i, formatting.score(value, lang), ha="center", va="center", fontsize=TEXT,
                        color="white" if shade > 0.55 else INK)
        ax.set_xlim(-0.5, n_cols - 0.5)
        ax.set_ylim(n_rows - 0.5, -0.5)
        ax.set_yticks(range(n_rows), list(rows), fontsize=TEXT)
        ax.set_xticks(range(n_cols), [_wrap(c, 10, 2) for c in columns], fontsize=TEXT, rotation=45, ha="left",
                      rotation_mode="anchor")
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        if any(v is None for line in values for v in line):
            _hidden_legend(fig, hidden_label)
    return fig


def trend(labels: Sequence[str], values: Sequence[float | None], *, lang: str, hidden_label: str) -> Figure:
    """The mean overall score per quarter as a line (0-100), a hidden quarter a gap marked "—" on the axis."""
    x = list(range(len(labels)))
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, 3.0)
        ax = fig.add_subplot()
        ys = [math.nan if v is None else float(v) for v in values]
        ax.plot(x, ys, color=ACCENT, linewidth=2.5, marker="o", markersize=5, zorder=3, clip_on=False)
        for i, value in enumerate(values):
            if value is None:
                ax.text(i, 4, DASH, ha="center", va="bottom", fontsize=TEXT, color=MUTED)
                ax.axvspan(i - 0.3, i + 0.3, facecolor=HIDDEN_FILL, hatch=HIDDEN_HATCH, edgecolor=GRID, linewidth=0,
                           zorder=1)
            else:
                ax.text(i, float(value) + 3, formatting.score(value, lang), ha="center", va="bottom",
                        fontsize=TEXT, color=INK)
        ax.set_ylim(0, 100)
        ax.set_yticks(TICKS)
        rotate = len(labels) > 4
        ax.set_xticks(x, list(labels), fontsize=TEXT, rotation=45 if rotate else 0,
                      ha="right" if rotate else "center")
        margin = 0.5 if len(x) <= 1 else 0.3
        ax.set_xlim(-margin, max(len(x) - 1, 0) + margin)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        _open_box(ax)
        if None in values:
            _hidden_legend(fig, hidden_label)
    return fig


def message(text: str) -> Figure:
    """A chart that says why there is nothing to draw (a refused filter set): its text, wrapped."""
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, 1.6)
        ax = fig.add_subplot()
        ax.set_axis_off()
        ax.text(0.5, 0.5, _wrap(text, 42, 5), ha="center", va="center", fontsize=TEXT, color=MUTED,
                transform=ax.transAxes)
    return fig


# -- the dashboard's charts -----------------------------------------------------------------------------
def group_name(key: str, value: str, lang: str) -> str:
    """How a group's key reads on the page, its charts and the briefing, in ``lang``."""
    if key == "area":
        return translate(lang, AREA_NAMES.get(value, value))
    if key == "size_class":
        return translate(lang, value)
    return city_dashboard.key_name(key, value, lang)


def dashboard_chart(kind: str, table_of: Callable[[str], Table], instrument: Instrument, *, k: int,
                    lang: str) -> Figure:
    """The dashboard's chart ``kind`` (``KINDS``), drawn from ``table_of(name)``, the dashboard's
    table of that name (``city_dashboard.TABLES``; already protected: a hidden cell stays hidden).
    The levels and the dimension means are the total's; the wards chart leaves the hidden wards out
    and shows the ends of the ranking when there are many."""
    hidden_label = translate(lang, "Hidden: fewer than %(k)d businesses") % {"k": k}
    if kind in ("levels", "dimensions"):
        total = table_of("sizes").total
        if kind == "levels":
            counts = total.level_counts or {}
            return bars([lv.name.get(lang) for lv in instrument.levels],
                        [counts.get(lv.id) for lv in instrument.levels], lang=lang, counts=True,
                        hidden_label=hidden_label)
        means = total.dimension_means or {}
        return bars([d.name.get(lang) for d in instrument.dimensions],
                    [means.get(d.id) for d in instrument.dimensions], lang=lang, hidden_label=hidden_label)
    if kind == "heatmap":
        sections = table_of("sections")
        return heatmap(
            [r.keys["vsic_section"] for r in sections.rows], [d.name.get(lang) for d in instrument.dimensions],
            [[(r.cell.dimension_means or {}).get(d.id) for d in instrument.dimensions] for r in sections.rows],
            lang=lang, hidden_label=hidden_label)
    if kind == "trend":
        quarters = table_of("quarters")
        return trend([r.keys["quarter"] for r in quarters.rows], [r.cell.mean_overall for r in quarters.rows],
                     lang=lang, hidden_label=hidden_label)
    if kind not in ("wards", "districts", "areas", "sizes"):
        raise ValueError(f"unknown chart {kind!r}")
    key = TABLES[kind][0]
    rows = city_dashboard.ranked(table_of(kind))
    if kind == "wards":  # 126 wards: the published ones, the ends of the ranking when there are many
        rows = [r for r in rows if not r.cell.suppressed]
        if len(rows) > 2 * WARD_CHART_ENDS:
            rows = rows[:WARD_CHART_ENDS] + rows[-WARD_CHART_ENDS:]
    return bars([group_name(key, r.keys[key], lang) for r in rows], [r.cell.mean_overall for r in rows],
                lang=lang, hidden_label=hidden_label)
