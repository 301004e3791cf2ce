"""The city's aggregates (assessment/city/aggregates.py) on small fixed cities with hand-computed
figures: businesses, means and levels by key, the cells hidden (4 hidden, 5 shown, the complements),
refused filter sets, quarters, the hierarchy of wards, districts and areas, and which support works.

Rounds are written as closing writes them (frozen keys, scores, latest flags) so each city is exact;
one test goes through the real close to check the flags it relies on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import count

import pytest
from sqlmodel import delete, select

from assessment import consent, rounds
from assessment.city import aggregates, summary
from assessment.city.aggregates import Filters
from assessment.models import (
    AssessmentRound,
    Business,
    BusinessMember,
    Cohort,
    CohortMember,
    CohortTrainer,
    RoundResult,
    User,
)
from tests.factories import answered, make_business, make_owner
from tests.harness import tax_codes

K = 5
QC = ("quick-check", "1.0")
DIMENSIONS = ("customers", "operations", "data", "people", "security")
Q2 = datetime(2026, 5, 10, 3, 0, tzinfo=UTC)  # 2026-Q2 in Hanoi
Q1 = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)

_codes = tax_codes(start=3_000_000)
_ids = count(1)


def level_of(score: float) -> str:
    return "leading" if score >= 80 else "established" if score >= 55 else "developing" if score >= 30 else "starter"


def _consenting_owner(session) -> User:
    """The owner of the test city's businesses, who agreed to the city statistics (which count only such)."""
    owner = session.exec(select(User).where(User.email == "city.owner@example.vn")).first()
    return owner or make_owner(session, "city.owner@example.vn")


def unit(session, *, section="G", size="micro", ward="00004", score=40.0, when=Q2, dims=None,
         business: Business | None = None) -> Business:
    """A business (or ``business``) with one more closed round of quick-check 1.0 at ``when``, its
    latest flags and the city's summary rows moved as closing moves them."""
    if business is None:
        business = Business(name=f"B{next(_ids)}", tax_code=next(_codes), ward_code=ward, vsic_section=section,
                            employees=3, revenue_bn=1, capital_bn=1, size_class=size)
        session.add(business)
        session.flush()
        session.add(BusinessMember(business_id=business.id, user_id=_consenting_owner(session).id, role="owner"))
    quarter, year = rounds.period_of(when)
    round_ = AssessmentRound(business_id=business.id, name="r", instrument_id=QC[0], instrument_version=QC[1],
                             status="closed", closed_at=when, ward_code=ward, vsic_section=section, size_class=size,
                             respondents=1, overall_score=score, overall_level=level_of(score),
                             closed_quarter=quarter, closed_year=year)
    session.add(round_)
    session.flush()
    for d, value in zip(DIMENSIONS, dims or [score] * 5, strict=True):
        session.add(RoundResult(round_id=round_.id, dimension_id=d, score=value, level=level_of(value)))
    session.flush()
    rounds.refresh_latest(session, round_)
    summary.refresh(session.connection(), business_id=business.id, instrument_id=QC[0], version=QC[1],
                    periods=(quarter, year))
    session.commit()
    return business


def city(session, spec: dict[tuple, list[float]]) -> None:
    """``{(section, size, ward): [scores]}``: one business per score."""
    for (section, size, ward), scores in spec.items():
        for score in scores:
            unit(session, section=section, size=size, ward=ward, score=score)


def shown(table) -> dict[tuple, int]:
    """The published rows: keys → businesses (every other row is hidden, an empty one too)."""
    return {tuple(r.keys.values()): r.cell.n for r in table.rows if not r.cell.suppressed}


def hidden(table) -> set[tuple]:
    return {tuple(r.keys.values()) for r in table.rows if r.cell.suppressed}


def period(**filters) -> Filters:
    return Filters(*QC, period=filters.pop("period", "2026-Q2"), **filters)


def test_only_businesses_an_owner_of_which_consented_are_counted(session):
    city(session, {("C", "micro", "00004"): [30, 40, 50, 60, 70], ("I", "micro", "00004"): [60] * 5})
    declined = make_owner(session, "declined@example.vn", consents=("service",))  # statistics not ticked
    for score in (10, 10):
        business = unit(session, section="C", score=score)
        session.exec(delete(BusinessMember).where(BusinessMember.business_id == business.id))
        session.add(BusinessMember(business_id=business.id, user_id=declined.id, role="owner"))
    session.commit()
    table = aggregates.aggregate(session, period(), ("vsic_section",), K)
    assert table.total.n == 10 and shown(table) == {("C",): 5, ("I",): 5}  # the two declined ones are not in it
    assert next(r.cell for r in table.rows if r.keys == {"vsic_section": "C"}).mean_overall == pytest.approx(50.0)
    consent.give(session=session, user=declined, purpose="statistics", language="vi")
    session.commit()
    assert aggregates.aggregate(session, period(), ("vsic_section",), K).total.n == 12  # agreed later: counted


