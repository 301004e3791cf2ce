"""Limits on password guesses, counted atomically in ``login_failure`` (one row per key per attempt).

Three rules (settings ``DXM_LOGIN_*``), so that a guesser is slowed down without locking anybody out:

* per pair (account, address): ``login_max_failures`` failures within the window block that pair for
  the window (someone else, elsewhere, still logs in);
* per account from all addresses: after ``login_account_failures`` failures within the window each
  further attempt must wait 1, 2, 4 ... up to ``login_backoff_max_seconds`` since the last failure;
  after that wait the right password works (never a hard lock of the owner, nor of the admin);
* per address, any accounts: ``login_address_failures`` within the window (a workshop room behind one
  NAT stays far below).

Count after insert: an attempt writes its rows and commits *before* the password is checked, then
counts; concurrent attempts each see the rows of those committed before them, so of 40 simultaneous
wrong logins at most the limit get their password checked. A refused attempt removes its own rows
(it checked nothing), a failed one keeps them, a successful one removes its own and its pair's.
Keys hold SHA-256 digests of the e-mail and the address, never the plain values.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from assessment.models import LoginFailure, utcnow
from assessment.settings import Settings


class Limited(Exception):
    """Too many failed attempts for now; ``retry_after`` seconds until the next may be tried."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = max(1, retry_after)


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:40]


def keys_for(email: str, client: str) -> dict[str, str]:
    """The keys of one attempt: its pair, its account, its address, and the pair's block marker."""
    account, address = _h("email:" + email), _h("client:" + client)
    return {"pair": f"pair:{account}:{address}", "account": f"acct:{account}", "address": f"addr:{address}",
            "block": f"block:{account}:{address}"}


@dataclass
class Attempt:
    """An attempt let through to the password check: its rows' ids and keys."""

    keys: dict[str, str]
    ids: list[int]
    now: datetime


def begin(*, session: Session, settings: Settings, email: str, client: str, pair_only: bool = False,
          now: datetime | None = None) -> Attempt:
    """Record an attempt and decide whether its password may be checked; ``Limited`` if not (its rows
    are then removed). ``pair_only``: only the pair rule (the change-password form's current password)."""
    now = now or utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    keys = keys_for(email, client)
    counted = [keys["pair"]] if pair_only else [keys["pair"], keys["account"], keys["address"]]
    blocked = session.exec(select(func.max(LoginFailure.at)).where(
        col(LoginFailure.key) == keys["block"], col(LoginFailure.at) > now - window)).one()
    if blocked is not None:
        raise Limited(math.ceil((blocked + window - now).total_seconds()))
    rows = [LoginFailure(key=k, at=now) for k in counted]
    session.add_all(rows)
    session.commit()
    attempt = Attempt(keys, [r.id for r in rows if r.id is not None], now)
    try:
        _check(session, settings, attempt, pair_only, window)
    except Limited:
        _remove(session, attempt)
        raise
    return attempt


def _check(session: Session, settings: Settings, attempt: Attempt, pair_only: bool, window: timedelta) -> None:
    keys, now = attempt.keys, attempt.now
    since = now - window
    in_window = (col(LoginFailure.at) > since,)  # no upper bound: a concurrent attempt a moment later counts too
    pair = _count(session, keys["pair"], in_window)
    if pair > settings.login_max_failures:  # others in flight took the remaining checks
        raise Limited(settings.login_window_minutes * 60)
    if pair_only:
        return
    address = _count(session, keys["address"], in_window)
    if address > settings.login_address_failures:
        oldest = session.exec(select(LoginFailure.at).where(col(LoginFailure.key) == keys["address"], *in_window)
                              .order_by(col(LoginFailure.at).desc())
                              .offset(settings.login_address_failures - 1).limit(1)).first()
        raise Limited(math.ceil(((oldest or now) + window - now).total_seconds()))
    before = session.exec(select(func.count(), func.max(LoginFailure.at)).where(
        col(LoginFailure.key) == keys["account"], *in_window,
        col(LoginFailure.id).not_in(attempt.ids))).one()
    failures, last = before
    if failures >= settings.login_account_failures and last is not None:
        wait = min(2 ** min(failures - settings.login_account_failures, 16), settings.login_backoff_max_seconds)
        waited = (now - last).total_seconds()
        if waited < wait:
            raise Limited(math.ceil(wait - waited))


def _count(session: Session, key: str, in_window: tuple) -> int:
    return session.exec(select(func.count()).select_from(LoginFailure).where(
        col(LoginFailure.key) == key, *in_window)).one()


def _remove(session: Session, attempt: Attempt) -> None:
    session.exec(delete(LoginFailure).where(col(LoginFailure.id).in_(attempt.ids)))
    session.commit()


def failed(*, session: Session, settings: Settings, attempt: Attempt) -> None:
    """The password was wrong: the rows stay; the pair's limit reached blocks the pair for the window."""
    window = timedelta(minutes=settings.login_window_minutes)
    pair = _count(session, attempt.keys["pair"], (col(LoginFailure.at) > attempt.now - window,))
    if pair >= settings.login_max_failures:
        session.add(LoginFailure(key=attempt.keys["block"], at=attempt.now))
        session.commit()


def succeeded(*, session: Session, attempt: Attempt) -> None:
    """The password was right: this attempt and the pair's earlier failures no longer count (the
    account's and the address's stay: a guesser elsewhere is not forgiven by the owner's login)."""
    session.exec(delete(LoginFailure).where(
        col(LoginFailure.id).in_(attempt.ids) | (col(LoginFailure.key) == attempt.keys["pair"])))
    session.commit()


def purge(*, session: Session, now: datetime | None = None, commit: bool = True) -> int:
    """Remove attempt rows older than a day (no rule looks further back); returns how many."""
    result = session.exec(delete(LoginFailure).where(col(LoginFailure.at) < (now or utcnow()) - timedelta(days=1)))
    if commit:
        session.commit()
    return int(result.rowcount or 0)


def per_address_hourly(*, session: Session, action: str, client: str, limit: int, now: datetime | None = None) -> None:
    """Count one ``action`` (a sign-up, a reset request: each sends a mail) from ``client``; ``Limited``
    when more than ``limit`` were started from there in the last hour (counted after insert, as above)."""
    now = now or utcnow()
    key = f"{action}:{_h('client:' + client)}"
    row = LoginFailure(key=key, at=now)
    session.add(row)
    session.commit()
    started = _count(session, key, (col(LoginFailure.at) > now - timedelta(hours=1),))
    if started > limit:
        session.delete(row)
        session.commit()
        oldest = session.exec(select(func.min(LoginFailure.at)).where(
            col(LoginFailure.key) == key, col(LoginFailure.at) > now - timedelta(hours=1))).one()
        raise Limited(math.ceil(((oldest or now) + timedelta(hours=1) - now).total_seconds()))
