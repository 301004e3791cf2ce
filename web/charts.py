"""Charts of results and progress, drawn with Matplotlib's object API (no pyplot: thread-safe in a server).

Figures are small (about 5 x 4 inches, read on phones), on a fixed 0-100 scale, in the bundled DejaVu Sans
(which has every Vietnamese diacritic) and in the Okabe-Ito palette, which stays distinguishable with
colour-vision deficiencies. SVGs keep their text as paths so they look the same without any font.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from web import formatting

if TYPE_CHECKING:
    from matplotlib.projections.polar import PolarAxes
    from matplotlib.typing import RcKeyType

FONT = "DejaVu Sans"
INK = "#222222"
MUTED = "#666666"
GRID = "#cccccc"
ACCENT = "#0072B2"  # Okabe-Ito blue
#: Okabe-Ito, without black (the overall line) and yellow (too pale on white)
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C6D1F", "#555555"]
LINESTYLES = ["-", "--", "-.", ":"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
TICKS = [0, 20, 40, 60, 80, 100]
MAX_DATE_TICKS = 4  # date labels under the history chart, level and side by side in a phone's column

#: A chart is drawn WIDTH inches wide and shown as wide as the page's column: on a 375 px phone about
#: PHONE_PX pixels (the viewport less the page's padding), so one point of text shows as
#: PHONE_PX / (WIDTH * 72) pixels there. Every text is at least TEXT points, which keeps it at least
#: MIN_TEXT_PX pixels on that phone (tests/web/test_charts_pdf.py checks every text of every chart).
WIDTH = 4.0
PHONE_PX = 335
MIN_TEXT_PX = 11
TEXT = 9.5

STYLE: dict[RcKeyType, Any] = {
    "font.family": FONT,
    "font.size": TEXT,
    "axes.edgecolor": MUTED,
    "axes.labelcolor": INK,
    "axes.titlesize": TEXT + 1,
    "xtick.color": INK,
    "ytick.color": INK,
    "text.color": INK,
    "svg.fonttype": "path",
}


def _spread(n: int, most: int) -> list[int]:
    """At most ``most`` of ``n`` positions, evenly spread, the first and the last among them: a phone's
    column holds only a few date labels side by side, however many assessments there were."""
    if n <= most:
        return list(range(n))
    return sorted({round(k * (n - 1) / (most - 1)) for k in range(most)})


def _figure(width: float = WIDTH, height: float = 3.4, **kwargs: Any) -> Figure:
    return Figure(figsize=(width, height), layout="constrained", **kwargs)


def _clean(values: Sequence[float | None]) -> list[float]:
    """Missing or not-a-number scores are drawn as 0 (radar, bars); never outside 0-100."""
    out = []
    for v in values:
        value = 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)
        out.append(min(max(value, 0.0), 100.0))
    return out


def _wrap(text: str, width: int, lines: int = 3) -> str:
    return "\n".join(textwrap.wrap(text, width=width, max_lines=lines, placeholder="…") or [""])


def _open_box(ax: Axes) -> None:
    """No frame on the top and right: the data, not the box, carries the eye."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _label_rows(ax: Axes, labels: list[str], fontsize: float = TEXT) -> None:
    """One row per label, the first on top, labels wrapped, no tick marks beside them."""
    ax.set_yticks(range(len(labels)), [_wrap(label, 22, 2) for label in labels], fontsize=fontsize)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)


