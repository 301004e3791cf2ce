"""A person's rights over their data: a download of everything kept about them (JSON and CSV), and
deleting their account (erasure). Both are logged as data requests with their deadline.

Erasure removes the person: their account, sessions, consents, memberships, pending sign-ups and the
mails addressed to them. A business whose last owner goes loses its identity (name and tax code; its
people, invitations, join requests and course memberships go too); its closed rounds stay, without an
owner or a name, so they are still counted in aggregates (never listed: no page or record-level export
shows an erased business). The audit log keeps a tombstone instead of the person
(``audit.replace_person``). The erasure ledger (table ``erasure``: kinds, ids and digests, nothing
personal) lets a restore of an older backup erase them again (``reapply``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from assessment import accounts, audit, consent
from assessment.city import summary
from assessment.messages import N_, FormErrors
from assessment.models import (
    Answer,
    Assessment,
    Business,
    BusinessMember,
    CohortAction,
    CohortMember,
    CohortNote,
    DataRequest,
    DimensionResult,
    Erasure,
    Invitation,
    JoinRequest,
    MailMessage,
    PendingSignup,
    User,
    utcnow,
)

ACKNOWLEDGE_WORKING_DAYS = 2  # Decree 356/2025/NĐ-CP: requests acknowledged within 2 working days (docs/privacy.md)


def due(received: datetime, working_days: int = ACKNOWLEDGE_WORKING_DAYS) -> datetime:
    """``working_days`` working days (Monday to Friday; public holidays are not known here) after ``received``."""
    moment = received
    left = working_days
    while left:
        moment += timedelta(days=1)
        if moment.weekday() < 5:
            left -= 1
    return moment


def _request(session: Session, kind: str, user_id: int, detail: str = "") -> DataRequest:
    now = utcnow()
    row = DataRequest(kind=kind, subject=str(user_id), detail=detail, received_at=now, due_at=due(now),
                      completed_at=now)  # self-service: done as it is asked
    session.add(row)
    return row


# -- the download -------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _record(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def collect(session: Session, user: User) -> dict[str, Any]:
    """Everything kept about ``user`` and their businesses, as plain values."""
    memberships = session.exec(select(BusinessMember).where(BusinessMember.user_id == user.id)).all()
    businesses = {m.business_id: session.get(Business, m.business_id) for m in memberships}
    copies = session.exec(select(Assessment).where(Assessment.respondent_id == user.id)
                          .order_by(col(Assessment.id))).all()
    return {
        "account": _record(user, ("email", "display_name", "language", "role", "created_at")),
        "consents": [_record(c, ("purpose", "text_version", "language", "given_at", "withdrawn_at", "cohort_id",
                                 "business_id")) for c in consent.of(session, user.id)],  # type: ignore[arg-type]
        "businesses": [{"role": m.role, "since": _plain(m.created_at), **_record(businesses[m.business_id], (
            "id", "name", "tax_code", "ward_code", "vsic_section", "employees", "revenue_bn", "capital_bn",
            "size_class", "created_at"))} for m in memberships if businesses.get(m.business_id)],
        "course_memberships": [_record(c, ("cohort_id", "business_id", "joined_at", "left_at", "reminders_off"))
                               for c in session.exec(select(CohortMember).where(
                                   col(CohortMember.business_id).in_(list(businesses))))],
        "join_requests": [_record(r, ("business_id", "status", "created_at", "decided_at"))
                          for r in session.exec(select(JoinRequest).where(JoinRequest.user_id == user.id))],
        "assessments": [{
            **_record(c, ("id", "business_id", "instrument_id", "instrument_version", "status", "submitted_at",
                          "overall_score", "overall_level")),
            "answers": _answers(session, c),
            "dimensions": {d.dimension_id: d.score for d in session.exec(
                select(DimensionResult).where(DimensionResult.assessment_id == c.id))},
        } for c in copies],
        "data_requests": [_record(r, ("kind", "detail", "received_at", "due_at", "completed_at"))
                          for r in session.exec(select(DataRequest).where(DataRequest.subject == str(user.id)))],
    }


def _answers(session: Session, copy: Assessment) -> dict[str, str]:
    return {a.question_id: a.value for a in session.exec(select(Answer).where(Answer.assessment_id == copy.id))}


def export(session: Session, user: User, fmt: str) -> bytes:
    """The download in ``fmt`` ("json", or "csv": one row per value, ``section, record, field, value``),
    logged as a data request."""
    data = collect(session, user)
    _request(session, "export", user.id, fmt)  # type: ignore[arg-type]
    session.commit()
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", "record", "field", "value"])
    for section, content in data.items():
        records = content if isinstance(content, list) else [content]
        for number, record in enumerate(records, 1):
            for field, value in _flat(record):
                writer.writerow([section, number, field, "" if value is None else value])
    return ("\ufeff" + out.getvalue()).encode()  # a BOM: spreadsheet programs then read UTF-8


def _flat(record: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, dict):
            rows += _flat(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


# -- erasure ------------------------------------------------------------------------------------------
def _digest(*parts: Any) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()


def _user_digest(user: User) -> str:
    return _digest(user.id, user.email, _plain(user.created_at))


def _business_digest(business: Business) -> str:
    return _digest(business.id, business.tax_code, _plain(business.created_at))


def erase_account(*, session: Session, user: User, password: str) -> str:
    """Delete ``user``'s account after checking their password; returns the audit tombstone."""
    if not accounts.verify_password(user.password_hash, password or ""):
        raise FormErrors({"password": N_("The password is not right.")})
    if user.role == "admin" and not session.exec(select(User.id).where(
            User.role == "admin", User.id != user.id, col(User.disabled_at).is_(None))).first():
        raise FormErrors({"password": N_("You are the last admin: make another admin first.")})
    return _erase_user(session, user)


