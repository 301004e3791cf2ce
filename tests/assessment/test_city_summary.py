"""The city's summary table (assessment/city/summary.py): written by the real close, one row per
business and period with the latest round's scores, the version counter raised, and a rebuild from
the rounds giving the same rows (the backfill of migration 0007 and of a bulk load)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from assessment.city import summary
from assessment.models import AssessmentRound, CityUnit, RoundResult
from tests.factories import make_business, make_owner, submitted

Q2_EARLY = datetime(2026, 4, 2, 3, 0, tzinfo=UTC)
Q2_LATE = datetime(2026, 6, 20, 3, 0, tzinfo=UTC)
Q3 = datetime(2026, 8, 1, 3, 0, tzinfo=UTC)


def _rows(session) -> list[tuple]:
    return sorted((u.business_id, u.period, u.round_id, u.overall_score, u.d0, u.d4)
                  for u in session.exec(select(CityUnit)))


def test_closing_writes_one_row_per_business_and_period(session):
    business = make_business(session, make_owner(session))
    first = submitted(session, business, pick=0, now=Q2_EARLY)
    second = submitted(session, business, pick=2, now=Q2_LATE)
    third = submitted(session, business, pick=1, now=Q3)
    latest_q2 = session.get(AssessmentRound, second.round_id)
    latest_year = session.get(AssessmentRound, third.round_id)
    rows = {(u.period, u.round_id) for u in session.exec(select(CityUnit))}
    assert rows == {(20262, latest_q2.id), (20263, latest_year.id), (2026, latest_year.id)}
    assert first.round_id not in {r for _, r in rows}
    unit = session.exec(select(CityUnit).where(CityUnit.period == 2026)).one()
    scores = {r.dimension_id: r.score for r in session.exec(select(RoundResult).where(
        RoundResult.round_id == latest_year.id))}
    assert (unit.d0, unit.d4) == (pytest.approx(scores["customers"]), pytest.approx(scores["security"]))
    assert (unit.overall_score, unit.vsic_section, unit.size_class, unit.ward_code) == (
        latest_year.overall_score, "G", "micro", "00070")
    assert summary.current(session.connection(), "quick-check", "1.0") == 3  # one raise per close


def test_a_rebuild_gives_the_same_rows(session):
    for i, pick in enumerate((0, 1, 2)):
        business = make_business(session, make_owner(session, f"o{i}@example.vn"))
        submitted(session, business, pick=pick, now=Q2_EARLY)
        submitted(session, business, pick=2 - pick, now=Q3)
    before = _rows(session)
    summary.rebuild(session.connection())
    session.commit()
    assert _rows(session) == before and len(before) == 3 * 3


def test_the_cache_serves_repeats_until_a_round_closes(session, monkeypatch):
    from assessment.city import aggregates
    from assessment.models import CityCache

    for i in range(6):
        submitted(session, make_business(session, make_owner(session, f"c{i}@example.vn")), pick=1, now=Q2_EARLY)
    filters = aggregates.Filters("quick-check", "1.0", "2026-Q2")
    computed = []
    real = aggregates._table
    monkeypatch.setattr(aggregates, "_table", lambda *a: computed.append(a) or real(*a))
    first = aggregates.aggregate(session, filters, ("vsic_section",), 5)
    again = aggregates.aggregate(session, filters, ("vsic_section",), 5)
    assert again == first and len(computed) == 1 and first.total.n == 6
    submitted(session, make_business(session, make_owner(session, "late@example.vn")), pick=1, now=Q2_LATE)
    later = aggregates.aggregate(session, filters, ("vsic_section",), 5)
    assert later.total.n == 7 and len(computed) == 2
    assert len(session.exec(select(CityCache)).all()) == 1  # the older counter's entry is gone
