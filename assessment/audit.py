"""The audit log: every action that reads or changes somebody else's data (an admin's account
changes and outbox reads, a trainer's course pages, notes, reminders and exports, the department's
city pages and exports): who, what, which object, when (UTC) and from where (the client address).

One writer, ``record``; the web layer calls it in one place per kind of access (``web.deps.audit``):
the cohort policy dependency for trainers, the admin services for account changes, the city routes
for the department. Nothing in the app changes or deletes a row; on PostgreSQL a trigger refuses
it (migration 0005) except the one rewrite erasure needs, ``replace_person``.

The action names are a fixed list (``ACTIONS``): a filter lists them, and a typo in a caller is an
error at once rather than a row nobody finds.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from assessment import accounts, exports
from assessment.access import HANOI
from assessment.messages import N_
from assessment.models import ApiToken, AuditEvent, User

# action -> what it means (shown to admins beside the name)
ACTIONS: dict[str, str] = {
    # admins
    "account.list": N_("listed or searched accounts"),
    "account.create": N_("created an account"),
    "account.disable": N_("disabled an account"),
    "account.enable": N_("re-enabled an account"),
    "account.role": N_("changed an account's role"),
    "account.reset": N_("mailed a password-reset link"),
    "outbox.list": N_("read the outbox"),
    "outbox.read": N_("read a mail"),
    "audit.view": N_("read the audit log"),
    "audit.export": N_("exported the audit log"),
    # trainers (and admins) on a course
    "cohort.view": N_("read a course's dashboard or charts"),
    "cohort.export": N_("downloaded a course's table"),
    "cohort.close": N_("closed a course"),
    "member.view": N_("read a member business's page"),
    "member.note": N_("wrote a note on a member business"),
    "member.action": N_("agreed an action with a member business"),
    "member.remind": N_("reminded a member business"),
    # the department
    "city.view": N_("read the city's figures"),
    "city.export": N_("downloaded the city's figures"),
    "city.briefing": N_("downloaded the city's PDF briefing"),
    "city.target": N_("set the city's target"),
    "city.publish": N_("published the city's figures for a period"),
    "city.population": N_("uploaded the registered enterprises"),
    "city.api": N_("read the city's figures through the API"),
    "city.microdata": N_("exported the city's anonymised records"),
    "city.microdata_job": N_("asked for or restarted a background export of the city's records"),
    "city.microdata_file": N_("downloaded a background export of the city's records"),
    "api_token.create": N_("issued an API token"),
    "api_token.revoke": N_("revoked an API token"),
}
OBJECT_TYPES = ("user", "cohort", "business", "mail", "audit", "city", "api_token", "export_job")
TOMBSTONE_PREFIX = "erased-"
TOKEN_PREFIX = "token-"  # the actor of a read through an API token: "token-<its id>", role "api_token"
PAGE = 50  # rows per page of the admin's list
EXPORT_MAX = 100_000  # rows in one CSV export; a larger selection is refused, to be narrowed


def record(
    *, session: Session, actor: User | ApiToken, action: str, object_type: str, object_id: int | str,
    client: str
) -> AuditEvent:
    """Add one event to ``session``; the caller commits it, with the change it describes when there
    is one (both or neither are kept). ValueError for an action or object type not in the lists.

    An API token is an actor of its own ("token-<id>"), not the admin who issued it: the admin did
    not make the read, and the token's reads must stay listed after its issuer's account is erased."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if object_type not in OBJECT_TYPES:
        raise ValueError(f"unknown audit object type {object_type!r}")
    if isinstance(actor, ApiToken):
        who, role = f"{TOKEN_PREFIX}{actor.id}", "api_token"
    else:
        who, role = str(actor.id), actor.role
    event = AuditEvent(actor=who, actor_role=role, action=action, object_type=object_type,
                       object_id=str(object_id), client=(client or "")[:45])
    session.add(event)
    return event


def replace_person(session: Session, user_id: int) -> str:
    """Erasure: the person's rows keep what happened but no longer say who. Wherever they are the
    actor, their id becomes a tombstone and the client address (which could name them) is emptied;
    wherever they are the object (an account an admin changed), the object id becomes the same
    tombstone, so what was done by and to one erased person still reads as one. Returns the
    tombstone ("erased-" and 16 hex digits); the caller commits, with the rest of the erasure."""
    tombstone = TOMBSTONE_PREFIX + secrets.token_hex(8)
    table = AuditEvent.__table__  # type: ignore[attr-defined]
    session.exec(update(table).where(table.c.actor == str(user_id)).values(actor=tombstone, client=""))
    session.exec(update(table).where(table.c.object_type == "user", table.c.object_id == str(user_id))
                 .values(object_id=tombstone))
    for loaded in [o for o in session.identity_map.values() if isinstance(o, AuditEvent)]:
        session.expire(loaded)  # the bulk UPDATEs bypassed them: read the rewritten rows on next access
    return tombstone


