"""The synthetic city (assessment/city/synthetic.py, ``dxm demo city``): stored as the app stores
rounds (answers that the engine scores to the stored scores, combined results, one latest round per
business and period), deterministic for a seed, courses whose members improve more than comparable
businesses, and removed again without touching real rows."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func
from sqlmodel import Session, select
from typer.testing import CliRunner

from assessment.city import aggregates, synthetic
from assessment.cli import app, city_commands
from assessment.models import Answer, Assessment, AssessmentRound, Business, CityUnit, DimensionResult, User
from assessment.scores import model_for, score_answers, stored_matrix
from assessment.settings import Settings
from questionnaires import loader
from scoring import combine_respondents
from tests.factories import make_business, make_owner, submitted

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def _fingerprint(session) -> tuple:
    rows = session.exec(select(AssessmentRound.vsic_section, AssessmentRound.size_class, AssessmentRound.ward_code,
                               AssessmentRound.overall_score, AssessmentRound.closed_quarter)).all()
    return tuple(sorted((s, z, w, round(o or -1, 6), q) for s, z, w, o, q in rows))


@pytest.fixture
def built(engine):
    return synthetic.build(engine, businesses=400, seed=11, now=NOW)


def test_every_stored_score_is_the_engine_s(engine, built):
    with Session(engine) as session:
        assert built.businesses == 400 and built.copies >= built.rounds > 400 and built.answers > 10 * built.copies
        copies = session.exec(select(Assessment)).all()
        answers: dict[int, dict[str, str]] = {}
        for a in session.exec(select(Answer)):
            answers.setdefault(a.assessment_id, {})[a.question_id] = a.value
        dims: dict[int, dict[str, float | None]] = {}
        for d in session.exec(select(DimensionResult)):
            dims.setdefault(d.assessment_id, {})[d.dimension_id] = d.score
        for copy in copies:
            instrument = loader.get(copy.instrument_id, copy.instrument_version)
            result = score_answers(instrument, copy.vsic_section, copy.size_class, answers[copy.id])
            assert copy.overall_score == pytest.approx(float(result.overall[0]))
            assert [dims[copy.id][d.id] for d in instrument.dimensions] == pytest.approx(
                [None if np.isnan(v) else float(v) for v in result.dimension_scores[0]], nan_ok=True)
        by_round: dict[int, list[dict[str, float | None]]] = {}
        for copy in copies:
            by_round.setdefault(copy.round_id, []).append(dims[copy.id])
        for round_ in session.exec(select(AssessmentRound)):
            instrument = loader.get(round_.instrument_id, round_.instrument_version)
            combined = combine_respondents(stored_matrix(instrument, by_round[round_.id]),
                                           model_for(instrument.id, instrument.version))
            assert round_.overall_score == pytest.approx(float(combined.overall[0]))
            assert round_.respondents == len(by_round[round_.id])
        several = Counter(c.round_id for c in copies)
        assert 0.05 < sum(n > 1 for n in several.values()) / len(several) < 0.2  # one round in ten, about


def test_one_unit_per_business_and_period(engine, built):
    with Session(engine) as session:
        latest = session.exec(select(AssessmentRound.business_id, func.count()).where(
            AssessmentRound.is_latest).group_by(AssessmentRound.business_id,
                                                AssessmentRound.instrument_id)).all()
        assert {n for _, n in latest} == {1} and len(latest) == 400
        quarters = session.exec(select(func.count()).select_from(CityUnit).where(CityUnit.period >= 10000)).one()
        flagged = session.exec(select(func.count()).select_from(AssessmentRound).where(
            AssessmentRound.latest_in_quarter)).one()
        assert quarters == flagged
        sections = Counter(b.vsic_section for b in session.exec(select(Business)))
        assert sections.most_common(1)[0][0] == "G"  # trade first, as in a city
        sizes = Counter(b.size_class for b in session.exec(select(Business)))
        assert sizes["micro"] > sizes["small"] > sizes["medium"]


def test_course_members_improve_more_than_comparable_businesses(engine):
    synthetic.build(engine, businesses=3000, seed=5, now=NOW)
    with Session(engine) as session:
        rows = aggregates.support_comparison(session, "quick-check", loader.latest("quick-check").version, 2,
                                             now=NOW)
        courses = [r for r in rows if r.kind == "course" and not r.members.suppressed
                   and not r.comparison.suppressed]
        assert courses
        gains = np.array([r.members.mean_change - r.comparison.mean_change for r in courses])
        assert gains.mean() > 3  # the course adds 10 % of the range of skill


def test_the_same_seed_gives_the_same_city_and_remove_leaves_real_rows(engine, session):
    real = make_business(session, make_owner(session))
    submitted(session, real, pick=1)
    synthetic.build(engine, businesses=150, seed=3, now=NOW)
    with Session(engine) as s:
        first = _fingerprint(s)
    assert synthetic.remove(engine) == 150
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Business)).one() == 1
        assert s.exec(select(func.count()).select_from(User).where(
            User.email.like(f"%{synthetic.SYNTHETIC_DOMAIN}"))).one() == 0
        assert len(_fingerprint(s)) == 1  # the real business's round, alone
    synthetic.build(engine, businesses=150, seed=3, now=NOW)
    with Session(engine) as s:
        assert _fingerprint(s) == first


def test_the_command(engine, database_url, monkeypatch):
    monkeypatch.setattr(city_commands, "get_settings", lambda: Settings(database_url=database_url))
    result = CliRunner().invoke(app, ["demo", "city", "--businesses", "40", "--seed", "9"])
    assert result.exit_code == 0, result.output
    assert "added 40 businesses" in result.output
    result = CliRunner().invoke(app, ["demo", "city", "--remove"])
    assert result.exit_code == 0 and "removed 40 synthetic businesses" in result.output


def test_a_reference_to_no_row_fails_the_check_that_replaces_the_row_by_row_one(engine):
    # PostgreSQL builds with the per-row foreign-key triggers off (as a superuser) and checks every
    # reference at the end instead; the check must catch what the triggers would have
    from assessment.models import BusinessMember

    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            assert synthetic._defer_reference_checks(connection)
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # before the transaction starts
        connection.execute(BusinessMember.__table__.insert().values(
            business_id=999_999, user_id=999_998, role="owner", created_at=NOW))
        with pytest.raises(ValueError, match="1 rows of business_member point at no row of "):
            synthetic._check_references(connection, [BusinessMember])
        connection.rollback()
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    with engine.connect() as connection:  # an empty database: nothing points nowhere
        synthetic._check_references(connection, synthetic.WRITTEN)
