"""Fixtures of the department's pages: the small city of tests/web/test_city.py and a department
account logged in."""

from __future__ import annotations

import pytest

from assessment import accounts
from tests.factories import PASSWORD, login
from tests.web.test_city import build_city


@pytest.fixture
def city(session):
    build_city(session)
    return session


@pytest.fixture
def department(client, session):
    accounts.create_user(session=session, email="dept@example.vn", password=PASSWORD, role="department",
                         language="en")
    assert login(client, "dept@example.vn").status_code == 303
    return client
