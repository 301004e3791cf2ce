"""Charts (SVG/PNG) and the PDF report, with Vietnamese texts checked through pdftotext."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from assessment.results import DimensionView, Peers, Recommendation, ResultView
from questionnaires import loader
from questionnaires.schema import Dimension, Instrument, Level, Text
from scoring import compile_instrument, score
from web import charts, formatting
from web.i18n import translate
from web.pdf import report_pdf

EXAMPLE = Path(__file__).parent.parent / "scoring" / "example.yaml"
SVG_NS = "{http://www.w3.org/2000/svg}"
DIMENSIONS = [
    ("customer", "Trải nghiệm số cho khách hàng", "Digital customer experience"),
    ("strategy", "Chiến lược chuyển đổi số", "Digital transformation strategy"),
    ("infra", "Hạ tầng và công nghệ số", "Digital infrastructure and technology"),
    ("data", "Dữ liệu và tài sản thông tin", "Data and information assets"),
]
NAME = "Công ty TNHH Đồng Xuân"


def _text(vi: str, en: str) -> Text:
    return Text(vi=vi, en=en)


@pytest.fixture(scope="module")
def instrument() -> Instrument:
    """The worked example's questions, with realistic Vietnamese dimensions and levels."""
    example = loader.load_file(EXAMPLE)
    levels = [
        Level(id="l0", min_score=0, name=_text("Khởi động", "Starting"),
              description=_text("Mới bắt đầu.", "Just started.")),
        Level(id="l1", min_score=25, name=_text("Hình thành", "Forming"),
              description=_text("Đã có nền tảng số cơ bản.", "Basic digital foundations.")),
        Level(id="l2", min_score=50, name=_text("Nâng cao", "Advanced"),
              description=_text("Ứng dụng số rộng rãi.", "Wide digital use.")),
        Level(id="l3", min_score=75, name=_text("Dẫn dắt", "Leading"), description=_text("Dẫn đầu.", "Leading.")),
    ]
    advice = {lv.id: _text(f"Đầu tư thêm để vượt mức {lv.name.vi}.", f"Invest more to get past {lv.name.en}.")
              for lv in levels[:-1]}
    dimensions = [Dimension(id=i, weight=1, name=_text(vi, en), description=_text(vi, en), recommendations=advice)
                  for i, vi, en in DIMENSIONS]
    ids = {"a": "customer", "b": "strategy", "c": "infra"}
    questions = [q.model_copy(update={"dimension": ids[q.dimension]}) for q in example.questions]
    questions.append(example.questions[3].model_copy(update={"id": "d1", "dimension": "data"}))
    return example.model_copy(update={
        "title": _text("Đánh giá mức độ chuyển đổi số doanh nghiệp", "Business digital transformation assessment"),
        "levels": levels, "dimensions": dimensions, "questions": questions})


@pytest.fixture(scope="module")
def view(instrument: Instrument) -> ResultView:
    """Score one response with the engine and assemble the view the results page shows."""
    model = compile_instrument(instrument.export())
    answers = {"a1": "partly", "a2": "email|web", "a3": "yes", "b1": "no", "c1": "partly", "d1": "yes"}
    codes = np.array([[model.code_of(q, answers[qid].split("|")) for q, qid in enumerate(model.question_ids)]])
    result = score(codes, model)
    levels = instrument.levels
    dims = []
    for d, dimension in enumerate(instrument.dimensions):
        index = int(result.dimension_levels[0, d])
        dims.append(DimensionView(dimension, float(result.dimension_scores[0, d]), levels[index],
                                  levels[index + 1] if index + 1 < len(levels) else None))
    recs = [Recommendation(dv.dimension, dv.level, dv.next_level, gap=dv.next_level.min_score - dv.score,
                           overall_gain=(dv.next_level.min_score - dv.score) / len(dims), lifts_overall_level=False)
            for dv in dims if dv.next_level is not None]
    recs.sort(key=lambda r: -r.overall_gain)
    return ResultView(instrument, float(result.overall[0]), levels[int(result.overall_level[0])], dims, recs)


