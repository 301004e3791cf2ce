"""Demo data so every page means something on first start: accounts, businesses, assessments.

Deterministic (a fixed random seed) and idempotent: running it on a seeded database does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlalchemy import func
from sqlmodel import Session, col, select

from assessment import accounts, answers, businesses, city_snapshots, consent, layout, rounds
from assessment.city import coverage
from assessment.city.aggregates import Filters, quarter_label
from assessment.messages import FormErrors
from assessment.models import Assessment, AssessmentRound, Business, Cohort, CohortMember, CohortTrainer, User, utcnow
from assessment.sizing import SIZES
from assessment.taxcode import check_digit
from questionnaires import loader
from questionnaires.schema import Instrument

DEMO_PASSWORD = "demo-password-2026"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    name: str


DEMO_DOMAIN = "demo.dxmaturity.vn"  # every demo account's address ends so

ACCOUNTS = (
    DemoAccount("owner@demo.dxmaturity.vn", "owner", "Nguyễn Thị Lan"),
    DemoAccount("trainer@demo.dxmaturity.vn", "trainer", "Trần Văn Minh"),
    DemoAccount("department@demo.dxmaturity.vn", "department", "Phòng Doanh nghiệp"),
    DemoAccount("admin@demo.dxmaturity.vn", "admin", "Quản trị viên"),
)
# (name, tax code, ward, VSIC section, employees, revenue bn, capital bn)
OWNER_BUSINESSES = (
    ("Công ty TNHH Gốm Bát Tràng Xanh", "0100233488", "00577", "C", 18, 12.0, 6.0),
    ("Cửa hàng Trà Đồng Xuân", "001085012345", "00070", "G", 4, 2.5, 1.0),
)
RESPONDENT = DemoAccount("it@demo.dxmaturity.vn", "owner", "Phạm Quốc Huy")  # the owner's IT lead
PEER_COUNT = 8  # businesses like the owner's, so the peer comparison shows a number


def _random_answers(instrument: Instrument, business: Business, rng: np.random.Generator,
                    skill: float) -> dict[str, str]:
    """Answers leaning towards ``skill`` (0-1) of each asked column's range (a table row on its own)."""
    answers = {}
    for column in layout.asked_columns(instrument, business.vsic_section, business.size_class):
        q = column.question
        if q.allow_na and rng.random() < 0.08:
            answers[column.id] = "na"
            continue
        order = sorted(q.options, key=lambda o: o.score)
        if q.type == "multi":
            good = [o.id for o in q.options if o.score > 0 and not o.exclusive and rng.random() < skill]
            answers[column.id] = "|".join(good) if good else order[0].id
        else:
            index = int(np.clip(rng.normal(skill * (len(order) - 1), 1.0), 0, len(order) - 1).round())
            answers[column.id] = order[index].id
    return answers


