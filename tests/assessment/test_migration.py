"""Migration 0002 on a database holding 0001 data, upgrade and downgrade, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from assessment import migrate
from assessment.db import make_engine

T0 = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)  # 1 April 01:30 in Hanoi: the second quarter there
T1 = datetime(2026, 5, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def empty_engine(database_url, tmp_path):
    """A database of its own (a file on SQLite, a new database on PostgreSQL)."""
    if database_url.startswith("sqlite"):
        engine = make_engine(f"sqlite:///{tmp_path / 'migration.db'}")
        yield engine
        engine.dispose()
        return
    name = f"dxm_migration_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(database_url).set(database=name).render_as_string(hide_password=False))
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}"'))
    admin.dispose()


def _seed_0001(connection) -> None:
    rows = {
        "user": [
            {"id": 1, "email": "a@x.vn", "password_hash": "h", "role": "owner", "display_name": "A",
             "language": "vi", "created_at": T0},
            {"id": 2, "email": "b@x.vn", "password_hash": "h", "role": "owner", "display_name": "B",
             "language": "vi", "created_at": T0},
        ],
        "business": [  # 10 and 12 share a tax code; 12 registered later; 11 is a branch of 10
            {"id": 10, "owner_id": 1, "name": "Gốm Xanh", "tax_code": "0100233488", "ward_code": "00070",
             "vsic_version": "2018", "vsic_section": "C", "employees": 8, "revenue_bn": 5.0, "capital_bn": 2.0,
             "size_class": "micro", "created_at": T0},
            {"id": 11, "owner_id": 1, "name": "Gốm Xanh CN", "tax_code": "0100233488-001", "ward_code": "00070",
             "vsic_version": "2018", "vsic_section": "C", "employees": 8, "revenue_bn": 5.0, "capital_bn": 2.0,
             "size_class": "micro", "created_at": T0},
            {"id": 12, "owner_id": 2, "name": "Gốm Xanh (2)", "tax_code": "0100233488", "ward_code": "00577",
             "vsic_version": "2018", "vsic_section": "C", "employees": 9, "revenue_bn": 5.0, "capital_bn": 2.0,
             "size_class": "micro", "created_at": T1},
        ],
        "assessment": [
            {"id": 100, "business_id": 10, "instrument_id": "quick-check", "instrument_version": "1.0",
             "status": "submitted", "created_at": T0, "updated_at": T0, "submitted_at": T0, "vsic_section": "C",
             "size_class": "micro", "overall_score": 40.0, "overall_level": "basic"},
            {"id": 101, "business_id": 12, "instrument_id": "quick-check", "instrument_version": "1.0",
             "status": "submitted", "created_at": T1, "updated_at": T1, "submitted_at": T1, "vsic_section": "C",
             "size_class": "micro", "overall_score": 60.0, "overall_level": "developing"},
            {"id": 102, "business_id": 10, "instrument_id": "quick-check", "instrument_version": "1.0",
             "status": "draft", "created_at": T1, "updated_at": T1, "submitted_at": None, "vsic_section": None,
             "size_class": None, "overall_score": None, "overall_level": None},
        ],
        "answer": [{"assessment_id": 102, "question_id": "q1", "value": "a", "updated_at": T1}],
        "dimension_result": [
            {"id": 1, "assessment_id": 100, "dimension_id": "strategy", "score": 40.0, "level": "basic"},
            {"id": 2, "assessment_id": 101, "dimension_id": "strategy", "score": 60.0, "level": "developing"},
        ],
    }
    for table, values in rows.items():
        columns = list(values[0])
        connection.execute(text(f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES '
                                f'({", ".join(":" + c for c in columns)})'), values)


def test_0002_upgrades_a_populated_database_and_downgrades(empty_engine, caplog):
    migrate.upgrade_engine(empty_engine, "0001")
    with empty_engine.begin() as connection:
        _seed_0001(connection)
    with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
        migrate.upgrade_engine(empty_engine, "0002")
    assert "merged business 12 into business 10 (same tax code)" in caplog.messages
    with empty_engine.connect() as c:
        # the duplicate was merged into the oldest business; its owner is now a respondent there
        assert c.execute(text("SELECT id FROM business ORDER BY id")).scalars().all() == [10, 11]
        assert c.execute(text("SELECT business_id, user_id, role FROM business_member ORDER BY 1, 2")).all() == [
            (10, 1, "owner"), (10, 2, "respondent"), (11, 1, "owner")]
        assert c.execute(text("SELECT parent_id FROM business WHERE id = 11")).scalar() == 10
        copies = c.execute(text("SELECT id, round_id, business_id, respondent_id, respondent_role FROM assessment "
                                "ORDER BY id")).all()
        assert copies == [(100, 100, 10, 1, "owner"), (101, 101, 10, 2, "respondent"), (102, 102, 10, 1, None)]
        rounds = c.execute(text(
            "SELECT id, status, name, ward_code, closed_quarter, closed_year, is_latest, latest_in_quarter, "
            "latest_in_year, respondents, overall_score, instrument_hash IS NOT NULL FROM assessment_round "
            "ORDER BY id")).all()
        # T0 is 1 April in Hanoi: the second quarter, like T1, so only the later round is the quarter's latest;
        # the ward of an old round is its business's ward today (business 12's was merged away)
        assert [tuple(r) for r in rounds] == [
            (100, "closed", "2026 Q2", "00070", 20262, 2026, False, False, False, 1, 40.0, True),
            (101, "closed", "2026 Q2", "00070", 20262, 2026, True, True, True, 1, 60.0, True),
            (102, "open", "2026 Q2", None, None, None, False, False, False, 0, None, False),
        ]
        assert c.execute(text("SELECT round_id, dimension_id, score, respondents, low, high FROM round_result "
                              "ORDER BY round_id")).all() == [
            (100, "strategy", 40.0, 1, 40.0, 40.0), (101, "strategy", 60.0, 1, 60.0, 60.0)]
        assert c.execute(text("SELECT count(*) FROM answer")).scalar() == 1
    # the constraints hold: a second business with the same tax code, an unknown role
    for statement in (
        "INSERT INTO business (name, tax_code, ward_code, vsic_version, vsic_section, employees, revenue_bn, "
        "capital_bn, size_class, created_at) VALUES ('x', '0100233488', '00070', '2018', 'C', 1, 1, 1, 'micro', "
        "CURRENT_TIMESTAMP)",
        "UPDATE \"user\" SET role = 'root' WHERE id = 1",
        "UPDATE assessment SET status = 'gone' WHERE id = 100",
    ):
        with pytest.raises(Exception, match="(?i)unique|check"), empty_engine.begin() as connection:
            connection.execute(text(statement))
    # new rounds get new ids after the migrated ones
    with empty_engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO assessment_round (business_id, name, instrument_id, instrument_version, status, "
            "created_at, respondents) VALUES (10, 'n', 'quick-check', '1.0', 'open', CURRENT_TIMESTAMP, 0)"))
        assert connection.execute(text("SELECT max(id) FROM assessment_round")).scalar() == 103
    migrate.downgrade_engine(empty_engine, "0001")
    with empty_engine.connect() as c:
        assert c.execute(text("SELECT id, owner_id FROM business ORDER BY id")).all() == [(10, 1), (11, 1)]
        assert c.execute(text("SELECT id, business_id FROM assessment ORDER BY id")).all() == [
            (100, 10), (101, 10), (102, 10)]
    migrate.upgrade_engine(empty_engine)  # and up again


def test_0009_widens_answers_for_format_v2_and_downgrades_only_what_fits(empty_engine):
    """A table row's answer (``<table>.<row>``, 129 characters at most) and a 40-tool checklist (over
    800 characters) fit after 0009; the downgrade refuses, changing nothing, while such an answer is
    stored, and keeps every answer that fits."""
    migrate.upgrade_engine(empty_engine, "0001")
    with empty_engine.begin() as connection:
        _seed_0001(connection)
    migrate.upgrade_engine(empty_engine)
    row_id = f"{'t' * 64}.{'r' * 64}"
    checklist = "|".join(f"tool_{i:02d}_{'x' * 56}" for i in range(40))  # 40 ids of 64: 2,599 characters
    assert len(row_id) == 129 and len(checklist) == 40 * 64 + 39
    insert = text("INSERT INTO answer (assessment_id, question_id, value, updated_at) VALUES (102, :q, :v, :t)")
    with empty_engine.begin() as connection:
        connection.execute(insert, [{"q": row_id, "v": "in_use", "t": T1}, {"q": "tools", "v": checklist, "t": T1}])
    with empty_engine.connect() as c:
        assert c.execute(text("SELECT value FROM answer WHERE question_id = 'tools'")).scalar() == checklist
    with pytest.raises(RuntimeError, match=r"cannot downgrade below 0009: 2 answer\(s\)"):
        migrate.downgrade_engine(empty_engine, "0008")
    with empty_engine.connect() as c:  # nothing was undone: the answers and the later tables are there
        assert c.execute(text("SELECT count(*) FROM answer")).scalar() == 3
        assert c.execute(text("SELECT count(*) FROM city_snapshot")).scalar() == 0
    with empty_engine.begin() as connection:
        connection.execute(text("DELETE FROM answer WHERE question_id <> 'q1'"))
    migrate.downgrade_engine(empty_engine, "0008")
    with empty_engine.connect() as c:
        assert c.execute(text("SELECT question_id, value FROM answer")).all() == [("q1", "a")]
    if empty_engine.dialect.name == "postgresql":  # the old limit is back (SQLite does not enforce lengths)
        with pytest.raises(Exception, match="(?i)too long"), empty_engine.begin() as connection:
            connection.execute(insert, {"q": "tools", "v": checklist, "t": T1})
    migrate.upgrade_engine(empty_engine)  # and up again
