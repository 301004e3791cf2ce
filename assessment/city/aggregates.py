"""The city's figures: businesses, mean scores and levels by ward, district, sector, size and quarter,
with small-cell protection (docs/method.md section 11).

The unit is each business's latest closed round of one instrument version in the period (a quarter
or a year by closing time in Asia/Ho_Chi_Minh), flagged in the database when rounds close
(``latest_in_quarter`` / ``latest_in_year``). Every figure comes from a SQL ``GROUP BY`` over those
rounds (never a loop over rounds, never re-scoring); the few dozen groups are then combined and
protected with NumPy (``assessment.city.suppression``). The web pages, exports and the API all call
these functions, so they publish the same cells hidden the same way.

* A filter set whose businesses, or the businesses it leaves out of the unfiltered period, number
  fewer than ``k`` (but not none) is refused: differencing two views cannot isolate a small group.
* Each table lists every value of its keys (the 126 wards, every section and size class, the
  quarters), an empty one included, so that a missing row never says "none here".
* The ward, district (a ward's main former district, the first its data file lists) and area (inner
  city wards vs suburban communes) tables are one hierarchy, protected together whichever of them
  is asked for, so the ward table is the same beside either of the others.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from assessment import before_after, consent, reference
from assessment.city import cache as city_cache
from assessment.city import suppression
from assessment.messages import N_
from assessment.models import AssessmentRound, CityUnit, Cohort, CohortMember, CohortTrainer, User, utcnow
from assessment.sizing import SIZES
from questionnaires import loader
from questionnaires.schema import Instrument

GROUP_KEYS = ("ward", "district", "area", "vsic_section", "size_class", "quarter")
GEOGRAPHY = ("ward", "district", "area")
AREAS = ("ward", "commune")  # a ward's type in the data file: inner-city ward or suburban commune
PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4]))?$")
TOO_SMALL = N_("Fewer than %(k)d businesses match these filters, so no figures are shown for them.")
COMPLEMENT_TOO_SMALL = N_("These filters leave out fewer than %(k)d businesses of the city, so showing them would "
                          "reveal the businesses left out: no figures are shown.")
UNPROTECTABLE = N_("This table cannot be shown without revealing small groups of businesses.")


# -- what is asked ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """One instrument version, a period ("2026-Q3" or "2026") and optional filters, checked when made
    (a ``ValueError`` naming the bad value)."""

    instrument: str
    version: str
    period: str
    vsic_section: str | None = None
    size_class: str | None = None
    ward: str | None = None
    district: str | None = None

    def __post_init__(self) -> None:
        try:
            loader.get(self.instrument, self.version)
        except KeyError:
            raise ValueError(f"unknown questionnaire version {self.instrument!r} {self.version!r}") from None
        if PERIOD.match(self.period) is None:
            raise ValueError(f"a period is a year or a quarter (2026, 2026-Q3), not {self.period!r}")
        if self.vsic_section is not None and self.vsic_section not in reference.sections():
            raise ValueError(f"unknown VSIC section {self.vsic_section!r}")
        if self.size_class is not None and self.size_class not in SIZES:
            raise ValueError(f"unknown size class {self.size_class!r}")
        if self.ward is not None and self.ward not in reference.wards():
            raise ValueError(f"unknown ward code {self.ward!r}")
        if self.district is not None and self.district not in districts():
            raise ValueError(f"unknown former district {self.district!r}")

    @property
    def year(self) -> int:
        return int(self.period[:4])

    @property
    def quarter(self) -> int | None:
        """year * 10 + quarter when the period is a quarter (as ``closed_quarter`` stores it)."""
        match = PERIOD.match(self.period)
        return None if match is None or match.group(2) is None else self.year * 10 + int(match.group(2))

    @property
    def quarters(self) -> list[int]:
        """The period's quarters, as ``closed_quarter`` stores them."""
        return [self.quarter] if self.quarter is not None else [self.year * 10 + q for q in range(1, 5)]

    @property
    def unfiltered(self) -> Filters:
        return replace(self, vsic_section=None, size_class=None, ward=None, district=None)

    @property
    def definition(self) -> Instrument:
        return loader.get(self.instrument, self.version)


@dataclass(frozen=True)
class Cell:
    """The figures of one group; all None when ``suppressed``. ``level_counts`` by level id (a level
    count may be None: hidden on its own), ``dimension_means`` by dimension id (None: fewer than k
    businesses with a score for it)."""

    n: int | None
    suppressed: bool
    mean_overall: float | None = None
    level_counts: dict[str, int | None] | None = None
    dimension_means: dict[str, float | None] | None = None


