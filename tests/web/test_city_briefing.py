"""The department's PDF briefing (``GET /city/briefing.pdf``) on the small city of tests/web/test_city.py,
read back through pdftotext: the same figures as the dashboard (12 businesses, mean 34.875 → 34,9;
7 of 12 = 58 % at or above Established), the same cells hidden (section C's 4 businesses, mean 58.0,
and section I's 3, mean 2.5, print as "—" and nowhere as figures), in Vietnamese by default and in
English; the charts embedded; a refused filter set gives a PDF saying why, a bad one a 400; other
roles 404; every download audited."""

from __future__ import annotations

import io
import subprocess
from urllib.parse import parse_qsl

import pytest
from bs4 import BeautifulSoup
from PIL import Image
from sqlmodel import Session, select

from assessment import accounts, city_dashboard
from assessment.models import AuditEvent, CityTarget
from tests.factories import PASSWORD, login
from tests.web.test_city import QUERY
from web import charts, city_charts
from web.pdf_document import CHART_DPI

URL = "/city/briefing.pdf"
TITLE_VI = "Bản tóm tắt mức độ sẵn sàng chuyển đổi số toàn thành phố"
DEPARTMENT = "Sở Tài chính Hà Nội"  # the setting's default


def reader(client, session, *, role: str = "department", language: str = "vi"):
    accounts.create_user(session=session, email=f"{role}@example.vn", password=PASSWORD, role=role,
                         language=language)
    assert login(client, f"{role}@example.vn").status_code == 303
    return client


def pdf_text(response) -> str:
    """The PDF's text (pdftotext -layout), after checking it is a PDF served as a download."""
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"].startswith("attachment; ")
    assert response.content.startswith(b"%PDF")
    out = subprocess.run(["/usr/bin/pdftotext", "-layout", "-", "-"], input=response.content,
                         capture_output=True, check=True)
    return out.stdout.decode("utf-8")


def flat(text: str) -> str:
    """The text with every run of white space as one space (a long line may wrap)."""
    return " ".join(text.split())


def row(text: str, start: str) -> list[str]:
    """The figures of the table row starting with ``start`` (the cells after its name)."""
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(start)]
    assert len(lines) == 1, f"one row {start!r}: {lines}"
    return lines[0][len(start):].split()[-2:]


def images(body: bytes, tmp_path) -> int:
    path = tmp_path / "briefing.pdf"
    path.write_bytes(body)
    listing = subprocess.run(["/usr/bin/pdfimages", "-list", str(path)], capture_output=True, check=True, text=True)
    return len(listing.stdout.splitlines()) - 2  # two heading lines


def test_the_briefing_in_vietnamese_has_the_dashboards_figures(city, client, session, tmp_path):
    department = reader(client, session)
    response = department.get(f"{URL}?{QUERY}")
    text = pdf_text(response)
    assert 'filename="city-briefing-quick-check-1.0-2026-Q2.pdf"' in response.headers["content-disposition"]
    words = flat(text)
    assert DEPARTMENT in words and TITLE_VI in words  # precomposed: the strings as typed, in NFC
    assert "Bộ câu hỏi: Kiểm tra nhanh mức độ số hóa, phiên bản 1.0" in words
    assert "Kỳ: 2026-Q2" in words
    assert "Bộ lọc: không có (mọi doanh nghiệp tham gia của thành phố)" in words
    assert "Số doanh nghiệp tham gia: 12" in words
    assert "Điểm tổng trung bình: 34,9 / 100" in words  # 34.875, half up, with a decimal comma
    assert "Đạt mức Vững vàng trở lên: 58 % số doanh nghiệp tham gia (7 trên 12)." in words
    # as the dashboard shows them, in the same language
    page = BeautifulSoup(department.get(f"/city?{QUERY}").text, "html.parser")
    big = page.select_one("p.big-score").get_text(" ", strip=True)
    assert big.startswith("34,9 ") and "12 doanh nghiệp tham gia" in big
    assert [row(text, name)[-1] for name in ("Khởi đầu", "Đang phát triển", "Vững vàng", "Dẫn đầu")] == [
        "5", "—", "7", "—"]  # the levels; the empty ones hidden, as on the screen
    # sectors: G shown (5, 35.8); C (4 businesses, 58.0) and I (3, 2.5) hidden, their figures nowhere
    assert row(text, "G – ") == ["5", "35,8"]
    assert row(text, "C – Công nghiệp chế biến, chế tạo") == ["—", "—"]
    assert row(text, "I – Dịch vụ lưu trú và ăn uống") == ["—", "—"]
    assert "58,0" not in text and "2,5" not in text
    assert "— : bị ẩn, vì có ít hơn 5 doanh nghiệp" in words  # the rule, as a footnote
    assert "Trang 1/" in words and "Page" not in words and "Filters" not in words  # nothing left in English
    assert images(response.content, tmp_path) == 6  # levels, dimensions, trend, sizes, wards, heat map


def test_the_briefing_in_english(city, client, session):
    department = reader(client, session, language="en")
    text = pdf_text(department.get(f"{URL}?{QUERY}"))
    words = flat(text)
    assert "Briefing on city-wide readiness" in words and TITLE_VI not in words
    assert "Questionnaire: Digital quick check, version 1.0" in words
    assert "Participating businesses: 12" in words and "Mean overall score: 34.9 / 100" in words
    assert "At or above Established: 58% of the participating businesses (7 of 12)." in words
    assert "Filters: none (every participating business of the city)" in words
    assert row(text, "C – Manufacturing") == ["—", "—"]
    assert "58.0" not in text and "2.5" not in text
    assert "— : hidden, because fewer than 5 businesses are behind it" in words
    assert "Page 1 of" in words