# -- one-way tables -----------------------------------------------------------------------------
def test_four_hidden_five_shown_with_means_and_levels(session):
    city(session, {("G", "micro", "00004"): [40, 40, 40, 40], ("C", "micro", "00004"): [30, 40, 50, 60, 70],
                   ("F", "micro", "00004"): [20, 20, 20], ("I", "micro", "00004"): [60] * 10})
    table = aggregates.aggregate(session, period(), ("vsic_section",), K)
    assert table.refused is None and table.total.n == 22
    assert shown(table) == {("C",): 5, ("I",): 10}
    assert len(table.rows) == 21 and {("F",), ("G",), ("A",)} <= hidden(table)  # empty A looks like F and G
    c = next(r.cell for r in table.rows if r.keys == {"vsic_section": "C"})
    assert c.mean_overall == pytest.approx(50.0)  # (30 + 40 + 50 + 60 + 70) / 5
    assert c.dimension_means == {d: pytest.approx(50.0) for d in DIMENSIONS}
    # levels: 30, 40, 50 developing; 60, 70 established → 3 and 2, both under k (and the empty ones)
    assert c.level_counts == {"starter": None, "developing": None, "established": None, "leading": None}
    i = next(r.cell for r in table.rows if r.keys == {"vsic_section": "I"})
    assert i.level_counts == {"starter": None, "developing": None, "established": 10, "leading": None}
    # the total: 22 businesses, mean (160 + 250 + 60 + 600) / 22
    assert table.total.mean_overall == pytest.approx(1070 / 22)


def test_a_lone_hidden_cell_takes_the_smallest_one_with_it(session):
    city(session, {("G", "micro", "00004"): [40] * 4, ("C", "micro", "00004"): [40] * 5,
                   ("I", "micro", "00004"): [40] * 10})
    table = aggregates.aggregate(session, period(), ("vsic_section",), K)
    assert shown(table) == {("I",): 10} and {("C",), ("G",)} <= hidden(table)
    assert table.total.n == 19  # 19 - 10 = 9 = G + C: neither can be told


def test_two_way_complements_close_a_cycle(session):
    """The hand-computed table of test_city_suppression: G 6 / 2 / 7, C 8 / 6 / 1."""
    spec = {("G", "micro"): 6, ("G", "small"): 2, ("G", "medium"): 7,
            ("C", "micro"): 8, ("C", "small"): 6, ("C", "medium"): 1}
    for (section, size), n in spec.items():
        for _ in range(n):
            unit(session, section=section, size=size)
    table = aggregates.aggregate(session, period(), ("vsic_section", "size_class"), K)
    assert shown(table) == {("C", "micro"): 8, ("G", "micro"): 6}
    assert {("C", "small"), ("C", "medium"), ("G", "small"), ("G", "medium")} <= hidden(table)
    # and its margins are the one-way tables: all published
    assert shown(aggregates.aggregate(session, period(), ("size_class",), K)) == {
        ("micro",): 14, ("small",): 8, ("medium",): 8}


def test_the_totals_cannot_reveal_a_hidden_cell(session):
    """Whatever the table, the hidden cells of every row hold 0 or at least two with businesses."""
    city(session, {("G", "micro", "00004"): [40] * 3, ("G", "small", "00004"): [40] * 9,
                   ("C", "micro", "00004"): [40] * 7, ("C", "small", "00004"): [40] * 6})
    table = aggregates.aggregate(session, period(), ("vsic_section", "size_class"), K)
    hidden = [tuple(r.keys.values()) for r in table.rows if r.cell.suppressed]
    assert ("G", "micro") in hidden
    for section in ("G", "C"):
        assert len([h for h in hidden if h[0] == section and h[1] in ("micro", "small")]) in (0, 2)
    for size in ("micro", "small"):
        assert len([h for h in hidden if h[1] == size and h[0] in ("G", "C")]) in (0, 2)


