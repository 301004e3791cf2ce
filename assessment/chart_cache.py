"""Charts of frozen scores, rendered once and kept in the database (every worker shares them)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from assessment.models import RenderedChart


def cached(session: Session, *, key: str, assessment_id: int, render: Callable[[], bytes]) -> RenderedChart:
    """The chart stored under ``key``, rendering and storing it the first time. Two first views at
    once both render; the second insert loses to the first and its copy is discarded."""
    found = session.get(RenderedChart, key)
    if found is not None:
        return found
    body = render().decode()
    chart = RenderedChart(key=key, assessment_id=assessment_id, etag=hashlib.sha256(body.encode()).hexdigest(),
                          body=body)
    session.add(chart)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return session.get(RenderedChart, key) or chart
    return chart