def radar(labels: list[str], scores: list[float], *, lang: str) -> Figure:
    """A polar radar of dimension scores (0-100), one spoke per dimension, clockwise from the top;
    each spoke's score written as the results table writes it."""
    values = _clean(scores)
    n = max(len(values), 1)
    angles = [2 * math.pi * i / n for i in range(n)]
    with matplotlib.rc_context(STYLE):
        # placed by hand, not by the layout engine (which ignores the spoke labels): the labels get a
        # quarter of the width on each side and the rest of the height, shared above and below
        fig = Figure(figsize=(WIDTH, WIDTH * 1.05))
        ax = cast("PolarAxes", fig.add_axes((0.26, 0.27, 0.48, 0.48 / 1.05), projection="polar"))
        ax.set_theta_offset(math.pi / 2)
        ax.set_theta_direction(-1)
        ax.set_ylim(0, 100)
        ax.set_rlabel_position(180 / n)  # between the first two spokes
        ax.set_yticks([50, 100])  # two rings labelled: more would crowd a phone-sized chart
        ax.set_yticklabels(["50", "100"], fontsize=TEXT, color=MUTED)
        for tick in ax.get_yticklabels():
            tick.set_bbox({"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
            tick.set_zorder(5)
        ax.grid(color=GRID, linewidth=0.8)
        ax.spines["polar"].set_color(GRID)
        if values:
            ring_angles, ring = [*angles, angles[0]], [*values, values[0]]
            ax.fill(ring_angles, ring, color=ACCENT, alpha=0.25, zorder=2)
            ax.plot(ring_angles, ring, color=ACCENT, linewidth=2, zorder=3, clip_on=False)
            ax.scatter(angles, values, color=ACCENT, s=18, zorder=4, clip_on=False)
        ax.set_xticks(angles)
        ax.set_xticklabels([])  # drawn below, aligned away from the centre
        width = 12 if n > 3 else 16
        for angle, label, value in zip(angles, labels, values, strict=False):
            x = math.sin(angle)  # clockwise from the top: sin is left/right, cos is up/down
            y = math.cos(angle)
            ha = "center" if abs(x) < 0.3 else ("left" if x > 0 else "right")
            va = "center" if abs(y) < 0.3 else ("bottom" if y > 0 else "top")
            name, score = _wrap(label, width), formatting.score(value, lang)
            text = f"{score}\n{name}" if va == "top" else f"{name}\n{score}"
            ax.text(angle, 110, text, ha=ha, va=va, fontsize=TEXT, linespacing=1.1, multialignment=ha)
    return fig


def bars(labels: list[str], scores: list[float], level_mins: list[float], level_names: list[str], *,
         lang: str) -> Figure:
    """Horizontal 0-100 bars, one per dimension (first on top), with the level thresholds marked."""
    values = _clean(scores)
    n = len(values)
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.6, 1.4 + 0.45 * n))
        ax = fig.add_subplot()
        positions = list(range(n))
        ax.barh(positions, values, height=0.6, color=ACCENT, zorder=2)
        _label_rows(ax, labels, fontsize=TEXT)
        ax.set_xlim(0, 100)
        ax.set_xticks(TICKS)
        _open_box(ax)
        for i, value in enumerate(values):
            inside = value > 80
            ax.text(value - 1.5 if inside else value + 1.5, i, formatting.score(value, lang), va="center",
                    ha="right" if inside else "left", fontsize=TEXT, fontweight="bold",
                    color="white" if inside else INK, zorder=3)
        levels = sorted(zip(level_mins, level_names, strict=False))
        for k, (minimum, name) in enumerate(levels):
            if minimum > 0:
                ax.axvline(minimum, color=GRID, linewidth=1, linestyle="--", zorder=1)
            upper = levels[k + 1][0] if k + 1 < len(levels) else 100.0
            chars = max(4, int((upper - minimum) / 100 * 30))  # what fits in the level's band
            ax.text((minimum + upper) / 2, 1.01, _wrap(name, chars, 2), transform=ax.get_xaxis_transform(),
                    ha="center", va="bottom", fontsize=TEXT, color=MUTED, linespacing=1.05)
    return fig


def progress(
    dates: list[str], overall: list[float], series: dict[str, list[float | None]], *, overall_label: str
) -> Figure:
    """Scores over successive assessments: a bold overall line, a thin line per dimension (None: a gap)."""
    x = list(range(len(dates)))
    rows = len(series) + 1  # the legend below: one entry a line, as wide as the chart
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, 2.8 + 0.2 * rows)
        ax = fig.add_subplot()
        for i, (name, values) in enumerate(series.items()):
            ys = [math.nan if v is None else float(v) for v in values]
            ax.plot(x, ys, color=PALETTE[i % len(PALETTE)], linestyle=LINESTYLES[i // len(PALETTE) % 4],
                    linewidth=1.1, marker=MARKERS[i % len(MARKERS)], markersize=3.5, label=_wrap(name, 40, 1),
                    zorder=2, clip_on=False)
        ax.plot(x, [float(v) for v in overall], color=INK, linewidth=3, marker="o", markersize=6,
                label=overall_label, zorder=3, clip_on=False)
        ax.set_ylim(0, 100)
        ax.set_yticks(TICKS)
        ticks = _spread(len(dates), MAX_DATE_TICKS)
        ax.set_xticks(ticks, [dates[i] for i in ticks], fontsize=TEXT)  # level: read without tilting one's head
        margin = 0.5 if len(x) <= 1 else 0.2
        ax.set_xlim(-margin, len(x) - 1 + margin)
        ax.grid(axis="y", color=GRID, linewidth=0.8)
        _open_box(ax)
        handles, names = ax.get_legend_handles_labels()
        # the overall line first
        handles, names = handles[-1:] + handles[:-1], names[-1:] + names[:-1]
        fig.legend(handles, names, loc="outside lower left", ncols=1, fontsize=TEXT, frameon=False,
                   handlelength=2.5, labelspacing=0.3)
    return fig


def to_svg(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "dxmaturity"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def to_png(fig: Figure, dpi: int = 150) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def counts(labels: list[str], values: list[int], *, lang: str) -> Figure:
    """How many businesses are at each level (first level on top), with the count at each bar."""
    n = len(values)
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.2, 1.2 + 0.45 * n))
        ax = fig.add_subplot()
        positions = list(range(n))
        ax.barh(positions, values, height=0.6, color=ACCENT, zorder=2)
        _label_rows(ax, labels)
        top = max([*values, 1])
        ax.set_xlim(0, top * 1.15)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _open_box(ax)
        for i, value in enumerate(values):
            ax.text(value + top * 0.02, i, formatting.number(value, lang), va="center", ha="left", fontsize=TEXT,
                    fontweight="bold")
    return fig


