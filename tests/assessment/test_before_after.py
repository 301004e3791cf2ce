"""A course's before and after (assessment/before_after.py, docs/method.md section 10): the worked
example and the edge cases of the statistics, then the pairing on a database with rounds closed at
chosen moments in Hanoi (the clock is passed in)."""

import warnings
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import event

from assessment import before_after as ba
from assessment.access import HANOI
from assessment.models import AssessmentRound, Cohort, CohortMember
from assessment.settings import Settings
from tests.factories import make_business, make_owner, submitted

NAN = np.nan


# -- the statistics --------------------------------------------------------------------------------
def test_the_worked_example_of_the_method():
    """docs/method.md section 10: overall 40→46, 50→52, 60→70."""
    change = ba.paired_statistics(np.array([40.0, 50.0, 60.0]), np.array([46.0, 52.0, 70.0]))
    assert change.status == ba.OK and change.enough and change.message == ""
    assert change.n == 3
    assert change.mean == pytest.approx(6.0)
    assert change.sd == pytest.approx(4.0)
    assert change.ci_low == pytest.approx(-3.936551, abs=1e-6)
    assert change.ci_high == pytest.approx(15.936551, abs=1e-6)
    assert change.t == pytest.approx(2.598076, abs=1e-6)
    assert change.p_value == pytest.approx(0.121690, abs=1e-6)
    assert change.mean_t0 == pytest.approx(50.0) and change.mean_t1 == pytest.approx(56.0)
    # the closed forms the text gives a reader: 6 ± 4.302653 · 4/√3, and p = 1 − |t| / √(t² + 2) for 2 df
    assert change.ci_high - change.mean == pytest.approx(4.302653 * 4 / 3**0.5, abs=1e-6)
    assert change.p_value == pytest.approx(1 - change.t / (change.t**2 + 2) ** 0.5)


def test_the_worked_example_as_columns_overall_a_and_b():
    """The example's three columns at once: overall (3 pairs), A (business 3 has no T1 score: 2 equal
    changes), B (one pair)."""
    t0 = np.array([[40.0, 30.0, 20.0], [50.0, 50.0, NAN], [60.0, 70.0, NAN]])
    t1 = np.array([[46.0, 35.0, 25.0], [52.0, 55.0, 40.0], [70.0, NAN, 30.0]])
    overall, a, b = ba.column_statistics(t0, t1)
    assert (overall.n, overall.mean) == (3, pytest.approx(6.0))
    assert a.status == ba.ALL_EQUAL and a.n == 2
    assert (a.mean, a.ci_low, a.ci_high, a.sd) == (pytest.approx(5.0),) * 3 + (0.0,)
    assert a.p_value is None and a.t is None and a.message == "All changes are equal: no p-value."
    assert b.status == ba.NOT_ENOUGH_PAIRS and b.n == 1 and not b.enough and b.message == "not enough pairs"
    assert (b.mean, b.ci_low, b.ci_high, b.p_value, b.mean_t0) == (None,) * 5


@pytest.mark.parametrize(("t0", "t1", "n"), [
    ([], [], 0),
    ([40.0], [50.0], 1),
    ([40.0, NAN, 60.0], [50.0, 55.0, NAN], 1),  # NaN on either side: the pair does not count
    ([NAN, NAN], [NAN, NAN], 0),
])
def test_fewer_than_two_pairs_give_no_numbers(t0, t1, n):
    change = ba.paired_statistics(np.array(t0), np.array(t1))
    assert change == ba.Change(n, ba.NOT_ENOUGH_PAIRS)


def test_equal_changes_give_the_mean_a_zero_width_interval_and_no_p_and_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # SciPy's "catastrophic cancellation" or a division by zero would fail
        exact = ba.paired_statistics(np.array([10.0, 20.0, 30.0]), np.array([13.0, 23.0, 33.0]))
        # 10 up each, as floats do it: 70.1 - 60.1 is not 80.3 - 70.3 in the last bit
        inexact = ba.paired_statistics(np.array([60.1, 70.3, 10.7]), np.array([70.1, 80.3, 20.7]))
        none = ba.paired_statistics(np.array([50.0, 50.0]), np.array([50.0, 50.0]))
    assert exact == ba.Change(3, ba.ALL_EQUAL, mean=3.0, sd=0.0, ci_low=3.0, ci_high=3.0, mean_t0=20.0,
                              mean_t1=23.0)
    assert inexact.status == ba.ALL_EQUAL and inexact.p_value is None
    assert inexact.mean == pytest.approx(10.0) and inexact.ci_low == inexact.ci_high == inexact.mean
    assert (none.status, none.mean, none.ci_low, none.ci_high, none.p_value) == (ba.ALL_EQUAL, 0.0, 0.0, 0.0, None)


