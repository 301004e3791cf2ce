"""The web application factory: ``uvicorn --factory web.app:create_app``."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from assessment.db import make_engine
from assessment.messages import FormErrors
from assessment.settings import Settings, get_settings
from questionnaires import loader
from web.deps import BadText, CsrfFailed, LoginRequired, check_csrf, check_text, load_user, use_user
from web.observability import RequestLogMiddleware
from web.routes import (
    account,
    admin,
    api,
    api_tokens,
    assessments,
    businesses,
    city,
    cohorts,
    outbox,
    pages,
    privacy,
    results,
    rounds,
)
from web.security import SecurityMiddleware
from web.server_errors import ServerErrorPage
from web.templating import is_htmx, render

STATIC = Path(__file__).parent / "static"


def _log_requests_to_stderr() -> None:
    """One JSON line per request (and one per server error) on stderr, whatever the server's own
    logging setup is."""
    for name in ("dxm.request", "dxm.error"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    _log_requests_to_stderr()
    loader.bundled()  # parse the questionnaires now, not in the first requests a new worker serves
    app = FastAPI(title="dxmaturity", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(check_csrf), Depends(check_text)])
    app.state.settings = settings
    app.state.engine = engine = engine or make_engine(settings.database_url, pool_size=settings.db_pool_size)
    # As many requests at a time use the database as the pool has connections; the others wait here,
    # in the event loop, holding no thread (see web.deps.get_db).
    app.state.db_slots = asyncio.Semaphore(engine.pool.size() if isinstance(engine.pool, QueuePool)
                                            else settings.db_pool_size)
    app.add_middleware(ServerErrorPage)  # inside the two below: a 500 gets the headers and its log line
    app.add_middleware(SecurityMiddleware, max_body_bytes=settings.max_body_bytes,
                       cookie_secure=settings.cookie_secure)
    app.add_middleware(RequestLogMiddleware)  # outermost: logs every response, 413s included
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for module in (pages, account, privacy, businesses, assessments, results, rounds, admin, outbox, city,
                   api_tokens):
        app.include_router(module.router)
    app.include_router(cohorts.trainer_router)
    app.include_router(cohorts.owner_router)
    app.include_router(pages.probe_router)
    app.include_router(api.router)
    app.router.routes.insert(0, assessments.autosave_route)  # the most frequent request is matched first

    @app.exception_handler(LoginRequired)
    def _login(request: Request, _exc: LoginRequired) -> Response:
        target = "/login?next=" + request.url.path
        if is_htmx(request):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    def error_page(request: Request, status: int, kind: str, headers: dict | None = None,
                   context: dict | None = None) -> Response:
        if request.url.path.startswith("/api/"):  # the API answers in JSON, whatever went wrong
            return api.error_response(status, HTTPStatus(status).phrase, headers)
        if not hasattr(request.state, "lang"):  # the error came before the user was looked up (no route
            # matched, or a bad id): look them up now, so the page has their header and language
            try:
                with Session(engine, expire_on_commit=False) as session:
                    load_user(request, session, settings)
            except SQLAlchemyError:  # the database is what failed: an anonymous page in the cookie's language
                use_user(request, None, settings)
        return render(request, "error.html", {"status": status, "kind": kind, **(context or {})}, status_code=status,
                      headers=headers)

    @app.exception_handler(api.ApiError)
    def _api_error(_request: Request, exc: api.ApiError) -> Response:
        return api.error_response(exc.status, exc.detail, exc.headers)

    @app.exception_handler(CsrfFailed)
    def _csrf(request: Request, _exc: CsrfFailed) -> Response:
        return error_page(request, 403, "csrf")

    @app.exception_handler(BadText)
    def _bad_text(request: Request, _exc: BadText) -> Response:
        return error_page(request, 400, "text")

    @app.exception_handler(FormErrors)
    def _form_errors(request: Request, exc: FormErrors) -> Response:
        # a rule met only at the write itself (assessment.text_input.guard_writes) by a route that has no
        # form of its own to show it on: the error page names it; nothing was written
        return error_page(request, 422, "form", context={"errors": exc.errors})

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_page(request, exc.status_code, "http", getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    def _invalid(request: Request, exc: RequestValidationError) -> Response:
        # an id out of range in the URL names nothing, like a missing one: 404, so ids can't be probed
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, 404, "http")
        if request.url.path.startswith("/api/"):  # a program is told which parameter and why
            first = exc.errors()[0]
            return api.error_response(400, f"{first['loc'][-1]}: {first['msg']}")
        return error_page(request, 400, "invalid")

    return app