def _answer(session: Session, copy: Assessment, business: Business, skill: float, rng: np.random.Generator,
            complete: bool = True) -> None:
    answers_ = _random_answers(rounds.instrument_of(copy), business, rng, skill)
    if not complete:
        answers_ = dict(list(answers_.items())[: len(answers_) // 2])
    for question_id, value in answers_.items():
        answers.save(session=session, draft=copy, business=business, question_id=question_id,
                     chosen=value.split("|"))


def _assess(session: Session, business: Business, owner: User, instrument_id: str, skill: float,
            rng: np.random.Generator, days_ago: int, submit: bool = True) -> Assessment:
    """A round answered by ``owner`` alone, submitted (and so closed) ``days_ago`` days ago, or a half-done draft."""
    when = utcnow() - timedelta(days=days_ago)
    copy = rounds.open_round(session=session, business=business, user=owner, instrument_id=instrument_id, now=when)
    _answer(session, copy, business, skill, rng, complete=submit)
    if submit:
        rounds.submit(session=session, copy=copy, business=business, now=when)
    return copy


def refusal(session: Session) -> str | None:
    """Why the demo must not seed this database unless told explicitly, or None: its accounts all share
    one published password, so not into PostgreSQL (the production database) nor beside accounts that
    are not the demo's. A database the demo seeded already is not seeded again, so nothing is refused
    (the accounts people created while trying the demo do not stop its next start)."""
    if session.exec(select(User.id).where(User.email == ACCOUNTS[0].email)).first() is not None:
        return None
    if session.get_bind().dialect.name == "postgresql":
        return "this is a PostgreSQL database (production, as far as the demo can tell)"
    others = session.exec(select(func.count()).select_from(User).where(
        ~col(User.email).endswith("@" + DEMO_DOMAIN))).one()
    if others:
        return f"it holds {others} account(s) that are not the demo's"
    return None


def seed(session: Session) -> bool:
    """Create the demo data; False when it is already there."""
    if session.exec(select(User).where(User.email == ACCOUNTS[0].email)).first():
        return False
    rng = np.random.default_rng(2026)
    users = {a.role: accounts.create_user(session=session, email=a.email, password=DEMO_PASSWORD, role=a.role,
                                          display_name=a.name) for a in ACCOUNTS}
    owner = users["owner"]
    fields = ("name", "tax_code", "ward_code", "vsic_section", "employees", "revenue_bn", "capital_bn")
    owned = [
        businesses.create_business(session=session, owner=owner,
                                   form={k: str(v) for k, v in zip(fields, row, strict=True)})
        for row in OWNER_BUSINESSES
    ]
    first = owned[0]
    for i, (instrument_id, skill) in enumerate([("quick-check", 0.3), ("quick-check", 0.5), ("mic-dbi", 0.45)]):
        _assess(session, first, owner, instrument_id, skill, rng, days_ago=200 - 80 * i)
    _assess(session, owned[1], owner, "quick-check", 0.4, rng, days_ago=0, submit=False)
    _team_round(session, first, owner, rng)
    # peers: other owners' businesses of the same sector and size class
    peers = []
    for i in range(PEER_COUNT):
        peer_owner = accounts.create_user(session=session, email=f"peer{i + 1}@demo.dxmaturity.vn",
                                          password=DEMO_PASSWORD, display_name=f"Chủ doanh nghiệp {i + 1}")
        business = businesses.create_business(session=session, owner=peer_owner, form={
            "name": f"Công ty Gốm sứ Demo {i + 1}", "tax_code": demo_tax_code(i),
            "ward_code": "00577", "vsic_section": "C", "employees": str(12 + i), "revenue_bn": "10",
            "capital_bn": "5"})
        skill = float(rng.uniform(0.15, 0.85))
        for instrument_id in ("quick-check", "mic-dbi"):
            _assess(session, business, peer_owner, instrument_id, skill, rng, days_ago=30 + i)
        if i < PEER_COUNT - 1:  # before the finished course (its T0): lower, most of them
            _assess(session, business, peer_owner, "quick-check", max(skill - 0.2, 0.05), rng, days_ago=150 + 3 * i)
        peers.append(business)
    _cohorts(session, users["trainer"], [first, *peers])
    for person in session.exec(select(User).where(User.role == "owner")).all():  # as if ticked at sign-up
        for purpose in ("service", "statistics", "reminders"):
            consent.give(session=session, user=person, purpose=purpose, language="vi")
    session.commit()
    return True


def _team_round(session: Session, business: Business, owner: User, rng: np.random.Generator) -> None:
    """A closed round answered by the owner and an invited colleague (the IT lead)."""
    colleague = accounts.create_user(session=session, email=RESPONDENT.email, password=DEMO_PASSWORD,
                                     display_name=RESPONDENT.name)
    when = utcnow() - timedelta(days=10)
    copy = rounds.open_round(session=session, business=business, user=owner, instrument_id="quick-check",
                             name="2026 — team", now=when)
    round_ = session.get(AssessmentRound, copy.round_id)
    assert round_ is not None  # opened just above
    theirs = rounds.accept(session=session, token=rounds.invite(session=session, round_=round_, by=owner,
                                                                  label="IT lead"), user=colleague)
    for person_copy, skill in ((copy, 0.45), (theirs, 0.7)):
        _answer(session, person_copy, business, skill, rng)
        rounds.submit(session=session, copy=person_copy, business=business, now=when)
    rounds.close(session=session, round_=round_, business=business, now=when)


def _cohorts(session: Session, trainer: User, members: list[Business]) -> None:
    """Two courses run by the demo trainer: one finished, one under way."""
    today = utcnow().date()
    for name, code, start, end, businesses_ in (
        ("Chuyển đổi số cho doanh nghiệp sản xuất — khoá 1", "GOM2026", today - timedelta(days=120),
         today - timedelta(days=60), members),
        ("Bán hàng trực tuyến — khoá 2", "BAN2026", today - timedelta(days=7), today + timedelta(days=30),
         members[:4]),
    ):
        cohort = Cohort(name=name, instrument_id="quick-check", instrument_version=loader.latest("quick-check").version,
                        starts_on=start, ends_on=end, join_code=code, created_by=trainer.id)
        session.add(cohort)
        session.flush()
        session.add(CohortTrainer(cohort_id=cohort.id, user_id=trainer.id))  # type: ignore[arg-type]
        session.add_all([CohortMember(cohort_id=cohort.id, business_id=b.id) for b in businesses_])  # type: ignore[arg-type]
    session.commit()


def demo_tax_code(i: int) -> str:
    """A valid 10-digit tax code for the i-th demo peer (check digit computed, never all zeros)."""
    n = 1000000 + i * 7919
    while True:
        first_nine = f"01{n:07d}"
        digit = check_digit(first_nine)
        if digit is not None:
            return first_nine + str(digit)
        n += 1


__all__ = ["ACCOUNTS", "DEMO_PASSWORD", "seed"]


PARTICIPATION = (0.05, 0.2)  # the demo register: each cell's businesses are 5-20 % of its enterprises


def seed_city_extras(session: Session) -> None:
    """What the department's view shows beyond the figures, for the demo city: a register of
    enterprises (each ward, section and size class with businesses registered here, at a participation
    of 5-20 %) and the last ended quarter of the first questionnaire published. Deterministic."""
    department = session.exec(select(User).where(User.email == ACCOUNTS[2].email)).one()
    cells = session.exec(select(Business.ward_code, Business.vsic_section, Business.size_class, func.count())
                         .where(col(Business.size_class).in_(SIZES), col(Business.ward_code).is_not(None),
                                col(Business.vsic_section).is_not(None))
                         .group_by(Business.ward_code, Business.vsic_section, Business.size_class)
                         .order_by(Business.ward_code, Business.vsic_section, Business.size_class)).all()
    rng = np.random.default_rng(2026)
    shares = rng.uniform(*PARTICIPATION, size=len(cells))
    rows = [(w, s, z, int(np.ceil(n / share))) for (w, s, z, n), share in zip(cells, shares, strict=True)]
    if rows:
        coverage.replace(session=session, user=department, rows=rows, client="demo")
    instrument = loader.catalogue()[0]
    quarter = rounds.period_of(utcnow())[0]
    previous = quarter - 1 if quarter % 10 > 1 else (quarter // 10 - 1) * 10 + 4
    filters = Filters(instrument.id, instrument.version, quarter_label(previous))
    try:
        city_snapshots.publish(session=session, user=department, filters=filters, level=None, k=5, client="demo")
    except FormErrors:
        session.rollback()  # too few businesses in it (a demo without a city): nothing to publish
