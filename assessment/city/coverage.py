"""Coverage and the post-stratified mean: the city's figures beside the registered enterprises.

The dashboard counts participating businesses, a self-selected group: a statistician reads a mean
only beside how much of the population it stands for. The department uploads the registered
enterprises per ward, VSIC section and size class (``city_population``, a CSV from the business
register); each row of the dashboard then shows its coverage (participants ÷ registered), and the
view's total a mean weighted to that population by section × size. The rules, with a worked example,
are in docs/method.md section 11.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from assessment import audit, exports, reference
from assessment.city import aggregates
from assessment.city.aggregates import Filters
from assessment.messages import N_
from assessment.models import CityPopulation, User, utcnow
from assessment.sizing import SIZES

COLUMNS = ("ward_code", "vsic_section", "size_class", "enterprises")
MAX_BYTES = 2_000_000  # 126 wards × 22 sections × 4 sizes is under 300 kB
MAX_ENTERPRISES = 10_000_000
MAX_ERRORS = 10
P = CityPopulation.__table__.c  # type: ignore[attr-defined]


NOT_UTF8 = N_("The file is not UTF-8 text: save it as “CSV UTF-8”.")
TOO_LARGE = N_("The file is larger than 2 MB.")
NO_ROWS = N_("The file has no rows.")
NOT_CSV = N_("The file cannot be read as CSV (%(problem)s).")
NO_HEADER = N_("Row 1: the header lacks the column(s) %(columns)s.")
BAD_WARD = N_("Row %(row)d, column %(column)s: %(value)s is not a ward or commune code of Hanoi.")
BAD_SECTION = N_("Row %(row)d, column %(column)s: %(value)s is not a VSIC section (A to U).")
BAD_SIZE = N_("Row %(row)d, column %(column)s: %(value)s is not one of micro, small, medium, large.")
BAD_COUNT = N_("Row %(row)d, column %(column)s: %(value)s is not a whole number from 0 to 10,000,000.")
TWICE = N_("Row %(row)d, column %(column)s: this ward, section and size class is listed twice.")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an uploaded file: a message id and its parameters (row, column, value)."""

    message: str
    params: dict[str, object]


