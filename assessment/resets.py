"""Password resets by a link mailed to the account's address: single use, valid one hour, and using
one ends every login of the account.

A request answers the same whether or not the address has an account, and costs the same: a mail is
sent either way (with a link, or saying that no account uses the address and how to sign up), so
neither the page nor its timing tells who has an account. Only the link token's SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from assessment import accounts, audit, login_limits
from assessment.messages import FormErrors
from assessment.models import PasswordReset, User, utcnow
from assessment.settings import Settings

VALID = timedelta(hours=1)


class Expired(Exception):
    """The link is unknown, used or older than an hour."""


@dataclass(frozen=True)
class Requested:
    """What the caller mails: to ``email``, a link with ``token`` if an account uses the address."""

    email: str
    language: str
    token: str | None  # None: no (usable) account has this address


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue(session: Session, user: User, issued_by: User | None = None) -> str:
    token = secrets.token_urlsafe(32)
    session.add(PasswordReset(token_hash=_digest(token), user_id=user.id,  # type: ignore[arg-type]
                              issued_by=issued_by.id if issued_by else None, expires_at=utcnow() + VALID))
    return token


def request(*, session: Session, settings: Settings, email: str, language: str, client: str) -> Requested | None:
    """A reset asked for on the login page's "forgot password" form. None for a string that is no
    e-mail address (nothing to mail); ``Limited`` past the per-address hourly limit."""
    email = accounts.normalise_email(email)
    if not accounts.EMAIL.match(email) or len(email) > 254:
        return None
    login_limits.per_address_hourly(session=session, action="reset", client=client,
                                    limit=settings.signup_per_address_hour)
    user = session.exec(select(User).where(User.email == email, col(User.disabled_at).is_(None))).first()
    if user is None:
        return Requested(email=email, language=language, token=None)
    token = _issue(session, user)
    session.commit()
    return Requested(email=email, language=user.language, token=token)


def issue_by_admin(*, session: Session, admin: User, user: User, client: str) -> str:
    """A reset link an admin has mailed to an account (recorded in the audit log); returns its token."""
    token = _issue(session, user, issued_by=admin)
    audit.record(session=session, actor=admin, action="account.reset", object_type="user",
                 object_id=user.id, client=client)  # type: ignore[arg-type]
    session.commit()
    return token


def check(*, session: Session, token: str) -> PasswordReset:
    """The live reset a link names; ``Expired`` otherwise."""
    found = session.get(PasswordReset, _digest(token)) if 0 < len(token) <= 100 else None
    if found is None or found.used_at is not None or found.expires_at <= utcnow():
        raise Expired
    return found


def use(*, session: Session, token: str, password: str) -> User:
    """Set the new password through a link: the link is used up (one UPDATE, so two tabs cannot both
    use it) and every login of the account ends. ``FormErrors`` for a password the rules refuse (the
    link stays usable), ``Expired`` for a dead link."""
    found = check(session=session, token=token)
    accounts.check_password_rules(password, "new_password")
    claimed = session.exec(update(PasswordReset).where(
        col(PasswordReset.token_hash) == found.token_hash, col(PasswordReset.used_at).is_(None))
        .values(used_at=utcnow()))
    user = session.get(User, found.user_id)
    if not claimed.rowcount or user is None or user.disabled_at is not None:
        session.rollback()
        raise Expired
    user.password_hash = accounts.HASHER.hash(password)
    session.add(user)
    accounts.end_all_sessions(session=session, user_id=user.id)  # type: ignore[arg-type]
    session.commit()
    return user


__all__ = ["Expired", "FormErrors", "Requested", "check", "issue_by_admin", "request", "use"]
