"""Nobody learns who has an account from the time an answer takes: login, sign-up and a reset request
for a known and an unknown e-mail, 30 alternating trials each, medians within 20 ms."""

from __future__ import annotations

import statistics
import time

import pytest

from tests.conftest import Browser
from tests.factories import PASSWORD, make_owner

TRIALS = 30
WITHIN_MS = 20


@pytest.fixture
def roomy(settings, engine):
    """The app with limits far above the trials (the limits are tested elsewhere; here only the time
    of the answer counts)."""
    from web.app import create_app

    return create_app(settings.model_copy(update={
        "login_max_failures": 1000, "login_account_failures": 1000, "login_address_failures": 1000,
        "signup_per_address_hour": 1000}), engine=engine)


def _medians(client: Browser, path: str, form: dict[str, str], known: str, unknown: str) -> tuple[float, float]:
    times: dict[str, list[float]] = {known: [], unknown: []}
    client.submit(path, {**form, "email": unknown})  # warm up the route
    for _ in range(TRIALS):
        for email in (known, unknown):
            started = time.perf_counter()
            response = client.submit(path, {**form, "email": email})
            times[email].append((time.perf_counter() - started) * 1000)
            assert response.status_code < 500
    return statistics.median(times[known]), statistics.median(times[unknown])


@pytest.mark.parametrize(("path", "form"), [
    ("/login", {"password": "not-the-password"}),
    ("/signup", {"password": PASSWORD, "consent_service": "yes"}),
    ("/password/forgot", {}),
], ids=["login", "signup", "reset"])
def test_known_and_unknown_addresses_take_the_same_time(roomy, session, path, form):
    make_owner(session, "known@example.vn")
    with Browser(roomy, follow_redirects=False) as client:
        known, unknown = _medians(client, path, form, "known@example.vn", "unknown@example.vn")
    assert abs(known - unknown) <= WITHIN_MS, (known, unknown)
