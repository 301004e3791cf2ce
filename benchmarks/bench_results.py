"""The results page and its charts over 10^6 closed rounds, against the bare peer query of the same run.

    python benchmarks/bench_results.py [--rounds N] [--quick] [--database sqlite|postgresql|both]
                                       [--database-url URL] [--repeat 30] [--profile]

Fills a temporary database, migrated with Alembic, with ``--rounds`` closed rounds (default 10^6;
``--quick``: 10^5) by bulk inserts (SQLite: ``executemany`` in one transaction per table;
PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy``):

* businesses (about one per four rounds) with one owner each, spread over the VSIC sections (shares
  close to Vietnam's enterprise census: trade G the largest), sizes derived from employees, revenue
  and capital by Decree 80 (``assessment.sizing``), Hanoi's 126 wards (unevenly) and one of the three
  bundled instruments (mic-dbi 55 %, quick-check 35 %, dmat 10 %);
* each business has 1-8 rounds over 2023 Q1-2026 Q3 (some twice in one quarter), and 6 % of them
  grew one size class between rounds, so older rounds keep the smaller class they were closed with;
  round ids follow closing time, as they do when rounds close one by one;
* each round has its ``round_result`` rows, its one submitted copy in ``assessment`` with its
  ``dimension_result`` rows (the copies say what their rounds say, so the database writes them from
  the rounds: ``INSERT ... SELECT``); overall scores and levels come from the instrument's rules
  (``scoring.from_dimension_scores``); ``is_latest``, ``latest_in_quarter`` and ``latest_in_year`` as
  ``rounds.refresh_latest`` sets them (checked with SQL after the fill);
* the business under test, in the largest peer group (instrument version + VSIC section + size
  class, counting latest rounds), has answers for every copy, scored by the app's own scoring, so
  its pages render as they would.

Then, with the app in-process (``TestClient`` on ``web.app.create_app(settings, engine=...)``),
logged in as that business's owner, and taking turns between the requests for ``--repeat`` rounds:

* floor: ``assessment.results._peer_counts(True, True)`` alone, in a session of its own (what ``peers`` runs);
* ``/assessments/{copy}/results`` and ``/charts/radar.svg``, ``/charts/bars.svg`` (after the first
  view, which renders and stores each chart: a 200 from the chart cache; and a 304 for a browser
  that sends the ETag back). The first view of each is reported apart.

Times are the server's (``RequestLogMiddleware``'s ``ms``: from the request's arrival in the app to
its last byte); the client's are printed beside them, and the SQL statements one request sends. The
page is also split into its steps, each timed alone on the same data (the access lookup, the frozen
scores, the answers, the what-if search, peers, the cohort memberships) and the template (timed in
the page's own requests); the rest is the login lookup, the framework and the middleware. The load
average is printed: on a shared machine every figure moves with it. EXPLAIN of the peer query on
each database must show a search of ``ix_round_peers`` (a partial index on ``is_latest``), not a scan;
on SQLite the program is also checked for reads of the table's rows (there must be none).

Target: every median ≤ 50 ms, on SQLite and on PostgreSQL.

Without ``--database-url``, PostgreSQL is a throwaway cluster (``initdb`` in a temporary directory,
as ``scripts/test.sh`` does; ``fsync=off``, default memory settings), removed at the end; with a URL, a
temporary database is created on that server and dropped at the end. After the fill PostgreSQL gets
``VACUUM (ANALYZE)`` (what autovacuum does after a bulk load); SQLite gets no ``ANALYZE``, as the
app's own database never does.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import glob
import io
import json
import logging
import os
import pstats
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from assessment import access, accounts, layout, migrate, reference, results, rounds, sizing, taxcode  # noqa: E402
from assessment.cohorts import memberships_of  # noqa: E402
from assessment.db import make_engine  # noqa: E402
from assessment.models import Assessment, AssessmentRound, User  # noqa: E402
from assessment.scores import model_for, score_answers  # noqa: E402
from assessment.settings import Settings  # noqa: E402
from questionnaires import loader  # noqa: E402
from scoring import NO_LEVEL, from_dimension_scores  # noqa: E402

console = Console(width=None if sys.stdout.isatty() else 110)
PASSWORD = "bench-results-2026"
TARGET_MS = 50.0
ROUNDS_PER_BUSINESS = (1, 2, 3, 4, 5, 6, 7, 8)
ROUNDS_WEIGHTS = (0.12, 0.14, 0.16, 0.16, 0.15, 0.12, 0.09, 0.06)  # mean 4.1
INSTRUMENTS = (("mic-dbi", 0.55), ("quick-check", 0.35), ("dmat", 0.10))
# approximate shares of Vietnam's enterprises by VSIC section (economic census 2021), rounded
SECTION_SHARES = {
    "A": 1.5, "B": 0.8, "C": 15.0, "D": 0.6, "E": 0.5, "F": 12.0, "G": 37.0, "H": 5.5, "I": 4.5, "J": 3.0,
    "K": 1.2, "L": 3.5, "M": 6.5, "N": 4.0, "O": 0.1, "P": 1.0, "Q": 0.7, "R": 0.8, "S": 1.0, "T": 0.1, "U": 0.1,
}
FIRST_QUARTER = (2023, 1)
QUARTERS = 15  # 2023 Q1 .. 2026 Q3
GREW_SHARE = 0.06  # businesses whose size class went up one step between rounds
SAME_QUARTER_SHARE = 0.05  # rounds closed in the quarter of the round before (a retake)
HANOI_OFFSET_US = 7 * 3600 * 1_000_000
CHUNK = 20_000  # rounds per batch of rows


# ------------------------------------------------------------------------------------ the data

@dataclass
class Plan:
    """Every generated value, as arrays (rounds in id order = closing order)."""

    n_businesses: int
    # businesses (index b = id - 1)
    b_section: np.ndarray
    b_size: np.ndarray  # index into sizing.SIZES
    b_ward: np.ndarray
    b_instrument: np.ndarray
    b_employees: np.ndarray
    b_revenue: np.ndarray
    b_capital: np.ndarray
    b_tax: list[str]
    b_created: np.ndarray  # datetime64[us], UTC
    # rounds (index r = id - 1)
    r_business: np.ndarray
    r_size: np.ndarray
    r_quarter: np.ndarray  # year * 10 + quarter
    r_created: np.ndarray
    r_closed: np.ndarray
    r_latest: np.ndarray
    r_latest_q: np.ndarray
    r_latest_y: np.ndarray
    r_dims: np.ndarray  # (N, 6) scores, NaN past the instrument's dimensions
    r_overall: np.ndarray
    r_overall_level: np.ndarray
    r_dim_levels: np.ndarray
    # the business under test
    target: int = 0  # business index
    target_answers: dict[int, dict[str, str]] = field(default_factory=dict)  # round index → answers
    group: tuple[str, str, str, str] = ("", "", "", "")
    group_size: int = 0


def quarter_starts_local() -> np.ndarray:
    """The start of each quarter (and of the one after the last), Hanoi local time, as datetime64[us]."""
    year, q = FIRST_QUARTER
    out = []
    for _ in range(QUARTERS + 1):
        out.append(np.datetime64(f"{year:04d}-{3 * (q - 1) + 1:02d}-01T00:00:00", "us"))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return np.array(out)


def valid_tax_codes(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct valid 10-digit tax codes (Hanoi's prefix 01, check digit by taxcode.check_digit)."""
    weights = np.array(taxcode.WEIGHTS)
    seq = rng.permutation(np.arange(1, 10_000_000))[: int(n * 1.2) + 100]
    digits = np.stack([np.zeros_like(seq), np.ones_like(seq)] + [(seq // 10 ** (6 - i)) % 10 for i in range(7)], axis=1)
    remainder = (digits * weights).sum(axis=1) % 11
    ok = remainder != 0
    check = (10 - remainder) % 10
    codes = [f"01{s:07d}{c}" for s, c in zip(seq[ok].tolist(), check[ok].tolist(), strict=True)][:n]
    assert len(codes) == n
    assert taxcode.normalise(codes[0]) == codes[0]
    return codes


def plan_data(n_rounds: int, seed: int = 2026) -> Plan:
    rng = np.random.default_rng(seed)
    # businesses, until their rounds add up to n_rounds
    counts = rng.choice(ROUNDS_PER_BUSINESS, size=n_rounds, p=ROUNDS_WEIGHTS)
    total = np.cumsum(counts)
    nb = int(np.searchsorted(total, n_rounds) + 1)
    counts = counts[:nb]
    counts[-1] -= int(total[nb - 1] - n_rounds)
    sections = np.array(list(SECTION_SHARES))
    shares = np.array(list(SECTION_SHARES.values()))
    b_section = rng.choice(len(sections), size=nb, p=shares / shares.sum())
    groups = reference.sections()
    employees = np.minimum(np.round(rng.lognormal(1.5, 1.25, nb)), 5000).astype(np.int64)
    revenue = np.round((employees + 1) * rng.lognormal(-1.1, 1.0, nb), 2)
    capital = np.round(revenue * rng.lognormal(-0.6, 0.8, nb), 2)
    b_size = np.array([sizing.SIZES.index(sizing.size_class(groups[sections[s]].group, int(e), float(r), float(c)))
                       for s, e, r, c in zip(b_section, employees, revenue, capital, strict=True)])
    ward_codes = sorted(reference.wards())
    ward_weights = rng.pareto(1.5, len(ward_codes)) + 0.2  # some wards far busier than others
    b_ward = rng.choice(len(ward_codes), size=nb, p=ward_weights / ward_weights.sum())
    b_instrument = rng.choice(len(INSTRUMENTS), size=nb, p=[w for _, w in INSTRUMENTS])
    kmax = max(ROUNDS_PER_BUSINESS)

    # rounds per business: distinct quarters (sorted), then some retakes in the quarter before
    pick = np.argsort(rng.random((nb, QUARTERS)), axis=1)[:, :kmax]
    pick = np.sort(np.where(np.arange(kmax) < counts[:, None], pick, QUARTERS + 99), axis=1)
    business = np.repeat(np.arange(nb), counts)
    position = np.arange(len(business)) - np.repeat(np.cumsum(counts) - counts, counts)
    quarter_idx = pick[business, position]
    retake = (position > 0) & (rng.random(len(business)) < SAME_QUARTER_SHARE)
    quarter_idx = np.where(retake, np.roll(quarter_idx, 1), quarter_idx)  # the previous round's quarter
    starts = quarter_starts_local().astype(np.int64)
    length = starts[quarter_idx + 1] - starts[quarter_idx]
    local = starts[quarter_idx] + (rng.random(len(business)) * length).astype(np.int64)
    closed = local - HANOI_OFFSET_US  # UTC
    # within a business, in closing order (a retake lands anywhere in its quarter)
    order = np.lexsort((closed, business))
    business, quarter_idx, closed = business[order], quarter_idx[order], closed[order]
    position = np.arange(len(business)) - np.repeat(np.cumsum(counts) - counts, counts)
    year, q = FIRST_QUARTER
    quarter_code = np.array([(year + (q - 1 + i) // 4) * 10 + (q - 1 + i) % 4 + 1 for i in range(QUARTERS)])
    r_quarter = quarter_code[quarter_idx]
    last = np.r_[business[1:] != business[:-1], True]
    last_q = np.r_[(business[1:] != business[:-1]) | (r_quarter[1:] != r_quarter[:-1]), True]
    last_y = np.r_[(business[1:] != business[:-1]) | (r_quarter[1:] // 10 != r_quarter[:-1] // 10), True]

    # size class at each close: 6 % of businesses grew one class after their first rounds
    grew = (rng.random(nb) < GREW_SHARE) & (b_size > 0) & (counts > 1)
    split = (rng.random(nb) * (counts - 1)).astype(np.int64) + 1  # rounds before the growth
    r_size = b_size[business] - (grew[business] & (position < split[business]))

    # scores: a business's level, its strong and weak dimensions, progress from round to round
    ability = 100 * rng.beta(2.4, 3.0, nb)
    offsets = rng.normal(0, 9, (nb, 6))
    dims = (ability[business, None] + offsets[business] + 2.5 * position[:, None]
            + rng.normal(0, 6, (len(business), 6)))
    dims = np.clip(dims, 0, 100)
    instruments = [loader.get(i) for i, _ in INSTRUMENTS]
    r_instrument = b_instrument[business]
    n_dims = np.array([len(ins.dimensions) for ins in instruments])
    dims[np.arange(6) >= n_dims[r_instrument][:, None]] = np.nan

    # ids in closing order
    by_time = np.argsort(closed, kind="stable")
    pick_all = lambda a: a[by_time]  # noqa: E731
    r_business, r_size, r_quarter, closed = map(pick_all, (business, r_size, r_quarter, closed))
    last, last_q, last_y, dims, position = map(pick_all, (last, last_q, last_y, dims, position))
    created = closed - (rng.random(len(closed)) * 20 * 86400e6).astype(np.int64)
    first_created = np.full(nb, np.iinfo(np.int64).max)
    np.minimum.at(first_created, r_business, created)
    b_created = first_created - (rng.random(nb) * 60 * 86400e6).astype(np.int64)

    plan = Plan(nb, b_section, b_size, b_ward, b_instrument, employees, revenue, capital,
                valid_tax_codes(nb, rng), b_created.astype("datetime64[us]"), r_business, r_size, r_quarter,
                created.astype("datetime64[us]"), closed.astype("datetime64[us]"), last, last_q, last_y, dims,
                np.zeros(len(closed)), np.zeros(len(closed), dtype=np.int64), np.zeros((len(closed), 6), np.int64))
    pick_target(plan, rng, instruments)
    score_rounds(plan, instruments)
    return plan


def pick_target(plan: Plan, rng: np.random.Generator, instruments: list) -> None:
    """The business under test: in the largest peer group (latest rounds by instrument, section and
    size), with at least three rounds; its copies get answers, scored by the app."""
    latest = np.flatnonzero(plan.r_latest)
    key = (plan.b_instrument[plan.r_business[latest]] * 100 + plan.b_section[plan.r_business[latest]]) * 10 \
        + plan.r_size[latest]
    values, sizes = np.unique(key, return_counts=True)
    best = int(values[np.argmax(sizes)])
    members = plan.r_business[latest[key == best]]
    rounds_of = np.bincount(plan.r_business, minlength=plan.n_businesses)
    members = members[rounds_of[members] >= 3]
    plan.target = int(rng.choice(members))
    instrument = instruments[best // 1000]
    section = list(SECTION_SHARES)[best // 10 % 100]
    plan.group = (instrument.id, instrument.version, section, sizing.SIZES[best % 10])
    plan.group_size = int(sizes.max())
    ability = rng.random()
    for r in np.flatnonzero(plan.r_business == plan.target):
        size = sizing.SIZES[plan.r_size[r]]
        answers = {}
        for question in layout.applicable(instrument, section, size):
            if question.allow_na and rng.random() < 0.05:
                answers[question.id] = "na"
                continue
            options = sorted(question.options, key=lambda o: o.score)
            if question.type == "multi":
                k = max(1, int(round(ability * len(options))))
                answers[question.id] = "|".join(o.id for o in rng.permutation(np.array(options, dtype=object))[:k])
            else:
                i = int(np.clip(round(ability * (len(options) - 1) + rng.normal(0, 0.8)), 0, len(options) - 1))
                answers[question.id] = options[i].id
        scored = score_answers(instrument, section, size, answers)
        plan.r_dims[r, : len(instrument.dimensions)] = scored.dimension_scores[0]
        plan.target_answers[int(r)] = answers
        ability = min(1.0, ability + 0.08)


def score_rounds(plan: Plan, instruments: list) -> None:
    """Overall scores and levels by each instrument's rules, from the dimension scores."""
    r_instrument = plan.b_instrument[plan.r_business]
    for i, instrument in enumerate(instruments):
        rows = np.flatnonzero(r_instrument == i)
        d = len(instrument.dimensions)
        model = model_for(instrument.id, instrument.version)
        for start in range(0, len(rows), 200_000):
            part = rows[start: start + 200_000]
            scored = from_dimension_scores(plan.r_dims[part, :d].copy(), model)
            plan.r_overall[part] = scored.overall
            plan.r_overall_level[part] = scored.overall_level
            plan.r_dim_levels[part, :d] = scored.dimension_levels


# ------------------------------------------------------------------------------------ the rows

def timestamps(values: np.ndarray, postgresql: bool) -> list[str]:
    """UTC datetimes as each database's SQLAlchemy type writes them (SQLite: no zone; PostgreSQL: +00)."""
    text_ = np.char.replace(np.datetime_as_string(values, unit="us"), "T", " ")
    if postgresql:
        text_ = np.char.add(text_, "+00")
    return text_.tolist()


def level_ids(instrument, indices: np.ndarray) -> list[str | None]:
    ids = [lv.id for lv in instrument.levels]
    return [None if i == NO_LEVEL else ids[i] for i in indices.tolist()]


def floats(values: np.ndarray) -> list[float | None]:
    return [None if v != v else v for v in values.tolist()]


TABLES = ("user", "business", "business_member", "assessment_round", "round_result", "assessment",
          "dimension_result", "answer")
# each round's one copy says what its round says: written by the database from the rounds
DERIVED = {
    "assessment": (
        "INSERT INTO assessment (id, round_id, business_id, respondent_id, instrument_id, instrument_version, status, "
        "created_at, updated_at, submitted_at, vsic_section, size_class, respondent_role, overall_score, "
        "overall_level) SELECT id, id, business_id, business_id, instrument_id, instrument_version, 'submitted', "
        "created_at, closed_at, closed_at, vsic_section, size_class, 'owner', overall_score, overall_level "
        "FROM assessment_round ORDER BY id"),
    "dimension_result": (
        "INSERT INTO dimension_result (assessment_id, dimension_id, score, level) "
        "SELECT round_id, dimension_id, score, level FROM round_result ORDER BY round_id, dimension_id"),
}
COLUMNS = {
    "user": ("id", "email", "password_hash", "role", "display_name", "language", "created_at"),
    "business": ("id", "name", "tax_code", "parent_id", "ward_code", "vsic_version", "vsic_section", "employees",
                 "revenue_bn", "capital_bn", "size_class", "created_at"),
    "business_member": ("business_id", "user_id", "role", "created_at"),
    "assessment_round": ("id", "business_id", "name", "instrument_id", "instrument_version", "status", "created_at",
                         "closed_at", "instrument_hash", "ward_code", "vsic_section", "size_class", "respondents",
                         "overall_score", "overall_level", "closed_quarter", "closed_year", "is_latest",
                         "latest_in_quarter", "latest_in_year"),
    "round_result": ("round_id", "dimension_id", "score", "level", "respondents", "low", "high"),
    "answer": ("assessment_id", "question_id", "value", "updated_at"),
}


class Rows:
    """The rows of each table, in batches (ids: business b → user b + 1 and business b + 1; round r →
    round r + 1 and its one copy r + 1)."""

    def __init__(self, plan: Plan, postgresql: bool) -> None:
        self.plan, self.pg = plan, postgresql
        self.instruments = [loader.get(i) for i, _ in INSTRUMENTS]
        self.hashes = [loader.content_hash(ins) for ins in self.instruments]
        self.sections = list(SECTION_SHARES)
        self.wards = sorted(reference.wards())
        self.password_hash = accounts.HASHER.hash(PASSWORD)
        n = len(plan.r_business)
        n_dims = np.array([len(ins.dimensions) for ins in self.instruments])
        results_ = int(n_dims[plan.b_instrument[plan.r_business]].sum())
        self.counts = {
            "user": plan.n_businesses, "business": plan.n_businesses, "business_member": plan.n_businesses,
            "assessment_round": n, "assessment": n, "round_result": results_, "dimension_result": results_,
            "answer": sum(len(a) for a in plan.target_answers.values()),
        }

    @staticmethod
    def email(b: int) -> str:
        return f"owner-{b + 1:07d}@bench.dxmaturity.vn"

    def batches(self, table: str) -> Iterator[list[tuple]]:
        p = self.plan
        if table in ("user", "business", "business_member"):
            for lo in range(0, p.n_businesses, CHUNK * 2):
                hi = min(lo + CHUNK * 2, p.n_businesses)
                created = timestamps(p.b_created[lo:hi], self.pg)
                ids = range(lo + 1, hi + 1)
                if table == "user":
                    yield [(i, self.email(i - 1), self.password_hash, "owner", "", "en", c)
                           for i, c in zip(ids, created, strict=True)]
                elif table == "business_member":
                    yield [(i, i, "owner", c) for i, c in zip(ids, created, strict=True)]
                else:
                    yield list(zip(
                        ids, [f"Công ty TNHH Bench {i:07d}" for i in ids], p.b_tax[lo:hi], [None] * (hi - lo),
                        [self.wards[w] for w in p.b_ward[lo:hi].tolist()], ["2018"] * (hi - lo),
                        [self.sections[s] for s in p.b_section[lo:hi].tolist()], p.b_employees[lo:hi].tolist(),
                        p.b_revenue[lo:hi].tolist(), p.b_capital[lo:hi].tolist(),
                        [sizing.SIZES[s] for s in p.b_size[lo:hi].tolist()], created, strict=True))
            return
        if table == "answer":
            for r, answers in sorted(p.target_answers.items()):
                at = timestamps(p.r_closed[r: r + 1], self.pg)[0]
                yield [(r + 1, q, v, at) for q, v in answers.items()]
            return
        for lo in range(0, len(p.r_business), CHUNK):
            yield self._round_batch(table, lo, min(lo + CHUNK, len(p.r_business)))

    def _round_batch(self, table: str, lo: int, hi: int) -> list[tuple]:
        p = self.plan
        business = p.r_business[lo:hi]
        instrument = p.b_instrument[business]
        if table == "assessment_round":
            ids = list(range(lo + 1, hi + 1))
            overall_level = [None if lv == NO_LEVEL else self.instruments[i].levels[lv].id
                             for i, lv in zip(instrument.tolist(), p.r_overall_level[lo:hi].tolist(), strict=True)]
            quarter = p.r_quarter[lo:hi].tolist()
            return list(zip(
                ids, (business + 1).tolist(), [f"{q // 10} Q{q % 10}" for q in quarter],
                [INSTRUMENTS[i][0] for i in instrument.tolist()],
                [self.instruments[i].version for i in instrument.tolist()], ["closed"] * len(ids),
                timestamps(p.r_created[lo:hi], self.pg), timestamps(p.r_closed[lo:hi], self.pg),
                [self.hashes[i] for i in instrument.tolist()], [self.wards[w] for w in p.b_ward[business].tolist()],
                [self.sections[s] for s in p.b_section[business].tolist()],
                [sizing.SIZES[s] for s in p.r_size[lo:hi].tolist()], [1] * len(ids), floats(p.r_overall[lo:hi]),
                overall_level, quarter, [q // 10 for q in quarter],
                p.r_latest[lo:hi].tolist(), p.r_latest_q[lo:hi].tolist(), p.r_latest_y[lo:hi].tolist(), strict=True))
        assert table == "round_result"
        out: list[tuple] = []
        dims, levels = p.r_dims[lo:hi], p.r_dim_levels[lo:hi]
        for i, ins in enumerate(self.instruments):
            rows = np.flatnonzero(instrument == i)
            if not len(rows):
                continue
            for d, dimension in enumerate(ins.dimensions):
                score = floats(dims[rows, d])
                level = level_ids(ins, levels[rows, d])
                rid = (rows + lo + 1).tolist()
                out.extend(zip(rid, [dimension.id] * len(rid), score, level, [1] * len(rid), score, score, strict=True))
        out.sort(key=lambda row: (row[0], row[1]))  # in the primary key's order, as a round's rows come
        return out


# ------------------------------------------------------------------------------------ the fill

def fill(engine: Engine, plan: Plan) -> dict[str, float]:
    postgresql = engine.dialect.name == "postgresql"
    rows = Rows(plan, postgresql)
    seconds: dict[str, float] = {}
    pooled = engine.raw_connection()
    driver = pooled.driver_connection
    try:
        with Progress(TextColumn("{task.description:<17}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), console=console) as progress:
            tasks = {t: progress.add_task(t, total=rows.counts[t], rate="") for t in TABLES}
            for table in TABLES:
                started = time.perf_counter()
                done = 0
                if table in DERIVED:
                    with contextlib.closing(driver.cursor()) as cursor:
                        cursor.execute(DERIVED[table])
                    driver.commit()
                    progress.update(tasks[table], completed=rows.counts[table], rate="INSERT ... SELECT")
                    seconds[table] = time.perf_counter() - started
                    continue
                names = ", ".join(COLUMNS[table])
                if postgresql:
                    with driver.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                        for batch in rows.batches(table):
                            for row in batch:
                                copy.write_row(row)
                            done += len(batch)
                            progress.update(tasks[table], advance=len(batch),
                                            rate=f"{done / (time.perf_counter() - started):,.0f} rows/s")
                    driver.commit()
                else:
                    cursor = driver.cursor()
                    cursor.execute("PRAGMA cache_size = -524288")  # 512 MiB, for the indexes not in id order
                    marks = ", ".join("?" * len(COLUMNS[table]))
                    for batch in rows.batches(table):
                        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
                        done += len(batch)
                        progress.update(tasks[table], advance=len(batch),
                                        rate=f"{done / (time.perf_counter() - started):,.0f} rows/s")
                    driver.commit()
                    cursor.close()
                seconds[table] = time.perf_counter() - started
        started = time.perf_counter()
        if postgresql:
            with driver.cursor() as cursor:
                for table in ("user", "business", "assessment_round", "assessment"):
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                                   f'(SELECT max(id) FROM "{table}"))')
            driver.commit()
            driver.autocommit = True
            with driver.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
            driver.autocommit = False
            seconds["VACUUM (ANALYZE)"] = time.perf_counter() - started
        else:
            driver.execute("PRAGMA cache_size = -2000")  # back to SQLite's default for the app's requests
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            seconds["WAL checkpoint"] = time.perf_counter() - started
    finally:
        pooled.close()
    return seconds


def check_flags(engine: Engine) -> dict[str, int]:
    """Groups whose latest-round flag is not set exactly once (must all be 0), and counts."""
    one = "CASE WHEN {} THEN 1 ELSE 0 END"
    checks = {
        "businesses without exactly one latest round": (
            f"SELECT count(*) FROM (SELECT sum({one.format('is_latest')}) AS n FROM assessment_round "
            "GROUP BY business_id, instrument_id, instrument_version) g WHERE n != 1"),
        "quarters without exactly one latest round": (
            f"SELECT count(*) FROM (SELECT sum({one.format('latest_in_quarter')}) AS n FROM assessment_round "
            "GROUP BY business_id, instrument_id, instrument_version, closed_quarter) g WHERE n != 1"),
        "years without exactly one latest round": (
            f"SELECT count(*) FROM (SELECT sum({one.format('latest_in_year')}) AS n FROM assessment_round "
            "GROUP BY business_id, instrument_id, instrument_version, closed_year) g WHERE n != 1"),
        "latest rounds that are not the last closed": (
            "SELECT count(*) FROM assessment_round r WHERE r.is_latest AND EXISTS (SELECT 1 FROM assessment_round o "
            "WHERE o.business_id = r.business_id AND o.instrument_id = r.instrument_id "
            "AND o.instrument_version = r.instrument_version AND (o.closed_at > r.closed_at "
            "OR (o.closed_at = r.closed_at AND o.id > r.id)))"),
    }
    with engine.connect() as connection:
        return {name: int(connection.execute(text(sql)).scalar_one()) for name, sql in checks.items()}


# ------------------------------------------------------------------------------------ measuring

class ServerTimes(logging.Handler):
    """Collects the ``ms`` of each request log line (``web.observability.RequestLogMiddleware``)."""

    def __init__(self) -> None:
        super().__init__()
        self.ms: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.ms.append(json.loads(record.getMessage())["ms"])


@dataclass
class Measure:
    name: str
    first: float | None = None  # server ms of the first view
    server: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    queries: int = 0  # SQL statements one (warm) request sends

    @property
    def median(self) -> float:
        return statistics.median(self.server)


def peer_params(round_: AssessmentRound) -> dict:
    return {"x": round_.overall_score, "instrument_id": round_.instrument_id, "version": round_.instrument_version,
            "section": round_.vsic_section, "size": round_.size_class, "business_id": round_.business_id}


def bare_peer_query(engine: Engine, params: dict) -> tuple[float, tuple]:
    started = time.perf_counter()
    with Session(engine) as session:
        row = session.exec(results._peer_counts(True, True), params=params).one()  # type: ignore[call-overload]
    return (time.perf_counter() - started) * 1000, tuple(row)


def explain(engine: Engine, params: dict) -> list[str]:
    """The plan of the peer query as the app sends it (the same SQL and parameters); on PostgreSQL
    with ANALYZE and BUFFERS: it runs, with its real row counts and times."""
    compiled = results._peer_counts(True, True).compile(dialect=engine.dialect)
    values = compiled.construct_params(params)
    bound = tuple(values[k] for k in compiled.positiontup or ()) if compiled.positional else values
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), bound)]
        return [row[0] for row in connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + str(compiled), bound)]


def sqlite_reads_rows(engine: Engine, params: dict) -> bool:
    """Whether SQLite's program for the peer query reads a column of the table itself (a partial
    index whose condition the query repeats needs no ``is_latest`` from the row: the plan then says
    "USING INDEX", yet its seek into the table is deferred and never made)."""
    compiled = results._peer_counts(True, True).compile(dialect=engine.dialect)
    values = compiled.construct_params(params)
    bound = tuple(values[k] for k in compiled.positiontup or ())
    with engine.connect() as connection:
        root = connection.exec_driver_sql(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = 'assessment_round'").scalar_one()
        program = connection.exec_driver_sql("EXPLAIN " + str(compiled), bound).all()
    tables = {op[2] for op in program if op[1] == "OpenRead" and op[3] == root}
    return any(op[1] in ("Column", "Rowid", "SeekRowid", "NotExists") and op[2] in tables for op in program)


def plan_uses_index(engine: Engine, lines: list[str]) -> bool:
    if engine.dialect.name == "sqlite":
        return any(re.search(r"SEARCH assessment_round USING (COVERING )?INDEX ix_round_peers", ln) for ln in lines)
    return any("ix_round_peers" in ln for ln in lines) and not any("Seq Scan" in ln for ln in lines)


def login(client: TestClient, email: str) -> None:
    client.get("/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": client.cookies["dxm_csrf"]})
    assert response.status_code in (302, 303), (response.status_code, response.text[:300])


def page_steps(engine: Engine, copy_id: int, user_id: int, settings: Settings, repeat: int = 9) -> dict[str, float]:
    """The results route's steps, each timed alone (median of ``repeat``, in one session each, as a
    request has)."""
    times: dict[str, list[float]] = {}

    def timed(name: str, step: Callable[[], object]) -> object:
        started = time.perf_counter()
        value = step()
        times.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        return value

    for _ in range(repeat):
        with Session(engine, expire_on_commit=False) as session:
            user = session.get(User, user_id)
            found = timed("access lookup (copy, business)",
                          lambda s=session, u=user: access.copy_for(s, u, copy_id, access.Action.VIEW_COPY))
            assert found is not None
            copy, business = found  # type: ignore[misc]
            view = timed("copy_result (frozen scores)",
                         lambda s=session, c=copy: results.copy_result(session=s, copy=c))
            saved = timed("answers_of", lambda s=session, c=copy: rounds.answers_of(s, c))
            timed("what_if (3 greedy steps)", lambda v=view, b=business, a=saved: results.what_if(v.instrument, b, a))
            timed("peers (round + _PEER_COUNTS)", lambda s=session, c=copy: results.peers(
                session=s, round_=s.get(AssessmentRound, c.round_id), minimum=settings.min_cell))
            timed("cohort memberships (member_role + memberships_of)", lambda s=session, b=business, u=user: (
                access.member_role(s, u.id, b.id), memberships_of(s, b)))
    return {name: statistics.median(values) for name, values in times.items()}


@dataclass
class Outcome:
    database: str
    rounds: int
    businesses: int
    fill_seconds: float
    fill_detail: dict[str, float]
    group: tuple[str, str, str, str]
    group_size: int
    peers: int
    plan_lines: list[str]
    uses_index: bool
    measures: list[Measure]
    steps: dict[str, float]
    checks: dict[str, int]
    load: tuple[float, float]  # the 1-minute load average as the measuring began and ended
    profile: str = ""


def measure(engine: Engine, url: str, plan: Plan, repeat: int, profile: bool) -> tuple:
    target_user = plan.target + 1
    latest_round = int(np.flatnonzero((plan.r_business == plan.target) & plan.r_latest)[0]) + 1
    copy_id = latest_round  # each round's one copy has the round's id
    with Session(engine) as session:
        round_ = session.get(AssessmentRound, latest_round)
        assert round_ is not None and round_.is_latest
        params = peer_params(round_)
        copy = session.get(Assessment, copy_id)
        assert copy is not None and copy.status == "submitted"
    lines = explain(engine, params)
    if engine.dialect.name == "sqlite":
        lines.append("(program: " + ("reads table rows" if sqlite_reads_rows(engine, params)
                                     else "reads no table row, only the index") + ")")

    handler = ServerTimes()
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    import web.routes.results as route

    template_ms: list[float] = []
    app_render = route.render

    def timed_render(*args: Any, **kwargs: Any) -> Any:  # the results page's template, timed in its request
        started = time.perf_counter()
        response = app_render(*args, **kwargs)
        template_ms.append((time.perf_counter() - started) * 1000)
        return response

    route.render = timed_render  # type: ignore[assignment]
    request_log = logging.getLogger("dxm.request")
    saved_handlers, saved_propagate, saved_level = request_log.handlers[:], request_log.propagate, request_log.level
    request_log.handlers[:] = [handler]
    request_log.propagate = False
    request_log.setLevel(logging.INFO)
    from web.app import create_app

    settings = Settings(database_url=url, default_language="en")
    app = create_app(settings, engine=engine)
    base = f"/assessments/{copy_id}"
    kinds = {"results page": f"{base}/results", "radar chart": f"{base}/charts/radar.svg",
             "bars chart": f"{base}/charts/bars.svg"}
    measures = {"floor": Measure("floor: _PEER_COUNTS alone", queries=1), **{k: Measure(k) for k in kinds},
                "radar 304": Measure("radar chart, ETag → 304"), "bars 304": Measure("bars chart, ETag → 304")}
    etags: dict[str, str] = {}

    def get(name: str, path: str, headers: dict | None = None, status: int = 200) -> None:
        before, sent = len(handler.ms), statements[0]
        started = time.perf_counter()
        response = client.get(path, headers=headers or {})
        client_ms = (time.perf_counter() - started) * 1000
        measures[name].queries = statements[0] - sent
        assert response.status_code == status, (path, response.status_code, response.text[:300])
        if name in ("radar chart", "bars chart"):
            etags[name] = response.headers["etag"]
        m = measures[name]
        server_ms = handler.ms[before]
        if m.first is None and name in kinds:
            m.first = server_ms
            return
        m.server.append(server_ms)
        m.client.append(client_ms)

    profile_text = ""
    try:
        with TestClient(app, follow_redirects=False) as client:
            login(client, Rows.email(plan.target))
            for name, path in kinds.items():  # the first views: render and store the charts
                get(name, path)
            html = client.get(kinds["results page"]).text
            template_ms.clear()
            n_peers = int(m.group(1).replace(",", "")) if (m := re.search(r"of ([\d,]+) businesses", html)) else -1
            for _ in range(repeat):
                ms, row = bare_peer_query(engine, params)
                measures["floor"].server.append(ms)
                measures["floor"].client.append(ms)
                for name, path in kinds.items():
                    get(name, path)
                get("radar 304", kinds["radar chart"], {"If-None-Match": etags["radar chart"]}, 304)
                get("bars 304", kinds["bars chart"], {"If-None-Match": etags["bars chart"]}, 304)
        steps = page_steps(engine, copy_id, target_user, settings)
        steps["template results.html (timed in the page requests)"] = statistics.median(template_ms)
        if profile:
            profile_text = profile_steps(engine, copy_id, target_user, settings)
    finally:
        route.render = app_render  # type: ignore[assignment]
        event.remove(engine, "before_cursor_execute", count)
        request_log.handlers[:] = saved_handlers
        request_log.propagate, request_log.level = saved_propagate, saved_level
    return lines, list(measures.values()), steps, n_peers, row[0], profile_text


def profile_steps(engine: Engine, copy_id: int, user_id: int, settings: Settings) -> str:
    """cProfile of 20 runs of the route's steps (what the page does besides the template)."""
    profiler = cProfile.Profile()
    profiler.enable()
    page_steps(engine, copy_id, user_id, settings, repeat=20)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    return out.getvalue()


# ------------------------------------------------------------------------------------ databases

@contextlib.contextmanager
def sqlite_database() -> Iterator[str]:
    directory = tempfile.mkdtemp(prefix="dxm-bench-results-")
    try:
        yield f"sqlite:///{directory}/bench.db"
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[str]:
    """A PostgreSQL cluster in a temporary directory, as ``scripts/test.sh`` starts one (as the
    unprivileged user ``dxmtest`` when run as root: PostgreSQL refuses root), on a free port."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in re.findall(r"\d+", p)])
    pg_bin = bins[-1] if bins else str(Path(shutil.which("initdb") or "initdb").parent)
    directory = tempfile.mkdtemp(prefix="dxm-bench-pg-")
    data = os.path.join(directory, "data")
    prefix: list[str] = []
    if os.geteuid() == 0:
        import pwd

        if subprocess.run(["id", "dxmtest"], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "dxmtest"],
                           check=True)
        entry = pwd.getpwnam("dxmtest")
        os.chown(directory, entry.pw_uid, entry.pw_gid)
        prefix = ["runuser", "-u", "dxmtest", "--"]

    def pg(*argv: str) -> None:
        subprocess.run([*prefix, *argv], check=True, cwd=directory, stdout=subprocess.DEVNULL, timeout=300)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = False
    try:
        pg(f"{pg_bin}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")
        pg(f"{pg_bin}/pg_ctl", "-D", data, "-l", os.path.join(directory, "log"), "-w", "-o",
           f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
           "-c max_wal_size=16GB -c checkpoint_timeout=1h", "start")
        started = True
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            with contextlib.suppress(Exception):
                pg(f"{pg_bin}/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def postgresql_database(server_url: str | None) -> Iterator[str]:
    if server_url is None:
        with throwaway_cluster() as url:
            yield url
        return
    name = f"dxm_bench_{secrets.token_hex(4)}"
    admin = make_engine(server_url, pool_size=1, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        try:
            yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.dispose()


def run(database: str, plan: Plan, repeat: int, server_url: str | None, profile: bool) -> Outcome:
    console.rule(f"[bold]{database}")
    databases = {"sqlite": sqlite_database, "postgresql": lambda: postgresql_database(server_url)}
    with databases[database]() as url:
        engine = make_engine(url, pool_size=4)
        try:
            started = time.perf_counter()
            migrate.upgrade_engine(engine)
            detail = {"migrate": time.perf_counter() - started}
            detail |= fill(engine, plan)
            fill_seconds = time.perf_counter() - started
            console.print(f"filled in {fill_seconds:.0f} s: "
                          + ", ".join(f"{k} {v:.1f} s" for k, v in detail.items()))
            checks = check_flags(engine)
            console.print("flag checks (all must be 0): " + ", ".join(f"{k}: {v}" for k, v in checks.items()))
            if any(checks.values()):
                sys.exit("the latest-round flags are inconsistent")
            load_before = os.getloadavg()[0]
            lines, measures, steps, shown, counted, profile_text = measure(engine, url, plan, repeat, profile)
            load = (load_before, os.getloadavg()[0])
            if shown != counted:
                console.print(f"[red]the page shows {shown} peers, the query counts {counted}")
            if database == "sqlite":
                size = os.path.getsize(make_url(url).database or "") / 1e9
            else:
                with engine.connect() as connection:
                    size = connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one() / 1e9
            console.print(f"database size: {size:.2f} GB")
        finally:
            engine.dispose()
    return Outcome(database, len(plan.r_business), plan.n_businesses, fill_seconds, detail, plan.group,
                   plan.group_size, counted, lines, plan_uses_index(engine, lines), measures, steps, checks, load,
                   profile_text)


def report(outcome: Outcome) -> None:
    instrument, version, section, size = outcome.group
    console.rule(f"[bold]{outcome.database}: {outcome.rounds:,} rounds of {outcome.businesses:,} businesses")
    console.print(f"filled in {outcome.fill_seconds:.0f} s; load average while measuring: "
                  f"{outcome.load[0]:.1f} → {outcome.load[1]:.1f} ({os.cpu_count()} cores)")
    console.print(f"largest peer group: {instrument} {version}, section {section}, {size}: "
                  f"{outcome.group_size:,} latest rounds ({outcome.peers:,} peers of the business under test)")
    console.print("EXPLAIN of the peer query:")
    for line in outcome.plan_lines:
        console.print("    " + line, highlight=False, markup=False)
    verdict = "[green]uses ix_round_peers" if outcome.uses_index else "[red]does NOT search ix_round_peers"
    console.print(f"  → {verdict}")
    floor = outcome.measures[0].median
    table = Table(title=f"{outcome.database}: server time, median of {len(outcome.measures[0].server)} "
                        f"(target ≤ {TARGET_MS:.0f} ms)")
    for column in ("request", "first view", "median", "p90", "client median", "÷ floor", "queries", "target"):
        table.add_column(column, justify="left" if column == "request" else "right")
    for m in outcome.measures:
        p90 = float(np.percentile(m.server, 90))
        first = "" if m.first is None else f"{m.first:.1f} ms"
        ok = "[green]met" if m.median <= TARGET_MS else "[red]missed"
        table.add_row(m.name, first, f"{m.median:.1f} ms", f"{p90:.1f} ms", f"{statistics.median(m.client):.1f} ms",
                      f"{m.median / floor:.1f}×", str(m.queries), ok)
    console.print(table)
    steps = Table(title="the results page's steps: each alone (median of 9), the template in its requests")
    steps.add_column("step")
    steps.add_column("ms", justify="right")
    for name, ms in outcome.steps.items():
        steps.add_row(name, f"{ms:.2f}")
    page = next(m for m in outcome.measures if m.name == "results page").median
    steps.add_row("the rest: login lookup, framework, middleware (page median − the above)",
                  f"{page - sum(outcome.steps.values()):.2f}")
    console.print(steps)
    if outcome.profile:
        console.print(outcome.profile, highlight=False, markup=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 rounds")
    ap.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--database-url", help="a PostgreSQL server to create the temporary database on "
                                           "(default: a throwaway cluster)")
    ap.add_argument("--repeat", type=int, default=30, help="timed requests of each kind")
    ap.add_argument("--profile", action="store_true", help="cProfile the results page's steps")
    args = ap.parse_args()
    n = 100_000 if args.quick else args.rounds
    if args.database_url:
        host = make_url(args.database_url).host or ""
        if host not in ("127.0.0.1", "localhost", "::1", "") and not host.startswith("/"):
            sys.exit(f"refusing a non-local database host: {host!r}")

    started = time.perf_counter()
    plan = plan_data(n)
    console.print(f"generated {n:,} rounds of {plan.n_businesses:,} businesses "
                  f"in {time.perf_counter() - started:.1f} s")
    sizes = np.bincount(plan.b_size, minlength=4) / plan.n_businesses
    console.print("size classes: " + ", ".join(f"{s} {v:.0%}" for s, v in zip(sizing.SIZES, sizes, strict=True))
                  + f"; latest rounds: {int(plan.r_latest.sum()):,}")
    outcomes = []
    for database in ("sqlite", "postgresql") if args.database == "both" else (args.database,):
        outcomes.append(run(database, plan, args.repeat, args.database_url, args.profile))
    for outcome in outcomes:
        report(outcome)
    console.print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
