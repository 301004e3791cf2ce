"""The city's record-level export for the department's statisticians: one row per business and
period (the dashboard's unit, ``city_unit``), without name, tax code, ward or any id, and with no
combination of the keys it keeps rarer than ``k`` (docs/method.md section 11, "Record-level export").

A row holds the instrument and version, the year, the VSIC section and size class (the keys a
reader could link to a business), then the overall score and level and each dimension's score. A
record whose (section, size class, year) occurs fewer than ``k`` times is generalised: first its
section becomes ``*`` (the records so generalised, of one size class, together), then, if they are
still fewer than ``k``, its size class too (all those left, together); fewer than ``k`` even then,
they are dropped. The year is the period's, the same for every row of one export.

``plan`` decides the groups from one ``GROUP BY`` (a few dozen combinations); ``records`` then reads
the rows in one streamed query, group by group and within a group by what the row shows (its
scores), never by an id, so a row's place says nothing its values do not (a ``*`` row among others
of its original section would give the section away). Plan and rows are read in one snapshot (``snapshot``): a round
closing in between cannot leave a group with fewer rows than planned.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import ColumnElement

from assessment import exports
from assessment.city.aggregates import Filters, U, period_where
from assessment.city_exports import machine_name
from assessment.sizing import SIZES

ANY = "*"  # a generalised key
FETCH_ROWS = 2000  # rows a streamed query holds at a time
Key = tuple[str | None, str | None]  # (vsic_section, size_class) as stored
RULE = ("Records whose combination of VSIC section, size class and year occurs fewer than {k} times are "
        "generalised: their section becomes '*' (those of one size class together); if they are still fewer "
        "than {k}, their size class becomes '*' too (all those left together); if still fewer than {k}, they are "
        "dropped (docs/method.md section 11, record-level export). No name, tax code, ward or id is exported.")
UNIT = ("One row per participating business: its latest closed round of this questionnaire version in the "
        "period (closing time in Asia/Ho_Chi_Minh).")


@dataclass(frozen=True)
class Group:
    """One published combination: the section and size class its rows show (either may be ``*``),
    the stored combinations its records come from, and how many there are (at least ``k``)."""

    vsic_section: str
    size_class: str
    sources: tuple[Key, ...]
    n: int


@dataclass(frozen=True)
class Plan:
    filters: Filters
    k: int
    groups: tuple[Group, ...]
    dropped: int

    @property
    def rows(self) -> int:
        return sum(g.n for g in self.groups)


def _size_order(size: str | None) -> tuple[int, str]:
    return (SIZES.index(size), "") if size in SIZES else (len(SIZES), size or "")


def generalise(counts: Mapping[Key, int], k: int) -> tuple[list[Group], int]:
    """The groups of the module docstring's rule from the records per (section, size class), and
    how many records are dropped. Groups come kept ones first (by section, then size class), then
    those with section ``*`` (by size class), then ``*``/``*``.

    >>> generalise({("G", "micro"): 6, ("C", "micro"): 3, ("I", "micro"): 2, ("C", "small"): 4}, 5)[1]
    4
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    kept = [Group(s or "", z or "", ((s, z),), n) for (s, z), n in counts.items() if n >= k]
    kept.sort(key=lambda g: (g.vsic_section, _size_order(g.size_class)))
    small = {key: n for key, n in counts.items() if 0 < n < k}
    by_size: dict[str | None, list[Key]] = {}
    for key in sorted(small, key=lambda key: (key[0] or "")):
        by_size.setdefault(key[1], []).append(key)
    any_section: list[Group] = []
    left: list[Key] = []
    for size in sorted(by_size, key=_size_order):
        keys = by_size[size]
        n = sum(small[key] for key in keys)
        if n >= k:
            any_section.append(Group(ANY, size or "", tuple(keys), n))
        else:
            left += keys
    rest = sum(small[key] for key in left)
    if rest >= k:
        return [*kept, *any_section, Group(ANY, ANY, tuple(left), rest)], 0
    return [*kept, *any_section], rest


