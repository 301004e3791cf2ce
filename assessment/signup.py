"""Sign-up with a code mailed to the address: the account exists only once the code was typed.

Nobody learns from sign-up whether an address has an account: for one that has, the visitor sees the
very same "enter the code" page and takes the same time (the password is hashed, a pending row
written, one mail sent, either way); the mail says "you already have an account: log in or reset
your password", and no code works for that pending sign-up.

The page's URL holds a random token (only its SHA-256 is stored); the 6-digit code is stored as an
HMAC keyed by that token, so a copy of the database alone cannot be used to find codes. A code is
valid ``CODE_MINUTES`` and ``MAX_TRIES`` tries, counted by one UPDATE before the comparison (of 20
concurrent guesses at most ``MAX_TRIES`` are compared).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from assessment import accounts, consent, login_limits
from assessment.messages import N_, FormErrors
from assessment.models import PendingSignup, User, utcnow
from assessment.settings import Settings

CODE_MINUTES = 15
MAX_TRIES = 5


class Expired(Exception):
    """The sign-up page's token names no pending sign-up (never, or any more): start again."""


@dataclass(frozen=True)
class Started:
    """A sign-up waiting for its code: what the mail and the next page need."""

    token: str  # the confirm page's URL part
    email: str
    language: str
    code: str
    existing: bool  # the address has an account already: the mail says so, no code works


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(token: str, code: str) -> str:
    return hmac.new(token.encode(), code.encode(), hashlib.sha256).hexdigest()


def start(*, session: Session, settings: Settings, email: str, password: str, display_name: str, language: str,
          next_url: str, client: str, consents: tuple[str, ...] = ("service",)) -> Started:
    """Check the form and keep a pending sign-up; the caller mails the code (or the "you have an
    account" note). ``FormErrors`` for a bad form (nothing kept), ``Limited`` for too many sign-ups
    from one address within the hour (``DXM_SIGNUP_PER_ADDRESS_HOUR``)."""
    email = accounts.normalise_email(email)
    errors: dict[str, str] = {}
    if not accounts.EMAIL.match(email) or len(email) > 254:
        errors["email"] = N_("Enter a valid e-mail address.")
    try:
        accounts.check_password_rules(password)
    except FormErrors as exc:
        errors.update(exc.errors)
    if len(display_name) > 120:
        errors["display_name"] = N_("Use at most 120 characters.")
    if "service" not in consents:
        errors["consent_service"] = N_("The service needs this consent to keep your assessments.")
    if errors:
        raise FormErrors(errors)
    login_limits.per_address_hourly(session=session, action="signup", client=client,
                                    limit=settings.signup_per_address_hour)
    existing = session.exec(select(User.id).where(User.email == email)).first() is not None
    token, code = secrets.token_urlsafe(32), f"{secrets.randbelow(10**6):06d}"
    now = utcnow()
    session.exec(delete(PendingSignup).where(col(PendingSignup.expires_at) < now))
    language = language if language in ("vi", "en") else "vi"
    session.add(PendingSignup(
        token_hash=_digest(token), email=email, password_hash=accounts.HASHER.hash(password),
        display_name=display_name.strip(), language=language, code_hash=_code_hash(token, code),
        existing=existing, next_url=next_url[:500],
        consents=",".join(p for p in consent.TEXTS if p in consents), client_hash=_digest("client:" + client),
        expires_at=now + timedelta(minutes=CODE_MINUTES)))
    session.commit()
    return Started(token=token, email=email, language=language, code=code, existing=existing)


def pending(*, session: Session, token: str) -> PendingSignup:
    """The live pending sign-up of a confirm page; ``Expired`` if there is none."""
    found = session.get(PendingSignup, _digest(token)) if 0 < len(token) <= 100 else None
    if found is None or found.expires_at <= utcnow() or found.tries >= MAX_TRIES:
        raise Expired
    return found


def confirm(*, session: Session, token: str, code: str) -> tuple[User, str]:
    """The new account and where to go next, when ``code`` is the one mailed. ``FormErrors`` for a
    wrong code (a try used), ``Expired`` when no tries or time are left."""
    found = pending(session=session, token=token)
    typed = "".join((code or "").split())
    if not typed:  # an empty form is no try
        raise FormErrors({"code": N_("Type the 6-digit code from the mail.")})
    counted = session.exec(update(PendingSignup).where(
        col(PendingSignup.token_hash) == found.token_hash, col(PendingSignup.tries) < MAX_TRIES)
        .values(tries=PendingSignup.tries + 1))
    session.commit()
    if not counted.rowcount:
        raise Expired
    right = (not found.existing and len(typed) == 6
             and hmac.compare_digest(found.code_hash, _code_hash(token, typed)))
    taken = session.exec(select(User.id).where(User.email == found.email)).first() is not None
    if not right or taken:
        session.refresh(found)
        if found.tries >= MAX_TRIES:
            raise Expired
        raise FormErrors({"code": N_("This code is not right. Check the latest mail and try again.")})
    user = User(email=found.email, password_hash=found.password_hash, display_name=found.display_name,
                language=found.language)
    try:
        session.add(user)
        session.flush()
        for purpose in filter(None, found.consents.split(",")):  # as agreed on the sign-up form, in its language
            consent.give(session=session, user=user, purpose=purpose, language=found.language, now=found.created_at)
        session.delete(found)
        session.commit()
    except IntegrityError:  # the same address confirmed by another sign-up a moment before
        session.rollback()
        raise Expired from None
    session.refresh(user)
    return user, found.next_url