class PopulationErrors(ValueError):
    """What is wrong with an uploaded file, at most ``MAX_ERRORS`` problems, each naming its row and column."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(p.message % p.params for p in problems))


def parse(data: bytes) -> list[tuple[str, str, str, int]]:
    """The rows of a population CSV (UTF-8, a header naming ``COLUMNS``; comma or semicolon), checked
    whole: PopulationErrors, and nothing returned, when anything is wrong."""
    if len(data) > MAX_BYTES:
        raise PopulationErrors([Problem(TOO_LARGE, {})])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PopulationErrors([Problem(NOT_UTF8, {})]) from None
    first = text.split("\n", 1)[0]
    try:
        return _rows(csv.reader(io.StringIO(text, newline=""),
                                delimiter=";" if first.count(";") > first.count(",") else ","))
    except csv.Error as exc:  # a quote left open, a stray line break: not CSV as a spreadsheet writes it
        raise PopulationErrors([Problem(NOT_CSV, {"problem": str(exc)[:80]})]) from None


def _rows(reader: Iterator[list[str]]) -> list[tuple[str, str, str, int]]:
    header = [h.strip().lower() for h in next(reader, [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise PopulationErrors([Problem(NO_HEADER, {"columns": ", ".join(missing)})])
    at = {c: header.index(c) for c in COLUMNS}
    problems: list[Problem] = []
    rows: list[tuple[str, str, str, int]] = []
    seen: set[tuple[str, str, str]] = set()
    for number, raw in enumerate(reader, start=2):
        if not any(cell.strip() for cell in raw):
            continue
        cells = {c: (raw[i].strip() if i < len(raw) else "") for c, i in at.items()}
        key = (cells["ward_code"], cells["vsic_section"], cells["size_class"])
        problem = _problem(cells) or (("ward_code", TWICE) if key in seen else None)
        if problem is not None:
            column, message = problem
            problems.append(Problem(message, {"row": number, "column": column, "value": repr(cells[column][:12])}))
            if len(problems) >= MAX_ERRORS:
                break
            continue
        seen.add(key)
        rows.append((*key, int(cells["enterprises"])))
    if problems:
        raise PopulationErrors(problems)
    if not rows:
        raise PopulationErrors([Problem(NO_ROWS, {})])
    return rows


def _problem(cells: dict[str, str]) -> tuple[str, str] | None:
    if cells["ward_code"] not in reference.wards():
        return "ward_code", BAD_WARD
    if cells["vsic_section"] not in reference.sections():
        return "vsic_section", BAD_SECTION
    if cells["size_class"] not in SIZES:
        return "size_class", BAD_SIZE
    value = cells["enterprises"]
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ENTERPRISES:
        return "enterprises", BAD_COUNT
    return None


def replace(*, session: Session, user: User, rows: Sequence[tuple[str, str, str, int]], client: str) -> int:
    """The uploaded table in place of the previous one, in one transaction with its audit event."""
    now = utcnow()
    session.execute(delete(CityPopulation))
    session.execute(insert(CityPopulation), [
        {"ward_code": w, "vsic_section": s, "size_class": z, "enterprises": n, "uploaded_at": now}
        for w, s, z, n in rows])
    audit.record(session=session, actor=user, action="city.population", object_type="city", object_id="population",
                 client=client)
    session.commit()
    return len(rows)


def uploaded_at(session: Session) -> datetime | None:
    value: datetime | None = session.execute(select(func.max(P.uploaded_at))).scalar()
    return value


def as_table(session: Session) -> exports.Table:
    """The uploaded table as it is kept, in the upload's own columns (so it can be edited and sent
    back); the header alone before any upload."""
    rows = session.execute(select(P.ward_code, P.vsic_section, P.size_class, P.enterprises)
                           .order_by(P.ward_code, P.vsic_section, P.size_class)).all()
    return exports.Table([exports.Column(c, "number" if c == "enterprises" else "text") for c in COLUMNS],
                         [tuple(r) for r in rows])


# -- the denominators ---------------------------------------------------------------------------
def _where(filters: Filters) -> list[ColumnElement[bool]]:
    return aggregates.filter_where(filters, P)


def registered(session: Session, filters: Filters, key: str) -> dict[str, int]:
    """Registered enterprises under ``filters`` by the values of ``key`` (a dashboard table's key:
    ward, district, area, vsic_section or size_class); empty when no population was uploaded."""
    column = {"vsic_section": P.vsic_section, "size_class": P.size_class}.get(key, P.ward_code)
    rows = session.execute(select(column, func.sum(P.enterprises)).where(*_where(filters)).group_by(column)).all()
    out: dict[str, int] = {}
    for value, n in rows:
        name = aggregates.key_value(key, value) if key in aggregates.GEOGRAPHY else value
        out[name] = out.get(name, 0) + int(n or 0)
    return out


def total(session: Session, filters: Filters) -> int | None:
    """Registered enterprises under ``filters``; None when no population was uploaded."""
    if session.execute(select(func.count()).select_from(CityPopulation)).scalar() == 0:
        return None
    return int(session.execute(select(func.coalesce(func.sum(P.enterprises), 0)).where(*_where(filters))).scalar()
               or 0)


def share(n: int | None, population: int | None) -> float | None:
    """Coverage in percent: None when either is unknown (a hidden cell) or nobody is registered."""
    if n is None or not population:
        return None
    return 100.0 * n / population


# -- the post-stratified mean -------------------------------------------------------------------
@dataclass(frozen=True)
class Weighted:
    """The mean overall score weighted to the registered enterprises, and the enterprises it stands
    for (``represented``, of ``population`` under the filters: strata left out have too few)."""

    mean: float | None
    represented: int
    population: int


def weighted_mean(session: Session, filters: Filters, k: int) -> Weighted | None:
    """The post-stratified mean (docs/method.md section 11), None without an uploaded population."""
    population = total(session, filters)
    if population is None:
        return None
    sized = session.execute(select(P.vsic_section, P.size_class, func.sum(P.enterprises)).where(*_where(filters))
                            .group_by(P.vsic_section, P.size_class)).all()
    weights = {(s, z): int(n or 0) for s, z, n in sized}
    return post_stratify(weights, aggregates.strata(session, filters), k, population)


def post_stratify(weights: dict[tuple[str, str], int], strata: dict[tuple[str, str], tuple[int, float]], k: int,
                  population: int) -> Weighted:
    """Σ N_g m_g / Σ N_g over the groups g: each section × size stratum with at least ``k`` scored
    participants is its own group; a section's smaller strata (an empty one included) pool into one
    group, which joins the section's smallest large stratum when it still has fewer than ``k``; a
    section with no group of ``k`` is left out, and so are participants in a stratum with nobody
    registered (no weight to carry). Every mean in the sum is thus of at least ``k`` businesses."""
    groups: list[tuple[int, int, float]] = []  # (N, n, score sum)
    for section in sorted({s for s, _ in weights} | {s for s, _ in strata}):
        cells = [(weights.get((section, z), 0), *strata.get((section, z), (0, 0.0))) for z in SIZES]
        cells = [c for c in cells if c[0] > 0]  # nobody registered: no weight to carry
        large = sorted((c for c in cells if c[1] >= k), key=lambda c: c[1])
        small = [c for c in cells if c[1] < k]
        rest = (sum(c[0] for c in small), sum(c[1] for c in small), sum(c[2] for c in small))
        if rest[1] >= k:
            large.append(rest)
        elif large:
            first = large[0]
            large[0] = (first[0] + rest[0], first[1] + rest[1], first[2] + rest[2])
        groups += large
    represented = sum(g[0] for g in groups)
    if not represented:
        return Weighted(None, 0, population)
    mean = sum(g[0] * g[2] / g[1] for g in groups) / represented
    return Weighted(mean, represented, population)

