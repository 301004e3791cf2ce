"""A course's before and after (docs/method.md section 10): each member business's last round before
the course (T0) paired with its first round after it (T1), and per dimension and overall the mean
paired change with its 95 % confidence interval and the paired t-test's p-value.

Every member is accounted for: a member without both rounds, or whose two rounds are of different
versions, is listed with its reason, never dropped. "Now" is always passed in (the caller passes
``assessment.models.utcnow()``; tests pass the moment they need).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from scipy import stats  # type: ignore[import-untyped]  # no stubs in the lock files
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from assessment.access import HANOI, hanoi_date
from assessment.messages import N_
from assessment.models import AssessmentRound, Business, Cohort, CohortMember, RoundResult
from assessment.settings import Settings
from questionnaires import loader
from questionnaires.schema import Dimension, Instrument

CONFIDENCE = 0.95
#: changes within this many points of their mean are "all equal" (scores are 0-100, stored as floats)
EQUAL_TOLERANCE = 1e-9

# -- why a member has no pair (stable codes, shown through their messages) ----------------------
NO_T0 = "no_t0"
NO_T1_YET = "no_t1_yet"
NO_T1 = "no_t1"
VERSIONS_DIFFER = "versions_differ"
REASONS = {  # in the order they are counted and listed
    NO_T0: N_("No round before the course: none of the course's questionnaire version closed in the "
              "window before it started."),
    NO_T1_YET: N_("No round after the course yet: the window after it is still open."),
    NO_T1: N_("No round after the course: none closed in the window after it ended."),
    VERSIONS_DIFFER: N_("Its rounds before and after the course are of different questionnaire versions."),
}

# -- what a column's statistics are -------------------------------------------------------------
OK = "ok"
NOT_ENOUGH_PAIRS = "not_enough_pairs"
ALL_EQUAL = "all_equal"
STATUSES = {
    OK: "",
    NOT_ENOUGH_PAIRS: N_("not enough pairs"),
    ALL_EQUAL: N_("All changes are equal: no p-value."),
}


# -- the windows --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Window:
    """Dates in Asia/Ho_Chi_Minh, both included."""

    first: date
    last: date

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last

    @property
    def since(self) -> datetime:
        """The first instant of the window, in UTC (SQLite keeps a timestamp's wall time, not its zone)."""
        return _midnight(self.first)

    @property
    def until(self) -> datetime:
        """The first instant after the window, in UTC."""
        return _midnight(self.last + timedelta(days=1))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, HANOI).astimezone(UTC)




def before_window(cohort: Cohort, before_days: int) -> Window:
    """T0's window: from ``before_days`` before the start to the eve of the start; the start day is
    part of the course, not before it."""
    return Window(cohort.starts_on - timedelta(days=before_days), cohort.starts_on - timedelta(days=1))


def after_window(cohort: Cohort, after_days: int) -> Window:
    """T1's window: from the day after the end to ``after_days`` after it; the end day is part of the
    course, not after it."""
    return Window(cohort.ends_on + timedelta(days=1), cohort.ends_on + timedelta(days=after_days))


def version_of(cohort: Cohort) -> str:
    """The version the cohort compares (the newest one for a cohort that recorded none)."""
    return cohort.instrument_version or loader.latest(cohort.instrument_id).version


# -- pairing ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    """A member business with both rounds, of the same version."""

    business: Business
    member: CohortMember
    t0: AssessmentRound
    t1: AssessmentRound
    t0_scores: dict[str, float | None]  # dimension id -> the round's combined score (round_result)
    t1_scores: dict[str, float | None]

    @property
    def business_id(self) -> int:
        return self.business.id  # type: ignore[return-value]

    @property
    def t0_overall(self) -> float | None:
        return self.t0.overall_score

    @property
    def t1_overall(self) -> float | None:
        return self.t1.overall_score


@dataclass(frozen=True)
class Excluded:
    """A member business without a pair, with the reason and whichever of its rounds was found."""

    business: Business
    member: CohortMember
    reason: str  # a key of REASONS
    t0: AssessmentRound | None = None
    t1: AssessmentRound | None = None

    @property
    def business_id(self) -> int:
        return self.business.id  # type: ignore[return-value]

    @property
    def message(self) -> str:
        return REASONS[self.reason]


@dataclass(frozen=True)
class Pairing:
    version: str  # the instrument version compared (the cohort's)
    before: Window
    after: Window
    pairs: list[Pair]
    excluded: list[Excluded]  # in the order of REASONS, then by business name

    @property
    def members(self) -> int:
        return len(self.pairs) + len(self.excluded)

    def counts(self) -> dict[str, int]:
        """How many members are excluded for each reason (every reason, in order, zeros included)."""
        return {reason: sum(e.reason == reason for e in self.excluded) for reason in REASONS}