@pytest.fixture
def business():
    return SimpleNamespace(name=NAME + " ☕🦄", tax_code="0101234567", ward_code="00004", vsic_version="2018",
                           vsic_section="G", size_class="micro")


@pytest.fixture
def assessment():
    return SimpleNamespace(id=7, instrument_id="example", submitted_at=datetime(2025, 3, 14, 9, 30))


def _svg_root(body: bytes) -> ET.Element:
    assert body.startswith(b"<?xml")
    root = ET.fromstring(body)
    assert root.tag == f"{SVG_NS}svg"
    return root


def _pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    out = subprocess.run([shutil.which("pdftotext") or "/usr/bin/pdftotext", "-layout", str(path), "-"],
                         check=True, capture_output=True)
    return out.stdout.decode("utf-8")


# -- charts -----------------------------------------------------------------------------------------
def test_radar_svg_with_vietnamese_labels():
    labels = [vi for _, vi, _ in DIMENSIONS]
    root = _svg_root(charts.to_svg(charts.radar(labels, [72.5, 40.0, 55.0, 18.0], lang="vi")))
    assert root.find(f".//{SVG_NS}path") is not None
    assert root.find(f".//{SVG_NS}text") is None  # text is drawn as paths: no font needed to view it


def test_bars_svg():
    fig = charts.bars([vi for _, vi, _ in DIMENSIONS], [0.0, 50.0, 99.0, 100.0], [0, 25, 50, 75],
                      ["Khởi động", "Hình thành", "Nâng cao", "Dẫn dắt"], lang="vi")
    _svg_root(charts.to_svg(fig))


@pytest.mark.parametrize("n", [1, 3])
def test_progress_svg(n):
    dates = ["2024-01-10", "2024-07-01", "2025-03-14"][:n]
    series = {"Chiến lược số": [10.0, None, 60.0][:n], "Dữ liệu": [None, 30.0, 40.0][:n]}
    _svg_root(charts.to_svg(charts.progress(dates, [20.0, 35.0, 50.0][:n], series, overall_label="Tổng thể")))


def test_svg_is_reproducible():
    def make() -> bytes:
        return charts.to_svg(charts.radar(["Một", "Hai", "Ba"], [10.0, 20.0, 30.0], lang="vi"))

    assert make() == make()


def test_png():
    body = charts.to_png(charts.radar(["Một", "Hai", "Ba"], [10.0, 20.0, 30.0], lang="vi"), dpi=50)
    assert body.startswith(b"\x89PNG\r\n\x1a\n")


# -- PDF --------------------------------------------------------------------------------------------
def test_report_pdf_vietnamese(view, business, assessment, tmp_path):
    body = report_pdf(view=view, business=business, assessment=assessment, lang="vi",
                      peers=Peers(12, 62.5, "sector", "G", "micro"), min_cell=5,
                      centre="Trung tâm Hỗ trợ Doanh nghiệp Hà Nội", contact="024 0000 0000")
    assert body.startswith(b"%PDF")
    text = _pdf_text(body, tmp_path)
    assert NAME in text
    assert "Đánh giá mức độ chuyển đổi số doanh nghiệp" in text
    assert "0101234567" in text
    assert "14/03/2025" in text
    for _, vi, _ in DIMENSIONS:
        assert vi in text
    assert formatting.score(view.overall, "vi") in text and "," in formatting.score(view.overall, "vi")
    assert "Ba Đình" in text  # the ward (code 00004), its sector and size class, in Vietnamese
    assert "G – " in text and "siêu nhỏ" in text
    assert "Do Trung tâm Hỗ trợ Doanh nghiệp Hà Nội cung cấp · 024 0000 0000" in text
    assert "Trang 1/" in text and "Page" not in text and "Submitted" not in text  # no English left
    assert NAME + " ☕\ufffd" in text  # a character the font lacks is shown replaced, not dropped
    assert view.level.name.vi in text
    assert "Đầu tư thêm để vượt mức" in text
    assert "→" in text
    assert "ở nửa trên" in text and "12" in text  # 62.5: the upper middle of 12, in the reader's language
    assert "Bán buôn và bán lẻ" in text  # the group compared with: the sector (too few micro ones in it)