def test_a_nan_dimension_counts_only_its_own_pairs():
    t0 = np.array([40.0, 50.0, 60.0, NAN])
    t1 = np.array([46.0, 52.0, 70.0, 99.0])
    assert ba.paired_statistics(t0, t1) == ba.paired_statistics(t0[:3], t1[:3])


def test_two_pairs_and_a_fall():
    change = ba.paired_statistics(np.array([60.0, 50.0]), np.array([50.0, 46.0]))  # d = -10, -4
    # d̄ = -7, s_d = √18, t_{0.975,1} = 12.706205
    assert change.mean == pytest.approx(-7.0) and change.sd == pytest.approx(18**0.5)
    assert change.ci_low == pytest.approx(-7 - 12.706205 * 3, abs=1e-5)  # s_d/√2 = 3
    assert change.t == pytest.approx(-7 / 3)
    assert 0 < change.p_value < 1


def test_shapes_must_match():
    with pytest.raises(ValueError):
        ba.paired_statistics(np.array([1.0, 2.0]), np.array([1.0]))
    with pytest.raises(ValueError):
        ba.column_statistics(np.zeros((2, 3)), np.zeros((2, 2)))


# -- the windows -----------------------------------------------------------------------------------
START, END = date(2025, 3, 10), date(2025, 3, 14)


def test_the_windows_of_the_method_example():
    cohort = Cohort(name="c", instrument_id="quick-check", instrument_version="1.0", starts_on=START, ends_on=END,
                    join_code="W")
    assert ba.before_window(cohort, 365) == ba.Window(date(2024, 3, 10), date(2025, 3, 9))
    assert ba.after_window(cohort, 180) == ba.Window(date(2025, 3, 15), date(2025, 9, 10))
    assert ba.before_window(cohort, 365).since == datetime(2024, 3, 9, 17, tzinfo=UTC)
    assert ba.after_window(cohort, 180).until == datetime(2025, 9, 10, 17, tzinfo=UTC)


def test_the_settings():
    assert (Settings().cohort_before_days, Settings().cohort_after_days) == (365, 180)


def test_the_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("DXM_COHORT_BEFORE_DAYS", "90")
    monkeypatch.setenv("DXM_COHORT_AFTER_DAYS", "30")
    assert (Settings().cohort_before_days, Settings().cohort_after_days) == (90, 30)


