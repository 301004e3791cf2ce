"""One rounding rule and the reader's locale (web.formatting), and the filters pages use."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from web import formatting
from web.templating import environment

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


@pytest.mark.parametrize(("value", "expected"), [
    (12.25, "12.3"),   # half away from zero, on the decimal a person writes (f"{12.25:.1f}" gives 12.2)
    (12.35, "12.4"),
    (-12.25, "-12.3"),
    (0.05, "0.1"),
    (38.0, "38.0"),
    (99.96, "100.0"),
])
def test_rounding_is_half_away_from_zero(value, expected):
    assert str(formatting.rounded(value)) == expected


@pytest.mark.parametrize(("lang", "value", "expected"), [
    ("vi", 38.0, "38,0"), ("en", 38.0, "38.0"),
    ("vi", 12.25, "12,3"), ("en", 12.25, "12.3"),
    ("vi", 1234.5, "1.234,5"), ("en", 1234.5, "1,234.5"),
    ("vi", None, "—"),
])
def test_score_in_the_readers_locale(lang, value, expected):
    assert formatting.score(value, lang) == expected


def test_change_percent_number():
    assert formatting.change(4.45, "vi") == "+4,5"
    assert formatting.change(-2.0, "en") == "−2.0"
    assert formatting.change(0.04, "en") == "±0.0"
    assert formatting.percent(24.5, "vi") == "25 %"
    assert formatting.percent(24.5, "en") == "25%"
    assert formatting.number(20000, "vi") == "20.000"
    assert formatting.number(20000, "en") == "20,000"


def test_dates_are_hanoi_dates_in_the_readers_form():
    late_evening_utc = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)  # 01:30 on 2 Dec in Hanoi
    assert formatting.day(late_evening_utc, "vi") == "02/12/2026"
    assert formatting.day(late_evening_utc, "en") == "2 Dec 2026"
    assert formatting.day(date(2026, 3, 5), "vi") == "05/03/2026"
    assert formatting.moment(late_evening_utc, "vi") == "02/12/2026 01:30"
    assert formatting.moment(late_evening_utc, "en") == "2 Dec 2026, 01:30"


def test_template_filters_use_the_same_rule():
    template = environment.from_string("{{ 12.25|score }} {{ 4.45|change }} {{ d|date }} {{ 20000|number }}")
    assert template.render(lang_code="vi", d=date(2026, 12, 2)) == "12,3 +4,5 02/12/2026 20.000"
    assert template.render(lang_code="en", d=date(2026, 12, 2)) == "12.3 +4.5 2 Dec 2026 20,000"


def test_no_template_formats_a_date_or_number_by_hand():
    """Every date and number on a page goes through the filters above (the reader's locale, Hanoi
    time): a template calling strftime or Python's % / format() would bypass them (the outbox did)."""
    by_hand = re.compile(r"\.strftime\(|\.isoformat\(|\|\s*round\b|\|\s*format\b|\"%\.\d+f\"|'%\.\d+f'"
                         r"|\}\}\s*%")  # a percent sign written after a number: the |percent filter places it
    offenders = [f"{path.relative_to(TEMPLATES)}:{n}" for path in sorted(TEMPLATES.rglob("*.html"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if by_hand.search(line)]
    assert offenders == []


def test_every_text_input_stops_where_its_column_does(client):
    """Every field a person types into has a ``maxlength``, from the column it is stored in (``maxlen``),
    so the form stops where the database would."""
    from bs4 import BeautifulSoup

    from web.templating import maxlen

    typed = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        page = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for field in page.find_all(["input", "textarea"]):
            kind = field.get("type", "text")
            # (a file takes no maxlength: the upload checks its size)
            if kind in ("hidden", "checkbox", "radio", "date", "submit", "file") or field.has_attr("readonly"):
                continue
            if "{{" in kind:  # the answer widgets: a radio or a checkbox
                continue
            typed.append(f"{path.name}#{field.get('id') or field.get('name')}")
            assert field.get("maxlength"), f"{path.name}: {field} has no maxlength"
    assert len(typed) > 20
    assert (maxlen("user.email"), maxlen("user.display_name"), maxlen("business.name")) == (254, 120, 200)
    form = BeautifulSoup(client.get("/signup").text, "html.parser")
    assert [form.select_one(f"#{f}")["maxlength"] for f in ("display_name", "email", "password")] == [
        "120", "254", "256"]


def test_a_share_answered_reads_by_the_one_rule():
    """1 of 8 answered is 12.5 %: the progress bar says 13 (half away from zero), where Python's round()
    says 12; the share is kept unrounded until a page writes it."""
    from assessment.answers import Progress

    assert Progress(1, 8).percent == 12.5
    bar = environment.get_template("_partials/progress_bar.html")
    assert "13 %</progress>" in bar.render(progress=Progress(1, 8), lang_code="vi")
    assert "13%</progress>" in bar.render(progress=Progress(1, 8), lang_code="en")