def pairs(session: Session, cohort: Cohort, *, before_days: int, after_days: int, now: datetime) -> Pairing:
    """Every member business of ``cohort`` (also those that left), paired or excluded with a reason.

    T0 is the member's last closed round with a result of the cohort's instrument and version closed on
    a Hanoi date in ``before_window``; T1 its first closed round with a result of the instrument (any
    version: another version excludes the member) closed on a Hanoi date in ``after_window``. A member
    that left counts only rounds closed up to the moment it left; rounds closed after ``now`` do not
    count yet. Three queries whatever the number of members."""
    version = version_of(cohort)
    before, after = before_window(cohort, before_days), after_window(cohort, after_days)
    members = session.exec(
        select(Business, CohortMember).join(CohortMember, col(CohortMember.business_id) == Business.id)
        .where(CohortMember.cohort_id == cohort.id).order_by(col(Business.name), col(Business.id))).all()
    closed_at = col(AssessmentRound.closed_at)
    candidates = session.exec(
        select(AssessmentRound)
        .join(CohortMember, and_(col(CohortMember.business_id) == AssessmentRound.business_id,
                                 col(CohortMember.cohort_id) == cohort.id))
        .where(AssessmentRound.instrument_id == cohort.instrument_id, AssessmentRound.status == "closed",
               AssessmentRound.respondents > 0, closed_at.is_not(None), closed_at <= now,
               or_(col(CohortMember.left_at).is_(None), closed_at <= CohortMember.left_at),
               or_(and_(closed_at >= before.since, closed_at < before.until,
                        col(AssessmentRound.instrument_version) == version),
                   and_(closed_at >= after.since, closed_at < after.until)))
        .order_by(col(AssessmentRound.business_id), closed_at, col(AssessmentRound.id))).all()
    t0_of: dict[int, AssessmentRound] = {}
    t1_of: dict[int, AssessmentRound] = {}
    for round_ in candidates:  # oldest first: the last T0 wins, the first T1 stays
        if round_.closed_at is None:
            continue
        day = hanoi_date(round_.closed_at)
        if before.contains(day):
            t0_of[round_.business_id] = round_
        elif after.contains(day):
            t1_of.setdefault(round_.business_id, round_)
    today = hanoi_date(now)
    found: list[tuple[Business, CohortMember, AssessmentRound, AssessmentRound]] = []
    excluded: list[Excluded] = []
    for business, member in members:
        t0, t1 = t0_of.get(business.id), t1_of.get(business.id)  # type: ignore[arg-type]
        if t0 is None:
            excluded.append(Excluded(business, member, NO_T0, None, t1))
        elif t1 is None:
            waiting = member.left_at is None and today <= after.last
            excluded.append(Excluded(business, member, NO_T1_YET if waiting else NO_T1, t0, None))
        elif t1.instrument_version != t0.instrument_version:
            excluded.append(Excluded(business, member, VERSIONS_DIFFER, t0, t1))
        else:
            found.append((business, member, t0, t1))
    scores = _round_scores(session, [r.id for *_, t0, t1 in found for r in (t0, t1)])  # type: ignore[misc]
    paired = [Pair(b, m, t0, t1, scores.get(t0.id, {}), scores.get(t1.id, {}))  # type: ignore[arg-type]
              for b, m, t0, t1 in found]
    order = list(REASONS)
    excluded.sort(key=lambda e: order.index(e.reason))  # stable: by name within a reason
    return Pairing(version, before, after, paired, excluded)


def _round_scores(session: Session, round_ids: Sequence[int]) -> dict[int, dict[str, float | None]]:
    if not round_ids:
        return {}
    out: dict[int, dict[str, float | None]] = {}
    for row in session.exec(select(RoundResult).where(col(RoundResult.round_id).in_(round_ids))):
        out.setdefault(row.round_id, {})[row.dimension_id] = row.score
    return out