# -- refusals -----------------------------------------------------------------------------------
def test_a_filter_set_of_fewer_than_k_is_refused(session):
    city(session, {("G", "micro", "00004"): [40] * 10, ("F", "micro", "00004"): [40] * 4})
    table = aggregates.aggregate(session, period(vsic_section="F"), ("size_class",), K)
    assert table.refused == aggregates.TOO_SMALL and table.rows == [] and table.total.suppressed


def test_a_filter_set_leaving_out_fewer_than_k_is_refused(session):
    city(session, {("G", "micro", "00004"): [40] * 10, ("G", "small", "00004"): [40] * 3})
    refused = aggregates.aggregate(session, period(size_class="micro"), ("vsic_section",), K)
    assert refused.refused == aggregates.COMPLEMENT_TOO_SMALL
    # the same view without the filter leaves nobody out: shown
    assert aggregates.aggregate(session, period(vsic_section="G"), ("size_class",), K).refused is None


def test_bad_filters_are_a_clear_error():
    for bad in ({"period": "2026-Q5"}, {"vsic_section": "Z"}, {"size_class": "huge"}, {"ward": "99999"}):
        with pytest.raises(ValueError, match="period|section|size|ward"):
            period(**bad)
    with pytest.raises(ValueError, match="group by"):
        aggregates.aggregate(None, period(), ("ward", "district"), K)  # type: ignore[arg-type]


# -- the geography --------------------------------------------------------------------------------
def test_wards_districts_and_areas_protect_one_another(session):
    # Ba Đình: wards 00004 (3) and 00008 (6) → 9; Hoàn Kiếm: 00070 (12); all inner-city wards
    city(session, {("G", "micro", "00004"): [40] * 3, ("G", "micro", "00008"): [40] * 6,
                   ("G", "micro", "00070"): [40] * 12})
    wards = aggregates.aggregate(session, period(), ("ward",), K)
    assert shown(wards) == {("00070",): 12} and len(wards.rows) == 126
    assert shown(aggregates.aggregate(session, period(), ("district",), K)) == {
        ("Quận Ba Đình",): 9, ("Quận Hoàn Kiếm",): 12}
    assert shown(aggregates.aggregate(session, period(), ("area",), K)) == {("ward",): 21}
    only = aggregates.aggregate(session, period(district="Quận Ba Đình"), ("ward",), K)
    assert only.refused is None and len(only.rows) == 3  # the district's three wards, one empty


def test_a_hidden_district_hides_a_ward_with_it(session):
    # Ba Đình 3 + 1 = 4 (hidden), Tây Hồ 7 (hidden beside it, and its ward), Hoàn Kiếm 12
    city(session, {("G", "micro", "00004"): [40] * 3, ("G", "micro", "00008"): [40] * 1,
                   ("G", "micro", "00070"): [40] * 12, ("G", "micro", "00091"): [40] * 7})
    assert shown(aggregates.aggregate(session, period(), ("district",), K)) == {("Quận Hoàn Kiếm",): 12}
    assert shown(aggregates.aggregate(session, period(), ("ward",), K)) == {("00070",): 12}  # 00091's 7 hidden


# -- quarters -------------------------------------------------------------------------------------
def test_trend_counts_each_quarter_s_latest_rounds(session):
    first = [unit(session, score=30.0, when=Q1) for _ in range(6)]
    for business in first[:4]:  # four of them again in Q2, better
        unit(session, business=business, score=50.0, when=Q2)
    for _ in range(3):
        unit(session, score=60.0, when=Q2)
    table = aggregates.trend(session, period(), K)
    assert [r.keys["quarter"] for r in table.rows] == ["2026-Q1", "2026-Q2"]
    q1, q2 = (r.cell for r in table.rows)
    assert (q1.n, q1.mean_overall) == (6, pytest.approx(30.0))
    assert (q2.n, q2.mean_overall) == (7, pytest.approx((4 * 50 + 3 * 60) / 7))
    year = aggregates.aggregate(session, period(period="2026"), ("quarter",), K)
    assert [r.cell.n for r in year.rows] == [6, 7, None, None]  # Q3 and Q4: empty, hidden


