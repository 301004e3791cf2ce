"""Published periods: the city's figures for an ended quarter or year, frozen when the department
publishes them (``city_snapshot``).

A published figure is quoted in reports and plans, so it must not move: rounds that close late (an
assessment of last quarter submitted this week) change the live dashboard, never a snapshot. What
is frozen is exactly what the live dashboard shows with no filter (``city_dashboard.dashboard``, the
same suppression and the same k), so a snapshot is rendered, charted and exported by the very code
that renders the live view.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assessment import audit, city_dashboard, rounds
from assessment.city import aggregates
from assessment.city.aggregates import Filters, Share
from assessment.city_dashboard import Dashboard
from assessment.messages import N_, FormErrors
from assessment.models import CitySnapshot, CityTarget, User, utcnow

NOT_ENDED = N_("A period can be published once it has ended.")
ALREADY = N_("This period is published already; a published period does not change.")
NOTHING = N_("This period has too few participating businesses to publish any figure.")
FILTERED = N_("Only the whole city is published: remove the filters first.")


def ended(filters: Filters, now: datetime | None = None) -> bool:
    """Whether the filters' period (a quarter or a year) lies wholly before today, in Hanoi's calendar."""
    quarter, year = rounds.period_of(now or utcnow())
    return filters.quarter < quarter if filters.quarter is not None else filters.year < year


def _is_filtered(filters: Filters) -> bool:
    return filters != filters.unfiltered


def publishable(filters: Filters, now: datetime | None = None) -> bool:
    """Whether the view may be offered for publishing: the whole city, for an ended period."""
    return not _is_filtered(filters) and ended(filters, now)


def publish(*, session: Session, user: User, filters: Filters, level: str | None, k: int, client: str,
            now: datetime | None = None) -> CitySnapshot:
    """Freeze the period's unfiltered dashboard (its level followed and target as they are now),
    recorded in the audit log in the same transaction. FormErrors (field ``period``), nothing
    written, for a filtered view, a period not yet ended or one published already."""
    if _is_filtered(filters):
        raise FormErrors({"period": FILTERED})
    if not ended(filters, now):
        raise FormErrors({"period": NOT_ENDED})
    if find(session, filters) is not None:
        raise FormErrors({"period": ALREADY})
    view = city_dashboard.dashboard(session, filters, k, level=level)
    if view.refused is not None:
        raise FormErrors({"period": NOTHING})
    snapshot = CitySnapshot(instrument_id=filters.instrument, instrument_version=filters.version,
                            period=filters.period, k=k, businesses=view.total.n, body=json.dumps(encode(view)),
                            published_by=user.id, published_at=now or utcnow())
    session.add(snapshot)
    try:
        session.flush()  # two publishers at once: the unique key keeps one, the other is told
    except IntegrityError:
        session.rollback()
        raise FormErrors({"period": ALREADY}) from None
    audit.record(session=session, actor=user, action="city.publish", object_type="city",
                 object_id=f"{filters.instrument}/{filters.version}/{filters.period}"[:40], client=client)
    session.commit()
    return snapshot


def find(session: Session, filters: Filters) -> CitySnapshot | None:
    return session.exec(select(CitySnapshot).where(
        CitySnapshot.instrument_id == filters.instrument, CitySnapshot.instrument_version == filters.version,
        CitySnapshot.period == filters.period)).first()


def listed(session: Session) -> list[CitySnapshot]:
    """Every snapshot, the newest period first."""
    return list(session.exec(select(CitySnapshot).order_by(
        col(CitySnapshot.period).desc(), col(CitySnapshot.instrument_id), col(CitySnapshot.instrument_version))))


def filters_of(snapshot: CitySnapshot) -> Filters:
    return Filters(snapshot.instrument_id, snapshot.instrument_version, snapshot.period)


def view_of(snapshot: CitySnapshot) -> Dashboard:
    """The snapshot as the dashboard it froze."""
    data = json.loads(snapshot.body)
    target = None if data["target"] is None else CityTarget(instrument_id=snapshot.instrument_id, **data["target"])
    tables = {name: aggregates.decode_table(table) for name, table in data["tables"].items()}
    return Dashboard(filters_of(snapshot), snapshot.k, tables, Share(**data["share"]), data["level"], target)


def encode(view: Dashboard) -> dict[str, Any]:
    """A dashboard as the JSON a snapshot keeps (``view_of`` reads it back)."""
    target = None if view.target is None else {"level": view.target.level, "target_share": view.target.target_share}
    return {"tables": {name: aggregates.encode_table(table) for name, table in view.tables.items()},
            "share": asdict(view.share), "level": view.level, "target": target}
