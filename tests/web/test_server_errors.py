"""An unexpected failure: a 500 page with the security headers, and log lines without personal data."""

from __future__ import annotations

import io
import logging

from assessment import accounts
from tests.factories import PASSWORD, make_owner


def test_a_server_error_has_the_headers_and_logs_no_personal_data(client, session, monkeypatch):
    owner = make_owner(session)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    loggers = [logging.getLogger(name) for name in ("dxm.request", "dxm.error")]
    for logger in loggers:
        logger.addHandler(handler)

    def broken(**kwargs):
        raise RuntimeError(f"cannot store {kwargs['email']} with {owner.password_hash} from {kwargs['client']}")

    monkeypatch.setattr(accounts, "authenticate", broken)
    try:
        response = client.submit("/login", {"email": "owner@example.vn", "password": PASSWORD})
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert response.status_code == 500 and "Something went wrong" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store" and response.headers["x-request-id"]
    log = stream.getvalue()
    assert '"status": 500' in log and '"error": "RuntimeError"' in log and "broken" in log
    for secret in ("owner@example.vn", "$argon2", "testclient", PASSWORD, "cannot store"):
        assert secret not in log
    assert response.headers["x-request-id"] in response.text
