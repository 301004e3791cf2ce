"""The demo data that `dxm demo` seeds: every page has something to show, and seeding is idempotent."""

from sqlmodel import select

from assessment import accounts, demo, results
from assessment.models import Assessment, Business, User


def test_seed_creates_accounts_businesses_assessments_and_peers(session):
    assert demo.seed(session) is True
    roles = {u.role for u in session.exec(select(User))}
    assert roles == {"owner", "trainer", "department", "admin"}
    owner = accounts.authenticate(session=session, email=demo.ACCOUNTS[0].email, password=demo.DEMO_PASSWORD,
                                  client="test", max_failures=5, window_minutes=15)
    owned = session.exec(select(Business).where(Business.owner_id == owner.id)).all()
    assert len(owned) == 2
    mine = session.exec(select(Assessment).where(Assessment.business_id.in_([b.id for b in owned]))).all()
    assert {a.status for a in mine} == {"draft", "submitted"}
    latest_mic = max((a for a in mine if a.instrument_id == "mic-dbi"), key=lambda a: a.id)
    n, percentile = results.peer_percentile(session=session, assessment=latest_mic, minimum=5)
    assert n == demo.PEER_COUNT and percentile is not None
    assert len(results.history(session=session, business=owned[0], instrument_id="quick-check")) == 2
    assert demo.seed(session) is False  # a second start changes nothing
    assert len(session.exec(select(User)).all()) == len(demo.ACCOUNTS) + demo.PEER_COUNT
