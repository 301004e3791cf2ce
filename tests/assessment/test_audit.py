"""The audit log's writer, its filters and export, the erasure tombstone, PostgreSQL's refusal to
change a row, and migration 0005 up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from assessment import audit, exports, migrate
from assessment.models import AuditEvent
from tests.assessment.test_migration import empty_engine  # noqa: F401  (a database of its own)
from tests.factories import make_owner

T = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def _event(session, *, actor="1", action="member.view", object_type="business", object_id="7", client="10.0.0.1",
           at=T, role="trainer") -> AuditEvent:
    event = AuditEvent(actor=actor, actor_role=role, action=action, object_type=object_type, object_id=object_id,
                       client=client, at=at)
    session.add(event)
    session.commit()
    return event


def test_record_writes_who_what_which_and_where_and_refuses_names_off_the_list(session):
    trainer = make_owner(session, "t@example.vn", role="trainer")
    event = audit.record(session=session, actor=trainer, action="cohort.export", object_type="cohort", object_id=3,
                         client="192.0.2.10")
    session.commit()
    stored = session.exec(select(AuditEvent)).one()
    assert (stored.actor, stored.actor_role, stored.action, stored.object_type, stored.object_id, stored.client) == (
        str(trainer.id), "trainer", "cohort.export", "cohort", "3", "192.0.2.10")
    assert stored.id == event.id and stored.at.tzinfo is not None
    with pytest.raises(ValueError, match="unknown audit action 'cohort.peek'"):
        audit.record(session=session, actor=trainer, action="cohort.peek", object_type="cohort", object_id=3, client="")
    with pytest.raises(ValueError, match="unknown audit object type 'round'"):
        audit.record(session=session, actor=trainer, action="cohort.view", object_type="round", object_id=3, client="")


def test_replace_person_rewrites_only_that_persons_rows(session):
    by_them = _event(session, actor="5", client="198.51.100.7")
    to_them = _event(session, actor="9", role="admin", action="account.disable", object_type="user", object_id="5")
    business_5 = _event(session, actor="9", role="admin", action="member.view", object_type="business",
                        object_id="5")  # a business numbered 5 is not the person 5
    other = _event(session, actor="55", client="203.0.113.1")
    tombstone = audit.replace_person(session, 5)
    session.commit()
    assert re.fullmatch(r"erased-[0-9a-f]{16}", tombstone)
    rows = {e.id: e for e in session.exec(select(AuditEvent))}
    assert (rows[by_them.id].actor, rows[by_them.id].client, rows[by_them.id].object_id) == (tombstone, "", "7")
    assert (rows[to_them.id].actor, rows[to_them.id].object_id, rows[to_them.id].client) == ("9", tombstone, "10.0.0.1")
    assert (rows[business_5.id].object_id, rows[other.id].actor, rows[other.id].client) == ("5", "55", "203.0.113.1")
    # the actions and times are kept: what happened is still there, only who is gone
    assert [rows[i].action for i in (by_them.id, to_them.id)] == ["member.view", "account.disable"]
    assert audit.replace_person(session, 5) != tombstone  # a fresh one each time (nothing left to rewrite)


def test_the_database_refuses_to_change_or_delete_a_row_but_the_tombstone(engine, session):
    """PostgreSQL: a trigger refuses every UPDATE and DELETE except the erasure rewrite. SQLite (the
    demo's file, the operator's own) has no such trigger; there the app's having no route that
    changes the log is what holds (tests/web/test_admin.py)."""
    event = _event(session, actor="5")
    if engine.dialect.name != "postgresql":
        with engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")).scalar() == 0
        return
    for statement in ("UPDATE audit_event SET action = 'cohort.view'", "UPDATE audit_event SET actor = '6'",
                      "UPDATE audit_event SET at = at - interval '1 day'", "UPDATE audit_event SET client = '1.1.1.1'",
                      "UPDATE audit_event SET object_id = 'erased-00'",  # a business is not a person
                      "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="the audit log cannot be changed"), engine.begin() as c:
            c.execute(text(statement))
    tombstone = audit.replace_person(session, 5)
    session.commit()
    with engine.connect() as c:
        assert c.execute(text("SELECT actor, client, action FROM audit_event")).one() == (tombstone, "", "member.view")
    assert event.id is not None


def test_filters_by_actor_action_object_and_hanoi_dates(session):
    trainer = make_owner(session, "t@example.vn", role="trainer")
    actor = str(trainer.id)
    late_31 = _event(session, actor=actor, at=datetime(2026, 5, 31, 16, 59, 59, tzinfo=UTC))  # 23:59:59 31 May Hanoi
    first_1 = _event(session, actor=actor, at=datetime(2026, 5, 31, 17, 0, tzinfo=UTC))  # 00:00 1 June in Hanoi
    export = _event(session, actor=actor, action="cohort.export", object_type="cohort", object_id="3",
                    at=datetime(2026, 6, 2, 16, 59, tzinfo=UTC))  # 23:59 2 June
    _event(session, actor="999", at=datetime(2026, 6, 3, 1, 0, tzinfo=UTC))

    def ids(**params) -> list[int]:
        filters = audit.parse_filters(params)
        assert filters.errors == {}
        return [e.id for e in audit.page(session, filters).events]

    assert ids(actor="T@Example.vn ") == [export.id, first_1.id, late_31.id]  # an e-mail, as typed
    assert ids(actor=actor, action="member.view") == [first_1.id, late_31.id]
    assert ids(object_type="cohort", object_id="3") == [export.id]
    assert ids(since="2026-06-01", until="2026-06-02") == [export.id, first_1.id]
    assert ids(until="2026-05-31") == [late_31.id]
    assert ids(actor="nobody@example.vn") == []
    bad = audit.parse_filters({"since": "31/05/2026", "until": "2026-13-01", "action": "drop", "object_type": "x"})
    assert set(bad.errors) == {"since", "until", "action", "object_type"}
    assert audit.page(session, bad).events == []
    assert audit.parse_filters({"since": "2026-06-02", "until": "2026-06-01"}).errors == {
        "until": "The end date is before the start date."}


def test_pages_are_keyset_ranges_newest_first(session):
    made = [_event(session, object_id=str(i)).id for i in range(7)]
    first = audit.page(session, audit.Filters(), size=3)
    assert [e.id for e in first.events] == made[:-4:-1] and first.next_before == made[4]
    second = audit.page(session, audit.Filters(), before=first.next_before, size=3)
    assert [e.id for e in second.events] == made[3:0:-1]
    last = audit.page(session, audit.Filters(), before=second.next_before, size=3)
    assert [e.id for e in last.events] == [made[0]] and last.next_before is None


def test_export_reads_back_with_emails_neutralised_text_and_hanoi_times(session, monkeypatch):
    admin = make_owner(session, "a@example.vn", role="admin")
    target = make_owner(session, "o@example.vn")
    one = _event(session, actor=str(admin.id), role="admin", action="account.disable", object_type="user",
                 object_id=str(target.id), client="=HYPERLINK(\"http://x\")")
    two = _event(session, actor="erased-0123456789abcdef", action="member.note", client="",
                 at=datetime(2026, 6, 1, 17, 30, tzinfo=UTC))
    monkeypatch.setattr(audit, "_BATCH", 1)  # read in batches: two of them here
    body = exports.to_csv(audit.export_table(session, audit.Filters(), now=T))
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [str(one.id), str(two.id)]
    assert rows[0] == {"id": str(one.id), "at": "2026-06-01T10:00:00+07:00", "actor": str(admin.id),
                            "actor_email": "a@example.vn", "actor_role": "admin", "action": "account.disable",
                            "object_type": "user", "object_id": str(target.id), "object_email": "o@example.vn",
                            "client": "'=HYPERLINK(\"http://x\")"}
    assert (rows[1]["at"], rows[1]["actor"], rows[1]["actor_email"], rows[1]["client"]) == (
        "2026-06-02T00:30:00+07:00", "erased-0123456789abcdef", "", "")
    monkeypatch.setattr(audit, "EXPORT_MAX", 1)
    with pytest.raises(audit.TooMany):
        audit.export_table(session, audit.Filters(), now=T)
    assert len(list(audit.export_table(session, audit.parse_filters({"action": "member.note"}), now=T).rows)) == 1


def test_migration_0005_up_and_down(empty_engine):  # noqa: F811
    migrate.upgrade_engine(empty_engine, "0005")
    columns = {c["name"]: c for c in inspect(empty_engine).get_columns("audit_event")}
    assert set(columns) == {"id", "at", "actor", "actor_role", "action", "object_type", "object_id", "client"}
    assert [columns[n]["type"].length for n in ("actor", "actor_role", "action", "object_type", "object_id",
                                                 "client")] == [40, 16, 40, 20, 40, 45]
    assert {i["name"] for i in inspect(empty_engine).get_indexes("audit_event")} == {
        "ix_audit_event_at", "ix_audit_event_actor", "ix_audit_event_object"}
    with empty_engine.begin() as c:
        c.execute(text("INSERT INTO audit_event (at, actor, actor_role, action, object_type, object_id, client) "
                       "VALUES (CURRENT_TIMESTAMP, '1', 'admin', 'audit.view', 'audit', '*', '')"))
    if empty_engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="the audit log cannot be changed"), empty_engine.begin() as c:
            c.execute(text("DELETE FROM audit_event"))
    migrate.downgrade_engine(empty_engine, "0004")
    assert "audit_event" not in inspect(empty_engine).get_table_names()
    if empty_engine.dialect.name == "postgresql":
        with empty_engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'audit_event_guard'")).scalar() == 0
    migrate.upgrade_engine(empty_engine, "0005")
