"""The department's city view on a small city with hand-computed figures: the dashboard, its charts,
its exports (CSV, XLSX) and the JSON API show the same cells, hidden the same way (a group of 4
hidden, one of 5 shown), and the access rule, the filters in the URL, the target and bad input.

The city (quick-check 1.0, every round closed on 10 May 2026, 2026-Q2 in Hanoi, k = 5), each round
answered by its owner through the real close:

* section G, ward 00004 (Ba Đình): 3 rounds of MID answers (overall 58.0, Established) and 2 of LOW
  (2.5, Starter): 5 businesses, mean (3 × 58 + 2 × 2.5) / 5 = 35.8;
* section C, ward 00004: 4 of MID: 4 businesses, hidden;
* section I, ward 00004: 3 of LOW: 3 businesses, hidden (with C, so neither can be worked out);
* in all 12 businesses, mean (7 × 58 + 5 × 2.5) / 12 = 34.875; 5 Starter, 7 Established; at or
  above Established 7 of 12 = 58.3 %.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from functools import cache

import openpyxl
import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from assessment import accounts, consent
from assessment.models import AuditEvent, CityTarget, User
from tests.factories import PASSWORD, answered, login, make_business
from tests.harness import tax_codes
from web import charts, city_charts

WHEN = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)  # 2026-Q2 in Hanoi
# a complete quick-check: overall 2.5 (Starter) and 58.0 (Established), as tests/browser/test_trainer_journey.py
LOW = {"cus01": ["none"], "cus02": ["cash"], "cus03": ["memory"], "ops01": ["paper"], "ops02": ["verbal"],
       "dat01": ["paper"], "dat02": ["rarely"], "ppl01": ["basic"], "ppl02": ["no"], "sec01": ["none"],
       "sec02": ["mfa"]}
MID = {"cus01": ["full"], "cus02": ["integrated"], "cus03": ["crm"], "ops01": ["einvoice", "accounting"],
       "ops02": ["verbal"], "dat01": ["shared"], "dat02": ["monthly"], "ppl01": ["office"], "ppl02": ["once"],
       "sec01": ["manual"], "sec02": ["mfa", "antivirus", "accounts"]}
CITY = {"G": [MID, MID, MID, LOW, LOW], "C": [MID] * 4, "I": [LOW] * 3}
QUERY = "instrument=quick-check&version=1.0&period=2026-Q2"


@cache
def _hash() -> str:
    return accounts.HASHER.hash(PASSWORD)  # one hash for every owner: hashing twelve would take seconds


def build_city(session: Session) -> None:
    """The module docstring's city: one owner (who consents to the city statistics) per business."""
    codes = tax_codes(start=4_000_000)
    number = 0
    for section, answer_sets in CITY.items():
        for chosen in answer_sets:
            number += 1
            owner = User(email=f"owner{number}@example.vn", password_hash=_hash(), role="owner", language="en")
            session.add(owner)
            session.flush()
            consent.give(session=session, user=owner, purpose="statistics", language="en")
            business = make_business(session, owner, tax_code=next(codes), vsic_section=section, ward_code="00004",
                                     name=f"Business {number}")
            answered(session, business, chosen, owner=owner, now=WHEN)




def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def cells(page: BeautifulSoup, table: str, key: str) -> list[str]:
    row = page.select_one(f"table.{table} tr[data-key='{key}']")
    assert row is not None, f"no row {key} in table {table}"
    return [c.get_text(strip=True) for c in row.find_all(["td", "th"])]


