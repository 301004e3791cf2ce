"""Accounts, logins and server-side sessions.

Sessions live in the database (table ``web_session``) so any worker can serve any request; the
cookie carries a random token whose SHA-256 is the key. A login is live (``LIVE_LOGIN``, the one
definition, which the autosave's lookup uses too) while it is younger than ``DXM_SESSION_DAYS``, was
used within ``DXM_SESSION_IDLE_HOURS`` and its account is not disabled. Password guesses are limited
by ``assessment.login_limits``; a login for an unknown e-mail verifies a dummy hash, so that its
answer takes as long as one for a known e-mail (the time tells nobody whether an account exists).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import and_, bindparam, delete, or_, update
from sqlmodel import Session, col, select

from assessment import login_limits
from assessment.login_limits import Limited
from assessment.messages import N_, FormErrors
from assessment.models import ROLES, User, WebSession, utcnow
from assessment.settings import Settings

HASHER = PasswordHasher()
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256
# Verified instead of a real hash when the e-mail has no account (or is disabled), so that a login
# costs one argon2 verification whoever it names.
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
TOUCH_EVERY = timedelta(minutes=5)  # a login's last use is written at most this often
WRONG = N_("Wrong e-mail or password.")

__all__ = ["Limited"]


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def check_password_rules(password: str, field: str = "password") -> None:
    if len(password or "") < MIN_PASSWORD:
        raise FormErrors({field: N_("Use at least 10 characters.")})
    if len(password) > MAX_PASSWORD:
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


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (no such account) the dummy is verified, taking the
    same time, and the answer is no."""
    try:
        return HASHER.verify(password_hash or DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, session: Session, settings: Settings, email: str, password: str, client: str) -> User:
    """The user for these credentials. ``FormErrors`` when they are wrong or missing (a form without an
    e-mail or a password counts as no attempt); ``Limited`` after too many failures (``login_limits``)."""
    email = normalise_email(email)
    if not email or not password:
        raise FormErrors({"password": N_("Enter your e-mail and your password.")})
    if len(email) > 254 or len(password) > MAX_PASSWORD or not EMAIL.match(email):
        raise FormErrors({"password": WRONG})  # no account can have it: nothing to count or look up
    attempt = login_limits.begin(session=session, settings=settings, email=email, client=client)
    user = session.exec(select(User).where(User.email == email)).first()
    live = user is not None and user.disabled_at is None
    if not verify_password(user.password_hash if live and user else None, password) or user is None:
        login_limits.failed(session=session, settings=settings, attempt=attempt)
        raise FormErrors({"password": WRONG})
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
        session.add(user)
    login_limits.succeeded(session=session, attempt=attempt)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def login_digest(token: str | None) -> str | None:
    """How a login token is stored (its SHA-256), or None for no or a malformed token."""
    return _digest(token) if token and len(token) <= 200 else None


def start_session(*, session: Session, user: User, days: int, replaces: str | None = None,
                  idle_hours: int | None = None) -> str:
    """A new login for ``user``; ``replaces``: the token the browser held before (a login or a password
    change gives it a new id: whatever the old one was, it ends here). Ended logins of anybody (too
    old, or idle longer than ``idle_hours``) are purged on the way (a login is rare enough to carry
    that housekeeping)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    end_session(session=session, token=replaces, commit=False)
    session.add(WebSession(token_hash=_digest(token), user_id=user.id,  # type: ignore[arg-type]
                           expires_at=now + timedelta(days=days), last_seen_at=now))
    ended = col(WebSession.expires_at) < now
    if idle_hours is not None:
        ended = or_(ended, col(WebSession.last_seen_at) < now - timedelta(hours=idle_hours))
    session.exec(delete(WebSession).where(ended))
    login_limits.purge(session=session, now=now, commit=False)
    session.commit()
    return token


_SESSION, _USER = WebSession.__table__, User.__table__  # type: ignore[attr-defined]
# A live login: the one definition (the page lookup below and the autosave's, ``access.LOGIN_AND_COPY``).
LIVE_LOGIN = and_(_SESSION.c.expires_at > bindparam("now"), _SESSION.c.last_seen_at > bindparam("idle_since"),
                  _USER.c.disabled_at.is_(None))


def live_params(settings: Settings, now: datetime | None = None) -> dict[str, datetime]:
    """The values ``LIVE_LOGIN`` compares with."""
    now = now or utcnow()
    return {"now": now, "idle_since": now - timedelta(hours=settings.session_idle_hours)}


# Built once: every request asks it, and building a statement costs more than running it.
USER_FOR_DIGEST = (select(User, _SESSION.c.last_seen_at)
                   .join(_SESSION, _SESSION.c.user_id == _USER.c.id)
                   .where(_SESSION.c.token_hash == bindparam("digest"), LIVE_LOGIN))


def user_for_token(*, session: Session, settings: Settings, token: str | None) -> User | None:
    """The user of a live login (one query), whose last use is written if it is older than
    ``TOUCH_EVERY`` (so that the idle timeout measures from the last page, without a write per page)."""
    digest = login_digest(token)
    if digest is None:
        return None
    params = live_params(settings)
    row = session.exec(USER_FOR_DIGEST, params={"digest": digest, **params}).first()
    if row is None:
        return None
    user, last_seen = row
    if last_seen < params["now"] - TOUCH_EVERY:
        session.exec(update(WebSession).where(col(WebSession.token_hash) == digest)
                     .values(last_seen_at=params["now"]))
        session.commit()
    return user


def end_session(*, session: Session, token: str | None, commit: bool = True) -> None:
    digest = login_digest(token)
    if digest:
        session.exec(delete(WebSession).where(col(WebSession.token_hash) == digest))
        if commit:
            session.commit()


def end_all_sessions(*, session: Session, user_id: int) -> None:
    """End every login of an account (a password reset, a disabled account); the caller commits."""
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user_id))


def change_password(*, session: Session, settings: Settings, user: User, current: str, new: str,
                    client: str, token: str | None) -> str:
    """Change the password, end every login of this user and start a new one for this browser; returns
    its token. Guesses of the current password count as failed logins of the pair (account, address):
    a stolen session cannot try passwords faster than the login page allows (``Limited``)."""
    if not current:
        raise FormErrors({"current_password": N_("The current password is not right.")})
    attempt = login_limits.begin(session=session, settings=settings, email=user.email, client=client, pair_only=True)
    if not verify_password(user.password_hash, current):
        login_limits.failed(session=session, settings=settings, attempt=attempt)
        raise FormErrors({"current_password": N_("The current password is not right.")})
    login_limits.succeeded(session=session, attempt=attempt)
    check_password_rules(new, "new_password")
    user.password_hash = HASHER.hash(new)
    session.add(user)
    end_all_sessions(session=session, user_id=user.id)  # type: ignore[arg-type]
    return start_session(session=session, user=user, days=settings.session_days,
                         idle_hours=settings.session_idle_hours)


def update_profile(*, session: Session, user: User, display_name: str, language: str) -> None:
    """The person's own name and language (the account page)."""
    name = " ".join((display_name or "").split())
    if len(name) > 120:
        raise FormErrors({"display_name": N_("Use at most 120 characters.")})
    user.display_name, user.language = name, language if language in ("vi", "en") else user.language
    session.add(user)
    session.commit()


def set_language(*, session: Session, user: User, language: str) -> None:
    if language in ("vi", "en"):
        user.language = language
        session.add(user)
        session.commit()
