"""Bearer tokens for the read-only JSON API (the city's aggregates), issued and revoked by admins.

A token is 32 random bytes (URL-safe text, prefixed ``dxm_``); only its SHA-256 is stored, so a copy
of the database lets nobody call the API, and the token is shown once, when it is made. A token is a
department's reader: it reaches the API and nothing else (no page accepts it). Its last use is
written at most every ``TOUCH_EVERY`` (as logins are), never per request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from assessment import audit
from assessment.messages import N_, FormErrors
from assessment.models import ApiToken, User, utcnow

PREFIX = "dxm_"
TOUCH_EVERY = timedelta(minutes=5)
MAX_NAME = 120


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Issued:
    token: ApiToken
    secret: str  # shown once, never stored


def issue(*, session: Session, admin: User, name: str, client: str) -> Issued:
    """A new token named ``name`` (what it is for: "statistics office R scripts"); FormErrors when
    the name is empty or too long."""
    name = name.strip()
    if not name:
        raise FormErrors({"name": N_("Say what the token is for.")})
    if len(name) > MAX_NAME:
        raise FormErrors({"name": N_("Use at most 120 characters.")})
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, prefix=secret[:10], token_sha256=digest(secret), created_by=admin.id)
    session.add(token)
    session.flush()
    audit.record(session=session, actor=admin, action="api_token.create", object_type="api_token",
                 object_id=token.id or 0, client=client)
    session.commit()
    return Issued(token, secret)


def listed(session: Session) -> list[ApiToken]:
    """Every token, newest first (revoked ones too: when they stopped working)."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id).desc())))


def revoke(*, session: Session, admin: User, token_id: int, client: str) -> ApiToken | None:
    """Revoke a token (None: no such token); revoking one revoked already changes nothing."""
    token = session.get(ApiToken, token_id)
    if token is None:
        return None
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(session=session, actor=admin, action="api_token.revoke", object_type="api_token",
                     object_id=token_id, client=client)
        session.commit()
    return token


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token whose secret this is, its last use noted (at most every ``TOUCH_EVERY``)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = session.exec(select(ApiToken).where(ApiToken.token_sha256 == digest(secret))).first()
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at = now
        session.add(token)
        session.commit()
    return token
