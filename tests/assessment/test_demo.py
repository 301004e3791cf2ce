"""The demo data that `dxm demo` seeds: every page has something to show, and seeding is idempotent."""

from sqlmodel import select

from assessment import access, accounts, demo, results
from assessment.models import AssessmentRound, Cohort, User
from assessment.settings import get_settings


def test_seed_creates_accounts_businesses_rounds_peers_and_cohorts(session):
    assert demo.seed(session) is True
    roles = {u.role for u in session.exec(select(User))}
    assert roles == {"owner", "trainer", "department", "admin"}
    owner = accounts.authenticate(session=session, settings=get_settings(), email=demo.ACCOUNTS[0].email,
                                  password=demo.DEMO_PASSWORD, client="test")
    owned = access.businesses_of(session, owner)
    assert len(owned) == 2
    mine = session.exec(select(AssessmentRound).where(AssessmentRound.business_id.in_([b.id for b in owned]))).all()
    assert {r.status for r in mine} == {"open", "closed"}
    latest_mic = max((r for r in mine if r.instrument_id == "mic-dbi"), key=lambda r: r.id)
    peers = results.peers(session=session, round_=latest_mic, minimum=5)
    assert peers.count == demo.PEER_COUNT and peers.percentile is not None
    team = next(r for r in mine if r.respondents == 2)  # the owner and the invited IT lead
    assert team.status == "closed" and team.is_latest
    (quick_check,) = results.history(session=session, business=owned[0], instrument_id="quick-check")
    assert len(quick_check.points) == 3
    colleague = session.exec(select(User).where(User.email == demo.RESPONDENT.email)).one()
    assert [r.id for _, r, _ in access.own_copies(session, colleague)] == [team.id]
    assert len(session.exec(select(Cohort)).all()) == 2
    assert demo.seed(session) is False  # a second start changes nothing
    assert len(session.exec(select(User)).all()) == len(demo.ACCOUNTS) + demo.PEER_COUNT + 1


def test_the_demo_refuses_a_database_with_other_accounts_or_postgresql(session):
    from tests.factories import make_owner

    if session.get_bind().dialect.name == "postgresql":
        assert "PostgreSQL" in demo.refusal(session)
    else:
        assert demo.refusal(session) is None  # an empty SQLite database: seeded
    make_owner(session, "real.owner@example.vn")
    refused = demo.refusal(session)
    assert "PostgreSQL" in refused if session.get_bind().dialect.name == "postgresql" else "1 account(s)" in refused


def test_dxm_demo_stops_before_seeding_unless_told(database_url, engine, session, monkeypatch):
    from typer.testing import CliRunner

    from assessment.cli import app
    from tests.factories import make_owner

    make_owner(session, "real.owner@example.vn")
    monkeypatch.setenv("DXM_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "--port", "1"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "--yes-demo-data" in result.stderr
    assert session.exec(select(User).where(User.email == demo.ACCOUNTS[0].email)).first() is None


def test_the_demo_city_has_a_register_and_a_published_quarter(engine, session):
    from sqlalchemy import func

    from assessment import rounds
    from assessment.city import aggregates, synthetic
    from assessment.models import Business, CityPopulation, CitySnapshot, utcnow

    demo.seed(session)
    synthetic.build(engine, businesses=400, seed=7)
    demo.seed_city_extras(session)
    cells = session.exec(select(Business.ward_code, Business.vsic_section, Business.size_class, func.count())
                         .group_by(Business.ward_code, Business.vsic_section, Business.size_class)).all()
    register = {(p.ward_code, p.vsic_section, p.size_class): p.enterprises
                for p in session.exec(select(CityPopulation))}
    assert len(register) == len(cells)
    for ward, section, size, n in cells:  # 5-20 % of each cell's enterprises take part
        assert n / 0.2 <= register[(ward, section, size)] <= n / 0.05 + 1
    (snapshot,) = session.exec(select(CitySnapshot)).all()
    quarter = rounds.period_of(utcnow())[0]
    previous = quarter - 1 if quarter % 10 > 1 else (quarter // 10 - 1) * 10 + 4
    assert snapshot.period == aggregates.quarter_label(previous) and snapshot.businesses >= 5
