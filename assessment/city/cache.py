"""A cache of the city's tables in the database (``city_cache``), shared by every worker.

A key is the SHA-256 of what was asked (the function, the filters, the grouping, k) and of the
instrument version's counter (``city_version``, raised by every close: assessment/city/summary.py),
so a close makes every older entry unreachable at once, in every worker; entries of older counters
are deleted when a new one is stored. Nothing lives in process memory. Storing an entry commits the
session (a read's session has nothing else pending).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from assessment.city import summary
from assessment.models import CityCache, utcnow

T = TypeVar("T")
C = CityCache.__table__.c  # type: ignore[attr-defined]


def remember(session: Session, instrument_id: str, version: str, asked: list[Any], compute: Callable[[], T],
             encode: Callable[[T], Any], decode: Callable[[Any], T]) -> T:
    """``compute()``'s result for ``asked``, from the cache while no round of the version has closed
    since it was stored."""
    counter = summary.current(session.connection(), instrument_id, version)
    key = hashlib.sha256(json.dumps([instrument_id, version, counter, *asked], default=str).encode()).hexdigest()
    body = session.execute(sa.select(C.body).where(C.key == key)).scalar()
    if body is not None:
        return decode(json.loads(body))
    value = compute()
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = CityCache.__table__  # type: ignore[attr-defined]
    session.execute(table.delete().where(C.instrument_id == instrument_id, C.instrument_version == version,
                                         C.version < counter))
    session.execute(dialect.insert(table).values(
        key=key, instrument_id=instrument_id, instrument_version=version, version=counter,
        body=json.dumps(encode(value)), created_at=utcnow()).on_conflict_do_nothing(index_elements=["key"]))
    session.commit()
    return value
