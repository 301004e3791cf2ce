"""Health check and request logs."""

import json
import logging

from tests.factories import PASSWORD, make_owner


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
