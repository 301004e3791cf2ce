"""The registered enterprises on the department's page: an uploaded CSV gives each row its coverage
and the view a post-stratified mean; a wrong file is refused with every problem named and changes
nothing. The city is tests/web/test_city.py's (all micro firms in ward 00004: G 5 businesses, mean
35.8; C 4 and I 3, hidden; 12 in all).

The register below: ward 00004 holds G 50, C 40, I 10 micro enterprises; ward 00008 G 100: 200 in all.
* coverage of the view: 12 / 200 = 6 %; of ward 00004: 12 / 100 = 12 %; of section G: 5 / 150 = 3 %;
* weighted: only G micro has 5 participants; C and I have no group of 5 and are left out: the mean is
  G's, 35.8, standing for 150 of the 200."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from assessment import accounts
from assessment.models import AuditEvent, CityPopulation
from tests.factories import PASSWORD, login
from tests.web.test_city import QUERY, cells, soup

REGISTER = b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,50\n00004,C,micro,40\n" \
           b"00004,I,micro,10\n00008,G,micro,100\n"
FORM = {"instrument": "quick-check", "version": "1.0", "period": "2026-Q2"}


def _upload(client, body: bytes, name: str = "register.csv"):
    return client.post("/city/population", data={**FORM, "csrf_token": client.csrf()},
                       files={"file": (name, body, "text/csv")})


def _rows(engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(CityPopulation)).one())


def test_the_coverage_and_the_weighted_mean_beside_the_figures(city, department, engine):
    before = soup(department.get(f"/city?{QUERY}"))
    assert before.select("p.coverage") == [] and before.select("td.coverage") == []
    response = _upload(department, REGISTER)
    assert response.status_code == 303 and response.headers["location"].endswith("#coverage")
    page = soup(department.get(f"/city?{QUERY}"))
    text = page.select_one("p.coverage").get_text(" ", strip=True)
    assert "They are 6% of the 200 registered enterprises" in text
    assert "by sector and size: 35.8 (standing for 150 of them)" in text
    assert cells(page, "wards", "00004")[-1] == "12%"
    assert cells(page, "wards", "00008")[-1] == "—"  # nobody takes part there: hidden, as its count
    assert cells(page, "sections", "G")[3] == "3%" and cells(page, "sections", "C")[3] == "—"
    # a filter narrows the register too: section G, 5 of 150
    narrowed = soup(department.get(f"/city?{QUERY}&vsic_section=G")).select_one("p.coverage")
    assert "They are 3% of the 150 registered enterprises" in narrowed.get_text(" ", strip=True)
    with Session(engine) as s:
        assert [e.object_id for e in s.exec(select(AuditEvent).where(AuditEvent.action == "city.population"))] == [
            "population"]


def test_the_table_downloads_as_uploaded(city, department):
    assert department.get("/city/population.csv").content.decode("utf-8-sig").strip() == (
        "ward_code,vsic_section,size_class,enterprises")
    _upload(department, REGISTER)
    response = department.get("/city/population.csv")
    assert response.headers["cache-control"] == "no-store"
    lines = response.content.decode("utf-8-sig").strip().splitlines()
    assert lines[1:] == ["00004,C,micro,40", "00004,G,micro,50", "00004,I,micro,10", "00008,G,micro,100"]


def test_a_new_upload_replaces_the_old_one(city, department, engine):
    _upload(department, REGISTER)
    assert _upload(department, b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,20\n").status_code == 303
    assert _rows(engine) == 1


def test_a_wrong_file_changes_nothing_and_names_each_problem(city, department, engine):
    _upload(department, REGISTER)
    response = _upload(department, b"ward_code,vsic_section,size_class,enterprises\n00004,G,micro,20\n"
                                   b"99999,G,micro,1\n00004,Z,micro,1\n")
    assert response.status_code == 422
    problems = [li.get_text(strip=True) for li in soup(response).select("#population-errors li")]
    assert problems == ["Row 3, column ward_code: '99999' is not a ward or commune code of Hanoi.",
                        "Row 4, column vsic_section: 'Z' is not a VSIC section (A to U)."]
    assert _rows(engine) == 4
    assert _upload(department, b"").status_code == 422  # no file chosen
    assert _rows(engine) == 4


def test_a_snapshot_has_no_upload_form(city, department):
    location = department.submit("/city/snapshots", FORM).headers["location"]
    assert soup(department.get(location)).select("form[action='/city/population']") == []


@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_other_roles_get_404(client, session, engine, role):
    accounts.create_user(session=session, email="x@example.vn", password=PASSWORD, role=role, language="en")
    login(client, "x@example.vn")
    assert client.get("/city/population.csv").status_code == 404
    assert _upload(client, REGISTER).status_code == 404
    assert _rows(engine) == 0