def test_report_pdf_english(view, business, assessment, tmp_path):
    body = report_pdf(view=view, business=business, assessment=assessment, lang="en", peers=Peers(2, None),
                      min_cell=5, centre="Hanoi Enterprise Support Centre", contact="")
    assert body.startswith(b"%PDF")
    text = _pdf_text(body, tmp_path)
    for _, vi, en in DIMENSIONS:
        assert en in text
        assert vi not in text
    assert "Business digital transformation assessment" in text
    assert "Overall score" in text
    assert "Fewer than 5" in text
    assert "Invest more to get past" in text
    assert "Page 1 of" in text
    assert "Hanoi Enterprise Support Centre" in text


# -- legibility on a phone --------------------------------------------------------------------------
def _every_chart() -> dict[str, object]:
    labels = [vi for _, vi, _ in DIMENSIONS]
    levels = ["Khởi động", "Hình thành", "Nâng cao", "Dẫn dắt"]
    return {
        "radar": charts.radar(labels, [72.5, 40.0, 55.0, 18.0], lang="vi"),
        "bars": charts.bars(labels, [12.25, 50.0, 99.0, 100.0], [0, 25, 50, 75], levels, lang="vi"),
        "progress": charts.progress(["02/12/2025", "02/06/2026", "02/12/2026"], [20.0, 35.0, 50.0],
                                    {name: [10.0, 30.0, 60.0] for name in labels}, overall_label="Tổng thể"),
        "counts": charts.counts(levels, [3, 12, 1500, 0], lang="vi"),
        "strip": charts.strip(labels, [[10.0, 20.0], [30.0], [], [90.0]], [15.0, 30.0, None, 90.0],
                              [40.0, None, 50.0, 60.0], mean_label="Trung bình khoá", reference_label="Thành phố"),
        "changes": charts.changes(labels, [4.5, -2.0, None, 10.0], [1.0, -5.0, None, 2.0],
                                  [8.0, 1.0, None, 18.0], axis_label="Thay đổi (điểm)"),
    }


@pytest.mark.parametrize("name", list(_every_chart()))
def test_every_text_of_every_chart_reads_at_least_11_px_on_a_phone(name):
    """A chart shown as wide as a 375 px phone's column (charts.PHONE_PX): each text's size in pixels
    there is its size in points × PHONE_PX / (the figure's width in points)."""
    fig = _every_chart()[name]
    fig.canvas.draw()  # lays the figure out, as saving does
    texts = [t for t in fig.findobj(match=lambda a: hasattr(a, "get_fontsize") and hasattr(a, "get_text"))
             if t.get_visible() and t.get_text().strip()]
    assert texts
    scale = charts.PHONE_PX / (fig.get_figwidth() * 72)
    small = {t.get_text(): round(t.get_fontsize() * scale, 1) for t in texts if t.get_fontsize() * scale < 11}
    assert small == {}


def test_chart_numbers_are_the_tables_numbers():
    """The bar chart writes 12.25 as the results table does (12,3 in Vietnamese), not 12."""
    fig = charts.bars(["Một"], [12.25], [0, 50], ["Thấp", "Cao"], lang="vi")
    assert "12,3" in [t.get_text() for t in fig.findobj(match=lambda a: hasattr(a, "get_text"))]


@pytest.mark.parametrize("name", list(_every_chart()))
def test_nothing_of_any_chart_is_cut_off(name):
    """Everything drawn (texts, legend, labels) lies inside the figure: what falls outside is cut off
    in the SVG and the PDF."""
    fig = _every_chart()[name]
    FigureCanvasAgg(fig).draw()  # lays it out, as saving does
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())  # in inches
    assert drawn.x0 >= -0.01 and drawn.y0 >= -0.01
    assert drawn.x1 <= fig.get_figwidth() + 0.01 and drawn.y1 <= fig.get_figheight() + 0.01


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("n", [1, 4, 12])
def test_the_history_chart_has_its_legend_below_and_few_ticks_that_do_not_collide(n, lang):
    """The history chart as a phone shows it: the legend under the plot (never on the lines), at most
    six score ticks, and date labels that do not run into each other however many assessments."""
    dates = [formatting.day(date(2020 + i // 4, 1 + i % 12, 28 - i), lang) for i in range(n)]
    labels = [vi for _, vi, _ in DIMENSIONS]
    fig = charts.progress(dates, [20.0 + i for i in range(n)], {name: [10.0 + i for i in range(n)] for name in labels},
                          overall_label="Tổng thể")
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    (legend,) = fig.legends
    assert legend.get_window_extent(renderer).y1 <= ax.get_tightbbox(renderer).y0 + 1  # below, tick labels too
    assert [t.get_text() for t in legend.get_texts()] == ["Tổng thể", *labels]
    assert len(ax.get_yticks()) <= 6
    shown = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
    assert 1 <= len(shown) <= 4 and shown[0].get_text() == dates[0] and shown[-1].get_text() == dates[-1]
    boxes = [t.get_window_extent(renderer) for t in shown]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:], strict=False)), "date labels overlap"


