"""What admins do to accounts: find them (paged), create, disable, re-enable, change role. Each change
is written with its audit event in one transaction (both or neither).

Two rules keep the centre able to run itself: an admin cannot disable their own account, and the last
active admin keeps the role (nor can they be disabled): somebody must be left who can undo a mistake.
Disabling ends every session of the account at once (its rows are deleted; the login refuses a
disabled account).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from assessment import accounts, audit
from assessment.messages import N_, NotAllowed
from assessment.models import ROLES, User, WebSession, utcnow

PAGE = 50  # accounts per page


@dataclass(frozen=True)
class AccountPage:
    users: list[User]
    next_after: int | None  # the ``after`` of the next page, None on the last


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(session: Session, *, query: str = "", role: str = "", after: int = 0, size: int = PAGE) -> AccountPage:
    """Accounts whose e-mail or name holds ``query`` (case-insensitive), of ``role`` if given, in id
    order after id ``after`` (keyset paging: never the whole table at once)."""
    statement = select(User).where(col(User.id) > after)
    text = query.strip().lower()[:254]
    if text:
        pattern = _like(text)
        statement = statement.where(or_(col(User.email).like(pattern, escape="\\"),
                                        func.lower(col(User.display_name)).like(pattern, escape="\\")))
    if role in ROLES:
        statement = statement.where(User.role == role)
    users = list(session.exec(statement.order_by(col(User.id)).limit(size + 1)))
    more = len(users) > size
    users = users[:size]
    return AccountPage(users, users[-1].id if more and users else None)


def _active_admins(session: Session) -> list[int]:
    """The ids of the active admins, their rows locked on PostgreSQL (two admins demoting each other
    at once must not both pass the last-admin rule; SQLite lets one writer in at a time anyway)."""
    rows = session.exec(select(User.id).where(User.role == "admin", col(User.disabled_at).is_(None))
                        .with_for_update()).all()
    return [r for r in rows if r is not None]


def _keeps_an_admin(session: Session, user: User) -> bool:
    """False when ``user`` is the only active admin."""
    return user.role != "admin" or user.disabled_at is not None or any(i != user.id for i in _active_admins(session))


def create(
    *, session: Session, admin: User, email: str, password: str, role: str, display_name: str, language: str,
    client: str,
) -> User:
    """A new account (FormErrors naming the bad fields, nothing written)."""
    user = accounts.create_user(session=session, email=email, password=password, role=role,
                                display_name=display_name, language=language)
    audit.record(session=session, actor=admin, action="account.create", object_type="user",
                 object_id=user.id or 0, client=client)
    session.commit()
    return user


def disable(*, session: Session, admin: User, user: User, client: str) -> None:
    """Disable ``user`` and end every session of theirs; NotAllowed for oneself and the last admin."""
    if user.id == admin.id:
        raise NotAllowed(N_("You cannot disable your own account."))
    if not _keeps_an_admin(session, user):
        raise NotAllowed(N_("This is the last active admin account: make another admin first."))
    if user.disabled_at is None:
        user.disabled_at = utcnow()
        session.add(user)
    session.exec(delete(WebSession).where(col(WebSession.user_id) == user.id))
    audit.record(session=session, actor=admin, action="account.disable", object_type="user",
                 object_id=user.id or 0, client=client)
    session.commit()


def enable(*, session: Session, admin: User, user: User, client: str) -> None:
    """Let a disabled account log in again (its old sessions stay ended)."""
    user.disabled_at = None
    session.add(user)
    audit.record(session=session, actor=admin, action="account.enable", object_type="user",
                 object_id=user.id or 0, client=client)
    session.commit()


def change_role(*, session: Session, admin: User, user: User, role: str, client: str) -> None:
    """Give ``user`` another role; NotAllowed for an unknown role and for taking the last active
    admin's role away."""
    if role not in ROLES:
        raise NotAllowed(N_("Unknown role."))
    if role == user.role:
        return
    if role != "admin" and not _keeps_an_admin(session, user):
        raise NotAllowed(N_("This is the last active admin account: make another admin first."))
    user.role = role
    session.add(user)
    audit.record(session=session, actor=admin, action="account.role", object_type="user",
                 object_id=user.id or 0, client=client)
    session.commit()