HIDDEN = Cell(None, True)


@dataclass(frozen=True)
class Row:
    keys: dict[str, str]
    cell: Cell


@dataclass(frozen=True)
class Table:
    group_by: tuple[str, ...]
    rows: list[Row]
    total: Cell
    refused: str | None = None  # a message id (with %(k)d) saying why nothing is shown
    k: int = 5

    @property
    def suppressed(self) -> int:
        return sum(r.cell.suppressed for r in self.rows)


@dataclass(frozen=True)
class Share:
    """The share (0-100) of businesses at or above a level, the businesses behind it, and how many
    of them reached it; all None when suppressed."""

    share: float | None
    n: int | None
    at_or_above: int | None
    suppressed: bool
    refused: str | None = None


# -- reference: the keys' values ----------------------------------------------------------------
@cache
def districts() -> tuple[str, ...]:
    """The former districts that are some ward's main one, in the data file's order of first use."""
    return tuple(dict.fromkeys(w.main_district for w in reference.wards().values()))


def district_of(ward_code: str) -> str:
    return reference.wards()[ward_code].main_district


def wards_in(filters: Filters) -> list[str]:
    codes = list(reference.wards())
    if filters.ward is not None:
        codes = [filters.ward]
    if filters.district is not None:
        codes = [c for c in codes if district_of(c) == filters.district]
    return codes


def _domain(key: str, filters: Filters, quarters: Sequence[int]) -> list[str]:
    """Every value of ``key`` under ``filters`` (an empty group included)."""
    if key == "ward":
        return wards_in(filters)
    if key == "district":
        return list(dict.fromkeys(district_of(c) for c in wards_in(filters)))
    if key == "area":
        return [a for a in AREAS if any(reference.wards()[c].type == a for c in wards_in(filters))]
    if key == "vsic_section":
        return [filters.vsic_section] if filters.vsic_section else list(reference.sections())
    if key == "size_class":
        return [filters.size_class] if filters.size_class else list(SIZES)
    return [quarter_label(q) for q in quarters]


def quarter_label(quarter: int) -> str:
    return f"{quarter // 10}-Q{quarter % 10}"


# -- the SQL ------------------------------------------------------------------------------------
R = AssessmentRound.__table__.c  # type: ignore[attr-defined]
U = CityUnit.__table__.c  # type: ignore[attr-defined]
_SQL_KEY = {"ward": U.ward_code, "district": U.ward_code, "area": U.ward_code, "vsic_section": U.vsic_section,
            "size_class": U.size_class, "quarter": U.period}


def period_where(filters: Filters, *, by_quarter: bool, quarters: Sequence[int] | None = None) -> list[Any]:
    """The units of the period (``city_unit``: one row per business and period), of the businesses the
    city statistics may count (an owner consented: ``consent.STATISTICS_BUSINESSES``)."""
    # ``business_id + 0``: the consenting businesses are a set to test each unit against, not an index
    # key to probe; on the bare column SQLite probes the primary key once per consenting business and
    # period (ten quarters × every business for the trend), three to four times slower than reading
    # the period's units in key order and testing each against the set it builds once
    where: list[Any] = [U.instrument_id == filters.instrument, U.instrument_version == filters.version,
                        (U.business_id + 0).in_(consent.STATISTICS_BUSINESSES)]
    if by_quarter:
        where.append(U.period.in_(list(quarters if quarters is not None else filters.quarters)))
    else:
        where.append(U.period == (filters.quarter if filters.quarter is not None else filters.year))
    return where


def filter_where(filters: Filters, table: Any = U) -> list[ColumnElement[bool]]:
    """The filters as conditions on a table with ``vsic_section``, ``size_class`` and ``ward_code``
    columns (``city_unit``'s, or the register's: ``assessment.city.coverage``)."""
    where: list[ColumnElement[bool]] = []
    if filters.vsic_section is not None:
        where.append(table.vsic_section == filters.vsic_section)
    if filters.size_class is not None:
        where.append(table.size_class == filters.size_class)
    if filters.ward is not None or filters.district is not None:
        where.append(table.ward_code.in_(wards_in(filters)))
    return where


