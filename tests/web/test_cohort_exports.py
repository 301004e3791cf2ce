"""A course's downloads over HTTP (the members' table and the before/after table, CSV and XLSX, read
back and compared with hand-computed values) and a reminder delivered through a real SMTP server."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

import openpyxl
import pytest

from assessment import access, accounts, cohorts, consent
from assessment.access import HANOI
from assessment.models import utcnow
from tests.conftest import Browser
from tests.factories import PASSWORD, answered, login, make_business
from tests.mailbox import smtp_settings
from tests.web.test_cohorts import HIGH, LOW, MID

DIMENSIONS = ("customers", "operations", "data", "people", "security")


def at(days_ago: int) -> datetime:
    day = access.hanoi_date(utcnow()) - timedelta(days=days_ago)
    return datetime.combine(day, time(10), HANOI)


@pytest.fixture
def course(session, new_client):
    """A course that started 60 days ago and ended 30 days ago; two members improved (LOW -> MID,
    MID -> HIGH), one has only a T0, one is a household business (a 12-digit code)."""
    trainer = accounts.create_user(session=session, email="trainer@example.vn", password=PASSWORD, role="trainer")
    today = access.hanoi_date(utcnow())
    cohort = cohorts.create(session=session, trainer=trainer, form={
        "name": "=HYPERLINK(\"x\") Khoá số hoá", "instrument": "quick-check",
        "starts_on": (today - timedelta(days=60)).isoformat(), "ends_on": (today - timedelta(days=30)).isoformat()})
    made = {}
    for address, name, tax_code, t0, t1 in (
        ("a@example.vn", "Gốm Bát Tràng", "0100109106", LOW, MID),
        ("b@example.vn", "+Cà phê Phố Cổ", "001085012345", MID, HIGH),
        ("c@example.vn", "Xe đạp Minh", "0101243150", LOW, None),
    ):
        owner = accounts.create_user(session=session, email=address, password=PASSWORD)
        consent.give(session=session, user=owner, purpose="reminders", language="vi")
        business = make_business(session, owner, name=name, tax_code=tax_code)
        cohorts.join(session=session, cohort=cohort, business=business, by=owner, lang="vi", now=at(70))
        answered(session, business, t0, now=at(90))
        if t1 is not None:
            answered(session, business, t1, now=at(10))
        made[name] = business
    browser = new_client()
    assert login(browser, "trainer@example.vn").status_code == 303
    return cohort, made, browser


def test_the_members_table_in_csv_and_xlsx(course):
    cohort, made, browser = course
    response = browser.get(f"/cohorts/{cohort.id}/exports/members.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 Vietnamese with the BOM
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert list(rows[0])[:9] == ["tax_code", "business", "ward", "vsic_section", "size_class", "t0_submitted",
                                 "t0_overall", "t1_submitted", "t1_overall"]
    assert list(rows[0])[9:] == [f"{d}_{t}" for d in DIMENSIONS for t in ("t0", "t1")]
    by_code = {row["tax_code"]: row for row in rows}
    assert set(by_code) == {"0100109106", "001*******45", "0101243150"}  # the personal code masked
    first = by_code["0100109106"]
    assert first["business"] == "Gốm Bát Tràng" and first["vsic_section"] == "G"
    assert (float(first["t0_overall"]), float(first["t1_overall"])) == (2.5, 58.0)
    assert first["t0_submitted"].endswith("+07:00") and first["t0_submitted"].startswith(at(90).date().isoformat())
    assert (float(first["customers_t0"]), float(first["customers_t1"])) == (0.0, 100.0)
    household = by_code["001*******45"]
    assert household["business"] == "'+Cà phê Phố Cổ"  # a name a spreadsheet would run as a formula
    assert (float(household["t0_overall"]), float(household["t1_overall"])) == (58.0, 100.0)
    only_t0 = by_code["0101243150"]
    assert only_t0["t1_submitted"] == "" and only_t0["t1_overall"] == "" and only_t0["customers_t1"] == ""

    workbook = openpyxl.load_workbook(io.BytesIO(browser.get(f"/cohorts/{cohort.id}/exports/members.xlsx").content))
    sheet = workbook.worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == list(rows[0])
    xlsx = {row[1]: row for row in values[1:]}
    assert xlsx["Gốm Bát Tràng"][6] == 2.5 and xlsx["Gốm Bát Tràng"][8] == 58.0  # typed numbers
    assert isinstance(xlsx["Gốm Bát Tràng"][5], datetime)
    assert xlsx["+Cà phê Phố Cổ"][0] == "001*******45"
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)  # no cell is a formula
    metadata = {key: value for key, value in workbook["metadata"].iter_rows(min_row=2, values_only=True)}
    assert metadata["course"] == cohort.name and metadata["instrument"] == "quick-check 1.0"


def test_the_before_after_table_in_csv_and_xlsx(course):
    """Two pairs: overall 2.5 -> 58 (+55.5) and 58 -> 100 (+42); mean 48.75, s_d = 9.545942,
    t_{0.975,1} = 12.706205: CI 48.75 ± 85.76; customers 0 -> 100 and 100 -> 100."""
    cohort, _, browser = course
    rows = list(csv.DictReader(io.StringIO(browser.get(f"/cohorts/{cohort.id}/exports/change.csv")
                                           .content.decode("utf-8-sig"))))
    assert [r["dimension"] for r in rows] == [*DIMENSIONS, "overall"]
    overall = rows[-1]
    assert overall["pairs"] == "2"
    assert float(overall["mean_change"]) == pytest.approx(48.75)
    half = 12.706204736 * 9.545941546 / 2 ** 0.5
    assert float(overall["ci_low"]) == pytest.approx(48.75 - half, abs=1e-6)
    assert float(overall["ci_high"]) == pytest.approx(48.75 + half, abs=1e-6)
    assert 0 < float(overall["p_value"]) < 1
    workbook = openpyxl.load_workbook(io.BytesIO(browser.get(f"/cohorts/{cohort.id}/exports/change.xlsx").content))
    last = [c.value for c in list(workbook.worksheets[0].iter_rows())[-1]]
    assert last[:2] == ["overall", 2] and last[2] == pytest.approx(48.75)
    assert browser.get(f"/cohorts/{cohort.id}/exports/everything.csv").status_code == 404
    assert browser.get(f"/cohorts/{cohort.id}/exports/members.pdf").status_code == 404


def test_another_trainer_gets_no_download(course, session, new_client):
    cohort, _, _ = course
    accounts.create_user(session=session, email="other@example.vn", password=PASSWORD, role="trainer")
    other = new_client()
    login(other, "other@example.vn")
    for table in ("members.csv", "members.xlsx", "change.csv", "change.xlsx"):
        assert other.get(f"/cohorts/{cohort.id}/exports/{table}").status_code == 404


def test_a_reminder_reaches_the_owner_through_smtp(course, settings, engine, smtp_server):
    """With SMTP configured, the reminder is delivered (here to a local server) in the owner's language."""
    from web.app import create_app

    cohort, made, _ = course
    collector, port = smtp_server
    app = create_app(smtp_settings(settings, port), engine=engine)
    with Browser(app, follow_redirects=False) as browser:
        assert login(browser, "trainer@example.vn").status_code == 303
        business = made["Xe đạp Minh"]
        response = browser.submit(f"/cohorts/{cohort.id}/members/{business.id}/remind", {"channel": "email"})
        assert response.status_code == 303
    (received,) = collector.received
    assert received.rcpt_tos == ["c@example.vn"]
    message = received.message
    body = message.get_content()
    assert "Khoá số hoá" in body and "Xe đạp Minh" in body and f"/businesses/{business.id}" in body
