"""A business's people: its members, and requests to join it from people who registered its tax code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from assessment.messages import N_, NotAllowed
from assessment.models import Business, BusinessMember, JoinRequest, LoginFailure, User, utcnow

JOIN_REQUESTS_PER_DAY = 5  # per person: enough for a real mistake, too few to probe tax codes


def members_of(session: Session, business: Business) -> list[tuple[BusinessMember, User]]:
    rows = session.exec(select(BusinessMember, User).join(User, User.id == BusinessMember.user_id)  # type: ignore[arg-type]
                        .where(BusinessMember.business_id == business.id)
                        .order_by(col(BusinessMember.role) != "owner", col(BusinessMember.created_at)))
    return [(m, u) for m, u in rows]


class TooManyRequests(NotAllowed):
    """More than ``JOIN_REQUESTS_PER_DAY`` asks in 24 hours."""


def ask_to_join(*, session: Session, user: User, tax_code: str) -> None:
    """Ask the owners of the business registered with ``tax_code`` to let ``user`` join (one pending
    request per business). Every ask counts towards the limit of ``JOIN_REQUESTS_PER_DAY`` in 24
    hours, whether or not the code is registered, and the outcome is the same either way (none, or
    TooManyRequests), so nobody can learn from it which codes are registered or who owns them."""
    key = f"join:{user.id}"
    asked = session.exec(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.key == key, LoginFailure.at > utcnow() - timedelta(days=1))).one()
    if asked >= JOIN_REQUESTS_PER_DAY:
        raise TooManyRequests(N_("You have asked to join too many businesses: try again in 24 hours."))
    session.add(LoginFailure(key=key))
    business = session.exec(select(Business).where(Business.tax_code == tax_code)).first()
    if business is not None and session.get(BusinessMember, (business.id, user.id)) is None:
        pending = session.exec(select(JoinRequest).where(
            JoinRequest.business_id == business.id, JoinRequest.user_id == user.id,
            JoinRequest.status == "pending")).first()
        if pending is None:
            session.add(JoinRequest(business_id=business.id, user_id=user.id))  # type: ignore[arg-type]
    session.commit()


def pending_requests(session: Session, business: Business) -> list[tuple[JoinRequest, User]]:
    rows = session.exec(select(JoinRequest, User).join(User, User.id == JoinRequest.user_id)  # type: ignore[arg-type]
                        .where(JoinRequest.business_id == business.id, JoinRequest.status == "pending")
                        .order_by(col(JoinRequest.id)))
    return [(r, u) for r, u in rows]


def decide(*, session: Session, business: Business, request_id: int, approve: bool) -> None:
    """An owner approves (the person becomes a respondent) or refuses a pending request."""
    decided = session.exec(update(JoinRequest).where(
        col(JoinRequest.id) == request_id, col(JoinRequest.business_id) == business.id,
        col(JoinRequest.status) == "pending")
        .values(status="approved" if approve else "refused", decided_at=utcnow()))
    if decided.rowcount != 1:
        session.rollback()
        raise NotAllowed(N_("This request was already answered."))
    if approve:
        request = session.get(JoinRequest, request_id)
        if request is not None and session.get(BusinessMember, (business.id, request.user_id)) is None:
            session.add(BusinessMember(business_id=business.id, user_id=request.user_id,  # type: ignore[arg-type]
                                       role="respondent"))
    session.commit()