def _pages(body: bytes, tmp_path: Path) -> tuple[list[list[str]], set[int]]:
    """Each page's lines of text, the footer (issuer · title · page) left out; and the pages that hold
    a chart (an image: pdfimages lists them by page)."""
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    text = subprocess.run([shutil.which("pdftotext") or "/usr/bin/pdftotext", "-layout", str(path), "-"],
                          check=True, capture_output=True).stdout.decode("utf-8")
    listed = subprocess.run([shutil.which("pdfimages") or "/usr/bin/pdfimages", "-list", str(path)],
                            check=True, capture_output=True).stdout.decode("utf-8").splitlines()[2:]
    pages = [[line.strip() for line in page.splitlines() if line.strip() and "Trang " not in line]
             for page in text.split("\f") if page.strip()]
    return pages, {int(row.split()[0]) for row in listed if row.strip()}


@pytest.mark.parametrize("count", range(6, 18))
def test_no_page_of_the_report_holds_a_stray_paragraph(view, business, assessment, tmp_path, count):
    """However many recommendations (so wherever the pages break): a recommendation is never split
    from its title, a heading never ends a page, and no page holds only a line or two."""
    words = ["Số", "hóa", "quy", "trình", "bán", "hàng", "và", "chăm", "sóc", "khách", "hàng", "trên", "nền",
             "tảng", "trực", "tuyến"]
    recs = []
    for k in range(count):
        rec = view.recommendations[k % len(view.recommendations)]
        advice = " ".join(words[(k + j) % len(words)] for j in range(15 + 9 * ((k + count) % 5)))
        dimension = rec.dimension.model_copy(update={"name": _text(f"Lĩnh vực {k + 1}", f"Area {k + 1}"),
                                                     "recommendations": {rec.level.id: _text(advice, advice)}})
        recs.append(replace(rec, dimension=dimension))
    body = report_pdf(view=replace(view, recommendations=recs), business=business, assessment=assessment, lang="vi",
                      peers=Peers(12, 62.5, "sector", "G", "micro"), min_cell=5, centre="Trung tâm", contact="")
    pages, with_charts = _pages(body, tmp_path)
    assert with_charts
    headings = {translate("vi", h) for h in ("Results by dimension", "Comparison with similar businesses",
                                             "Charts", "Recommendations, most useful first")}
    for number, lines in enumerate(pages, 1):
        assert len(lines) >= 3 or number in with_charts, f"page {number} holds only {lines}"
        ends_on_its_charts = number in with_charts and lines[-1] == translate("vi", "Charts")  # drawn below it
        assert lines[-1] not in headings or ends_on_its_charts, f"page {number} ends with the heading {lines[-1]!r}"
        starts_afresh = number == 1 or lines[0] in headings or lines[0].split(".")[0].isdigit()
        assert starts_afresh, f"page {number} begins with the rest of a paragraph: {lines[0]!r}"
        assert not lines[-1].split(".")[0].isdigit(), f"page {number} ends with a recommendation's title"
    for k in range(count):
        title = f"{k + 1}. Lĩnh vực {k + 1}"
        (page,) = [lines for lines in pages if title in lines]
        after = page[page.index(title) + 1:]
        assert after and "→" in after[0] and len(after) >= 2, f"{title} is parted from its advice"