# -- the screen ---------------------------------------------------------------------------------------
def test_the_dashboard_shows_the_hand_computed_city(city, department):
    response = department.get(f"/city?{QUERY}")
    assert response.status_code == 200
    page = soup(response)
    overview = page.select_one("section.city-overview").get_text(" ", strip=True)
    assert "34.9" in overview and "12 participating businesses" in overview  # 34.875 rounds half up
    assert "At or above Established: 58% of the participating businesses (7 of 12)" in overview
    levels = {r.th.get_text(strip=True): r.td.get_text(strip=True) for r in page.select("table.levels tbody tr")}
    assert levels == {"Starter": "5", "Developing": "—", "Established": "7", "Leading": "—"}
    # G: 5 shown; C (4) and I (3) hidden
    assert cells(page, "sections", "G")[:3] == ["G", "5", "35.8"]
    assert cells(page, "sections", "C")[:3] == ["C", "—", "—"]
    assert cells(page, "sections", "I")[:3] == ["I", "—", "—"]
    # the ranked wards: Ba Đình first with all 12, every other ward (empty) hidden
    assert cells(page, "wards", "00004") == ["1", "Ba Dinh Ward", "12", "34.9"]
    assert cells(page, "quarters", "2026-Q2") == ["2026-Q2", "12", "34.9"]


def test_a_filter_narrows_the_view_and_a_small_group_is_refused(city, department):
    page = soup(department.get(f"/city?{QUERY}&vsic_section=G"))
    assert "5 participating businesses" in page.select_one("section.city-overview").get_text(" ", strip=True)
    refused = soup(department.get(f"/city?{QUERY}&vsic_section=C"))
    assert refused.select_one("p.refused").get_text(strip=True) == (
        "Fewer than 5 businesses match these filters, so no figures are shown for them.")
    assert refused.select("section.city-overview") == [] and refused.select("img") == []


def test_the_htmx_request_swaps_the_view_and_pushes_the_canonical_url(city, department):
    response = department.get(f"/city?{QUERY}&vsic_section=G&size_class=&ward=&district=",
                              headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/city?{QUERY}&vsic_section=G&level=established"
    assert response.text.lstrip().startswith('<div id="city-view">') and "<html" not in response.text


def test_the_default_view_is_the_latest_quarter_with_rounds(city, department):
    page = soup(department.get("/city"))
    assert page.select_one("select[name=period] option[selected]")["value"] == "2026-Q2"
    assert cells(page, "sections", "G")[:2] == ["G", "5"]


def test_bad_filters_get_a_clear_400(city, department):
    for query in ("period=2026-Q5", "vsic_section=Z", "ward=99999", "instrument=nope", "version=9.9", "level=nope",
                  "district=Nowhere", "period=" + "9" * 80):
        response = department.get(f"/city?{QUERY}&{query}")
        assert response.status_code == 400, query
        assert soup(response).select_one("p.error[role=alert]") is not None, query
        assert department.get(f"/city/charts/levels.svg?{QUERY}&{query}").status_code == (
            200 if query == "level=nope" else 400), query  # a chart has no level


def test_every_chart_is_an_svg(city, department):
    for kind in ("levels", "dimensions", "heatmap", "wards", "districts", "areas", "sizes", "trend"):
        response = department.get(f"/city/charts/{kind}.svg?{QUERY}")
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml", kind
        assert response.content.startswith(b"<?xml"), kind


def test_a_chart_of_a_refused_view_draws_only_why(city, department):
    refused = department.get(f"/city/charts/levels.svg?{QUERY}&vsic_section=C")
    assert refused.status_code == 200
    assert refused.content == charts.to_svg(city_charts.message(  # the refusal's text, nothing else
        "Fewer than 5 businesses match these filters, so no figures are shown for them."))
    assert department.get(f"/city/charts/pie.svg?{QUERY}").status_code == 404


def test_the_view_is_audited(city, department, engine):
    department.get(f"/city?{QUERY}")
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "city.view")).all()
    assert [(e.object_type, e.object_id) for e in events] == [("city", "quick-check/1.0/2026-Q2")]


