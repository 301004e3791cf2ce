"""Health check and request logs."""

import json
import logging

from sqlmodel import select

from tests.factories import PASSWORD, make_owner, owner_of, start


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(settings):
    from assessment.db import make_engine
    from tests.conftest import Browser
    from web.app import create_app

    broken = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    with Browser(create_app(settings, engine=broken)) as browser:
        response = browser.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_request_logs_have_an_id_and_no_personal_data(client, session, caplog):
    make_owner(session, "private.person@example.vn")
    logger = logging.getLogger("dxm.request")
    logger.addHandler(caplog.handler)
    try:
        response = client.submit("/login?next=/x", {"email": "private.person@example.vn", "password": PASSWORD})
        echoed = client.get("/", headers={"X-Request-ID": "support-ticket-42"})
    finally:
        logger.removeHandler(caplog.handler)
    assert len(response.headers["x-request-id"]) == 16
    assert echoed.headers["x-request-id"] == "support-ticket-42"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "dxm.request"]
    login_line = next(line for line in lines if line["path"] == "/login" and line["method"] == "POST")
    assert login_line["status"] == 303 and login_line["request_id"] == response.headers["x-request-id"]
    text = caplog.text
    assert "private.person" not in text and PASSWORD not in text and "next=" not in text


def test_more_requests_than_connections_wait_for_a_connection(settings, database_url, session):
    """Twelve autosaves at once on 2 connections and 2 threads: each request waits for a connection
    before it takes a thread, so none of them holds a thread waiting for a connection held by a
    request that waits for a thread (that deadlock ends in pool timeouts: 500s)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    import anyio.to_thread
    import httpx

    from assessment import accounts, layout, rounds
    from assessment.db import make_engine
    from assessment.models import Answer
    from tests.factories import make_business
    from web.app import create_app
    from web.security import csrf_token

    owner = make_owner(session)
    business = make_business(session, owner)
    assessment = start(session, business, owner_of(session, business), instrument_id="mic-dbi")
    questions = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[:12]
    token = accounts.start_session(session=session, user=owner, days=1)
    small = make_engine(database_url, pool_size=2, pool_timeout=3)
    app = create_app(settings, engine=small)
    csrf = csrf_token({"dxm_session": token})

    async def twelve_at_once() -> list[int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 2
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     cookies={"dxm_session": token, "dxm_csrf": csrf}) as client:
            responses = await asyncio.gather(*(
                client.post(f"/assessments/{assessment.id}/answers/{q.id}", data={"answer": q.options[0].id},
                            headers={"X-CSRF-Token": csrf, "HX-Request": "true"})
                for q in questions))
        return [r.status_code for r in responses]

    # A fresh thread has no event loop: the browser tests' sync Playwright leaves one running here.
    try:
        with ThreadPoolExecutor(max_workers=1) as runner:
            assert runner.submit(asyncio.run, twelve_at_once()).result() == [200] * 12
    finally:
        small.dispose()
    assert len(session.exec(select(Answer)).all()) == 12