@dataclass
class _Units:
    """The figures of the SQL groups (SQL keys, level): businesses, the overall score's sum and
    count, and each dimension's (columns in the instrument's order)."""

    keys: list[tuple[Any, ...]]  # SQL key values of each group
    level: np.ndarray  # level index of each group (-1: none)
    n: np.ndarray
    score_sum: np.ndarray
    score_n: np.ndarray
    dim_sum: np.ndarray  # (groups, D)
    dim_n: np.ndarray


def _fetch(session: Session, filters: Filters, sql_keys: Sequence[str], *, by_quarter: bool,
           quarters: Sequence[int] | None = None) -> _Units:
    """One GROUP BY over ``city_unit``: the keys asked for and the overall level."""
    instrument = filters.definition
    level_index = {lv.id: i for i, lv in enumerate(instrument.levels)}
    n_dims = len(instrument.dimensions)
    columns = list(dict.fromkeys(_SQL_KEY[k] for k in sql_keys))
    dims = [U[f"d{i}"] for i in range(n_dims)]
    where = period_where(filters, by_quarter=by_quarter, quarters=quarters) + filter_where(filters)
    rows = session.execute(
        select(*columns, U.overall_level, func.count(), func.sum(U.overall_score), func.count(U.overall_score),
               *(func.sum(d) for d in dims), *(func.count(d) for d in dims))
        .where(*where).group_by(*columns, U.overall_level)).all()
    width = len(columns)
    table = np.array([[v or 0 for v in r[width + 1:]] for r in rows], dtype=float).reshape(len(rows), 3 + 2 * n_dims)
    return _Units(
        keys=[tuple(r[:width]) for r in rows],
        level=np.array([level_index.get(r[width], -1) for r in rows], dtype=np.int64),
        n=table[:, 0].astype(np.int64), score_sum=table[:, 1], score_n=table[:, 2].astype(np.int64),
        dim_sum=table[:, 3:3 + n_dims], dim_n=table[:, 3 + n_dims:].astype(np.int64))


def strata(session: Session, filters: Filters) -> dict[tuple[str, str], tuple[int, float]]:
    """Per (VSIC section, size class) under ``filters``: the businesses with an overall score and
    that score's sum. Unprotected figures, for the post-stratified mean alone
    (``assessment.city.coverage``), which publishes only a combination of groups of at least k.
    Kept in the city's cache like the tables: the dashboard asks for it on every view."""

    def compute() -> dict[tuple[str, str], tuple[int, float]]:
        units = _fetch(session, filters, ("vsic_section", "size_class"), by_quarter=False)
        out: dict[tuple[str, str], tuple[int, float]] = {}
        for (section, size), n, total in zip(units.keys, units.score_n, units.score_sum, strict=True):
            if section is not None and size is not None:
                before = out.get((section, size), (0, 0.0))
                out[(section, size)] = (before[0] + int(n), before[1] + float(total))
        return out

    return city_cache.remember(session, filters.instrument, filters.version, [asdict(filters), "strata"], compute,
                               lambda found: [[s, z, n, t] for (s, z), (n, t) in found.items()],
                               lambda rows: {(s, z): (int(n), float(t)) for s, z, n, t in rows})


def _counts(session: Session, filters: Filters) -> tuple[int, int]:
    """Businesses under ``filters`` and in the unfiltered period: counts that an index answers alone
    (the primary key's prefix, and ix_city_unit_sector or ix_city_unit_ward for the filters)."""
    period = period_where(filters, by_quarter=False)
    unfiltered = int(session.execute(select(func.count()).select_from(CityUnit.__table__).where(*period)).scalar()  # type: ignore[attr-defined]
                     or 0)
    conditions = filter_where(filters)
    if not conditions:
        return unfiltered, unfiltered
    n = session.execute(select(func.count()).select_from(CityUnit.__table__).where(*period, *conditions)).scalar()  # type: ignore[attr-defined]
    return int(n or 0), unfiltered


def refusal(session: Session, filters: Filters, k: int) -> str | None:
    """Why ``filters`` are refused (a message id taking ``k``), or None."""
    n, unfiltered = _counts(session, filters)
    if n < k:
        return TOO_SMALL
    if 0 < unfiltered - n < k:
        return COMPLEMENT_TOO_SMALL
    return None


# -- from SQL groups to the table's cells -------------------------------------------------------
def key_value(key: str, raw: Any) -> str:
    if key == "district":
        return district_of(raw) if raw in reference.wards() else ""
    if key == "area":
        return reference.wards()[raw].type if raw in reference.wards() else ""
    if key == "quarter":
        return quarter_label(int(raw))
    return "" if raw is None else str(raw)


