"""The city's summary table (``city_unit``): one row per business, instrument version and period,
written when a round closes, so the dashboard's GROUP BY reads one narrow indexed table.

A round that closes moves its business's latest-round flags (``assessment.rounds.refresh_latest``);
``refresh`` then rewrites that business's rows for the round's quarter and year from the flagged
rounds and raises the version's counter (``city_version``), which every city cache key includes.
``fill`` writes rows from the rounds with one ``INSERT … SELECT`` per instrument version (the
dimension scores pivoted into columns d0 … in the instrument's order): the same statement backfills
the table in migration 0007 and after a bulk load (the synthetic city), so there is one definition
of a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from questionnaires import loader

DIMENSION_COLUMNS = 12  # d0 … d11 (assessment.models.CITY_DIMENSIONS)

# the columns read and written, declared here (not through the ORM) so that the migration can use them
_round = sa.table("assessment_round", *(sa.column(c) for c in (
    "id", "business_id", "instrument_id", "instrument_version", "status", "respondents", "ward_code",
    "vsic_section", "size_class", "overall_score", "overall_level", "closed_quarter", "closed_year",
    "latest_in_quarter", "latest_in_year")))
_result = sa.table("round_result", sa.column("round_id"), sa.column("dimension_id"), sa.column("score"))
_unit = sa.table("city_unit", *(sa.column(c) for c in (
    "instrument_id", "instrument_version", "period", "business_id", "round_id", "ward_code", "vsic_section",
    "size_class", "overall_score", "overall_level", *(f"d{i}" for i in range(DIMENSION_COLUMNS)))))
_version = sa.table("city_version", sa.column("instrument_id"), sa.column("instrument_version"),
                    sa.column("version"))


def _versions(connection: Connection, instrument_id: str | None, version: str | None) -> list[tuple[str, str]]:
    if instrument_id is not None and version is not None:
        return [(instrument_id, version)]
    rows = connection.execute(sa.select(_round.c.instrument_id, _round.c.instrument_version).distinct()).all()
    return [(i, v) for i, v in rows if v in loader.bundled().get(i, {})]


def fill(connection: Connection, *, instrument_id: str | None = None, version: str | None = None,
         business_id: int | None = None, periods: Sequence[int] | None = None) -> None:
    """Insert the rows of the flagged rounds (of one business and some periods, or all of them);
    the rows must not be there yet (``refresh`` deletes them first)."""
    for instrument, ver in _versions(connection, instrument_id, version):
        dimensions = [d.id for d in loader.get(instrument, ver).dimensions]
        if len(dimensions) > DIMENSION_COLUMNS:
            raise ValueError(f"{instrument} {ver} has {len(dimensions)} dimensions; city_unit holds "
                             f"{DIMENSION_COLUMNS}: add columns")
        pivot = [sa.func.max(sa.case((_result.c.dimension_id == d, _result.c.score))) for d in dimensions]
        for flag, period in ((_round.c.latest_in_quarter, _round.c.closed_quarter),
                             (_round.c.latest_in_year, _round.c.closed_year)):
            where: list[Any] = [_round.c.instrument_id == instrument, _round.c.instrument_version == ver,
                                flag == sa.true(), _round.c.status == "closed", _round.c.respondents > 0]
            if business_id is not None:
                where.append(_round.c.business_id == business_id)
            if periods is not None:
                where.append(period.in_(list(periods)))
            keys = (_round.c.id, _round.c.business_id, _round.c.instrument_id, _round.c.instrument_version, period,
                    _round.c.ward_code, _round.c.vsic_section, _round.c.size_class, _round.c.overall_score,
                    _round.c.overall_level)
            select = (sa.select(_round.c.instrument_id, _round.c.instrument_version, period, _round.c.business_id,
                                _round.c.id, _round.c.ward_code, _round.c.vsic_section, _round.c.size_class,
                                _round.c.overall_score, _round.c.overall_level, *pivot)
                      .select_from(_round.outerjoin(_result, _result.c.round_id == _round.c.id))
                      .where(*where).group_by(*keys))
            columns = ["instrument_id", "instrument_version", "period", "business_id", "round_id", "ward_code",
                       "vsic_section", "size_class", "overall_score", "overall_level",
                       *(f"d{i}" for i in range(len(dimensions)))]
            connection.execute(_unit.insert().from_select(columns, select))


def refresh(connection: Connection, *, business_id: int, instrument_id: str, version: str,
            periods: Sequence[int]) -> None:
    """Rewrite one business's rows of one instrument version for ``periods`` (the closed round's
    quarter and year) from the rounds flagged latest, and raise the version's counter."""
    connection.execute(_unit.delete().where(
        _unit.c.instrument_id == instrument_id, _unit.c.instrument_version == version,
        _unit.c.business_id == business_id, _unit.c.period.in_(list(periods))))
    fill(connection, instrument_id=instrument_id, version=version, business_id=business_id, periods=periods)
    bump(connection, instrument_id, version)


def bump(connection: Connection, instrument_id: str, version: str) -> None:
    """Raise the version's counter (one upsert: two closes at once each raise it)."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(_version).values(instrument_id=instrument_id, instrument_version=version, version=1)
    connection.execute(statement.on_conflict_do_update(
        index_elements=["instrument_id", "instrument_version"], set_={"version": _version.c.version + 1}))


def bump_all(connection: Connection) -> None:
    """Who may be counted changed (a statistics consent given or withdrawn, ``assessment.consent``; an
    erasure): raise every version's counter and drop the cached figures, whose counter may be one no
    close has raised yet (0)."""
    connection.execute(_version.update().values(version=_version.c.version + 1))
    connection.execute(sa.table("city_cache").delete())


def current(connection: Connection, instrument_id: str, version: str) -> int:
    """The version's counter (0 before any close)."""
    value = connection.execute(sa.select(_version.c.version).where(
        _version.c.instrument_id == instrument_id, _version.c.instrument_version == version)).scalar()
    return int(value or 0)


def rebuild(connection: Connection) -> None:
    """Every row again from the rounds (after a bulk load), and every counter raised."""
    connection.execute(_unit.delete())
    fill(connection)
    for instrument, ver in _versions(connection, None, None):
        bump(connection, instrument, ver)