# -- reading: the admins' filters, pages and export -------------------------------------------------
@dataclass(frozen=True)
class Filters:
    """What an admin asked for; empty strings and None mean "any"."""

    actor: str = ""  # a user id, an e-mail address, a tombstone or "token-<id>", as typed
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    since: date | None = None  # Hanoi dates, both included
    until: date | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """The filters as URL parameters (for the next page and the export link)."""
        values = {"actor": self.actor, "action": self.action, "object_type": self.object_type,
                  "object_id": self.object_id, "since": self.since.isoformat() if self.since else "",
                  "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in values.items() if v}


def _date(text: str) -> date:
    return date.fromisoformat(text)


def parse_filters(params: Mapping[str, str]) -> Filters:
    """The filters from a query string, each checked; a bad one is named in ``errors`` (and the
    list then shows nothing rather than a wrong selection)."""
    errors: dict[str, str] = {}
    text = {k: (params.get(k) or "").strip()[:254] for k in ("actor", "action", "object_type", "object_id",
                                                              "since", "until")}
    if text["action"] and text["action"] not in ACTIONS:
        errors["action"] = N_("Unknown action.")
    if text["object_type"] and text["object_type"] not in OBJECT_TYPES:
        errors["object_type"] = N_("Unknown kind of object.")
    if len(text["object_id"]) > 40:
        errors["object_id"] = N_("Use at most 40 characters.")
    dates: dict[str, date | None] = {}
    for key in ("since", "until"):
        try:
            dates[key] = _date(text[key]) if text[key] else None
        except ValueError:
            dates[key], errors[key] = None, N_("Enter a date as YYYY-MM-DD.")
    since, until = dates["since"], dates["until"]
    if since and until and since > until:
        errors["until"] = N_("The end date is before the start date.")
    return Filters(actor=text["actor"], action=text["action"], object_type=text["object_type"],
                   object_id=text["object_id"], since=since, until=until, errors=errors)


def _actor_key(session: Session, actor: str) -> str:
    """What the ``actor`` column holds for what an admin typed: an e-mail is looked up (an unknown
    one matches nothing), an id or a tombstone is taken as it is."""
    if "@" not in actor:
        return actor
    found = session.exec(select(User.id).where(User.email == accounts.normalise_email(actor))).first()
    return str(found) if found is not None else "-"


def _statement(session: Session, filters: Filters) -> Any:
    statement = select(AuditEvent)
    if filters.actor:
        statement = statement.where(AuditEvent.actor == _actor_key(session, filters.actor))
    if filters.action:
        statement = statement.where(AuditEvent.action == filters.action)
    if filters.object_type:
        statement = statement.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        statement = statement.where(AuditEvent.object_id == filters.object_id)
    if filters.since:
        statement = statement.where(col(AuditEvent.at) >= datetime.combine(filters.since, time(), HANOI))
    if filters.until:
        statement = statement.where(
            col(AuditEvent.at) < datetime.combine(filters.until + timedelta(days=1), time(), HANOI))
    return statement


@dataclass(frozen=True)
class Page:
    events: list[AuditEvent]
    emails: dict[str, str]  # actor or object id of a living account -> its e-mail
    next_before: int | None  # the ``before`` of the next (older) page, None on the last


def _emails(session: Session, events: list[AuditEvent]) -> dict[str, str]:
    ids = {e.actor for e in events} | {e.object_id for e in events if e.object_type == "user"}
    numbers = [int(i) for i in ids if i.isdigit() and len(i) < 10]
    if not numbers:
        return {}
    rows = session.exec(select(User.id, User.email).where(col(User.id).in_(numbers))).all()
    return {str(user_id): email for user_id, email in rows}


def page(session: Session, filters: Filters, *, before: int | None = None, size: int = PAGE) -> Page:
    """One page of events, newest first, older than event ``before`` (keyset paging: each page is
    one index range, however deep)."""
    if filters.errors:
        return Page([], {}, None)
    statement = _statement(session, filters)
    if before is not None:
        statement = statement.where(col(AuditEvent.id) < before)
    events = list(session.exec(statement.order_by(col(AuditEvent.id).desc()).limit(size + 1)))
    more = len(events) > size
    events = events[:size]
    return Page(events, _emails(session, events), events[-1].id if more and events else None)


class TooMany(ValueError):
    """More rows than one export holds."""


EXPORT_COLUMNS = (
    exports.Column("id", "number"), exports.Column("at", "datetime"), exports.Column("actor"),
    exports.Column("actor_email"), exports.Column("actor_role"), exports.Column("action"),
    exports.Column("object_type"), exports.Column("object_id"), exports.Column("object_email"),
    exports.Column("client"),
)
_BATCH = 1000


def export_table(session: Session, filters: Filters, *, now: datetime) -> exports.Table:
    """The selected events as a table for ``exports.to_csv``, oldest first, read in batches; TooMany
    when the selection holds more than ``EXPORT_MAX`` rows (nothing is written then)."""
    count = session.exec(select(func.count()).select_from(_statement(session, filters).subquery())).one()
    if count > EXPORT_MAX:
        raise TooMany(count)

    def rows() -> Iterator[list[exports.Value]]:
        after = 0
        while True:
            batch = list(session.exec(_statement(session, filters).where(col(AuditEvent.id) > after)
                                      .order_by(col(AuditEvent.id)).limit(_BATCH)))
            if not batch:
                return
            emails = _emails(session, batch)
            for e in batch:
                yield [e.id, e.at, e.actor, emails.get(e.actor), e.actor_role, e.action, e.object_type, e.object_id,
                       emails.get(e.object_id) if e.object_type == "user" else None, e.client or None]
            after = batch[-1].id

    metadata = [("generated_at", now.isoformat()), *sorted(filters.query().items())]
    return exports.Table(EXPORT_COLUMNS, rows(), metadata)