def _erase_user(session: Session, user: User) -> str:
    now = utcnow()
    owned = session.exec(select(BusinessMember.business_id).where(
        BusinessMember.user_id == user.id, BusinessMember.role == "owner")).all()
    _ledger(session, "user", user.id, _user_digest(user), now)  # type: ignore[arg-type]
    session.exec(delete(BusinessMember).where(col(BusinessMember.user_id) == user.id))
    for business_id in owned:
        others = session.exec(select(BusinessMember.user_id).where(
            BusinessMember.business_id == business_id, BusinessMember.role == "owner")).first()
        business = session.get(Business, business_id)
        if others is None and business is not None:
            _erase_business(session, business, now)
    _request(session, "erasure", user.id)  # type: ignore[arg-type]
    tombstone = audit.replace_person(session, user.id)  # type: ignore[arg-type]
    session.exec(update(DataRequest).where(col(DataRequest.subject) == str(user.id)).values(subject=tombstone))
    session.exec(delete(MailMessage).where(col(MailMessage.to_address) == user.email))
    session.exec(delete(PendingSignup).where(col(PendingSignup.email) == user.email))
    session.delete(user)  # sessions, resets, consents, join requests go with it (ON DELETE CASCADE)
    summary.bump_all(session.connection())  # their businesses no longer count in the city's figures
    session.commit()
    return tombstone


def _erase_business(session: Session, business: Business, now: datetime) -> None:
    _ledger(session, "business", business.id, _business_digest(business), now)  # type: ignore[arg-type]
    for table in (BusinessMember, JoinRequest, Invitation, CohortMember, CohortNote, CohortAction):
        session.exec(delete(table).where(col(table.business_id) == business.id))
    business.name, business.tax_code, business.erased_at = "", f"~{business.id}", now
    session.add(business)


def _ledger(session: Session, kind: str, subject_id: int, digest: str, at: datetime) -> None:
    """Note an erasure in the ledger, once."""
    if session.exec(select(Erasure.id).where(Erasure.kind == kind, Erasure.subject_id == subject_id,
                                             Erasure.digest == digest)).first() is None:
        session.add(Erasure(kind=kind, subject_id=subject_id, digest=digest, erased_at=at))


def reapply(session: Session, ledger: list[Erasure]) -> int:
    """After a restore of an older backup: erase again every person and business of ``ledger`` (the
    live database's erasure table, saved before it was lost) that the backup brought back; only the
    very rows erased (their digests match), never a later one that got the same id. Returns how many."""
    done = 0
    now = utcnow()
    for entry in ledger:
        if entry.kind == "user":
            user = session.get(User, entry.subject_id)
            if user is not None and _user_digest(user) == entry.digest:
                _erase_user(session, user)
                done += 1
        else:
            business = session.get(Business, entry.subject_id)
            if business is not None and business.erased_at is None and _business_digest(business) == entry.digest:
                _erase_business(session, business, now)
                session.commit()
                done += 1
        _ledger(session, entry.kind, entry.subject_id, entry.digest, entry.erased_at)  # kept for the next restore
        session.commit()
    return done
