"""Crash safety over real HTTP: ``dxm serve --workers 2`` is killed with SIGKILL (the whole process
group) in the middle of autosaves and submissions, restarted, and the database must hold exactly what
the server acknowledged. Runs on SQLite and on PostgreSQL (``DXM_TEST_DATABASE``).

What a crash may and may not do:

* an acknowledged (2xx) autosave is durable: per (assessment, question) the stored value is the last
  acknowledged one, or a value sent after it whose answer never arrived (the request was in flight
  at the kill, so it may or may not have been written);
* a submission is all or nothing: "submitted" always comes with its DimensionResult rows, a draft
  never has any;
* an assessment submitted before the traffic keeps its scores, and autosaves to it are refused.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx
import pytest
from sqlmodel import Session, select

from assessment import accounts
from assessment.models import Answer, Assessment, DimensionResult, User
from questionnaires import loader
from tests import factories, harness
from web.security import csrf_token

pytestmark = pytest.mark.resilience

OWNERS = 10
READY_TIMEOUT = 45.0  # s for a server to answer /healthz
CLIENT_TIMEOUT = 30.0  # long on purpose: a request given up by the client could still land later
SEED = int(os.environ.get("DXM_RESILIENCE_SEED", "2026"))


# ------------------------------------------------------------------------------------------ server

def start(server: harness.Server, warm: bool = True) -> None:
    """Start (or restart, on the same port) and, with ``warm``, warm up: a new worker loads the
    questionnaires on its first request, and requests arriving meanwhile pile up behind it. One home
    page first warms the worker that takes it (the others warm up under the traffic), so the traffic
    starts flowing within the test's time budget."""
    server.start()
    if warm:
        with httpx.Client(base_url=server.base, timeout=CLIENT_TIMEOUT) as client:
            assert client.get("/").status_code == 200


@pytest.fixture
def server_factory(database_url, tmp_path):
    """``dxm serve --workers N`` (``tests.harness``) on the test database, not started yet."""
    started: list[harness.Server] = []

    def make(workers: int) -> harness.Server:
        server = harness.dxm_serve(database_url, workers=workers, log_dir=tmp_path, upgrade=False, name="server",
                                   env={"DXM_DEFAULT_LANGUAGE": "en"}, ready_timeout=READY_TIMEOUT)
        started.append(server)
        return server

    yield make
    for server in started:  # whatever happened in the test
        if server.proc is not None:
            server.stop()


# ------------------------------------------------------------------------------------------ data

@dataclass
class OwnerCase:
    token: str
    draft_id: int  # receives the autosaves
    to_submit_id: int  # complete draft, submitted over HTTP during the traffic
    frozen_id: int  # submitted before the traffic
    frozen: tuple = ()  # its frozen_state() before the traffic


def frozen_state(session: Session, assessment_id: int) -> tuple:
    """Everything a submission froze: status, scores, level, time, DimensionResult rows and answers."""
    a = session.get(Assessment, assessment_id)
    rows = session.exec(select(DimensionResult).where(DimensionResult.assessment_id == assessment_id)
                        .order_by(DimensionResult.dimension_id)).all()
    answers = session.exec(select(Answer).where(Answer.assessment_id == assessment_id)
                           .order_by(Answer.question_id)).all()
    return (a.status, a.overall_score, a.overall_level, a.submitted_at,
            tuple((r.dimension_id, r.score, r.level) for r in rows), tuple((r.question_id, r.value) for r in answers))


def seed_owners(session: Session, n: int) -> list[OwnerCase]:
    """n owners (one password hash for all: argon2 is slow), each with a business, a submitted
    assessment, a complete draft and an empty draft, and a login session."""
    password_hash = accounts.HASHER.hash(factories.PASSWORD)
    tax_codes = harness.tax_codes()
    users = [User(email=f"crash{i}@example.vn", password_hash=password_hash, role="owner", language="en")
             for i in range(n)]
    session.add_all(users)
    session.commit()
    cases = []
    for user in users:
        session.refresh(user)
        business = factories.make_business(session, user, tax_code=next(tax_codes))
        frozen = factories.submitted(session, business, pick=random.Random(user.id).randrange(4))
        to_submit = factories.start(session, business, user)
        factories.answer_all(session, to_submit, business, pick=1)
        draft = factories.start(session, business, user)
        token = accounts.start_session(session=session, user=user, days=1)
        cases.append(OwnerCase(token, draft.id, to_submit.id, frozen.id, frozen_state(session, frozen.id)))
    return cases


def owner_client(base: str, case: OwnerCase) -> httpx.Client:
    """The owner's browser: logged in (its CSRF token is bound to that login: ``csrf``)."""
    return httpx.Client(base_url=base, timeout=CLIENT_TIMEOUT, cookies={"dxm_session": case.token})


def csrf(client: httpx.Client) -> str:
    """The token the owner's pages carry: derived from the login cookie, as the server derives it."""
    token = csrf_token(client.cookies)
    assert token is not None
    return token


