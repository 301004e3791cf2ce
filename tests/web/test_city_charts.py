"""The city's charts (web/city_charts.py) read on a phone like every other chart: each text at least
11 px on a 375 px screen, nothing drawn outside the figure, Vietnamese labels and numbers as the
tables write them, and a suppressed figure marked ("—", hatched), never drawn as a value."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from web import charts, city_charts

HIDDEN = "Ẩn: ít hơn 5 doanh nghiệp"
SECTIONS = ["A", "C", "G", "I", "J", "M"]
DIMENSIONS = ["Khách hàng", "Vận hành", "Dữ liệu", "Con người", "An toàn thông tin"]


def _every_chart() -> dict[str, object]:
    return {
        "counts": city_charts.bars(["Khởi đầu", "Đang phát triển", "Vững vàng", "Dẫn đầu"], [5, None, 1500, 0],
                                   lang="vi", counts=True, hidden_label=HIDDEN),
        "scores": city_charts.bars(["Phường Ba Đình", "Xã Sóc Sơn", "Phường Hoàn Kiếm"], [35.8, None, 99.0],
                                   lang="vi", hidden_label=HIDDEN),
        "heatmap": city_charts.heatmap(SECTIONS, DIMENSIONS,
                                       [[12.25, None, 50.0, 75.0, 100.0]] * 3 + [[None] * 5] * 3, lang="vi",
                                       hidden_label=HIDDEN),
        "trend": city_charts.trend([f"2025-Q{q}" for q in range(1, 5)] + ["2026-Q1", "2026-Q2"],
                                   [30.0, None, 35.8, 40.0, 41.5, 44.0], lang="vi", hidden_label=HIDDEN),
        "message": city_charts.message("Ít hơn 5 doanh nghiệp khớp với các bộ lọc này, nên không có số liệu nào."),
    }


def _texts(fig) -> list:
    fig.canvas.draw()
    return [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
            if t.get_visible() and t.get_text().strip()]


@pytest.mark.parametrize("name", list(_every_chart()))
def test_every_text_reads_at_least_11_px_on_a_phone(name):
    fig = _every_chart()[name]
    scale = charts.PHONE_PX / (fig.get_figwidth() * 72)
    texts = _texts(fig)
    assert texts
    assert {t.get_text(): round(t.get_fontsize() * scale, 1) for t in texts if t.get_fontsize() * scale < 11} == {}


@pytest.mark.parametrize("name", list(_every_chart()))
def test_nothing_is_cut_off(name):
    fig = _every_chart()[name]
    FigureCanvasAgg(fig).draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01
    assert drawn.x1 <= fig.get_figwidth() + 0.01 and drawn.y1 <= fig.get_figheight() + 0.01


def test_numbers_read_as_in_the_tables_and_hidden_ones_as_a_dash():
    texts = [t.get_text() for t in _texts(_every_chart()["counts"])]
    assert "1.500" in texts and "5" in texts and texts.count("—") == 1 and HIDDEN in texts
    heat = [t.get_text() for t in _texts(_every_chart()["heatmap"])]
    assert "12,3" in heat and heat.count("—") == 3 + 3 * 5  # one per hidden cell
    assert "Khách hàng" in heat or any("Khách" in t for t in heat)


def test_a_chart_without_a_hidden_figure_has_no_legend_for_one():
    fig = city_charts.bars(["Một", "Hai"], [10.0, 20.0], lang="vi", hidden_label=HIDDEN)
    assert HIDDEN not in [t.get_text() for t in _texts(fig)]
