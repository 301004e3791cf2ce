"""Shared fixtures: one database per run (SQLite, or the PostgreSQL server the test command started:
``DXM_TEST_DATABASE``), migrated with Alembic, emptied before every test that uses it."""

from __future__ import annotations

import os
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, SQLModel

from assessment import migrate
from assessment.db import make_engine
from assessment.settings import Settings
from tests.mailbox import smtp_server  # noqa: F401  (a fixture for every test)
from web.security import csrf_token

TEST_DATABASE = os.environ.get("DXM_TEST_DATABASE", "sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return TEST_DATABASE


@pytest.fixture(scope="session")
def migrated_engine(database_url):
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:  # a clean schema for this run
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade_engine(engine)
    yield engine
    engine.dispose()


def _empty_tables(engine) -> None:
    tables = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # a connection a test left open in a transaction would block this forever: fail instead
            connection.execute(text("SET LOCAL lock_timeout = '60s'"))
            connection.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture
def engine(migrated_engine):
    """The migrated engine with every table emptied."""
    _empty_tables(migrated_engine)
    return migrated_engine


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, default_language="en")


@pytest.fixture
def app(settings, engine):
    from web.app import create_app

    return create_app(settings, engine=engine)


class Browser(TestClient):
    """A TestClient that knows the CSRF token and fills it into every form it posts."""

    def csrf(self) -> str:
        """The token this browser's forms carry (bound to its login, if it has one)."""
        if csrf_token(self.cookies) is None:
            self.get("/login")
        token = csrf_token(self.cookies)
        assert token is not None
        return token

    def submit(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf())
        return self.post(url, data=data, **kwargs)

    def hx(self, url: str, data: dict | list | None = None, **kwargs):
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf(), **kwargs.pop("headers", {})}
        if isinstance(data, list):  # repeated fields, as a browser sends checkboxes
            pairs: dict[str, list[str]] = {}
            for key, value in data:
                pairs.setdefault(key, []).append(value)
            data = pairs
        return self.post(url, data=data or {}, headers=headers, **kwargs)


@pytest.fixture
def client(app):
    with Browser(app, follow_redirects=False) as c:
        yield c


@pytest.fixture
def new_client(app):
    """Another browser (another person) on the same app."""
    def make() -> Browser:
        return Browser(app, follow_redirects=False)

    return make


def ids_in(html: str, pattern: str) -> list[str]:
    return re.findall(pattern, html)


# -- the department's pages: tests/web/test_city.py's small city and a department account logged in --
@pytest.fixture
def city(session):
    from tests.web.test_city import build_city

    build_city(session)
    return session


@pytest.fixture
def department(client, session):
    from assessment import accounts
    from tests.factories import PASSWORD, login

    accounts.create_user(session=session, email="dept@example.vn", password=PASSWORD, role="department",
                         language="en")
    assert login(client, "dept@example.vn").status_code == 303
    return client
