"""A synthetic city, so the department's view can be tried and measured at Hanoi's scale:
``dxm demo city --businesses N [--seed S]`` and ``--remove``.

Plausible, not real: businesses across the 126 wards and communes (more in the inner-city wards),
VSIC sections and size classes skewed as a city is (most of them micro firms in trade and services),
with rounds spread over ten quarters whose maturity depends on the sector, the size, the ward and
the business, and rises over time; one round in ten answered by two or three people; and courses
whose members' rounds after the course rise more than other businesses' do.

Every round is stored as the app stores one: each copy's answers, its scores from the real engine
(``scoring.score``, one vectorised call per chunk of copies), the round's combined result
(``scoring.from_dimension_scores`` of the copies' means, as ``combine_respondents`` does), the
frozen keys and the latest-round flags, then the city's summary table (``summary.rebuild``).
Synthetic people share one precomputed password hash (hashing each would take hours) and an
address at ``SYNTHETIC_DOMAIN``; a synthetic business is one whose owner is synthetic, so
``remove`` takes every synthetic row out again. Rows go in by COPY on PostgreSQL and by batched
``executemany`` on SQLite, chunk by chunk, so memory stays flat. The same seed gives the same city.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from assessment import accounts, consent, reference, sizing
from assessment.access import HANOI
from assessment.city import summary
from assessment.db import continue_ids_after_rows
from assessment.models import (
    Answer,
    Assessment,
    AssessmentRound,
    Business,
    BusinessMember,
    Cohort,
    CohortMember,
    CohortTrainer,
    Consent,
    DimensionResult,
    RoundResult,
    User,
)
from assessment.scores import model_for
from assessment.taxcode import check_digit
from questionnaires import loader
from questionnaires.schema import Instrument
from scoring import NO_LEVEL, from_dimension_scores, score

SYNTHETIC_DOMAIN = "synthetic.dxmaturity.invalid"  # .invalid: no mail can ever reach one (RFC 2606)
PASSWORD = "synthetic-city-2026"
CHUNK = 20_000  # businesses generated and written at a time
QUARTERS = 10  # rounds close over the ten quarters up to the current one
INSTRUMENTS = (("quick-check", 0.85), ("dmat", 0.15))  # which questionnaire a business answers
TAX_PREFIX = "08"  # synthetic tax codes: 08 + 7 digits + check digit, counted up
# a city's mix: trade and services first (weights per VSIC section, roughly the capital's register)
SECTION_WEIGHTS = {"A": 1.5, "B": 0.2, "C": 12, "D": 0.3, "E": 0.5, "F": 10, "G": 35, "H": 6, "I": 8, "J": 4,
                   "K": 1, "L": 3, "M": 6, "N": 4, "O": 0.05, "P": 2, "Q": 1.5, "R": 1, "S": 3, "T": 0.05, "U": 0.01}
SECTION_EFFECT = {"J": 0.2, "K": 0.15, "M": 0.1, "D": 0.05, "Q": 0.05, "P": 0.03, "G": 0.0, "N": 0.0, "C": -0.02,
                  "H": -0.03, "I": -0.04, "L": 0.02, "F": -0.08, "A": -0.15, "B": -0.1, "E": -0.06, "S": -0.05}
SIZE_WEIGHTS = {"micro": 0.70, "small": 0.24, "medium": 0.04, "large": 0.02}
SIZE_EFFECT = {"micro": -0.08, "small": 0.0, "medium": 0.08, "large": 0.12}
EMPLOYEES = {"micro": (1, 10), "small": (11, 50), "medium": (51, 100), "large": (101, 400)}
PER_QUARTER = 0.02  # maturity gained per quarter by every business
COURSE_GAIN = 0.10  # and once more by a course's members, after it
COURSE_SHARE = 0.04  # of businesses in a course
COURSE_SIZE = 25


@dataclass(frozen=True)
class Built:
    businesses: int
    rounds: int
    copies: int
    answers: int
    cohorts: int


# -- writing ----------------------------------------------------------------------------------
def _t(model: Any) -> sa.Table:
    """A model's table (SQLModel's classes do not declare ``__table__`` to type checkers)."""
    return model.__table__  # type: ignore[no-any-return]


def _columns(table: sa.Table, names: Sequence[str]) -> list[sa.Column[Any]]:
    return [table.c[n] for n in names]


def _write(connection: Connection, table: sa.Table, names: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Insert rows (tuples in the order of ``names``): COPY on PostgreSQL, executemany in batches on
    SQLite (through SQLAlchemy's types, so moments and booleans are stored as the app stores them)."""
    count = 0
    if connection.dialect.name == "postgresql":
        driver: Any = connection.connection.driver_connection
        columns = ", ".join(f'"{n}"' for n in names)
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    statement = table.insert()
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(names, row, strict=True)))
        if len(batch) == 50_000:
            connection.execute(statement, batch)
            count += len(batch)
            batch = []
    if batch:
        connection.execute(statement, batch)
        count += len(batch)
    return count