def autosave(client: httpx.Client, assessment_id: int, question_id: str, chosen: list[str]) -> httpx.Response:
    return client.post(f"/assessments/{assessment_id}/answers/{question_id}", data={"answer": chosen},
                       headers={"HX-Request": "true", "X-CSRF-Token": csrf(client)})


# ------------------------------------------------------------------------------------------ traffic

@dataclass
class Traffic:
    """What every client sent and what came back, shared by the client threads."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    go: threading.Event = field(default_factory=threading.Event)  # cleared while the server is down
    stop: threading.Event = field(default_factory=threading.Event)
    phase: int = 0  # 0 before the kill, 1 after the restart
    # (assessment, question) -> [(value, outcome)] in sending order; outcome "ack" or "maybe"
    sent: dict[tuple[int, str], list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))
    acks: list[int] = field(default_factory=lambda: [0, 0])
    interrupted: int = 0  # requests that got no answer (in flight at the kill)
    unexpected: list[str] = field(default_factory=list)
    submitted: set[int] = field(default_factory=set)
    crashed: list[str] = field(default_factory=list)

    def record(self, key: tuple[int, str], value: str, outcome: str) -> None:
        with self.lock:
            self.sent[key].append((value, outcome))
            if outcome == "ack":
                self.acks[self.phase] += 1
            else:
                self.interrupted += 1


def drive(base: str, case: OwnerCase, index: int, traffic: Traffic, questions, submit_after: float) -> None:
    rng = random.Random(SEED * 1000 + index)
    started = time.monotonic()
    hard_deadline = started + 120
    try:
        with owner_client(base, case) as client:
            for _ in range(20_000):  # bounded in count and in time
                if traffic.stop.is_set() or time.monotonic() > hard_deadline:
                    break
                if not traffic.go.wait(timeout=1.0):
                    continue
                try:
                    csrf(client)  # the first page, once (the kill may interrupt it too)
                except httpx.HTTPError:
                    time.sleep(0.02)
                    continue
                if case.to_submit_id not in traffic.submitted and time.monotonic() - started > submit_after:
                    try:
                        response = client.post(f"/assessments/{case.to_submit_id}/submit",
                                               headers={"X-CSRF-Token": csrf(client)})
                    except httpx.HTTPError:
                        time.sleep(0.02)
                        continue  # tried again (a second submit is harmless)
                    if response.status_code == 303:
                        with traffic.lock:
                            traffic.submitted.add(case.to_submit_id)
                    else:
                        with traffic.lock:
                            traffic.unexpected.append(f"submit {case.to_submit_id}: {response.status_code}")
                    continue
                question = rng.choice(questions)
                options = [o.id for o in question.options] + (["na"] if question.allow_na else [])
                value = rng.choice(options)
                if rng.random() < 0.1:  # the frozen assessment must refuse every change
                    try:
                        response = autosave(client, case.frozen_id, question.id, [value])
                    except httpx.HTTPError:
                        continue
                    if response.status_code != 422:
                        with traffic.lock:
                            traffic.unexpected.append(f"autosave to submitted {case.frozen_id}: {response.status_code}")
                    continue
                key = (case.draft_id, question.id)
                try:
                    response = autosave(client, case.draft_id, question.id, [value])
                except httpx.ConnectError:  # never reached a server: nothing can have been written
                    time.sleep(0.02)
                    continue
                except httpx.HTTPError:  # sent, no answer: may or may not have been written
                    traffic.record(key, value, "maybe")
                    time.sleep(0.02)
                    continue
                if response.status_code // 100 == 2:
                    traffic.record(key, value, "ack")
                else:
                    traffic.record(key, value, "maybe")
                    with traffic.lock:
                        traffic.unexpected.append(f"autosave {key}={value}: {response.status_code}")
    except Exception as exc:  # reported by the test, not lost in a thread
        with traffic.lock:
            traffic.crashed.append(f"client {index}: {type(exc).__name__}: {exc}")


def wait_for(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    for _ in range(int(seconds / 0.05) + 1):
        if time.monotonic() > deadline or predicate():
            break
        time.sleep(0.05)
    return predicate()


# ------------------------------------------------------------------------------------------ tests

def test_sigkill_mid_traffic_loses_no_acknowledged_write(engine, server_factory):
    with Session(engine, expire_on_commit=False) as session:
        cases = seed_owners(session, OWNERS)
    instrument = loader.latest("quick-check")
    questions = list(instrument.questions)
    n_dimensions = len(instrument.dimensions)
    server = server_factory(workers=2)
    start(server)
    traffic = Traffic()
    traffic.go.set()
    rng = random.Random(SEED)
    threads = [threading.Thread(target=drive, args=(server.base, case, i, traffic, questions, rng.uniform(0.5, 5.0)),
                                daemon=True) for i, case in enumerate(cases)]
    try:
        for thread in threads:
            thread.start()
        assert wait_for(lambda: traffic.acks[0] >= 20, 30), f"no traffic got through: {traffic.crashed}"
        time.sleep(3.0)
        server.kill()  # mid-traffic: every client has a request in flight or about to be sent
        traffic.go.clear()
        time.sleep(0.3)  # the requests in flight at the kill fail now
        with traffic.lock:
            traffic.phase = 1
        start(server)
        traffic.go.set()
        assert wait_for(lambda: traffic.acks[1] >= 20, 30), "no traffic after the restart"
        time.sleep(2.0)
        assert wait_for(lambda: len(traffic.submitted) == len(cases), 20), (
            f"submitted {len(traffic.submitted)} of {len(cases)}; {traffic.unexpected[:5]} {traffic.crashed}")
    finally:
        traffic.stop.set()
        traffic.go.set()
        for thread in threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)
        server.stop()
    print(f"acknowledged before the kill {traffic.acks[0]}, after the restart {traffic.acks[1]}; "
          f"unanswered (in flight at the kill) {traffic.interrupted}; pairs {len(traffic.sent)}")
    assert not any(t.is_alive() for t in threads)
    assert not traffic.crashed, traffic.crashed
    assert not traffic.unexpected, traffic.unexpected[:10]
    assert traffic.acks[0] >= 20 and traffic.acks[1] >= 20, traffic.acks

    with Session(engine) as session:
        stored = {(a.assessment_id, a.question_id): a.value for a in session.exec(select(Answer))}
        # every acknowledged write is there: the last acknowledged value, or a later one in flight at the kill
        wrong = []
        for key, events in traffic.sent.items():
            last_ack = max((i for i, (_, outcome) in enumerate(events) if outcome == "ack"), default=None)
            allowed = {events[last_ack][0]} if last_ack is not None else {None}
            allowed |= {value for value, outcome in events[(last_ack or 0):] if outcome == "maybe"}
            if stored.get(key) not in allowed:
                wrong.append((key, stored.get(key), allowed, events[-5:]))
        assert not wrong, wrong[:5]
        drafted = {case.draft_id for case in cases}
        assert {k for k in stored if k[0] in drafted} <= set(traffic.sent)  # nothing that was never sent

        # a submission is all or nothing
        results: dict[int, int] = defaultdict(int)
        for row in session.exec(select(DimensionResult)):
            results[row.assessment_id] += 1
        for a in session.exec(select(Assessment)):
            if a.status == "submitted":
                assert results[a.id] == n_dimensions and a.overall_score is not None, (a.id, results[a.id])
            else:
                assert a.status == "draft" and results[a.id] == 0 and a.overall_score is None, (a.id, a.status)
        for case in cases:
            assert session.get(Assessment, case.to_submit_id).status == "submitted"
            assert session.get(Assessment, case.draft_id).status == "draft"
            # the assessments submitted before the traffic keep their scores (and answers)
            assert frozen_state(session, case.frozen_id) == case.frozen


def test_repeating_an_autosave_changes_nothing(engine, server_factory):
    with Session(engine, expire_on_commit=False) as session:
        (case,) = seed_owners(session, 1)
    server = server_factory(workers=1)
    start(server, warm=False)  # one request at a time: no cold-start pile-up to avoid

    def snapshot() -> tuple:
        with Session(engine) as session:
            rows = session.exec(select(Answer).where(Answer.assessment_id == case.draft_id)
                                .order_by(Answer.question_id)).all()
            draft = session.get(Assessment, case.draft_id)
            results = session.exec(select(DimensionResult).where(DimensionResult.assessment_id == case.draft_id))
            return tuple((r.question_id, r.value) for r in rows), draft.status, len(results.all())

    try:
        with owner_client(server.base, case) as client:
            for question_id, sends, expected in (
                ("cus01", [["shop"]] * 3, "shop"),
                ("sec02", [["antivirus", "mfa"], ["mfa", "antivirus"], ["antivirus", "mfa"]], "mfa|antivirus"),
            ):
                bodies, states = [], []
                for chosen in sends:
                    response = autosave(client, case.draft_id, question_id, chosen)
                    assert response.status_code == 200, response.text
                    bodies.append(response.text)
                    states.append(snapshot())
                assert len(set(bodies)) == 1 and "Saved" in bodies[0]
                assert states[0] == states[1] == states[2]
                answers, status, n_results = states[-1]
                assert dict(answers)[question_id] == expected and status == "draft" and n_results == 0
            assert [q for q, _ in snapshot()[0]] == ["cus01", "sec02"]  # exactly one row each
            assert "Answered: 2 / 11" in bodies[0]
    finally:
        server.stop()
    with Session(engine) as session:
        assert session.exec(select(Answer).where(Answer.assessment_id == case.draft_id,
                                                 Answer.question_id == "cus01")).one().value == "shop"

