"""What the department's city view shows for one set of filters: the tables the dashboard, its charts,
its exports and the API read, all from ``assessment.city.aggregates`` (which protects every cell).

The filters come from a URL's query (``filters_from``), so a view can be bookmarked and sent: the
same names on the page, the exports and the API (``instrument``, ``version``, ``period``,
``vsic_section``, ``size_class``, ``ward``, ``district``). A missing instrument, version or period
takes a default (the first questionnaire, its latest version, the latest quarter with a closed
round of it); a value that names nothing is a ``ValueError`` whose message says which.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from assessment import audit, reference, rounds
from assessment.city import aggregates, coverage
from assessment.city.aggregates import Filters, Row, Share, Table
from assessment.messages import N_, FormErrors
from assessment.models import CityTarget, CityUnit, User, utcnow
from questionnaires import loader
from questionnaires.schema import Instrument

FILTER_KEYS = ("vsic_section", "size_class", "ward", "district")
#: the tables of the dashboard, by the name their export and chart take, and what each groups by
TABLES: dict[str, tuple[str, ...]] = {
    "sections": ("vsic_section",), "sizes": ("size_class",), "wards": ("ward",), "districts": ("district",),
    "areas": ("area",), "quarters": ("quarter",),
}
MAX_PARAMETER = 64  # longer than any code or version: refused before it reaches a lookup


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = (params.get(name) or "").strip()
    if len(value) > MAX_PARAMETER:
        raise ValueError(f"{name}: at most {MAX_PARAMETER} characters")
    return value or None


def latest_quarter(session: Session, instrument_id: str, version: str) -> int | None:
    """The latest quarter (year * 10 + quarter) with a business's closed round of the version."""
    value = _quarter_bound(session, func.max, instrument_id, version)
    return int(value) if value is not None else None


def _quarter_bound(session: Session, bound: Any, instrument_id: str, version: str) -> int | None:
    """``func.min`` or ``func.max`` of the quarters (periods ≥ 10000, the years are below) of a version."""
    value = session.execute(select(bound(col(CityUnit.period))).where(
        col(CityUnit.instrument_id) == instrument_id, col(CityUnit.instrument_version) == version,
        col(CityUnit.period) >= 10000)).scalar()
    return int(value) if value is not None else None


def filters_from(session: Session, params: Mapping[str, str], *, now: datetime | None = None) -> Filters:
    """The filters a query names, with the defaults filled in (module docstring); ValueError naming
    the value that names nothing."""
    instrument_id = _text(params, "instrument") or loader.catalogue()[0].id
    if instrument_id not in loader.bundled():
        raise ValueError(f"unknown questionnaire {instrument_id!r}")
    version = _text(params, "version") or loader.latest(instrument_id).version
    period = _text(params, "period")
    if period is None:
        latest = latest_quarter(session, instrument_id, version) if version in loader.bundled()[instrument_id] \
            else None
        period = aggregates.quarter_label(latest or rounds.period_of(now or utcnow())[0])
    values = {key: _text(params, key) for key in FILTER_KEYS}
    return Filters(instrument_id, version, period, **values)


def query_of(filters: Filters) -> dict[str, str]:
    """The query that names ``filters`` (every value, defaults too, so a bookmark keeps its view)."""
    query = {"instrument": filters.instrument, "version": filters.version, "period": filters.period}
    query |= {key: value for key in FILTER_KEYS if (value := getattr(filters, key))}
    return query