# -- the target -----------------------------------------------------------------------------------------
def test_the_department_sets_a_target_and_sees_it_beside_the_share(city, department, engine):
    response = department.submit("/city/targets", {"instrument": "quick-check", "version": "1.0",
                                                   "period": "2026-Q2", "level": "established",
                                                   "target_share": "62,5"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/city?{QUERY}&level=established"
    with Session(engine) as s:
        target = s.get(CityTarget, "quick-check")
        assert (target.level, target.target_share) == ("established", 62.5)
    text = soup(department.get(f"/city?{QUERY}")).select_one("p.share").get_text(" ", strip=True)
    assert "Target: 63%." in text and "4.2 percentage points to go." in text  # 62.5 - 58.33


@pytest.mark.parametrize(("form", "field"), [({"level": "established", "target_share": "101"}, "target_share"),
                                             ({"level": "established", "target_share": "lots"}, "target_share"),
                                             ({"level": "nope", "target_share": "50"}, "level")])
def test_a_wrong_target_is_refused_and_changes_nothing(city, department, engine, form, field):
    response = department.submit("/city/targets", {"instrument": "quick-check", "version": "1.0",
                                                   "period": "2026-Q2", **form})
    assert response.status_code == 422
    assert soup(response).select_one(f"#{field}-error") is not None
    with Session(engine) as s:
        assert s.get(CityTarget, "quick-check") is None


# -- the exports agree with the screen ------------------------------------------------------------------
def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_has_the_screens_cells(city, department):
    response = department.get(f"/city/exports/sections.csv?{QUERY}")
    assert response.headers["cache-control"] == "no-store"
    assert 'filename="city-sections-quick-check-1.0-2026-Q2.csv"' in response.headers["content-disposition"]
    rows = {r["vsic_section"]: r for r in _csv(response)}
    assert (rows["G"]["businesses"], rows["G"]["suppressed"], float(rows["G"]["mean_overall"])) == ("5", "false", 35.8)
    assert (rows["C"]["businesses"], rows["C"]["suppressed"], rows["C"]["mean_overall"]) == ("", "true", "")
    assert (rows["I"]["businesses"], rows["I"]["suppressed"]) == ("", "true")
    assert rows["total"]["businesses"] == "12" and float(rows["total"]["mean_overall"]) == pytest.approx(34.875)
    assert rows["G"]["level_established"] == "" and rows["total"]["level_established"] == "7"


def test_the_xlsx_has_the_same_cells_and_the_metadata(city, department):
    response = department.get(f"/city/exports/sections.xlsx?{QUERY}")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    data = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    header = data[0]
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in data[1:]}
    assert (rows["G"]["businesses"], rows["G"]["suppressed"], rows["G"]["mean_overall"]) == (5, False, 35.8)
    assert (rows["C"]["businesses"], rows["C"]["suppressed"]) == (None, True)
    meta = {r[0].value: r[1].value for r in book["metadata"].iter_rows(min_row=2)}
    assert (meta["instrument"], meta["version"], meta["period"], meta["min_cell"]) == ("quick-check", "1.0",
                                                                                       "2026-Q2", "5")
    assert meta["filter_vsic_section"] == "all" and "fewer than 5 businesses" in meta["suppression_rule"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", meta["generated_at"])


def test_the_overview_export_has_the_levels_and_the_share(city, department):
    (row,) = _csv(department.get(f"/city/exports/overview.csv?{QUERY}"))
    assert (row["businesses"], row["level_starter"], row["level_established"], row["level_developing"]) == (
        "12", "5", "7", "")
    assert row["share_level"] == "established" and float(row["share_at_or_above"]) == pytest.approx(700 / 12)


def test_each_export_is_audited_and_a_bad_name_is_404(city, department, engine):
    for name in ("overview", "sections", "sizes", "wards", "districts", "areas", "quarters"):
        assert department.get(f"/city/exports/{name}.csv?{QUERY}").status_code == 200
    assert department.get(f"/city/exports/people.csv?{QUERY}").status_code == 404
    assert department.get(f"/city/exports/sections.pdf?{QUERY}").status_code == 404
    assert department.get(f"/city/exports/sections.csv?{QUERY}&ward=x").status_code == 400
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "city.export")).all()
    assert len(events) == 7 and events[0].object_id == "overview:quick-check/1.0/2026-Q2"


# -- who may see it ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_other_roles_get_404(client, session, role):
    accounts.create_user(session=session, email="x@example.vn", password=PASSWORD, role=role, language="en")
    login(client, "x@example.vn")
    for path in ("/city", "/city/charts/levels.svg", "/city/exports/sections.csv"):
        assert client.get(path).status_code == 404


def test_nobody_logged_in_is_sent_to_log_in(client):
    response = client.get("/city")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
