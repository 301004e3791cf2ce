"""Accounts, logins and server-side sessions.

Sessions live in the database (table ``web_session``) so any worker can serve any request; the
cookie carries a random token whose SHA-256 is the key. Failed logins are counted in the database
too, per e-mail and per client address, for the rate limit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, func, or_
from sqlmodel import Session, col, select

from assessment.messages import N_, FormErrors
from assessment.models import ROLES, LoginFailure, User, WebSession, utcnow

HASHER = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 10


class RateLimited(Exception):
    """Too many failed logins; try again later."""


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_rules(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise FormErrors({field: N_("Use at least 10 characters.")})
    if len(password) > 256:
        raise FormErrors({field: N_("Use at most 256 characters.")})


def create_user(
    *, session: Session, email: str, password: str, role: str = "owner", display_name: str = "",
    language: str = "vi",
) -> User:
    email = normalise_email(email)
    errors = {}
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = N_("Enter a valid e-mail address.")
    elif session.exec(select(User.id).where(User.email == email)).first() is not None:
        errors["email"] = N_("An account with this e-mail already exists.")
    try:
        check_password_rules(password)
    except FormErrors as exc:
        errors.update(exc.errors)
    if role not in ROLES:
        errors["role"] = N_("Unknown role.")
    if len(display_name) > 120:
        errors["display_name"] = N_("Use at most 120 characters.")
    if errors:
        raise FormErrors(errors)
    user = User(email=email, password_hash=HASHER.hash(password), role=role,
                display_name=display_name.strip(), language=language if language in ("vi", "en") else "vi")
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def _failures(session: Session, keys: list[str], since: datetime) -> int:
    statement = select(func.count()).select_from(LoginFailure).where(
        LoginFailure.key.in_(keys), LoginFailure.at >= since)  # type: ignore[attr-defined]
    return session.exec(statement).one()


def authenticate(
    *, session: Session, email: str, password: str, client: str, max_failures: int, window_minutes: int
) -> User:
    """The user for these credentials; FormErrors if wrong, RateLimited after too many failures."""
    email = normalise_email(email)
    since = utcnow() - timedelta(minutes=window_minutes)
    keys = [f"email:{email}", f"client:{client}"]
    per_key = [_failures(session, [k], since) for k in keys]
    if max(per_key) >= max_failures:
        raise RateLimited
    user = session.exec(select(User).where(User.email == email)).first()
    try:
        ok = user is not None and HASHER.verify(user.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        session.add_all([LoginFailure(key=k) for k in keys])
        session.commit()
        raise FormErrors({"password": N_("Wrong e-mail or password.")})
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    session.exec(delete(LoginFailure).where(col(LoginFailure.key) == keys[0]))
    session.commit()
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_digest(token: str | None) -> str | None:
    """How a login token is stored (its SHA-256), or None for no or a malformed token."""
    return _digest(token) if token and len(token) <= 200 else None


def start_session(*, session: Session, user: User, days: int) -> str:
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_digest(token), user_id=user.id,  # type: ignore[arg-type]
                           expires_at=utcnow() + timedelta(days=days)))
    # housekeeping: drop this user's expired sessions and old failure records
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id, col(WebSession.expires_at) < utcnow()))
    session.exec(delete(LoginFailure).where(col(LoginFailure.at) < utcnow() - timedelta(days=1)))
    session.commit()
    return token


# Built once: every request asks it, and building a statement costs more than running it.
USER_FOR_DIGEST = select(User).join(WebSession, WebSession.user_id == User.id).where(  # type: ignore[arg-type]
    WebSession.token_hash == bindparam("digest"), WebSession.expires_at > bindparam("now"))


def user_for_token(*, session: Session, token: str | None) -> User | None:
    """The user of a live session (one query: the session row joined to its user)."""
    digest = login_digest(token)
    if digest is None:
        return None
    return session.exec(USER_FOR_DIGEST, params={"digest": digest, "now": utcnow()}).first()


def end_session(*, session: Session, token: str | None) -> None:
    if token:
        session.exec(delete(WebSession).where(col(WebSession.token_hash) == _digest(token)))
        session.commit()


def change_password(*, session: Session, user: User, current: str, new: str, keep_token: str | None) -> None:
    """Change the password and end every other login of this user."""
    try:
        HASHER.verify(user.password_hash, current or "")
    except (VerificationError, InvalidHashError):
        raise FormErrors({"current_password": N_("The current password is not right.")}) from None
    check_password_rules(new, "new_password")
    user.password_hash = HASHER.hash(new)
    session.add(user)
    keep = _digest(keep_token) if keep_token else ""
    session.exec(delete(WebSession).where(
        col(WebSession.user_id) == user.id, or_(col(WebSession.token_hash) != keep)))
    session.commit()


def set_language(*, session: Session, user: User, language: str) -> None:
    if language in ("vi", "en"):
        user.language = language
        session.add(user)
        session.commit()
