"""Migrations match the models; backup and restore round-trip every table (both databases)."""

import io
import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlmodel import SQLModel
from typer.testing import CliRunner

from assessment import backup, rounds
from assessment.cli import app as cli
from assessment.settings import get_settings
from tests.factories import make_business, make_owner, owner_of, start, submitted


def test_migrated_schema_matches_the_models(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_a_save_touches_the_copy_only_when_the_answer_changed(session):
    """The write path relies on the upsert's row count on both databases (SQLAlchemy drops an INSERT's
    rowcount unless asked to keep it, which once made every save look unchanged on PostgreSQL)."""
    from assessment import answers, layout
    from assessment.models import Answer, Assessment

    business = make_business(session, make_owner(session))
    assessment = start(session, business, owner_of(session, business), instrument_id="quick-check")
    question = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]
    stamps = []
    for option in (question.options[0], question.options[0], question.options[1], question.options[1]):
        answers.save(session=session, draft=assessment, business=business, question_id=question.id, chosen=[option.id])
        session.expire_all()
        stamps.append(session.get(Assessment, assessment.id).updated_at)
    assert stamps[0] == stamps[1] < stamps[2] == stamps[3]
    assert session.execute(select(Answer.value)).scalars().all() == [question.options[1].id]


def snapshot(engine) -> dict[str, list]:
    out = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[table.name] = [{k: backup._encode(v) for k, v in row.items()} for row in rows]
    return out


def test_backup_restore_round_trip(engine, session):
    owner = make_owner(session)
    business = make_business(session, owner)
    submitted(session, business, pick=1)
    from datetime import date

    from assessment.models import Cohort, CohortMember

    cohort = Cohort(name="Khoá 1", instrument_id="quick-check", instrument_version="1.0", starts_on=date(2026, 9, 1),
                    ends_on=date(2026, 10, 1), join_code="ABCD2345")  # dates and booleans travel too
    session.add(cohort)
    session.flush()
    session.add(CohortMember(cohort_id=cohort.id, business_id=business.id, reminders_off=True))
    session.commit()
    before = snapshot(engine)
    assert all(before[t] for t in ("user", "business", "assessment", "answer", "dimension_result", "assessment_round",
                                   "round_result", "business_member", "cohort", "cohort_member"))
    buffer = io.StringIO()
    counts = backup.dump(engine, buffer)
    assert counts["answer"] == len(before["answer"])
    with engine.begin() as connection:
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
    buffer.seek(0)
    backup.restore(engine, buffer)
    assert snapshot(engine) == before
    # ids go on after the restored ones
    later = make_business(session, owner, name="Later")
    assert later.id > business.id


def test_restore_refuses_bad_files_and_a_non_empty_database(engine, session):
    with pytest.raises(backup.BackupError, match="not a dxmaturity backup"):
        backup.restore(engine, io.StringIO("hello\n"))
    header = json.dumps({"format": backup.FORMAT, "version": backup.VERSION, "schema": None})
    bad_row = header + "\n" + json.dumps({"t": "user", "r": {"nope": 1}}) + "\n"
    with pytest.raises(backup.BackupError, match="unknown column user.nope"):
        backup.restore(engine, io.StringIO(bad_row))
    with pytest.raises(backup.BackupError, match="not JSON"):
        backup.restore(engine, io.StringIO(header + "\n{oops\n"))
    make_owner(session)
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(engine, io.StringIO(header + "\n"))


def test_backup_and_restore_commands(engine, session, database_url, tmp_path, monkeypatch):
    make_business(session, make_owner(session))
    monkeypatch.setenv("DXM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        file = tmp_path / "backup.jsonl"
        result = CliRunner().invoke(cli, ["backup", str(file)])
        assert result.exit_code == 0 and "rows from" in result.stdout
        refused = CliRunner().invoke(cli, ["restore", str(file)])
        assert refused.exit_code == 1 and "nothing was restored" in refused.stderr
        missing = CliRunner().invoke(cli, ["restore", str(tmp_path / "none.jsonl")])
        assert missing.exit_code == 2
    finally:
        get_settings.cache_clear()


def test_a_connection_that_died_idle_in_the_pool_is_replaced_before_use(database_url, monkeypatch):
    """Pooled connections are pinged only after sitting idle; a dead one is then replaced, so the
    request never sees it. Used again at once, a connection is not pinged (and a dead one fails)."""
    from sqlalchemy import exc, text

    from assessment import db

    engine = db.make_engine(database_url, pool_size=1)
    try:
        def kill_the_pooled_connection() -> None:
            with engine.connect() as connection:
                raw = connection.connection.dbapi_connection
            raw.close()  # as a database restart leaves it: the pool does not know yet

        kill_the_pooled_connection()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)  # it has been idle long enough
        with engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1

        kill_the_pooled_connection()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)  # back in the pool a moment ago
        with pytest.raises(exc.DBAPIError) as failed, engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        assert failed.value.connection_invalidated
        with engine.connect() as connection:  # the invalidated connection was replaced
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_restore_of_an_older_backup_erases_again_whoever_deleted_their_account_since(
        engine, session, database_url, tmp_path, monkeypatch):
    from assessment import privacy
    from assessment.models import Business, User
    from tests.conftest import _empty_tables
    from tests.factories import PASSWORD

    owner = make_owner(session)
    owner_id = owner.id
    business = make_business(session, owner)
    monkeypatch.setenv("DXM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        older, ledger = tmp_path / "older.jsonl", tmp_path / "erasures.jsonl"
        assert CliRunner().invoke(cli, ["backup", str(older)]).exit_code == 0
        privacy.erase_account(session=session, user=owner, password=PASSWORD)  # after the backup
        result = CliRunner().invoke(cli, ["erasures", str(ledger)])
        assert result.exit_code == 0 and "1 erasures" not in result.stdout and "2 erasures" in result.stdout
        _empty_tables(engine)  # the database is lost
        restored = CliRunner().invoke(cli, ["restore", str(older), "--erasures", str(ledger)])
        assert restored.exit_code == 0 and "1 erased person(s) or business(es) erased again" in restored.stdout
    finally:
        get_settings.cache_clear()
    session.expire_all()
    assert session.get(User, owner_id) is None
    assert session.get(Business, business.id).erased_at is not None and session.get(Business, business.id).name == ""
