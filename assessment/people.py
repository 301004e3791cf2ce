"""A business's people: its members, and requests to join it from people who registered its tax code."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from assessment.messages import N_, NotAllowed
from assessment.models import Business, BusinessMember, JoinRequest, User, utcnow

JOIN_REQUESTS_PER_DAY = 5  # per person: enough for a real mistake, too few to probe tax codes


def members_of(session: Session, business: Business) -> list[tuple[BusinessMember, User]]:
    rows = session.exec(select(BusinessMember, User).join(User, User.id == BusinessMember.user_id)  # type: ignore[arg-type]
                        .where(BusinessMember.business_id == business.id)
                        .order_by(col(BusinessMember.role) != "owner", col(BusinessMember.created_at)))
    return [(m, u) for m, u in rows]


def request_to_join(*, session: Session, user: User, business: Business) -> JoinRequest:
    """Ask a business's owners to let ``user`` join; one pending request per business, and at most
    ``JOIN_REQUESTS_PER_DAY`` a day. Says nothing of who the owners are."""
    if session.get(BusinessMember, (business.id, user.id)) is not None:
        raise NotAllowed(N_("You are already one of this business's people."))
    pending = session.exec(select(JoinRequest).where(
        JoinRequest.business_id == business.id, JoinRequest.user_id == user.id,
        JoinRequest.status == "pending")).first()
    if pending is not None:
        return pending
    recent = session.exec(select(func.count()).select_from(JoinRequest).where(
        JoinRequest.user_id == user.id, JoinRequest.created_at > utcnow() - timedelta(days=1))).one()
    if recent >= JOIN_REQUESTS_PER_DAY:
        raise NotAllowed(N_("You have asked to join too many businesses today: try again tomorrow."))
    request = JoinRequest(business_id=business.id, user_id=user.id)  # type: ignore[arg-type]
    session.add(request)
    session.commit()
    return request


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