# -- the pairing on a database ---------------------------------------------------------------------
def hanoi(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A moment given as a Hanoi wall-clock time, in UTC (as the app stores it)."""
    return datetime(year, month, day, hour, minute, tzinfo=HANOI).astimezone(UTC)


LATER = hanoi(2025, 12, 1)  # after both windows
DURING = hanoi(2025, 5, 1)  # the after window is still open


def make_cohort(session, members, *, version: str = "1.0", code: str = "BA2025") -> Cohort:
    cohort = Cohort(name="Chuyển đổi số 2025", instrument_id="quick-check", instrument_version=version,
                    starts_on=START, ends_on=END, join_code=code)
    session.add(cohort)
    session.commit()
    for business, left_at in members:
        session.add(CohortMember(cohort_id=cohort.id, business_id=business.id, joined_at=hanoi(2025, 3, 1),
                                 left_at=left_at))
    session.commit()
    return cohort


@pytest.fixture
def owner(session):
    return make_owner(session)


def business(session, owner, name):
    return make_business(session, owner, name=name)


def closed(session, business, moment, pick=0):
    """The round of a one-person copy submitted (and so closed) at ``moment``."""
    return submitted(session, business, pick=pick, now=moment).round_id


def run(session, cohort, now=LATER, before=365, after=180):
    return ba.pairs(session, cohort, before_days=before, after_days=after, now=now)


def test_the_windows_boundaries_in_hanoi_time(session, owner):
    """Exactly 365 days before the start (00:30 in Hanoi: 17:30 UTC the day before) is in, one more day
    out; 23:30 in Hanoi on the eve of the start (16:30 UTC) is before, 00:30 on the start day is not;
    the day after the end and the 180th day after are after, the end day and the 181st are not."""
    first_day, outside = business(session, owner, "A first day"), business(session, owner, "B one day more")
    eve, last_day = business(session, owner, "C eve"), business(session, owner, "D last day")
    in_first = closed(session, first_day, hanoi(2024, 3, 10, 0, 30))
    assert hanoi(2024, 3, 10, 0, 30) == datetime(2024, 3, 9, 17, 30, tzinfo=UTC)
    t1_first = closed(session, first_day, hanoi(2025, 3, 15, 0, 10))
    closed(session, outside, hanoi(2024, 3, 9, 23, 59))
    t1_outside = closed(session, outside, hanoi(2025, 9, 10, 23, 59))
    in_eve = closed(session, eve, datetime(2025, 3, 9, 16, 30, tzinfo=UTC))  # 23:30 in Hanoi on the eve
    closed(session, eve, hanoi(2025, 3, 10, 0, 30))  # the start day: during the course, though later
    closed(session, eve, hanoi(2025, 3, 14, 23, 0))  # the end day: during the course
    t1_eve = closed(session, eve, hanoi(2025, 9, 10, 23, 59))  # the 180th day
    closed(session, last_day, hanoi(2025, 3, 9, 8))
    closed(session, last_day, hanoi(2025, 9, 11, 0, 1))  # the 181st day
    cohort = make_cohort(session, [(b, None) for b in (first_day, outside, eve, last_day)])
    result = run(session, cohort)
    assert [(p.business.name, p.t0.id, p.t1.id) for p in result.pairs] == [
        ("A first day", in_first, t1_first), ("C eve", in_eve, t1_eve)]
    assert [(e.business.name, e.reason, e.t1.id if e.t1 else None) for e in result.excluded] == [
        ("B one day more", ba.NO_T0, t1_outside), ("D last day", ba.NO_T1, None)]
    assert result.excluded[1].t0 is not None and result.excluded[1].message == ba.REASONS[ba.NO_T1]
    # a shorter window, from the settings: 364 days leaves the first day out
    assert [e.business.name for e in run(session, cohort, before=364).excluded if e.reason == ba.NO_T0] == [
        "A first day", "B one day more"]


def test_the_last_before_and_the_first_after_are_chosen_with_their_scores(session, owner):
    several = business(session, owner, "Several")
    closed(session, several, hanoi(2024, 6, 1), pick=0)
    last_before = closed(session, several, hanoi(2024, 12, 1), pick=1)
    first_after = closed(session, several, hanoi(2025, 4, 1), pick=2)
    closed(session, several, hanoi(2025, 6, 1), pick=0)
    cohort = make_cohort(session, [(several, None)])
    result = run(session, cohort)
    assert result.excluded == [] and result.members == 1
    (pair,) = result.pairs
    assert (pair.business_id, pair.t0.id, pair.t1.id) == (several.id, last_before, first_after)
    assert set(pair.t0_scores) == {d.id for d in ba.loader.get("quick-check", "1.0").dimensions}
    assert pair.t1_overall > pair.t0_overall  # the best answers after, middling ones before
    assert all(pair.t1_scores[d] >= pair.t0_scores[d] for d in pair.t0_scores)


def test_a_round_closed_after_now_does_not_count_yet(session, owner):
    one = business(session, owner, "One")
    closed(session, one, hanoi(2025, 1, 5))
    closed(session, one, hanoi(2025, 4, 2))
    cohort = make_cohort(session, [(one, None)])
    (excluded,) = run(session, cohort, now=hanoi(2025, 4, 1)).excluded
    assert excluded.reason == ba.NO_T1_YET
    assert len(run(session, cohort, now=hanoi(2025, 4, 2, 13)).pairs) == 1


def test_members_without_rounds_and_the_after_window_still_open(session, owner):
    nothing, waiting = business(session, owner, "Nothing"), business(session, owner, "Waiting")
    t0 = closed(session, waiting, hanoi(2025, 2, 1))
    cohort = make_cohort(session, [(nothing, None), (waiting, None)])
    for now, reason in [(hanoi(2025, 3, 12), ba.NO_T1_YET),  # during the course
                        (DURING, ba.NO_T1_YET),
                        (hanoi(2025, 9, 10, 23, 59), ba.NO_T1_YET),  # the window's last day, in Hanoi
                        (hanoi(2025, 9, 11, 0, 1), ba.NO_T1)]:  # 17:01 UTC on 10 September: passed
        result = run(session, cohort, now=now)
        assert result.pairs == []
        assert [(e.business.name, e.reason) for e in result.excluded] == [("Nothing", ba.NO_T0), ("Waiting", reason)]
        assert result.excluded[1].t0.id == t0
        assert result.counts() == {ba.NO_T0: 1, ba.NO_T1_YET: int(reason == ba.NO_T1_YET),
                                   ba.NO_T1: int(reason == ba.NO_T1), ba.VERSIONS_DIFFER: 0}


def test_a_member_that_left_counts_only_rounds_closed_before_it_left(session, owner):
    left_early, left_late = business(session, owner, "Left early"), business(session, owner, "Left late")
    for b in (left_early, left_late):
        closed(session, b, hanoi(2025, 1, 10))
    closed(session, left_early, hanoi(2025, 4, 1))  # after it left
    kept = closed(session, left_late, hanoi(2025, 4, 1))
    cohort = make_cohort(session, [(left_early, hanoi(2025, 3, 20)), (left_late, hanoi(2025, 5, 1))])
    result = run(session, cohort, now=DURING + timedelta(days=1))  # the window is open, but it left: no T1
    assert [(p.business.name, p.t1.id) for p in result.pairs] == [("Left late", kept)]
    assert [(e.business.name, e.reason) for e in result.excluded] == [("Left early", ba.NO_T1)]
    # a member that left before the course counts no round after it left, before ones included
    cohort2 = make_cohort(session, [(left_late, hanoi(2025, 1, 1))], code="BA2025B")
    assert [e.reason for e in run(session, cohort2).excluded] == [ba.NO_T0]


def test_other_instruments_and_rounds_without_a_result_do_not_count(session, owner):
    from assessment import rounds

    other = business(session, owner, "Other")
    submitted(session, other, instrument_id="dmat", now=hanoi(2025, 1, 10))
    submitted(session, other, instrument_id="dmat", now=hanoi(2025, 4, 10))
    empty = rounds.open_round(session=session, business=other, user=owner, instrument_id="quick-check").round_id
    round_ = session.get(AssessmentRound, empty)
    rounds.close(session=session, round_=round_, business=other, now=hanoi(2025, 1, 11))  # no copy submitted
    assert round_.status == "closed" and round_.respondents == 0
    cohort = make_cohort(session, [(other, None)])
    assert [e.reason for e in run(session, cohort).excluded] == [ba.NO_T0]


def test_versions_differ(session, owner, monkeypatch):
    """T0 of the cohort's version 1.0, T1 of 2.0 (a copy of 1.0 published as 2.0): excluded, even with a
    later round of 1.0 in the window; a T0 of 2.0 is no T0 of a 1.0 cohort."""
    from questionnaires import loader

    mixed, newer = business(session, owner, "Mixed"), business(session, owner, "Newer only")
    t0 = closed(session, mixed, hanoi(2025, 1, 10))
    bundled = loader.bundled()
    old = bundled["quick-check"]["1.0"]
    monkeypatch.setattr(loader, "bundled", lambda: {**bundled, "quick-check": {"1.0": old,
                                                                               "2.0": old.model_copy(
                                                                                   update={"version": "2.0"})}})
    t1 = closed(session, mixed, hanoi(2025, 4, 1))
    closed(session, newer, hanoi(2025, 1, 10))
    closed(session, newer, hanoi(2025, 4, 1))
    cohort = make_cohort(session, [(mixed, None), (newer, None)])
    result = run(session, cohort)
    assert result.pairs == [] and result.version == "1.0"
    assert [(e.business.name, e.reason) for e in result.excluded] == [
        ("Newer only", ba.NO_T0), ("Mixed", ba.VERSIONS_DIFFER)]
    differ = result.excluded[1]
    assert (differ.t0.id, differ.t1.id, differ.t1.instrument_version) == (t0, t1, "2.0")
    # a 2.0 cohort pairs the business that has both in 2.0, and has no T0 for the other
    cohort2 = make_cohort(session, [(mixed, None), (newer, None)], version="2.0", code="BA2025V")
    result2 = run(session, cohort2)
    assert [p.business.name for p in result2.pairs] == ["Newer only"]
    assert [(e.business.name, e.reason) for e in result2.excluded] == [("Mixed", ba.NO_T0)]


def test_the_pairing_takes_three_queries_whatever_the_number_of_members(session, owner, engine):
    members = [business(session, owner, f"B{i}") for i in range(6)]
    for i, b in enumerate(members):
        if i % 2 == 0:
            closed(session, b, hanoi(2025, 1, 10 + i))
        if i % 3 == 0:
            closed(session, b, hanoi(2025, 4, 10 + i))
    cohort = make_cohort(session, [(b, None) for b in members])
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        result = run(session, cohort)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3
    assert result.members == 6 and len(result.pairs) == 1  # B0; B3 has no T0


def test_before_after_of_a_cohort(session, owner):
    """One row per dimension of the cohort's version, in order, then the overall; the numbers are the
    statistics of the pairs' stored scores."""
    picks = [(0, 1), (0, 2), (1, 2)]
    names = ["P1", "P2", "P3"]
    businesses_ = [business(session, owner, n) for n in names]
    for b, (before, after) in zip(businesses_, picks, strict=True):
        closed(session, b, hanoi(2025, 2, 1), pick=before)
        closed(session, b, hanoi(2025, 5, 1), pick=after)
    nobody = business(session, owner, "P4 no rounds")
    cohort = make_cohort(session, [(b, None) for b in (*businesses_, nobody)])
    settings = Settings(cohort_before_days=365, cohort_after_days=180)
    result = ba.before_after(session, cohort, settings=settings, now=LATER)
    instrument = ba.loader.get("quick-check", "1.0")
    assert [r.dimension_id for r in result.rows] == [d.id for d in instrument.dimensions] + [None]
    assert result.overall.is_overall and result.overall is result.rows[-1]
    assert [r.dimension for r in result.dimension_rows] == list(instrument.dimensions)
    assert [(e.business.name, e.reason) for e in result.excluded] == [("P4 no rounds", ba.NO_T0)]
    pairs_ = result.pairing.pairs
    assert [p.business.name for p in pairs_] == names
    overall = result.overall.change
    expected = ba.paired_statistics(np.array([p.t0_overall for p in pairs_]), np.array([p.t1_overall for p in pairs_]))
    assert overall == expected and overall.n == 3 and overall.mean > 0
    for row in result.dimension_rows:
        t0 = np.array([p.t0_scores[row.dimension_id] for p in pairs_], dtype=float)
        t1 = np.array([p.t1_scores[row.dimension_id] for p in pairs_], dtype=float)
        assert row.change == ba.paired_statistics(t0, t1)


def test_before_after_with_one_pair_says_not_enough_pairs(session, owner):
    only = business(session, owner, "Only")
    closed(session, only, hanoi(2025, 2, 1))
    closed(session, only, hanoi(2025, 5, 1), pick=2)
    cohort = make_cohort(session, [(only, None)])
    result = ba.before_after(session, cohort, settings=Settings(), now=LATER)
    assert len(result.pairing.pairs) == 1
    assert all(r.change == ba.Change(1, ba.NOT_ENOUGH_PAIRS) for r in result.rows)


def test_before_after_of_an_empty_cohort(session):
    cohort = make_cohort(session, [])
    result = ba.before_after(session, cohort, settings=Settings(), now=LATER)
    assert result.pairing.members == 0 and result.excluded == []
    assert all(r.change == ba.Change(0, ba.NOT_ENOUGH_PAIRS) for r in result.rows)
