"""Demo data so every page means something on first start: accounts, businesses, assessments.

Deterministic (a fixed random seed) and idempotent: running it on a seeded database does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from sqlmodel import Session, select

from assessment import accounts, assessments, businesses
from assessment.models import Assessment, User, utcnow
from assessment.taxcode import check_digit

DEMO_PASSWORD = "demo-password-2026"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    role: str
    name: str


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
PEER_COUNT = 8  # businesses like the owner's, so the peer comparison shows a number


def _random_answers(instrument, business, rng: np.random.Generator, skill: float) -> dict[str, str]:
    """Answers leaning towards ``skill`` (0-1) of each question's range."""
    answers = {}
    for q in assessments.applicable(instrument, business):
        if q.allow_na and rng.random() < 0.08:
            answers[q.id] = "na"
            continue
        order = sorted(q.options, key=lambda o: o.score)
        if q.type == "multi":
            good = [o.id for o in q.options if o.score > 0 and rng.random() < skill]
            answers[q.id] = "|".join(good) if good else order[0].id
        else:
            index = int(np.clip(rng.normal(skill * (len(order) - 1), 1.0), 0, len(order) - 1).round())
            answers[q.id] = order[index].id
    return answers


def _assess(session: Session, business, instrument_id: str, answers_skill: float, rng, days_ago: int,
            submit: bool = True) -> Assessment:
    assessment = assessments.start(session=session, business=business, instrument_id=instrument_id)
    instrument = assessments.instrument_of(assessment)
    answers = _random_answers(instrument, business, rng, answers_skill)
    if not submit:
        answers = dict(list(answers.items())[: len(answers) // 2])
    for question_id, value in answers.items():
        assessments.save_answer(session=session, assessment=assessment, business=business,
                                question_id=question_id, chosen=value.split("|"))
    if submit:
        assessments.submit(session=session, assessment=assessment, business=business)
        assessment.submitted_at = utcnow() - timedelta(days=days_ago)
        assessment.created_at = assessment.submitted_at
        session.add(assessment)
        session.commit()
    return assessment


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
        _assess(session, first, instrument_id, skill, rng, days_ago=200 - 80 * i)
    _assess(session, owned[1], "quick-check", 0.4, rng, days_ago=0, submit=False)
    # peers: other owners' businesses of the same sector and size class
    for i in range(PEER_COUNT):
        peer_owner = accounts.create_user(session=session, email=f"peer{i + 1}@demo.dxmaturity.vn",
                                          password=DEMO_PASSWORD, display_name=f"Chủ doanh nghiệp {i + 1}")
        business = businesses.create_business(session=session, owner=peer_owner, form={
            "name": f"Công ty Gốm sứ Demo {i + 1}", "tax_code": demo_tax_code(i),
            "ward_code": "00577", "vsic_section": "C", "employees": str(12 + i), "revenue_bn": "10",
            "capital_bn": "5"})
        for instrument_id in ("quick-check", "mic-dbi"):
            _assess(session, business, instrument_id, float(rng.uniform(0.15, 0.85)), rng, days_ago=30 + i)
    return True


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