def test_the_levels_and_dimension_means_are_the_dashboards(city, client, session):
    department = reader(client, session, language="en")
    text = pdf_text(department.get(f"{URL}?{QUERY}"))
    page = BeautifulSoup(department.get(f"/city?{QUERY}").text, "html.parser")
    for tr in page.select("table.levels tbody tr"):  # Starter 5, Developing —, Established 7, Leading —
        assert row(text, tr.th.get_text(strip=True))[-1] == tr.td.get_text(strip=True)
    for tr in page.select("table.dimension-means tbody tr"):
        assert row(text, tr.th.get_text(strip=True))[-1] == tr.td.get_text(strip=True)
    assert [row(text, name)[-1] for name in ("Starter", "Developing", "Established", "Leading")] == [
        "5", "—", "7", "—"]


def test_the_filters_and_the_target_are_stated(city, client, session, engine):
    department = reader(client, session, language="en")
    with Session(engine) as s:
        s.add(CityTarget(instrument_id="quick-check", level="established", target_share=62.5))
        s.commit()
    words = flat(pdf_text(department.get(f"{URL}?{QUERY}")))
    assert "Target: 63%. 4.2 percentage points to go." in words  # 62.5 - 58.33
    # section G alone: 5 businesses, 3 at or above Established, so the share (3 of 5, 2 below) is hidden
    text = pdf_text(department.get(f"{URL}?{QUERY}&vsic_section=G"))
    words = flat(text)
    assert "Filters: Sector: G – Wholesale and retail trade" in words
    assert "Participating businesses: 5" in words and "Mean overall score: 35.8 / 100" in words
    assert "Share at or above Established: — (hidden: it would reveal fewer than 5 businesses)." in words
    assert "Target: 63%." in words and "to go" not in words and "Reached" not in words
    assert row(text, "G – ") == ["5", "35.8"] and "C – " not in text


def test_the_dashboard_links_the_briefing_of_its_view(city, client, session):
    department = reader(client, session, language="en")
    page = BeautifulSoup(department.get(f"/city?{QUERY}&vsic_section=G").text, "html.parser")
    link = page.select_one("section.downloads a.briefing")
    assert link.get_text(strip=True) == "PDF briefing"
    assert link["href"] == f"{URL}?{QUERY}&vsic_section=G&level=established"
    assert "Participating businesses: 5" in flat(pdf_text(department.get(link["href"])))


def test_a_refused_filter_set_gives_a_briefing_that_says_why(city, client, session):
    department = reader(client, session, language="en")
    text = flat(pdf_text(department.get(f"{URL}?{QUERY}&vsic_section=C")))
    assert "Fewer than 5 businesses match these filters, so no figures are shown for them." in text
    assert "Filters: Sector: C – Manufacturing" in text
    assert "Participating businesses:" not in text and "Mean overall score" not in text and "—" not in text
    page = BeautifulSoup(department.get(f"/city?{QUERY}&vsic_section=C").text, "html.parser")
    assert page.select_one("section.downloads a.briefing")["href"].startswith(f"{URL}?{QUERY}&vsic_section=C")


@pytest.mark.parametrize("query", ["period=2026-Q5", "vsic_section=Z", "ward=99999", "instrument=nope",
                                   "version=9.9", "level=nope", "district=Nowhere", "period=" + "9" * 80])
def test_a_filter_that_names_nothing_is_a_400(city, client, session, query):
    department = reader(client, session, language="en")
    response = department.get(f"{URL}?{QUERY}&{query}")
    assert response.status_code == 400, query
    assert response.headers["content-type"] != "application/pdf"


def test_each_briefing_is_audited(city, client, session, engine):
    department = reader(client, session, language="en")
    assert department.get(f"{URL}?{QUERY}").status_code == 200
    assert department.get(f"{URL}?{QUERY}&vsic_section=C").status_code == 200
    assert department.get(f"{URL}?{QUERY}&ward=x").status_code == 400
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "city.briefing")).all()
    assert [(e.object_type, e.object_id) for e in events] == [("city", "quick-check/1.0/2026-Q2")] * 2


@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_other_roles_get_404(city, client, session, role):
    person = reader(client, session, role=role, language="en")
    assert person.get(f"{URL}?{QUERY}").status_code == 404


def test_nobody_logged_in_is_sent_to_log_in(client):
    response = client.get(f"{URL}?{QUERY}")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_charts_are_the_dashboards_drawn_by_the_same_function(city, client, session, tmp_path):
    """The first image is the levels chart, pixel for pixel the PNG of the figure the SVG route draws."""
    department = reader(client, session, language="en")
    (tmp_path / "briefing.pdf").write_bytes(department.get(f"{URL}?{QUERY}").content)
    subprocess.run(["/usr/bin/pdfimages", "-png", "-f", "1", "-l", "9", str(tmp_path / "briefing.pdf"),
                    str(tmp_path / "img")], check=True)
    filters = city_dashboard.filters_from(session, dict(parse_qsl(QUERY)))
    view = city_dashboard.dashboard(session, filters, 5)
    expected = charts.to_png(city_charts.dashboard_chart("levels", view.tables.__getitem__, filters.definition, k=5,
                                                         lang="en"), dpi=CHART_DPI)
    with Image.open(tmp_path / "img-000.png") as got, Image.open(io.BytesIO(expected)) as want:
        assert got.size == want.size
        assert got.convert("RGB").tobytes() == want.convert("RGB").tobytes()
