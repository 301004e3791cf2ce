"""Published periods: the department freezes an ended period's city figures; a round that closes late
in that period changes the live view and not the published one, on screen, in charts and in exports.
The city is tests/web/test_city.py's (12 businesses in 2026-Q2, mean 34.875, k = 5)."""

from __future__ import annotations

import pytest
from sqlmodel import Session, func, select

from assessment import accounts, consent, rounds
from assessment.city import aggregates
from assessment.models import AuditEvent, CitySnapshot, User, utcnow
from tests.factories import PASSWORD, answered, login, make_business
from tests.harness import tax_codes
from tests.web.test_city import MID, QUERY, WHEN, _csv, _hash, cells, soup

PUBLISH = {"instrument": "quick-check", "version": "1.0", "period": "2026-Q2"}


def _publish(client, **form: str):
    return client.submit("/city/snapshots", {**PUBLISH, **form})


def _snapshots(engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(CitySnapshot)).one())


def _late_round(session: Session) -> None:
    """A 13th business whose Established round closes in 2026-Q2, after the period was published."""
    owner = User(email="late@example.vn", password_hash=_hash(), role="owner", language="en")
    session.add(owner)
    session.flush()
    consent.give(session=session, user=owner, purpose="statistics", language="en")
    business = make_business(session, owner, tax_code=next(tax_codes(start=4_500_000)), vsic_section="G",
                             ward_code="00004", name="Late business")
    answered(session, business, MID, owner=owner, now=WHEN)


def test_a_published_period_keeps_its_figures_when_a_round_closes_late(city, department, engine):
    response = _publish(department)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/city/snapshots/")
    page = soup(department.get(location))
    assert "Published figures for 2026-Q2" in page.select_one("p.snapshot-note").get_text(" ", strip=True)
    assert cells(page, "quarters", "2026-Q2") == ["2026-Q2", "12", "34.9"]
    assert page.select("form.city-filters") == [] and page.select("form[action='/city/targets']") == []

    _late_round(city)
    live = soup(department.get(f"/city?{QUERY}"))
    assert cells(live, "quarters", "2026-Q2") == ["2026-Q2", "13", "36.7"]  # (8 × 58 + 5 × 2.5) / 13 = 36.65
    assert cells(live, "sections", "G")[:3] == ["G", "6", "39.5"]  # (4 × 58 + 2 × 2.5) / 6
    frozen = soup(department.get(location))
    assert cells(frozen, "quarters", "2026-Q2") == ["2026-Q2", "12", "34.9"]
    assert cells(frozen, "sections", "G")[:3] == ["G", "5", "35.8"]
    assert cells(frozen, "sections", "C")[:3] == ["C", "—", "—"]
    # the live view of the period links to what was published
    assert live.select_one("p.published a")["href"] == location


def test_a_snapshot_s_exports_and_charts_are_the_published_figures(city, department):
    location = _publish(department).headers["location"]
    _late_round(city)
    response = department.get(f"{location}/exports/sections.csv")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "-published.csv" in response.headers["content-disposition"]
    rows = {r["vsic_section"]: r for r in _csv(response)}
    assert (rows["G"]["businesses"], float(rows["G"]["mean_overall"])) == ("5", 35.8)
    assert rows["total"]["businesses"] == "12" and float(rows["total"]["mean_overall"]) == pytest.approx(34.875)
    overview = department.get(f"{location}/exports/overview.xlsx")
    assert overview.status_code == 200 and overview.content[:2] == b"PK"
    for kind in ("levels", "dimensions", "heatmap", "wards", "districts", "areas", "sizes", "trend"):
        chart = department.get(f"{location}/charts/{kind}.svg")
        assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert department.get(f"{location}/charts/nope.svg").status_code == 404
    assert department.get(f"{location}/exports/nope.csv").status_code == 404


def test_the_list_shows_every_published_period(city, department):
    location = _publish(department).headers["location"]
    page = soup(department.get("/city/snapshots"))
    link = page.select_one("#snapshots a")
    assert link["href"] == location and link.get_text(strip=True) == "2026-Q2"
    assert "12" in page.select_one("#snapshots tbody tr").get_text(" ", strip=True)


def test_publishing_is_audited(city, department, engine):
    _publish(department)
    with Session(engine) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "city.publish")).all()
    assert [(e.object_type, e.object_id) for e in events] == [("city", "quick-check/1.0/2026-Q2")]


def _current_quarter() -> str:
    return aggregates.quarter_label(rounds.period_of(utcnow())[0])


@pytest.mark.parametrize(("form", "message"), [
    ({"vsic_section": "G"}, "Only the whole city is published"),
    ({"period": "current"}, "A period can be published once it has ended."),
])
def test_a_filtered_or_unended_period_is_refused_and_nothing_is_written(city, department, engine, form, message):
    if form.get("period") == "current":
        form = {"period": _current_quarter()}
    response = _publish(department, **form)
    assert response.status_code == 422
    assert message in soup(response).select_one("#period-error").get_text(" ", strip=True)
    assert _snapshots(engine) == 0


def test_a_period_is_published_once(city, department, engine):
    assert _publish(department).status_code == 303
    again = _publish(department)
    assert again.status_code == 422
    assert "published already" in soup(again).select_one("#period-error").get_text(" ", strip=True)
    assert _snapshots(engine) == 1


def test_bad_input_to_publish_is_a_clear_error(city, department, engine):
    assert _publish(department, period="2026-Q9").status_code == 400
    assert _publish(department, version="9.9").status_code == 400
    assert _snapshots(engine) == 0


@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_other_roles_get_404(client, session, role):
    accounts.create_user(session=session, email="x@example.vn", password=PASSWORD, role=role, language="en")
    login(client, "x@example.vn")
    for path in ("/city/snapshots", "/city/snapshots/1", "/city/snapshots/1/charts/levels.svg",
                 "/city/snapshots/1/exports/sections.csv"):
        assert client.get(path).status_code == 404
    assert client.submit("/city/snapshots", PUBLISH).status_code == 404


def test_a_snapshot_that_does_not_exist_is_404(department):
    assert department.get("/city/snapshots/999").status_code == 404
    assert department.get("/city/snapshots/999/charts/levels.svg").status_code == 404
    assert department.get("/city/snapshots/abc").status_code == 404
    assert department.get(f"/city/snapshots/{2**31}").status_code == 404
