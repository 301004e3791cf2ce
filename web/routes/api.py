"""The read-only JSON API: the city's aggregates, with the same filters, the same cells hidden and the
same access rule as the department's dashboard (role department or admin, logged in; or an API token
an admin issued, sent as ``Authorization: Bearer <token>``).

Errors are JSON (``{"detail": "..."}``): 400 for a parameter that names nothing (saying which), 401
without a login or a valid token, 404 for a login of another role (as every department page answers
it) and for any other path under ``/api/``. The OpenAPI schema of these routes alone is served at
``/api/v1/openapi.json`` (the app publishes no schema of its pages).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from assessment import api_tokens, city_dashboard
from assessment.city import aggregates
from assessment.city.aggregates import Cell
from assessment.models import ApiToken, User
from web.deps import SessionDep, SettingsDep, audit_access, load_user

PREFIX = "/api/v1"
router = APIRouter(prefix=PREFIX, tags=["city"])
ROLES = ("department", "admin")
PARAMETERS = ("instrument", "version", "period", "group_by", *city_dashboard.FILTER_KEYS)


class ApiError(Exception):
    """An error answered as JSON (app.py's handler), never as a page."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def error_response(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status,
                        headers={"Cache-Control": "no-store", **(headers or {})})


# -- the shapes -----------------------------------------------------------------------------------------
class CellOut(BaseModel):
    n: int | None = Field(description="Businesses behind the figures; null when suppressed")
    suppressed: bool = Field(description="Fewer than k businesses, or hidden so that no hidden cell can be "
                                         "worked out from the others")
    mean_overall: float | None = Field(description="Mean overall score (0-100); null when suppressed")
    level_counts: dict[str, int | None] = Field(
        description="Businesses per overall level (null: hidden); empty when the cell is suppressed")
    dimension_means: dict[str, float | None] = Field(
        description="Mean score per dimension (null: hidden); empty when the cell is suppressed")


class RowOut(CellOut):
    keys: dict[str, str] = Field(description="The group's value of each group_by key")


class AggregatesOut(BaseModel):
    instrument: str
    version: str
    period: str = Field(description="A year (2026) or a quarter (2026-Q3), by closing time in Asia/Ho_Chi_Minh")
    filters: dict[str, str | None]
    group_by: list[str]
    k: int = Field(description="Fewest businesses behind a published cell (DXM_MIN_CELL)")
    refused: str | None = Field(description="Why no figures are given for these filters (too few businesses "
                                            "match, or too few are left out); null otherwise")
    rows: list[RowOut]
    total: CellOut


class ErrorOut(BaseModel):
    detail: str


def _cell(cell: Cell) -> dict[str, Any]:
    return {"n": cell.n, "suppressed": cell.suppressed, "mean_overall": cell.mean_overall,
            "level_counts": dict(cell.level_counts or {}), "dimension_means": dict(cell.dimension_means or {})}


# -- who is asking --------------------------------------------------------------------------------------
def reader(request: Request, session: SessionDep, settings: SettingsDep) -> User | ApiToken:
    """The department's login or a live API token; else ApiError 401 (nothing presented, a bad
    token) or 404 (a login of another role)."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        scheme, _, secret = authorization.strip().partition(" ")
        token = api_tokens.authenticate(session, secret.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise ApiError(401, "the API token is not valid (unknown or revoked)",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return token
    user = load_user(request, session, settings)
    if user is None:
        raise ApiError(401, "log in as the department, or send Authorization: Bearer <token>",
                       {"WWW-Authenticate": "Bearer"})
    if user.role not in ROLES:
        raise ApiError(404, "Not Found")
    return user


Reader = Annotated[User | ApiToken, Depends(reader)]
ERRORS: dict[int | str, dict[str, Any]] = {400: {"model": ErrorOut, "description": "A parameter names nothing"},
                                           401: {"model": ErrorOut, "description": "No login and no valid token"},
                                           404: {"model": ErrorOut, "description": "A login of another role"}}


#: what the schema lets through to ``aggregates.aggregate`` (which says why a pair can't be nested)
GROUP_BY = "^({keys})(,({keys}))?$".format(keys="|".join(aggregates.GROUP_KEYS))


@router.get("/aggregates", response_model=AggregatesOut, responses=ERRORS)
def aggregates_(
    request: Request, response: Response, session: SessionDep, settings: SettingsDep, who: Reader,
    group_by: Annotated[str, Query(description="One or two of ward, district, area, vsic_section, size_class, "
                                               "quarter, comma-separated", pattern=GROUP_BY)],
    instrument: Annotated[str | None, Query(description="Questionnaire id (default: the first)",
                                            pattern=r"^([a-z0-9][a-z0-9_.-]*)?$", max_length=64)] = None,
    version: Annotated[str | None, Query(description="Its version (default: the latest)",
                                         pattern=r"^(\d+(\.\d+)*)?$", max_length=20)] = None,
    period: Annotated[str | None, Query(description="2026 or 2026-Q3 (default: the latest quarter with "
                                                    "a closed round)", pattern=r"^(\d{4}(-Q[1-4])?)?$")] = None,
    vsic_section: Annotated[str | None, Query(description="A VSIC section letter", pattern=r"^[A-U]?$")] = None,
    size_class: Annotated[str | None, Query(description="micro, small, medium or large",
                                            pattern=r"^(micro|small|medium|large)?$")] = None,
    ward: Annotated[str | None, Query(description="A ward or commune code (5 digits)", pattern=r"^(\d{5})?$")] = None,
    district: Annotated[str | None, Query(description="A former district, as the dashboard names it",
                                          max_length=120)] = None,
) -> AggregatesOut:
    """The city's figures for one questionnaire version and period, grouped by one or two keys, every
    cell of fewer than k businesses suppressed with its complementary cells, as on the dashboard."""
    unknown = sorted(set(request.query_params) - set(PARAMETERS))
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}: use {', '.join(PARAMETERS)}")
    k = settings.min_cell
    try:
        filters = city_dashboard.filters_from(session, request.query_params)
        table = aggregates.aggregate(session, filters, tuple(group_by.split(",")), k)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    response.headers["Cache-Control"] = "no-store"
    audit_access(request, session, who, "city.api", "city",
                 f"{filters.instrument}/{filters.version}/{filters.period}"[:40])
    return AggregatesOut(
        instrument=filters.instrument, version=filters.version, period=filters.period,
        filters={key: getattr(filters, key) for key in city_dashboard.FILTER_KEYS}, group_by=list(table.group_by),
        k=k, refused=None if table.refused is None else table.refused % {"k": k},
        rows=[RowOut(keys=r.keys, **_cell(r.cell)) for r in table.rows], total=CellOut(**_cell(table.total)))


@cache
def schema() -> dict[str, Any]:
    return get_openapi(title="dxmaturity: the city's aggregates", version="1",
                       description=__doc__, routes=router.routes)


@router.get("/openapi.json", include_in_schema=False)
def openapi() -> JSONResponse:
    """The OpenAPI schema of the API (public: it describes the API, it holds no figures)."""
    return JSONResponse(schema())