def _index(key_rows: list[tuple[Any, ...]], sql_keys: Sequence[str], group_by: Sequence[str],
           domains: dict[str, list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Per row of SQL groups: its flat cell index in the (domain × domain) grid, and whether it is in it."""
    columns = list(dict.fromkeys(_SQL_KEY[k] for k in sql_keys))
    position = {c.key: i for i, c in enumerate(columns)}
    shape = [len(domains[g]) for g in group_by]
    lookup = [{v: i for i, v in enumerate(domains[g])} for g in group_by]
    flat = np.zeros(len(key_rows), dtype=np.int64)
    inside = np.ones(len(key_rows), dtype=bool)
    for r, row in enumerate(key_rows):  # one pass over the groups (a few hundred), not the rounds
        index = 0
        for g, key in enumerate(group_by):
            i = lookup[g].get(key_value(key, row[position[_SQL_KEY[key].key]]))
            if i is None:
                inside[r] = False
                break
            index = index * shape[g] + i
        flat[r] = index
    return flat, inside


@dataclass
class _Grid:
    """Figures of every cell of a (one- or two-way) grid, flattened, plus the levels."""

    n: np.ndarray  # (cells,)
    levels: np.ndarray  # (cells, L)
    score_sum: np.ndarray
    score_n: np.ndarray
    dim_sum: np.ndarray  # (cells, D)
    dim_n: np.ndarray


def _grid(units: _Units, sql_keys: Sequence[str], group_by: Sequence[str], domains: dict[str, list[str]],
          n_levels: int, n_dims: int) -> _Grid:
    size = int(np.prod([len(domains[g]) for g in group_by])) if group_by else 1
    grid = _Grid(np.zeros(size, dtype=np.int64), np.zeros((size, n_levels), dtype=np.int64), np.zeros(size),
                 np.zeros(size, dtype=np.int64), np.zeros((size, n_dims)), np.zeros((size, n_dims), dtype=np.int64))
    flat, inside = _index(units.keys, sql_keys, group_by, domains) if group_by else (
        np.zeros(len(units.keys), dtype=np.int64), np.ones(len(units.keys), dtype=bool))
    np.add.at(grid.n, flat[inside], units.n[inside])
    np.add.at(grid.score_sum, flat[inside], units.score_sum[inside])
    np.add.at(grid.score_n, flat[inside], units.score_n[inside])
    leveled = inside & (units.level >= 0)
    np.add.at(grid.levels, (flat[leveled], units.level[leveled]), units.n[leveled])
    np.add.at(grid.dim_sum, flat[inside], units.dim_sum[inside])
    np.add.at(grid.dim_n, flat[inside], units.dim_n[inside])
    return grid


def _geography_hidden(ward_counts: np.ndarray, wards: list[str], k: int) -> dict[str, tuple[list[str], np.ndarray]]:
    """The hidden wards, districts and areas of one population, protected together."""
    district_list = list(dict.fromkeys(district_of(c) for c in wards))
    area_list = list(AREAS)
    parent_a = [district_list.index(district_of(c)) for c in wards]
    parent_b = [area_list.index(reference.wards()[c].type) for c in wards]
    ward_h, district_h, area_h = suppression.cross_nested(ward_counts, parent_a, len(district_list), parent_b,
                                                          len(area_list), k)
    return {"ward": (wards, ward_h), "district": (district_list, district_h), "area": (area_list, area_h)}


def _margin_hidden(key: str, counts_by_value: np.ndarray, domain: list[str], ward_counts: np.ndarray | None,
                   wards: list[str], k: int, total_known: bool) -> np.ndarray:
    """Which values of ``key`` its one-way table hides (the geography protected as one)."""
    if key in GEOGRAPHY and ward_counts is not None and total_known:
        values, hidden = _geography_hidden(ward_counts, wards, k)[key]
        by_value = dict(zip(values, hidden, strict=True))
        return np.array([bool(by_value.get(v, True)) for v in domain], dtype=bool)
    return suppression.one_way(counts_by_value, k, total_known=total_known)


def _cells(grid: _Grid, hidden: np.ndarray, instrument: Instrument, level_hidden: np.ndarray, k: int) -> list[Cell]:
    out = []
    for i in range(grid.n.size):
        if hidden[i]:
            out.append(HIDDEN)
            continue
        n = int(grid.n[i])
        mean = float(grid.score_sum[i] / grid.score_n[i]) if grid.score_n[i] else None
        levels = {lv.id: (None if level_hidden[i, j] else int(grid.levels[i, j]))
                  for j, lv in enumerate(instrument.levels)}
        dims = {d.id: (float(grid.dim_sum[i, j] / grid.dim_n[i, j]) if grid.dim_n[i, j] >= k else None)
                for j, d in enumerate(instrument.dimensions)}
        out.append(Cell(n, False, mean, levels, dims))
    return out


def _levels_hidden(grid: _Grid, cell_hidden: np.ndarray, total_levels_hidden: np.ndarray, k: int) -> np.ndarray:
    """Hidden level counts: the (cells × levels) table, its row margins being the cells (hidden as
    decided) and its column margins the total's level counts."""
    try:
        return suppression.two_way(grid.levels, cell_hidden, total_levels_hidden, k,
                                   hidden=np.repeat(cell_hidden[:, None], grid.levels.shape[1], axis=1))
    except suppression.CannotProtect:
        return np.ones_like(grid.levels, dtype=bool)


def _total_cell(grid: _Grid, instrument: Instrument, k: int) -> tuple[Cell, np.ndarray]:
    """The total and its hidden level counts. A line whose every business sits in one hidden count
    (a total of fewer than k, all at one level) cannot be protected beside a published total: all its
    counts are hidden then, as every caller (a refused period, a quarter's trend) must show it."""
    try:
        total_levels_hidden = suppression.one_way(grid.levels[0], k)
    except suppression.CannotProtect:
        total_levels_hidden = np.ones(grid.levels.shape[1], dtype=bool)
    cell = _cells(grid, np.zeros(1, dtype=bool), instrument, total_levels_hidden[None, :], k)[0]
    return cell, total_levels_hidden


# -- the public functions -----------------------------------------------------------------------
def _cell(data: dict[str, Any]) -> Cell:
    return Cell(**data)


def encode_table(table: Table) -> dict[str, Any]:
    return asdict(table)


def decode_table(data: dict[str, Any]) -> Table:
    return Table(tuple(data["group_by"]), [Row(r["keys"], _cell(r["cell"])) for r in data["rows"]],
                 _cell(data["total"]), data["refused"], data["k"])


def _cached(session: Session, filters: Filters, asked: list[Any], compute: Callable[[], Table],
            use_cache: bool) -> Table:
    if not use_cache:
        return compute()
    return city_cache.remember(session, filters.instrument, filters.version, [asdict(filters), *asked], compute,
                               encode_table, decode_table)


def aggregate(session: Session, filters: Filters, group_by: tuple[str, ...], k: int, *,
              use_cache: bool = True) -> Table:
    """The table of ``filters`` grouped by one or two of ``GROUP_KEYS``, every cell of fewer than ``k``
    businesses hidden, with complementary cells (module docstring); refused as a whole when the
    filters match too few businesses or leave too few out. Kept in the database cache
    (``assessment.city.cache``) until a round of the version closes."""
    if not 1 <= len(group_by) <= 2 or len(set(group_by)) != len(group_by) or not set(group_by) <= set(GROUP_KEYS):
        raise ValueError(f"group by one or two of {', '.join(GROUP_KEYS)}, not {group_by!r}")
    if set(group_by) <= set(GEOGRAPHY) and len(group_by) == 2:
        raise ValueError("ward, district and area nest in one another: group by one of them with another key")
    return _cached(session, filters, ["aggregate", list(group_by), k],
                   lambda: _aggregate(session, filters, group_by, k), use_cache)


def _aggregate(session: Session, filters: Filters, group_by: tuple[str, ...], k: int) -> Table:
    refused = refusal(session, filters, k)
    if refused is not None:
        return Table(group_by, [], HIDDEN, refused, k)
    if "quarter" in group_by:
        return _by_quarter(session, filters, group_by, k, filters.quarters)
    return _table(session, filters, group_by, k)


def _table(session: Session, filters: Filters, group_by: tuple[str, ...], k: int) -> Table:
    instrument = filters.definition
    geo = [g for g in GEOGRAPHY if g in group_by]
    sql_keys = tuple(("ward",) if geo else ()) + tuple(g for g in group_by if g not in GEOGRAPHY)
    units = _fetch(session, filters, sql_keys, by_quarter=False)
    wards = wards_in(filters)
    domains = {g: _domain(g, filters, filters.quarters) for g in (*group_by, "ward")}
    n_levels, n_dims = len(instrument.levels), len(instrument.dimensions)
    total_grid = _grid(units, sql_keys, (), domains, n_levels, n_dims)
    total, total_levels_hidden = _total_cell(total_grid, instrument, k)
    ward_counts = _grid(units, sql_keys, ("ward",), domains, n_levels, n_dims).n if geo else None
    grid = _grid(units, sql_keys, group_by, domains, n_levels, n_dims)
    shape = tuple(len(domains[g]) for g in group_by)
    try:
        if len(group_by) == 1:
            hidden = _margin_hidden(group_by[0], grid.n, domains[group_by[0]], ward_counts, wards, k, True)
        else:
            margins = [_margin_hidden(g, grid.n.reshape(shape).sum(axis=1 - a), domains[g], ward_counts, wards, k, True)
                       for a, g in enumerate(group_by)]
            hidden = suppression.two_way(grid.n.reshape(shape), margins[0], margins[1], k).ravel()
    except suppression.CannotProtect:
        return Table(group_by, [], total, UNPROTECTABLE, k)
    level_hidden = _levels_hidden(grid, hidden, total_levels_hidden, k)
    cells = _cells(grid, hidden, instrument, level_hidden, k)
    return Table(group_by, [Row(dict(zip(group_by, values, strict=True)), cell)
                            for values, cell in zip(_keys_of(group_by, domains), cells, strict=True)], total, None, k)


def _keys_of(group_by: Sequence[str], domains: dict[str, list[str]]) -> list[tuple[str, ...]]:
    if len(group_by) == 1:
        return [(v,) for v in domains[group_by[0]]]
    return [(a, b) for a in domains[group_by[0]] for b in domains[group_by[1]]]


def _by_quarter(session: Session, filters: Filters, group_by: tuple[str, ...], k: int,
                quarters: Sequence[int]) -> Table:
    """Quarters are separate populations (a business counts once in each quarter it closed a round
    in): each quarter's cell is protected on its own, and a second key within each quarter as a
    one-way table whose total is the quarter's."""
    instrument = filters.definition
    other = [g for g in group_by if g != "quarter"]
    geo = [g for g in other if g in GEOGRAPHY]
    sql_keys = ("quarter", *(("ward",) if geo else ()), *(g for g in other if g not in GEOGRAPHY))
    units = _fetch(session, filters, sql_keys, by_quarter=True, quarters=quarters)
    domains = {g: _domain(g, filters, quarters) for g in (*group_by, "ward")}
    n_levels, n_dims = len(instrument.levels), len(instrument.dimensions)
    total, _ = _total_cell(_grid(_fetch(session, filters, (), by_quarter=False), (), (), domains, n_levels, n_dims),
                           instrument, k)
    rows: list[Row] = []
    wards = wards_in(filters)
    unfiltered = _quarter_counts(session, filters, quarters) if filter_where(filters) else {}
    for quarter, label in zip(quarters, domains["quarter"], strict=True):
        one = {**domains, "quarter": [label]}
        quarter_grid = _grid(units, sql_keys, ("quarter",), one, n_levels, n_dims)
        left_out = unfiltered.get(quarter, 0) - int(quarter_grid.n[0]) if unfiltered else 0
        quarter_hidden = (quarter_grid.n < k) | (0 < left_out < k)  # the period's refusal, per quarter
        quarter_levels = suppression.one_way(quarter_grid.levels[0], k, total_known=not quarter_hidden[0])
        if not other:
            level_hidden = quarter_levels[None, :] | quarter_hidden[:, None]
            cell = _cells(quarter_grid, quarter_hidden, instrument, level_hidden, k)[0]
            rows.append(Row({"quarter": label}, cell))
            continue
        key = other[0]
        grid = _grid(units, sql_keys, ("quarter", key), one, n_levels, n_dims)
        ward_counts = _grid(units, sql_keys, ("quarter", "ward"), one, n_levels, n_dims).n if geo else None
        if quarter_hidden[0]:
            hidden = np.ones(grid.n.size, dtype=bool)
        else:
            try:
                hidden = _margin_hidden(key, grid.n, domains[key], ward_counts, wards, k, True)
            except suppression.CannotProtect:
                hidden = np.ones(grid.n.size, dtype=bool)
        level_hidden = _levels_hidden(grid, hidden, quarter_levels, k)
        for value, cell in zip(domains[key], _cells(grid, hidden, instrument, level_hidden, k), strict=True):
            keys = {"quarter": label, key: value}
            rows.append(Row({g: keys[g] for g in group_by}, cell))
    if group_by[0] != "quarter":  # the second key first, as asked
        order = {v: i for i, v in enumerate(domains[group_by[0]])}
        rows.sort(key=lambda r: order[r.keys[group_by[0]]])
    return Table(group_by, rows, total, None, k)


def _quarter_counts(session: Session, filters: Filters, quarters: Sequence[int]) -> dict[int, int]:
    """Businesses per quarter with no filter but the instrument version."""
    rows = session.execute(select(U.period, func.count()).where(
        *period_where(filters, by_quarter=True, quarters=quarters)).group_by(U.period)).all()
    return {int(q): int(n) for q, n in rows}


def trend(session: Session, filters: Filters, k: int, *, first_quarter: int | None = None,
          use_cache: bool = True) -> Table:
    """The table by quarter, from the first quarter with a round of this version (or ``first_quarter``)
    up to the period's last quarter, each quarter's unit its own (latest round in the quarter). Each
    quarter is hidden when it has fewer than ``k`` businesses or leaves fewer than ``k`` out (the
    refusal rule, quarter by quarter); the total is the period's, hidden when the period is refused."""
    return _cached(session, filters, ["trend", first_quarter, k],
                   lambda: _trend(session, filters, k, first_quarter), use_cache)


def _trend(session: Session, filters: Filters, k: int, first_quarter: int | None) -> Table:
    last = filters.quarters[-1]
    if first_quarter is None:
        first_quarter = session.execute(select(func.min(U.period)).where(
            U.instrument_id == filters.instrument, U.instrument_version == filters.version,
            U.period >= 10000)).scalar() or last
    first_quarter = min(first_quarter, last)
    quarters = [q for q in range(first_quarter, last + 1) if 1 <= q % 10 <= 4]
    table = _by_quarter(session, filters, ("quarter",), k, quarters)
    return table if refusal(session, filters, k) is None else replace(table, total=HIDDEN)


def share_at_or_above(session: Session, filters: Filters, level: str, k: int, *, use_cache: bool = True) -> Share:
    """The share of the filters' businesses whose overall level is ``level`` or higher. Hidden when
    the businesses at or above it, or those below, are fewer than ``k`` (but some), or when the
    split would reveal a level count the level table hides."""
    instrument = filters.definition
    ids = [lv.id for lv in instrument.levels]
    if level not in ids:
        raise ValueError(f"unknown level {level!r} of {filters.instrument} {filters.version}")
    if not use_cache:
        return _share(session, filters, level, k)
    return city_cache.remember(session, filters.instrument, filters.version, [asdict(filters), "share", level, k],
                               lambda: _share(session, filters, level, k), asdict, lambda data: Share(**data))


def _share(session: Session, filters: Filters, level: str, k: int) -> Share:
    instrument = filters.definition
    ids = [lv.id for lv in instrument.levels]
    refused = refusal(session, filters, k)
    if refused is not None:
        return Share(None, None, None, True, refused)
    units = _fetch(session, filters, (), by_quarter=False)
    grid = _grid(units, (), (), {}, len(ids), len(instrument.dimensions))
    counts = grid.levels[0]
    split = ids.index(level)
    above, n = int(counts[split:].sum()), int(grid.n[0])
    hidden = suppression.one_way(counts, k) & (counts > 0)
    lone = int(hidden[split:].sum()) == 1 or int(hidden[:split].sum()) == 1
    if 0 < above < k or 0 < n - above < k or lone:
        return Share(None, None, None, True)
    return Share(100.0 * above / n if n else None, n, above, False)


def default_level(instrument: Instrument) -> str:
    """The level the share is shown for unless the department picks one: the middle one."""
    return instrument.levels[len(instrument.levels) // 2].id


# -- which support works ------------------------------------------------------------------------
@dataclass(frozen=True)
class Change:
    """A mean change of the overall score and the businesses (pairs) behind it; None when suppressed."""

    n: int | None
    mean_change: float | None
    suppressed: bool


@dataclass(frozen=True)
class SupportRow:
    kind: str  # "course" or "trainer"
    id: int
    name: str
    members: Change
    comparison: Change


def _change(n: int, total: float, k: int) -> Change:
    return Change(None, None, True) if n < k else Change(n, total / n, False)


def _comparison(session: Session, cohort: Cohort, version: str, windows: tuple[before_after.Window, ...],
                strata: dict[tuple[str, str], int]) -> tuple[int, float]:
    """Businesses that took no course, of the members' sections and size classes, with a round of the
    version in each window: (how many, the sum of their changes weighted to the members' strata so
    that its mean is the members' mix). One SQL query; ``ROW_NUMBER`` picks T0 and T1."""
    before, after = windows
    base = [R.instrument_id == cohort.instrument_id, R.instrument_version == version, R.status == "closed",
            R.respondents > 0, R.overall_score.is_not(None),
            R.business_id.not_in(select(CohortMember.__table__.c.business_id))]  # type: ignore[attr-defined]

    def ranked(window: before_after.Window, newest_first: bool) -> Any:
        order = (R.closed_at.desc(), R.id.desc()) if newest_first else (R.closed_at.asc(), R.id.asc())
        return select(R.business_id, R.vsic_section, R.size_class, R.overall_score,
                      func.row_number().over(partition_by=R.business_id, order_by=order).label("k")
                      ).where(*base, R.closed_at >= window.since, R.closed_at < window.until).subquery()

    t0, t1 = ranked(before, True), ranked(after, False)
    rows = session.execute(
        select(t0.c.vsic_section, t0.c.size_class, func.count(), func.sum(t1.c.overall_score - t0.c.overall_score))
        .select_from(t0.join(t1, t0.c.business_id == t1.c.business_id))
        .where(t0.c.k == 1, t1.c.k == 1).group_by(t0.c.vsic_section, t0.c.size_class)).all()
    by_stratum = {(s, z): (int(n), float(total)) for s, z, n, total in rows}
    present = {key: weight for key, weight in strata.items() if key in by_stratum}
    count = sum(by_stratum[key][0] for key in present)
    weight = sum(present.values())
    if not count or not weight:
        return 0, 0.0
    mean = sum(w * by_stratum[key][1] / by_stratum[key][0] for key, w in present.items()) / weight
    return count, mean * count


def support_comparison(session: Session, instrument: str, version: str, k: int, *, before_days: int = 365,
                       after_days: int = 180, now: datetime | None = None) -> list[SupportRow]:
    """Per course (of this instrument version) and per trainer: the members' mean change of the
    overall score between T0 and T1 (``assessment.before_after``'s pairs) beside that of comparable
    businesses that took no course (the same sections and size classes, weighted to the members'
    mix, over the same windows), with the businesses behind each; either hidden below ``k``. A
    descriptive comparison, not a causal effect."""
    now = now or utcnow()
    cohorts = session.execute(select(Cohort).where(
        col(Cohort.instrument_id) == instrument,
        or_(col(Cohort.instrument_version) == version, col(Cohort.instrument_version) == ""))
        .order_by(col(Cohort.starts_on), col(Cohort.id))).scalars().all()
    out: list[SupportRow] = []
    by_trainer: dict[int, list[tuple[int, float, int, float]]] = {}
    for cohort in cohorts:
        if before_after.version_of(cohort) != version:
            continue
        pairing = before_after.pairs(session, cohort, before_days=before_days, after_days=after_days, now=now)
        changes = [(p, p.t1_overall - p.t0_overall) for p in pairing.pairs
                   if p.t0_overall is not None and p.t1_overall is not None]
        strata: dict[tuple[str, str], int] = {}
        for p, _ in changes:
            key = (p.t0.vsic_section or "", p.t0.size_class or "")
            strata[key] = strata.get(key, 0) + 1
        members_total = sum(c for _, c in changes)
        n_cmp, cmp_total = _comparison(session, cohort, version, (pairing.before, pairing.after), strata)
        out.append(SupportRow("course", cohort.id or 0, cohort.name, _change(len(changes), members_total, k),
                              _change(n_cmp, cmp_total, k)))
        trainers = session.execute(select(CohortTrainer.__table__.c.user_id).where(  # type: ignore[attr-defined]
            CohortTrainer.__table__.c.cohort_id == cohort.id)).scalars().all()  # type: ignore[attr-defined]
        for trainer in trainers:
            by_trainer.setdefault(trainer, []).append((len(changes), members_total, n_cmp, cmp_total))
    names: dict[int, str] = dict(session.execute(select(User.__table__.c.id, User.__table__.c.display_name).where(  # type: ignore[attr-defined]
        User.__table__.c.id.in_(list(by_trainer)))).all()) if by_trainer else {}  # type: ignore[attr-defined]
    for trainer, parts in sorted(by_trainer.items()):
        out.append(SupportRow("trainer", trainer, names.get(trainer, ""),
                              _change(sum(p[0] for p in parts), sum(p[1] for p in parts), k),
                              _change(sum(p[2] for p in parts), sum(p[3] for p in parts), k)))
    return out