def periods(session: Session, instrument_id: str, version: str, *, now: datetime | None = None) -> list[str]:
    """The periods one can pick, newest first: each quarter from the first with a closed round of
    the version up to the current one, and each of their years."""
    current = rounds.period_of(now or utcnow())[0]
    first = _quarter_bound(session, func.min, instrument_id, version) or current
    quarters = [q for q in range(min(first, current), current + 1) if 1 <= q % 10 <= 4]
    years = sorted({q // 10 for q in quarters}, reverse=True)
    out: list[str] = []
    for year in years:
        out += [aggregates.quarter_label(q) for q in reversed(quarters) if q // 10 == year]
        out.append(str(year))
    return out


# -- the level followed and its target -------------------------------------------------------------
def target_of(session: Session, instrument: Instrument) -> CityTarget | None:
    """The department's target for the instrument, when its level is one of this version's."""
    target = session.get(CityTarget, instrument.id)
    return target if target is not None and target.level in {lv.id for lv in instrument.levels} else None


def level_followed(instrument: Instrument, asked: str | None, target: CityTarget | None) -> str:
    """The level whose share is shown: the one asked for in the URL, else the target's, else the middle one."""
    if asked:
        if asked not in {lv.id for lv in instrument.levels}:
            raise ValueError(f"unknown level {asked!r} of {instrument.id} {instrument.version}")
        return asked
    return target.level if target is not None else aggregates.default_level(instrument)


# -- the dashboard -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dashboard:
    filters: Filters
    k: int
    tables: dict[str, Table]  # by the names of TABLES
    share: Share
    level: str
    target: CityTarget | None

    @property
    def total(self) -> aggregates.Cell:
        """The filters' businesses as a whole (every table has the same total)."""
        return self.tables["sections"].total

    @property
    def refused(self) -> str | None:
        return self.tables["sections"].refused


def table(session: Session, filters: Filters, name: str, k: int) -> Table:
    """One of the dashboard's tables (``TABLES``); the quarters are the trend up to the period."""
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}")
    if name == "quarters":
        # a refused filter set shows no quarter either (the page shows only why)
        refused = aggregates.refusal(session, filters, k)
        if refused is not None:
            return Table(TABLES[name], [], aggregates.HIDDEN, refused, k)
        return aggregates.trend(session, filters, k)
    return aggregates.aggregate(session, filters, TABLES[name], k)


def dashboard(session: Session, filters: Filters, k: int, *, level: str | None = None) -> Dashboard:
    instrument = filters.definition
    target = target_of(session, instrument)
    followed = level_followed(instrument, level, target)
    refused = aggregates.refusal(session, filters, k)
    if refused is not None:  # every table would be refused alike: none is computed
        tables = {name: Table(TABLES[name], [], aggregates.HIDDEN, refused, k) for name in TABLES}
        return Dashboard(filters, k, tables, Share(None, None, None, True, refused), followed, target)
    tables = {name: table(session, filters, name, k) for name in TABLES}
    return Dashboard(filters, k, tables, aggregates.share_at_or_above(session, filters, followed, k), followed,
                     target)


@dataclass(frozen=True)
class Coverage:
    """The view beside the registered enterprises (``assessment.city.coverage``): how many are
    registered under the filters, each table row's coverage in percent (None: hidden or nobody
    registered) and the post-stratified mean."""

    registered: int
    covered: dict[str, dict[str, float | None]]  # table name -> key value -> percent
    weighted: coverage.Weighted
    uploaded_at: datetime | None


def coverage_of(session: Session, view: Dashboard) -> Coverage | None:
    """The live view's coverage; None before a population was uploaded or when the view is refused."""
    filters = view.filters
    registered = coverage.total(session, filters)
    if registered is None or view.refused is not None:
        return None
    covered: dict[str, dict[str, float | None]] = {}
    for name, (key,) in TABLES.items():
        if name == "quarters":
            continue
        population = coverage.registered(session, filters, key)
        covered[name] = {r.keys[key]: coverage.share(r.cell.n, population.get(r.keys[key]))
                         for r in view.tables[name].rows}
    weighted = coverage.weighted_mean(session, filters, view.k)
    assert weighted is not None  # a population is there
    return Coverage(registered, covered, weighted, coverage.uploaded_at(session))


def ranked(table: Table) -> list[Row]:
    """The published rows, highest mean first (ties by key), then the hidden ones in key order."""
    published = [r for r in table.rows if not r.cell.suppressed]
    published.sort(key=lambda r: (-(r.cell.mean_overall if r.cell.mean_overall is not None else -1.0),
                                  tuple(r.keys.values())))
    return published + [r for r in table.rows if r.cell.suppressed]


def key_name(key: str, value: str, lang: str) -> str:
    """How a group's key reads: a ward's or a section's name, a size class or an area as is (the page
    translates those), a district or a quarter as stored."""
    if key == "ward" and value in reference.wards():
        return reference.wards()[value].name(lang)
    if key == "vsic_section" and value in reference.sections():
        return reference.sections()[value].name(lang)
    return value


def set_target(*, session: Session, user: User, instrument: Instrument, level: str, share: str,
               client: str) -> CityTarget:
    """Set the instrument's followed level and target share (0-100; "42,5" or "42.5"), recorded in
    the audit log in the same transaction. FormErrors per field, nothing written, when either is wrong."""
    errors: dict[str, str] = {}
    if level not in {lv.id for lv in instrument.levels}:
        errors["level"] = N_("Choose one of the questionnaire's levels.")
    try:
        value = float(share.strip().replace(",", ".").rstrip("%").strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= 100):
        errors["target_share"] = N_("Enter a share from 0 to 100.")
    if errors:
        raise FormErrors(errors)
    target = session.get(CityTarget, instrument.id) or CityTarget(instrument_id=instrument.id, level=level,
                                                                  target_share=value)
    target.level, target.target_share, target.updated_at = level, value, utcnow()
    session.add(target)
    audit.record(session=session, actor=user, action="city.target", object_type="city", object_id=instrument.id,
                 client=client)
    session.commit()
    return target