def test_a_refused_filter_set_of_one_level_hides_the_trend_rather_than_failing(session):
    # F: 3 businesses, all "developing" (40): refused; its total's level line holds one hidden count
    # and nothing to hide beside it, so the total's levels are hidden whole instead of published
    city(session, {("G", "micro", "00004"): [40] * 10, ("F", "micro", "00004"): [40] * 3})
    table = aggregates.trend(session, period(vsic_section="F"), K, use_cache=False)
    assert table.total.suppressed and table.total.level_counts is None
    assert [r.cell.suppressed for r in table.rows] == [True]


def test_the_real_close_sets_the_flags_the_city_reads(session):
    when = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 1 April in Hanoi: the second quarter
    owner = make_owner(session)
    business = make_business(session, owner, vsic_section="G")
    options = {"cus01": ["none"]}
    first = answered(session, business, options, now=when, submit=False)
    assert first.status == "draft"
    for _ in range(5):
        b = make_business(session, make_owner(session, f"o{next(_ids)}@example.vn"))
        _answer_and_close(session, b, when)
    _answer_and_close(session, business, when)
    _answer_and_close(session, business, when)  # twice in the quarter: counted once
    table = aggregates.aggregate(session, period(), ("vsic_section",), K)
    assert table.total.n == 6


def _answer_and_close(session, business, when):
    from tests.factories import answer_all, owner_of, start

    copy = start(session, business, owner_of(session, business), now=when)
    answer_all(session, copy, business, pick=1)
    assert rounds.submit(session=session, copy=copy, business=business, now=when) == []


# -- the share at or above a level ----------------------------------------------------------------
def test_share_at_or_above(session):
    city(session, {("G", "micro", "00004"): [20] * 5 + [40] * 5 + [60] * 6 + [85] * 5})
    share = aggregates.share_at_or_above(session, period(), "established", K)
    assert (share.n, share.at_or_above, share.share) == (21, 11, pytest.approx(100 * 11 / 21))
    assert aggregates.default_level(period().definition) == "established"


def test_a_share_that_would_reveal_a_hidden_level_count_is_hidden(session):
    # leading 4 (hidden) with starter 5 beside it; established-or-above = 6 + 4 would give the 4 away
    city(session, {("G", "micro", "00004"): [20] * 5 + [40] * 5 + [60] * 6 + [85] * 4})
    assert aggregates.share_at_or_above(session, period(), "established", K).suppressed
    assert aggregates.share_at_or_above(session, period(), "leading", K).suppressed  # 4 < k
    everyone = aggregates.share_at_or_above(session, period(), "starter", K)  # both hidden ones above it
    assert (everyone.at_or_above, everyone.n, everyone.share) == (20, 20, 100.0)


# -- which support works --------------------------------------------------------------------------
def test_support_comparison_members_beside_comparable_non_members(session):
    """A course from 1 to 10 March 2026 with 5 members rising by 10 each; 5 comparable businesses
    (same section and size) that took no course rising by 4 each; one of another section rising by 50
    (not comparable, not counted)."""
    trainer = make_owner(session, "t@example.vn", role="trainer")
    cohort = Cohort(name="Khoá 1", instrument_id=QC[0], instrument_version=QC[1], starts_on=date(2026, 3, 1),
                    ends_on=date(2026, 3, 10), join_code="ABCDEFGH", created_by=trainer.id)
    session.add(cohort)
    session.flush()
    session.add(CohortTrainer(cohort_id=cohort.id, user_id=trainer.id))
    before, after = datetime(2026, 2, 1, 3, tzinfo=UTC), datetime(2026, 4, 1, 3, tzinfo=UTC)
    for rise, member, section in [(10, True, "G")] * 5 + [(4, False, "G")] * 5 + [(50, False, "C")]:
        business = unit(session, section=section, score=40.0, when=before)
        unit(session, business=business, section=section, score=40.0 + rise, when=after)
        if member:
            session.add(CohortMember(cohort_id=cohort.id, business_id=business.id))
    session.commit()
    now = datetime(2026, 12, 1, tzinfo=UTC)
    course, per_trainer = aggregates.support_comparison(session, *QC, K, now=now)
    assert (course.kind, course.name, course.members.n, course.members.mean_change) == ("course", "Khoá 1", 5,
                                                                                         pytest.approx(10.0))
    assert (course.comparison.n, course.comparison.mean_change) == (5, pytest.approx(4.0))
    assert per_trainer.kind == "trainer" and per_trainer.id == trainer.id and per_trainer.members.n == 5
    fewer = aggregates.support_comparison(session, *QC, 6, now=now)[0]
    assert fewer.members.suppressed and fewer.comparison.suppressed