# -- the statistics -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """The paired change t1 - t0 of one column (a dimension or the overall score). With fewer than 2
    pairs (``NOT_ENOUGH_PAIRS``) only ``n`` is set; when every change is the same (``ALL_EQUAL``) the
    interval has zero width and there is no t or p."""

    n: int  # pairs with a score at both T0 and T1
    status: str = OK  # OK, NOT_ENOUGH_PAIRS or ALL_EQUAL
    mean: float | None = None  # d̄
    sd: float | None = None  # s_d (n - 1 in the denominator)
    ci_low: float | None = None
    ci_high: float | None = None
    t: float | None = None
    p_value: float | None = None  # two-sided
    mean_t0: float | None = None  # the mean score at T0 and at T1 of the same pairs
    mean_t1: float | None = None

    @property
    def enough(self) -> bool:
        return self.status != NOT_ENOUGH_PAIRS

    @property
    def message(self) -> str:
        """What to show instead of (or beside) the numbers; empty when there is nothing to say."""
        return STATUSES[self.status]


def paired_statistics(t0: np.ndarray, t1: np.ndarray) -> Change:
    """The paired change of one column: ``t0[i]`` and ``t1[i]`` are one business's scores; a pair
    where either is NaN does not count. The interval uses Student's t with n - 1 degrees of freedom;
    the p-value is ``scipy.stats.ttest_rel``'s (two-sided)."""
    before, after = np.asarray(t0, dtype=float), np.asarray(t1, dtype=float)
    if before.ndim != 1 or before.shape != after.shape:
        raise ValueError(f"paired columns of equal length expected, got {before.shape} and {after.shape}")
    both = ~np.isnan(before) & ~np.isnan(after)
    before, after = before[both], after[both]
    n = int(before.size)
    if n < 2:
        return Change(n, NOT_ENOUGH_PAIRS)
    d = after - before
    mean = float(d.mean())
    means = {"mean_t0": float(before.mean()), "mean_t1": float(after.mean())}
    if float(np.max(np.abs(d - mean))) <= EQUAL_TOLERANCE:  # no variance: t and p are undefined
        return Change(n, ALL_EQUAL, mean=mean, sd=0.0, ci_low=mean, ci_high=mean, **means)
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1)) * sd / math.sqrt(n)
    test = stats.ttest_rel(after, before)
    return Change(n, OK, mean=mean, sd=sd, ci_low=mean - half, ci_high=mean + half, t=float(test.statistic),
                  p_value=float(test.pvalue), **means)


def column_statistics(t0: np.ndarray, t1: np.ndarray) -> list[Change]:
    """``paired_statistics`` of every column of two (pairs × columns) matrices."""
    before, after = np.asarray(t0, dtype=float), np.asarray(t1, dtype=float)
    if before.ndim != 2 or before.shape != after.shape:
        raise ValueError(f"paired matrices of equal shape expected, got {before.shape} and {after.shape}")
    return [paired_statistics(before[:, j], after[:, j]) for j in range(before.shape[1])]


# -- both together ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """One line of the table (and one bar of the chart): a dimension, or the overall score."""

    dimension: Dimension | None  # None: the overall score
    change: Change

    @property
    def dimension_id(self) -> str | None:
        return None if self.dimension is None else self.dimension.id

    @property
    def is_overall(self) -> bool:
        return self.dimension is None


@dataclass(frozen=True)
class BeforeAfter:
    instrument: Instrument  # the cohort's version: its dimensions name the rows
    pairing: Pairing
    rows: list[Row]  # the instrument's dimensions in order, then the overall score (last)

    @property
    def overall(self) -> Row:
        return self.rows[-1]

    @property
    def dimension_rows(self) -> list[Row]:
        return self.rows[:-1]

    @property
    def excluded(self) -> list[Excluded]:
        return self.pairing.excluded


def score_matrices(pairing: Pairing, instrument: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """T0 and T1 scores as (pairs × (dimensions + 1)) matrices: the instrument's dimensions in order,
    then the overall score; NaN where a round has no score."""
    ids = [d.id for d in instrument.dimensions]

    def row(scores: dict[str, float | None], overall: float | None) -> list[float]:
        values = [scores.get(i) for i in ids] + [overall]
        return [np.nan if v is None else float(v) for v in values]

    width = len(ids) + 1
    t0 = np.array([row(p.t0_scores, p.t0_overall) for p in pairing.pairs], dtype=float).reshape(-1, width)
    t1 = np.array([row(p.t1_scores, p.t1_overall) for p in pairing.pairs], dtype=float).reshape(-1, width)
    return t0, t1


def before_after(session: Session, cohort: Cohort, *, settings: Settings, now: datetime) -> BeforeAfter:
    """The cohort's before/after with the windows of ``settings`` (``cohort_before_days``,
    ``cohort_after_days``), as of ``now``."""
    pairing = pairs(session, cohort, before_days=settings.cohort_before_days,
                    after_days=settings.cohort_after_days, now=now)
    instrument = loader.get(cohort.instrument_id, pairing.version)
    t0, t1 = score_matrices(pairing, instrument)
    changes = column_statistics(t0, t1)
    rows = [Row(d, c) for d, c in zip(instrument.dimensions, changes[:-1], strict=True)] + [Row(None, changes[-1])]
    return BeforeAfter(instrument, pairing, rows)
