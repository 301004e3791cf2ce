"""FastAPI dependencies: the database session, the current user, CSRF, and the access policy.

Every object a route takes from its URL comes through one dependency here, which asks the one
access policy (``assessment.access``) for the action the route performs; the autosave asks the same
policy in its own single call (``assessment.answers.autosave``). A missing id and an id the person
may not use both answer 404, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Path, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from assessment import access, accounts, answers, audit, text_input
from assessment.access import Action
from assessment.models import MAX_ID, ApiToken, Assessment, AssessmentRound, Business, ExportJob, User
from assessment.settings import Settings
from web import i18n
from web.security import CSRF_FIELD, SESSION_COOKIE, csrf_ok

__all__ = ["SESSION_COOKIE"]
LANG_COOKIE = "dxm_lang"


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in the
# thread pool, and each hop there costs more than these functions do.

async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@asynccontextmanager
async def database_slot(request: Request) -> AsyncIterator[Engine]:
    """The engine, once one of its pool's connections is free (waiting in the event loop, see
    ``database_session``), for work that takes its connection from the engine itself."""
    async with request.app.state.db_slots:
        yield request.app.state.engine


@asynccontextmanager
async def database_session(request: Request) -> AsyncIterator[Session]:
    """A session, taken only when a connection is free.

    Sync dependencies and routes run in a thread pool, one hop each, and the session keeps its
    connection between hops. Were more requests inside than the pool has connections, threads could
    all wait for connections held by requests that wait for a thread: a deadlock until the pool
    times out. So a request first takes one of ``db_slots`` (as many as connections) here, waiting
    in the event loop, not in a thread. Opening the session does no I/O, nor does closing one whose
    work was committed; closing one with an open transaction rolls it back, in the thread pool.
    """
    async with database_slot(request) as engine:
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
        finally:
            if session.in_transaction():  # returning its connection rolls back: database I/O
                await run_in_threadpool(session.close)
            else:  # committed already: the connection is back in the pool, nothing to wait for
                session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One session per request (see ``database_session``)."""
    async with database_session(request) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_db)]


def load_user(request: Request, session: SessionDep, settings: SettingsDep) -> User | None:
    """Who is asking (every route but the autosave, which looks the user up in its own query)."""
    user = accounts.user_for_token(session=session, settings=settings, token=request.cookies.get(SESSION_COOKIE))
    use_user(request, user, settings)
    return user


@dataclass(frozen=True)
class Viewer:
    """Who is asking, as pages show it: a copy taken when the user was looked up, so a page still
    renders after its request's transaction was rolled back and its session closed (an error page
    after a refused change), when the ORM object's attributes can no longer be loaded."""

    id: int
    role: str
    language: str
    email: str = ""
    display_name: str = ""


def use_user(request: Request, user: User | answers.Login | None, settings: Settings) -> None:
    """Remember who is asking, and in which language (user's choice, else the cookie, else the default)."""
    request.state.user = None if user is None else Viewer(
        user.id, user.role, user.language, getattr(user, "email", ""), getattr(user, "display_name", ""))  # type: ignore[arg-type]
    cookie_lang = request.cookies.get(LANG_COOKIE)
    request.state.lang = i18n.pick(user.language if user else cookie_lang or settings.default_language)


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


async def current_user(user: Annotated[User | None, Depends(load_user)]) -> User:
    if user is None:
        raise LoginRequired
    return user


CurrentUser = Annotated[User, Depends(current_user)]
MaybeUser = Annotated[User | None, Depends(load_user)]
LoadUser = Depends(load_user)


def require_roles(*roles: str) -> Any:  # a dependency: what FastAPI's Depends returns
    async def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(status_code=404)
        return user

    return Depends(check)


async def check_csrf(request: Request) -> None:
    """Every state change must echo the CSRF token (form field or X-CSRF-Token header)."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = None
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        submitted = value if isinstance(value, str) else None
    if not csrf_ok(request, submitted):
        raise CsrfFailed


class BadText(Exception):
    """A form field or query parameter breaks ``assessment.text_input``'s rule (a NUL, a direction override)."""


async def check_text(request: Request) -> None:
    """Every query parameter and form field obeys the one text rule before any route runs (files are
    checked by their importers): a NUL would break PostgreSQL's lookups, an override mislead a reader."""
    values = list(request.query_params.values()) + list(request.path_params.values())
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/")):
        form = await request.form()
        values += [v for v in form.values() if isinstance(v, str)]
    if any(isinstance(v, str) and text_input.problem(v) == text_input.UNSTORABLE for v in values):
        raise BadText


async def form_data(request: Request) -> FormData:
    """The parsed form, read in the event loop so the route itself can be a plain ``def`` that runs
    its blocking database work in the thread pool."""
    return await request.form()


FormDep = Annotated[FormData, Depends(form_data)]


# An id from a URL: a number the database can hold (a larger one is refused with the 400 page before
# the database sees it; the autosave route answers 404 for one, as for any id that is not yours).
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


_T = TypeVar("_T")


def _found(found: _T | None) -> _T:
    if found is None:
        raise HTTPException(status_code=404)
    return found


def business_for(action: Action) -> Any:  # a dependency
    def dependency(business_id: RowId, user: CurrentUser, session: SessionDep) -> Business:
        return _found(access.business_for(session, user, business_id, action))

    return Depends(dependency)


def copy_for(action: Action) -> Any:  # a dependency
    def dependency(assessment_id: RowId, user: CurrentUser, session: SessionDep) -> tuple[Assessment, Business]:
        return _found(access.copy_for(session, user, assessment_id, action))

    return Depends(dependency)


def round_for(action: Action) -> Any:  # a dependency
    def dependency(round_id: RowId, user: CurrentUser, session: SessionDep) -> tuple[AssessmentRound, Business]:
        return _found(access.round_for(session, user, round_id, action))

    return Depends(dependency)


def export_job(job_id: RowId, user: CurrentUser, session: SessionDep) -> ExportJob:
    """A background export its requester or an admin asks for (``access.export_job_for``)."""
    return _found(access.export_job_for(session, user, job_id))


VisibleExportJob = Annotated[ExportJob, Depends(export_job)]
ViewBusiness = Annotated[Business, business_for(Action.VIEW_BUSINESS)]
ManageBusiness = Annotated[Business, business_for(Action.MANAGE_BUSINESS)]
OwnCopy = Annotated[tuple[Assessment, Business], copy_for(Action.TAKE_COPY)]
ViewCopy = Annotated[tuple[Assessment, Business], copy_for(Action.VIEW_COPY)]
ManageRound = Annotated[tuple[AssessmentRound, Business], round_for(Action.MANAGE_BUSINESS)]


def client_address(request: Request) -> str:
    """Where a request came from, as the audit log keeps it (behind a proxy, uvicorn's
    ``--proxy-headers`` puts the forwarded address here)."""
    return request.client.host if request.client else ""


def audit_access(request: Request, session: Session, user: User | ApiToken, action: str, object_type: str,
                 object_id: int | str) -> None:
    """Record a read of somebody else's data in the audit log, and commit it at once: a page that
    only reads commits nothing else, and the row must stay even if the page fails afterwards.
    A change is recorded by its service instead, in the change's own transaction
    (``assessment.audit.record``)."""
    audit.record(session=session, actor=user, action=action, object_type=object_type, object_id=object_id,
                 client=client_address(request))
    session.commit()
