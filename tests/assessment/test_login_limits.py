"""The login limits, hand-computed: per pair (account, address), per account with back-off (never a
hard lock), per address; counted after insert so concurrent guesses cannot pass a limit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import Session

from assessment import login_limits
from assessment.login_limits import Limited
from assessment.models import utcnow


def _fail(session, settings, email, client, now):
    attempt = login_limits.begin(session=session, settings=settings, email=email, client=client, now=now)
    login_limits.failed(session=session, settings=settings, attempt=attempt)


def test_five_failures_block_the_pair_for_the_window_and_nobody_else(session, settings):
    now = utcnow()
    for i in range(5):
        _fail(session, settings, "a@example.vn", "10.0.0.1", now + timedelta(seconds=i))
    with pytest.raises(Limited) as blocked:
        login_limits.begin(session=session, settings=settings, email="a@example.vn", client="10.0.0.1",
                           now=now + timedelta(seconds=5))
    assert blocked.value.retry_after == 15 * 60 - 1  # the block began at the fifth failure, 4 s in
    login_limits.begin(session=session, settings=settings, email="a@example.vn", client="10.0.0.2",
                       now=now + timedelta(seconds=5))  # the owner elsewhere
    login_limits.begin(session=session, settings=settings, email="b@example.vn", client="10.0.0.1",
                       now=now + timedelta(seconds=5))  # a colleague in the same room
    login_limits.begin(session=session, settings=settings, email="a@example.vn", client="10.0.0.1",
                       now=now + timedelta(minutes=15, seconds=4))  # the window has passed


def test_after_ten_failures_from_anywhere_each_attempt_waits_1_2_4_up_to_30_seconds(session, settings):
    now = utcnow()
    for i in range(10):  # ten addresses, one failure each: no pair is blocked
        _fail(session, settings, "a@example.vn", f"10.0.1.{i}", now)
    waits = []
    moment = now
    for n in range(8):
        with pytest.raises(Limited) as early:
            login_limits.begin(session=session, settings=settings, email="a@example.vn", client=f"10.0.2.{n}",
                               now=moment)
        waits.append(early.value.retry_after)
        moment += timedelta(seconds=early.value.retry_after)
        _fail(session, settings, "a@example.vn", f"10.0.2.{n}", moment)  # after the wait it is checked
    assert waits == [1, 2, 4, 8, 16, 30, 30, 30]


def test_a_hundred_failures_from_one_address_make_it_wait(session, settings):
    now = utcnow()
    for i in range(100):
        _fail(session, settings, f"p{i}@example.vn", "10.0.0.9", now)
    with pytest.raises(Limited):
        login_limits.begin(session=session, settings=settings, email="p200@example.vn", client="10.0.0.9", now=now)
    login_limits.begin(session=session, settings=settings, email="p200@example.vn", client="10.0.0.8", now=now)


def test_forty_concurrent_guesses_get_at_most_five_checks(engine, settings):
    def guess(_: int) -> bool:
        with Session(engine) as own:
            try:
                attempt = login_limits.begin(session=own, settings=settings, email="a@example.vn", client="10.0.0.1")
            except Limited:
                return False
            login_limits.failed(session=own, settings=settings, attempt=attempt)
            return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        checked = sum(pool.map(guess, range(40)))
    assert 1 <= checked <= settings.login_max_failures