def snapshot(connection: Connection) -> Connection:
    """``connection`` reading one snapshot until its transaction ends: REPEATABLE READ on PostgreSQL;
    on SQLite a transaction begun before the first read (pysqlite begins none for a SELECT; in WAL
    mode a read transaction sees the database as it was at its first read)."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(isolation_level="REPEATABLE READ")
    connection.exec_driver_sql("BEGIN")
    return connection


def _is(column: ColumnElement[str | None], value: str | None) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def plan(connection: Connection, filters: Filters, k: int) -> Plan:
    """The groups of the export of ``filters`` (instrument, version and period; no other filter):
    one ``GROUP BY`` over the period's units of the businesses the city statistics may count."""
    rows = connection.execute(select(U.vsic_section, U.size_class, func.count())
                              .where(*period_where(filters, by_quarter=False))
                              .group_by(U.vsic_section, U.size_class)).all()
    groups, dropped = generalise({(s, z): int(n) for s, z, n in rows}, k)
    return Plan(filters, k, tuple(groups), dropped)


def columns(filters: Filters) -> list[exports.Column]:
    instrument = filters.definition
    return [exports.Column("instrument"), exports.Column("version"), exports.Column("year", "number"),
            exports.Column("vsic_section"), exports.Column("size_class"),
            exports.Column("overall_score", "number", "0.0"), exports.Column("overall_level"),
            *(exports.Column(f"{machine_name(d.id)}_score", "number", "0.0") for d in instrument.dimensions)]


def metadata(exported: Plan, now: datetime) -> list[tuple[str, str]]:
    """What the file holds: the questionnaire version, the period, when, the unit and the rule."""
    filters = exported.filters
    return [("table", "microdata"), ("instrument", filters.instrument),
            ("instrument_title", filters.definition.title.en), ("version", filters.version),
            ("period", filters.period),
            ("generated_at", now.astimezone(exports.HANOI).replace(microsecond=0).isoformat()),
            ("unit", UNIT), ("min_cell", str(exported.k)), ("rows", str(exported.rows)),
            ("dropped", str(exported.dropped)), ("rule", RULE.format(k=exported.k))]


def records(connection: Connection, exported: Plan) -> Iterator[Sequence[exports.Value]]:
    """The rows, group by group, each group's ordered by its scores: one query (each stored
    combination mapped to its group by a ``CASE``, one sort), read ``FETCH_ROWS`` at a time (a
    server-side cursor on PostgreSQL), so memory stays the same for any size."""
    filters = exported.filters
    if not exported.groups:
        return
    n_dims = len(filters.definition.dimensions)
    dims = [U[f"d{i}"] for i in range(n_dims)]
    group_of = case(*((and_(_is(U.vsic_section, s), _is(U.size_class, z)), i)
                      for i, group in enumerate(exported.groups) for s, z in group.sources), else_=None)
    heads: list[list[exports.Value]] = [[filters.instrument, filters.version, filters.year, g.vsic_section,
                                         g.size_class] for g in exported.groups]
    result = connection.execution_options(yield_per=FETCH_ROWS).execute(
        select(group_of.label("g"), U.overall_score, U.overall_level, *dims)
        .where(*period_where(filters, by_quarter=False), group_of.is_not(None))
        .order_by(group_of, U.overall_score, *dims, U.overall_level, U.round_id))
    for index, *values in result:
        yield [*heads[index], *values]


def table(connection: Connection, exported: Plan, now: datetime) -> exports.Table:
    return exports.Table(columns(exported.filters), records(connection, exported), metadata(exported, now))


def iter_csv(engine: Engine, filters: Filters, k: int, *, now: datetime) -> Iterator[bytes]:
    """The whole export as CSV chunks (metadata lines first), read from one connection of ``engine``
    in one snapshot, which the generator holds until it is finished or closed."""
    with engine.connect() as connection:
        read = snapshot(connection)
        yield from exports.iter_csv(table(read, plan(read, filters, k), now), metadata_lines=True)