def _next_id(connection: Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar() or 0) + 1


def _tax_codes(start: int) -> Iterator[str]:
    for n in range(start, 10_000_000):
        first_nine = f"{TAX_PREFIX}{n:07d}"
        digit = check_digit(first_nine)
        if digit is not None:
            yield first_nine + str(digit)


# -- the people and the businesses ------------------------------------------------------------
def _quarter_starts(today: date) -> list[datetime]:
    """The first instant (UTC) of each of the QUARTERS quarters up to today's, in Hanoi."""
    year, quarter = today.year, (today.month - 1) // 3
    starts = []
    for back in range(QUARTERS - 1, -1, -1):
        q = quarter - back
        y = year + q // 4
        starts.append(datetime(y, (q % 4) * 3 + 1, 1, tzinfo=HANOI).astimezone(UTC))
    return starts


def _level_ids(instrument: Instrument, index: np.ndarray) -> list[str | None]:
    ids = [lv.id for lv in instrument.levels]
    return [None if i == NO_LEVEL else ids[i] for i in index.tolist()]


def _none(values: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in values.tolist()]


class _City:
    """The generator: every random draw comes from one seeded generator, in one order."""

    def __init__(self, connection: Connection, seed: int, now: datetime) -> None:
        self.connection, self.rng, self.now = connection, np.random.default_rng(seed), now
        wards = reference.wards()
        self.ward_codes = list(wards)
        weight = np.array([3.0 if wards[c].type == "ward" else 1.0 for c in self.ward_codes])
        weight *= self.rng.lognormal(0, 0.4, len(weight))
        self.ward_p = weight / weight.sum()
        self.ward_effect = np.array([0.04 if wards[c].type == "ward" else -0.04 for c in self.ward_codes]
                                    ) + self.rng.normal(0, 0.03, len(self.ward_codes))
        self.sections = list(SECTION_WEIGHTS)
        section_weight = np.array(list(SECTION_WEIGHTS.values()))
        self.section_p = section_weight / section_weight.sum()
        self.sizes = list(SIZE_WEIGHTS)
        self.size_p = np.array(list(SIZE_WEIGHTS.values()))
        self.starts = _quarter_starts(now.astimezone(HANOI).date())
        self.hash = accounts.HASHER.hash(PASSWORD)
        self.ids = {t.name: _next_id(connection, t) for t in
                    (_t(User), _t(Business), _t(AssessmentRound), _t(Assessment),
                     _t(DimensionResult), _t(Cohort))}
        taken = connection.execute(sa.select(sa.func.max(_t(Business).c.tax_code)).where(
            _t(Business).c.tax_code.like(TAX_PREFIX + "%"))).scalar()
        self.codes = _tax_codes(int(taken[2:9]) + 1 if taken else 0)
        self.hashes = {i: loader.content_hash(loader.latest(i)) for i, _ in INSTRUMENTS}

    def take(self, table: str, n: int) -> np.ndarray:
        first = self.ids[table]
        self.ids[table] += n
        return np.arange(first, first + n, dtype=np.int64)

    def chunk(self, n: int) -> tuple[int, int, int]:
        """n businesses with their owners, rounds, copies and answers; (rounds, copies, answers)."""
        rng, c = self.rng, self.connection
        business_ids, owner_ids = self.take("business", n), self.take("user", n)
        ward = rng.choice(len(self.ward_codes), size=n, p=self.ward_p)
        section = rng.choice(len(self.sections), size=n, p=self.section_p)
        size = rng.choice(len(self.sizes), size=n, p=self.size_p)
        low = np.array([EMPLOYEES[s][0] for s in self.sizes])[size]
        high = np.array([EMPLOYEES[s][1] for s in self.sizes])[size]
        employees = rng.integers(low, high + 1)
        revenue = np.round(rng.lognormal(np.log(np.maximum(employees, 1) * 0.8), 0.5), 1)
        capital = np.round(revenue * rng.uniform(0.2, 0.8, n), 1)
        groups = reference.sections()
        size_class = [sizing.size_class(groups[self.sections[s]].group, int(e), float(r), float(k))
                      for s, e, r, k in zip(section, employees, revenue, capital, strict=True)]
        created = self.starts[0] - timedelta(days=30)
        section_codes = [self.sections[s] for s in section]
        ward_codes = [self.ward_codes[w] for w in ward]
        _write(c, _t(User), ("id", "email", "password_hash", "role", "display_name", "language", "created_at"),
               ((int(u), f"owner{u}@{SYNTHETIC_DOMAIN}", self.hash, "owner", f"Chủ doanh nghiệp {u}", "vi", created)
                for u in owner_ids))
        _write(c, _t(Business), ("id", "name", "tax_code", "ward_code", "vsic_version", "vsic_section",
                                       "employees", "revenue_bn", "capital_bn", "size_class", "created_at"),
               ((int(b), f"Doanh nghiệp mô phỏng {b}", next(self.codes), w, "2018", s, int(e), float(r), float(k),
                 z, created) for b, w, s, e, r, k, z in zip(business_ids, ward_codes, section_codes, employees,
                                                               revenue, capital, size_class, strict=True)))
        _write(c, _t(BusinessMember), ("business_id", "user_id", "role", "created_at"),
               ((int(b), int(u), "owner", created) for b, u in zip(business_ids, owner_ids, strict=True)))
        # as if ticked at sign-up: the service, and the city statistics (which count only such businesses)
        _write(c, _t(Consent), ("user_id", "purpose", "text_version", "language", "given_at"),
               ((int(u), purpose, consent.TEXTS[purpose].version, "vi", created)
                for u in owner_ids for purpose in ("service", "statistics")))
        latent = (0.35 + np.array([SECTION_EFFECT.get(s, 0.0) for s in section_codes])
                  + np.array([SIZE_EFFECT[z] for z in size_class]) + self.ward_effect[ward] + rng.normal(0, 0.12, n))
        # rounds: the first in a random quarter, the next ones 1 to 3 quarters apart, up to today's quarter
        per_business = np.minimum(1 + rng.poisson(1.0, n), 5)
        first = rng.integers(0, QUARTERS, n)
        course = rng.random(n) < COURSE_SHARE  # members: two rounds, around a course between them
        per_business[course] = 2
        first[course] = rng.integers(0, QUARTERS - 3, int(course.sum()))
        b_index = np.repeat(np.arange(n), per_business)
        step = rng.integers(1, 4, b_index.size)
        step[np.r_[0, np.flatnonzero(np.diff(b_index)) + 1]] = 0  # each business's first round: no step
        step[np.isin(b_index, np.flatnonzero(course))] *= 0
        quarter = first[b_index] + _cumulative(b_index, step)
        quarter[course[b_index]] = first[b_index][course[b_index]] + np.tile([0, 2], int(course.sum()))
        keep = quarter < QUARTERS
        b_index, quarter = b_index[keep], quarter[keep]
        instrument_of = rng.choice(len(INSTRUMENTS), size=n, p=[w for _, w in INSTRUMENTS])
        quick = [i for i, (name, _) in enumerate(INSTRUMENTS) if name == "quick-check"][0]
        course &= instrument_of == quick  # the courses compare quick-check rounds
        rounds_written = copies_written = answers_written = 0
        for i, (instrument_id, _) in enumerate(INSTRUMENTS):
            mine = instrument_of[b_index] == i
            if not mine.any():
                continue
            r, k, a = self._rounds(instrument_id, business_ids, owner_ids, b_index[mine], quarter[mine], latent,
                                   course, section_codes, size_class, ward_codes)
            rounds_written, copies_written, answers_written = (rounds_written + r, copies_written + k,
                                                               answers_written + a)
        self._cohorts(business_ids, [(int(b), int(first[b])) for b in np.flatnonzero(course)])
        return rounds_written, copies_written, answers_written

    def _rounds(self, instrument_id: str, business_ids: np.ndarray, owner_ids: np.ndarray, b_index: np.ndarray,
                quarter: np.ndarray, latent: np.ndarray, course: np.ndarray, sections: list[str],
                sizes: list[str], wards: list[str]) -> tuple[int, int, int]:
        rng, c = self.rng, self.connection
        instrument = loader.latest(instrument_id)
        model = model_for(instrument.id, instrument.version)
        n_rounds = b_index.size
        round_ids = self.take("assessment_round", n_rounds)
        offset = rng.uniform(0, 85, n_rounds)  # days into the quarter
        closed = [self.starts[q] + timedelta(days=float(d)) for q, d in zip(quarter, offset, strict=True)]
        closed = [min(t, self.now - timedelta(minutes=1)) for t in closed]
        # copies: one, or two or three people for one round in ten
        copies = np.where(rng.random(n_rounds) < 0.1, rng.integers(2, 4, n_rounds), 1)
        r_index = np.repeat(np.arange(n_rounds), copies)
        n_copies = r_index.size
        copy_ids = self.take("assessment", n_copies)
        first_copy = np.r_[0, np.flatnonzero(np.diff(r_index)) + 1]
        colleague = np.ones(n_copies, dtype=bool)
        colleague[first_copy] = False
        respondent_ids = owner_ids[b_index[r_index]].copy()
        extra = np.flatnonzero(colleague)
        if extra.size:
            people = self.take("user", extra.size)
            respondent_ids[extra] = people
            created = self.starts[0]
            _write(c, _t(User), ("id", "email", "password_hash", "role", "display_name", "language",
                                       "created_at"),
                   ((int(u), f"colleague{u}@{SYNTHETIC_DOMAIN}", self.hash, "owner", f"Đồng nghiệp {u}", "vi", created)
                    for u in people))
            pairs = sorted({(int(business_ids[b_index[r_index[j]]]), int(respondent_ids[j])) for j in extra})
            _write(c, _t(BusinessMember), ("business_id", "user_id", "role", "created_at"),
                   ((b, u, "respondent", created) for b, u in pairs))
        # each copy's skill: the business's, its sector, size and ward in it, plus time and the course
        b_of_copy = b_index[r_index]
        starts = np.r_[0, np.flatnonzero(np.diff(b_index)) + 1]
        rank = np.arange(n_rounds) - np.repeat(starts, np.diff(np.r_[starts, n_rounds]))  # 0: a business's first
        after_course = course[b_index] & (rank >= 1)
        skill = (latent[b_of_copy] + PER_QUARTER * quarter[r_index] + COURSE_GAIN * after_course[r_index]
                 + rng.normal(0, 0.08, n_copies))
        skill = np.clip(skill, 0.02, 0.98)
        codes, mask = self._answers(instrument, model, skill, [sections[b] for b in b_of_copy],
                                    [sizes[b] for b in b_of_copy])
        result = score(codes, model, applicable=mask, validate=False)
        # the rounds' results: per dimension the mean of its copies' scores, then the instrument's rules
        dims = result.dimension_scores
        has = ~np.isnan(dims)
        sums = np.zeros((n_rounds, dims.shape[1]))
        counts = np.zeros((n_rounds, dims.shape[1]))
        np.add.at(sums, r_index, np.where(has, dims, 0.0))
        np.add.at(counts, r_index, has)
        lows = np.full((n_rounds, dims.shape[1]), np.inf)
        highs = np.full((n_rounds, dims.shape[1]), -np.inf)
        np.minimum.at(lows, r_index, np.where(has, dims, np.inf))
        np.maximum.at(highs, r_index, np.where(has, dims, -np.inf))
        with np.errstate(invalid="ignore", divide="ignore"):
            means = np.where(counts > 0, sums / counts, np.nan)
        combined = from_dimension_scores(means, model)
        # the flags: each business's latest round overall, in its quarter and in its year
        closed_quarter = np.array([_quarter_of(t) for t in closed])
        closed_year = closed_quarter // 10
        moments = np.array([t.timestamp() for t in closed])
        latest = _latest(b_index, None, moments)
        latest_q = _latest(b_index, closed_quarter, moments)
        latest_y = _latest(b_index, closed_year, moments)
        name = instrument.version
        _write(c, _t(AssessmentRound), (
            "id", "business_id", "name", "instrument_id", "instrument_version", "status", "created_at", "closed_at",
            "instrument_hash", "ward_code", "vsic_section", "size_class", "respondents", "overall_score",
            "overall_level", "closed_quarter", "closed_year", "is_latest", "latest_in_quarter", "latest_in_year"),
            ((int(rid), int(business_ids[b]), f"{int(q) // 10} Q{int(q) % 10}", instrument.id, name, "closed",
              t - timedelta(days=1), t, self.hashes[instrument_id], wards[b], sections[b], sizes[b], int(k),
              o, lv, int(q), int(y), bool(li), bool(lq), bool(ly))
             for rid, b, t, k, o, lv, q, y, li, lq, ly in zip(
                 round_ids, b_index, closed, copies, _none(combined.overall),
                 _level_ids(instrument, combined.overall_level), closed_quarter, closed_year, latest, latest_q,
                 latest_y, strict=True)))
        dimension_ids = [d.id for d in instrument.dimensions]
        level_of = [_level_ids(instrument, combined.dimension_levels[:, d]) for d in range(len(dimension_ids))]
        _write(c, _t(RoundResult), ("round_id", "dimension_id", "score", "level", "respondents", "low", "high"),
               ((int(round_ids[r]), dimension_ids[d], None if np.isnan(means[r, d]) else float(means[r, d]),
                 level_of[d][r], int(counts[r, d]), float(lows[r, d]) if counts[r, d] else None,
                 float(highs[r, d]) if counts[r, d] else None)
                for r in range(n_rounds) for d in range(len(dimension_ids))))
        roles = np.where(colleague, "respondent", "owner")
        copy_closed = [closed[r] for r in r_index]
        _write(c, _t(Assessment), (
            "id", "round_id", "business_id", "respondent_id", "instrument_id", "instrument_version", "status",
            "created_at", "updated_at", "submitted_at", "vsic_section", "size_class", "respondent_role",
            "overall_score", "overall_level"),
            ((int(a), int(round_ids[r]), int(business_ids[b_index[r]]), int(p), instrument.id, name, "submitted",
              t - timedelta(days=1), t, t, sections[b_index[r]], sizes[b_index[r]], role, o, lv)
             for a, r, p, t, role, o, lv in zip(copy_ids, r_index, respondent_ids, copy_closed, roles,
                                                _none(result.overall), _level_ids(instrument, result.overall_level),
                                                strict=True)))
        dim_ids = self.take("dimension_result", n_copies * len(dimension_ids))
        copy_levels = [_level_ids(instrument, result.dimension_levels[:, d]) for d in range(len(dimension_ids))]
        _write(c, _t(DimensionResult), ("id", "assessment_id", "dimension_id", "score", "level"),
               ((int(dim_ids[j * len(dimension_ids) + d]), int(copy_ids[j]), dimension_ids[d],
                 None if np.isnan(dims[j, d]) else float(dims[j, d]), copy_levels[d][j])
                for j in range(n_copies) for d in range(len(dimension_ids))))
        values = _answer_texts(model)
        question_ids = list(model.question_ids)
        answered = np.argwhere(mask)
        answers = _write(c, _t(Answer), ("assessment_id", "question_id", "value", "updated_at"),
                         ((int(copy_ids[j]), question_ids[q], values[q][int(codes[j, q])], copy_closed[j])
                          for j, q in answered))
        return n_rounds, n_copies, answers

    def _answers(self, instrument: Instrument, model: Any, skill: np.ndarray, sections: list[str],
                 sizes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Codes and the applicability mask of one answer set per copy, leaning towards ``skill``."""
        rng = self.rng
        n = skill.size
        codes = np.tile(np.asarray(model.na_codes, dtype=np.int64), (n, 1))
        mask = np.zeros((n, model.n_questions), dtype=bool)
        kinds = sorted(set(zip(sections, sizes, strict=True)))
        kind_of = np.array([kinds.index(k) for k in zip(sections, sizes, strict=True)]) if n else np.zeros(0, int)
        for q, question in enumerate(instrument.questions):
            on = np.array([question.applies_to.applies(s, z) for s, z in kinds], dtype=bool)[kind_of]
            scores = model.option_scores[q]
            if model.multi[q]:
                chance = np.where(scores > 0, skill[:, None], (1 - skill[:, None]) * 0.4)
                bits = rng.random((n, scores.size)) < chance
                code = (bits * (1 << np.arange(scores.size))).sum(axis=1)
                code[code == 0] = 1 << int(np.argmin(scores))
            else:
                order = np.argsort(scores, kind="stable")
                rank = np.clip(np.rint(rng.normal(skill * (scores.size - 1), 0.8)), 0, scores.size - 1).astype(int)
                code = order[rank]
            if model.allow_na[q]:
                code = np.where(rng.random(n) < 0.05, model.na_codes[q], code)
            codes[on, q] = code[on]
            mask[:, q] = on
        return codes, mask

    def _cohorts(self, business_ids: np.ndarray, members: list[tuple[int, int]]) -> None:
        """Courses of about COURSE_SIZE members each, held in the quarter between a member's two rounds."""
        if not members:
            return
        by_quarter: dict[int, list[int]] = {}
        for b, q in members:
            by_quarter.setdefault(q, []).append(b)
        c = self.connection
        member_table = _t(CohortMember)
        consent = ("consent",) if "consent" in member_table.c else ()  # a column of schemas before 0006
        for q, group in sorted(by_quarter.items()):
            group = sorted(set(group))
            for start in range(0, len(group), COURSE_SIZE):
                part = group[start:start + COURSE_SIZE]
                trainer = int(self.take("user", 1)[0])
                cohort = int(self.take("cohort", 1)[0])
                begins = (self.starts[q + 1] + timedelta(days=20)).astimezone(HANOI).date()
                _write(c, _t(User), ("id", "email", "password_hash", "role", "display_name", "language",
                                           "created_at"),
                       [(trainer, f"trainer{trainer}@{SYNTHETIC_DOMAIN}", self.hash, "trainer", f"Giảng viên {trainer}",
                         "vi", self.starts[0])])
                _write(c, _t(Cohort), ("id", "name", "description", "instrument_id", "instrument_version",
                                             "starts_on", "ends_on", "join_code", "status", "created_by", "created_at"),
                       [(cohort, f"Khoá mô phỏng {cohort}", "", "quick-check", loader.latest("quick-check").version,
                         begins, begins + timedelta(days=14), f"SYN{cohort:05d}", "closed", trainer,
                         self.starts[0])])
                _write(c, _t(CohortTrainer), ("cohort_id", "user_id"), [(cohort, trainer)])
                _write(c, member_table, ("cohort_id", "business_id", "joined_at", "reminders_off", *consent),
                       [(cohort, int(business_ids[b]), self.starts[q], False, *([""] if consent else []))
                        for b in part])


def _cumulative(groups: np.ndarray, step: np.ndarray) -> np.ndarray:
    """The running sum of ``step`` within each run of equal ``groups``."""
    total = np.cumsum(step)
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    base = np.repeat(total[starts] - step[starts], np.diff(np.r_[starts, groups.size]))
    return np.asarray(total - base)


def _quarter_of(moment: datetime) -> int:
    local = moment.astimezone(HANOI)
    return local.year * 10 + (local.month - 1) // 3 + 1


def _latest(business: np.ndarray, period: np.ndarray | None, moments: np.ndarray) -> np.ndarray:
    """Whether each round is its business's latest (in its period): one lexsort, no loop."""
    key = np.zeros(business.size, dtype=np.int64) if period is None else period
    order = np.lexsort((moments, key, business))
    last = np.ones(business.size, dtype=bool)
    same = (business[order][1:] == business[order][:-1]) & (key[order][1:] == key[order][:-1])
    last[:-1] = ~same
    out = np.zeros(business.size, dtype=bool)
    out[order] = last
    return out


def _answer_texts(model: Any) -> list[dict[int, str]]:
    """Per question, the stored text of every code: an option id, ids joined by "|", or "na"."""
    out = []
    for q, options in enumerate(model.option_ids):
        texts = {int(model.na_codes[q]): "na"}
        if model.multi[q]:
            for code in range(1, 1 << len(options)):
                texts[code] = "|".join(o for i, o in enumerate(options) if code >> i & 1)
        else:
            texts.update(dict(enumerate(options)))
        out.append(texts)
    return out


# -- the commands -----------------------------------------------------------------------------
def build(engine: Engine, *, businesses: int, seed: int = 2026, now: datetime | None = None,
          progress: Callable[[int], None] | None = None) -> Built:
    """Add a synthetic city of ``businesses`` businesses (see the module docstring); ``progress`` is
    told how many businesses each written chunk held."""
    now = now or datetime.now(UTC)
    totals = [0, 0, 0]
    with engine.begin() as connection:
        checked_at_end = _defer_reference_checks(connection)
        city = _City(connection, seed, now)
        cohorts_before = city.ids["cohort"]
        done = 0
        while done < businesses:
            n = min(CHUNK, businesses - done)
            for i, value in enumerate(city.chunk(n)):
                totals[i] += value
            done += n
            if progress is not None:
                progress(n)
        continue_ids_after_rows(connection, [_t(User), _t(Business), _t(AssessmentRound),
                                             _t(Assessment), _t(DimensionResult), _t(Cohort)])
        if checked_at_end:
            _check_references(connection, WRITTEN)
        summary.rebuild(connection)
    _analyze(engine)
    return Built(businesses, totals[0], totals[1], totals[2], city.ids["cohort"] - cohorts_before)


#: the tables a build writes, whose references are checked at its end when the row-by-row checks are off
WRITTEN = (User, Business, BusinessMember, Consent, AssessmentRound, RoundResult, Assessment, DimensionResult,
           Answer, Cohort, CohortTrainer, CohortMember)


def _defer_reference_checks(connection: Connection) -> bool:
    """On PostgreSQL, turn off the per-row foreign-key triggers for this transaction (a third of a
    city's build goes to them): possible for a superuser only, so tried in a savepoint. True when
    they are off; ``_check_references`` then checks every reference in one pass per foreign key."""
    if connection.dialect.name != "postgresql":
        return False
    try:
        with connection.begin_nested():
            connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
    except sa.exc.DBAPIError:
        return False  # not a superuser: the checks stay on, row by row
    return True


def _check_references(connection: Connection, models: Sequence[Any]) -> None:
    """Every foreign key of the written tables points at a row (an anti-join per key); ValueError,
    and the build's transaction rolls back, when one does not."""
    for model in models:
        table = _t(model)
        for key in table.foreign_key_constraints:
            parent = key.referred_table.alias("parent")  # an alias: a table may point at itself
            pairs = [(child, parent.c[element.column.name]) for child, element in
                     zip(key.columns, key.elements, strict=True)]
            orphans = connection.execute(
                sa.select(sa.func.count()).select_from(table.outerjoin(parent, sa.and_(
                    *(child == referred for child, referred in pairs))))
                .where(*(child.is_not(None) for child, _ in pairs), pairs[0][1].is_(None))).scalar()
            if orphans:
                raise ValueError(f"{orphans} rows of {table.name} point at no row of {key.referred_table.name}")


def _analyze(engine: Engine) -> None:
    """Planner statistics (and, on PostgreSQL, the visibility map for index-only scans) for the tables
    the city's figures read, after a bulk load that autovacuum has not seen yet."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("VACUUM (ANALYZE) city_unit, assessment_round"))
        else:
            connection.execute(sa.text("ANALYZE city_unit"))


def remove(engine: Engine) -> int:
    """Take every synthetic row out again: the businesses whose owner is synthetic (with their rounds,
    copies, answers and scores), the synthetic courses and people. Returns the businesses removed."""
    synthetic = _t(User).c.email.like(f"%@{SYNTHETIC_DOMAIN}")
    people = sa.select(_t(User).c.id).where(synthetic)
    member = _t(BusinessMember).c
    owned = sa.select(member.business_id).where(member.role == "owner", member.user_id.in_(people))
    with engine.begin() as connection:
        removed = connection.execute(_t(Business).delete().where(
            _t(Business).c.id.in_(owned))).rowcount
        connection.execute(_t(Cohort).delete().where(_t(Cohort).c.created_by.in_(people)))
        connection.execute(_t(User).delete().where(synthetic))
        for instrument_id, _ in INSTRUMENTS:
            summary.bump(connection, instrument_id, loader.latest(instrument_id).version)
    return int(removed or 0)