def strip(labels: list[str], scores: list[list[float]], means: list[float | None],
          reference: list[float | None], *, mean_label: str, reference_label: str) -> Figure:
    """Each dimension's scores of a group as dots (one per business), its mean as a bar, and a
    reference mean (the city's) as a diamond where there is one; 0-100, first dimension on top."""
    n = len(labels)
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.8, 1.6 + 0.55 * n))
        ax = fig.add_subplot()
        for i, values in enumerate(scores):
            if values:
                jitter = [((k * 0.37) % 1 - 0.5) * 0.3 for k in range(len(values))]
                ax.scatter(values, [i + j for j in jitter], s=14, color=PALETTE[5], alpha=0.8, zorder=2,
                           linewidths=0)
        mean_points = [(m, i) for i, m in enumerate(means) if m is not None]
        if mean_points:
            ax.scatter([m for m, _ in mean_points], [i for _, i in mean_points], marker="|", s=400, color=INK,
                       linewidths=2.5, zorder=3, label=mean_label)
        ref_points = [(m, i) for i, m in enumerate(reference) if m is not None]
        if ref_points:
            ax.scatter([m for m, _ in ref_points], [i for _, i in ref_points], marker="D", s=36, color=PALETTE[1],
                       zorder=4, label=reference_label)
        _label_rows(ax, labels)
        ax.set_xlim(0, 100)
        ax.set_xticks(TICKS)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        _open_box(ax)
        if mean_points or ref_points:
            fig.legend(loc="outside lower center", ncols=2, fontsize=TEXT, frameon=False)
    return fig


def changes(labels: list[str], means: list[float | None], lows: list[float | None], highs: list[float | None],
            *, axis_label: str) -> Figure:
    """Mean change per row (first on top) with its 95 % confidence interval as a whisker; a zero line.
    Rows without numbers (not enough pairs) are left empty."""
    n = len(labels)
    with matplotlib.rc_context(STYLE):
        fig = _figure(WIDTH, max(2.6, 1.4 + 0.5 * n))
        ax = fig.add_subplot()
        ys = list(range(n))
        shown = [i for i in ys if means[i] is not None]
        values = [float(means[i]) for i in shown]  # type: ignore[arg-type]
        ax.barh(shown, values, height=0.55, color=[ACCENT if v >= 0 else PALETTE[1] for v in values], zorder=2)
        for i in shown:
            low, high = lows[i], highs[i]
            if low is not None and high is not None:
                ax.plot([low, high], [i, i], color=INK, linewidth=1.5, zorder=3)
                ax.plot([low, low], [i - 0.15, i + 0.15], color=INK, linewidth=1.5, zorder=3)
                ax.plot([high, high], [i - 0.15, i + 0.15], color=INK, linewidth=1.5, zorder=3)
        ax.axvline(0, color=MUTED, linewidth=1)
        extent = max([abs(v) for v in [*values, *(x for x in [*lows, *highs] if x is not None)]] + [10.0]) * 1.1
        ax.set_xlim(-extent, extent)
        _label_rows(ax, labels)
        ax.set_xlabel(axis_label, fontsize=TEXT)
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        _open_box(ax)
    return fig
