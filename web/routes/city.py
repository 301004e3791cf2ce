"""The department's city view (roles department and admin; anybody else 404): the dashboard, its
charts, its tables for download, its PDF briefing and the target the department sets.

Every figure comes from ``assessment.city_dashboard`` (and through it ``assessment.city.aggregates``,
which hides small cells); the routes parse the query, call it and render. The filters live in the
URL: the filter form swaps the dashboard in place with HTMX and pushes the canonical URL of the view
(every value spelled out), so a bookmark or a link sent to a colleague opens the same view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session
from starlette.datastructures import UploadFile as StarletteUpload

from assessment import access, city_dashboard, city_exports, city_snapshots, export_jobs, exports, reference
from assessment.city import aggregates, coverage, microdata
from assessment.city.aggregates import Filters, Share, Table
from assessment.city_dashboard import TABLES, Dashboard
from assessment.messages import N_, FormErrors
from assessment.models import CitySnapshot, CityTarget, utcnow
from assessment.sizing import SIZES
from questionnaires import loader
from web import charts, city_briefing, city_charts
from web.deps import (
    CurrentUser,
    FormDep,
    RowId,
    SessionDep,
    SettingsDep,
    VisibleExportJob,
    audit_access,
    client_address,
    require_roles,
)
from web.i18n import translate
from web.templating import is_htmx, render

router = APIRouter(prefix="/city", dependencies=[require_roles("department", "admin")])
SVG = "image/svg+xml"
EXPORTS = ("overview", *TABLES)
EXPORT_LABELS = {"overview": N_("overview: levels, dimensions, share and target"), "sections": N_("by sector"),
                 "sizes": N_("by size class"), "wards": N_("by ward or commune"), "districts": N_("by former district"),
                 "areas": N_("wards and communes"), "quarters": N_("per quarter")}
MICRODATA_KEYS = ("instrument", "version", "period")  # the record-level export takes no other filter
JOB_STATUS_NAMES = {"queued": N_("queued"), "running": N_("running"), "done": N_("ready"), "failed": N_("failed")}


def _lenient(params: Mapping[str, str]) -> dict[str, str]:
    """The query as the filter form sends it (an HTMX request): a version left over from another
    questionnaire (the form keeps the old one when the questionnaire changes) gives way to the new
    one's latest, and so does the level followed; the response pushes the URL of what it shows. A
    URL typed or bookmarked is taken as it is (a version that names nothing: 400)."""
    query = dict(params)
    instrument = query.get("instrument", "")
    if instrument in loader.bundled() and query.get("version") not in loader.bundled()[instrument]:
        query.pop("version", None)
        query.pop("level", None)
    return query


def _filters(session: Session, params: Mapping[str, str]) -> Filters:
    try:
        return city_dashboard.filters_from(session, params)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None


def _audit_id(filters: Filters) -> str:
    return f"{filters.instrument}/{filters.version}/{filters.period}"[:40]


def _url(filters: Filters, **extra: str) -> str:
    return "/city?" + urlencode(city_dashboard.query_of(filters) | {k: v for k, v in extra.items() if v})


def _rows(table: Table, key: str, lang: str) -> list[dict[str, Any]]:
    """A table's rows for the page, ranked (``city_dashboard.ranked``), each with its name."""
    return [{"key": r.keys[key], "name": city_charts.group_name(key, r.keys[key], lang), "cell": r.cell}
            for r in city_dashboard.ranked(table)]


def _page_context(session: Session, request: Request, filters: Filters, view: Dashboard, k: int,
                  **extra: Any) -> dict[str, Any]:
    lang = request.state.lang
    instrument = filters.definition
    query = urlencode(city_dashboard.query_of(filters) | {"level": view.level})
    return {
        "filters": filters, "view": view, "k": k, "instrument": instrument, "query": query, "base": "/city",
        "snapshot": None, "published": city_snapshots.find(session, filters.unfiltered),
        "coverage": city_dashboard.coverage_of(session, view), "problems": [],
        "publishable": city_snapshots.publishable(filters),
        "instruments": [(i, list(versions)) for i, versions in loader.bundled().items()],
        "titles": {i: loader.latest(i).title for i in loader.bundled()},
        "periods": city_dashboard.periods(session, filters.instrument, filters.version),
        "sections": list(reference.sections().values()), "sizes": SIZES,
        "wards": sorted(reference.wards().values(), key=lambda w: w.name(lang)),
        "districts": aggregates.districts(), "area_names": city_charts.AREA_NAMES,
        "rows": {name: _rows(view.tables[name], TABLES[name][0], lang) for name in TABLES if name != "quarters"},
        "exports": EXPORTS, "export_labels": EXPORT_LABELS, "filter_query": city_dashboard.query_of(filters),
        "errors": {}, "values": {}, **extra,
    }


@router.get("")
def dashboard(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """The dashboard; an HTMX request (a filter changed) gets only the view's block and the URL to push."""
    params = _lenient(request.query_params) if is_htmx(request) else request.query_params
    try:
        filters = city_dashboard.filters_from(session, params)
        view = city_dashboard.dashboard(session, filters, settings.min_cell, level=params.get("level") or None)
    except ValueError as exc:
        return render(request, "city.html", {"problem": str(exc), "k": settings.min_cell}, status_code=400,
                      block="view" if is_htmx(request) else None)
    audit_access(request, session, user, "city.view", "city", _audit_id(filters))
    context = _page_context(session, request, filters, view, settings.min_cell)
    if is_htmx(request):
        return render(request, "city.html", context, block="view",
                      headers={"HX-Push-Url": f"/city?{context['query']}"})
    return render(request, "city.html", context)


@router.post("/targets")
def set_target(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
               form: FormDep) -> Response:
    """The level the department follows for a questionnaire and the share it aims for there."""
    values = {k: str(form.get(k) or "") for k in ("instrument", "version", "period", *city_dashboard.FILTER_KEYS,
                                                   "level", "target_share")}
    filters = _filters(session, {k: v for k, v in values.items() if k not in ("level", "target_share")})
    try:
        city_dashboard.set_target(session=session, user=user, instrument=filters.definition, level=values["level"],
                                  share=values["target_share"], client=client_address(request))
    except FormErrors as exc:
        session.rollback()
        view = city_dashboard.dashboard(session, filters, settings.min_cell)
        return render(request, "city.html", _page_context(session, request, filters, view, settings.min_cell,
                                                          errors=exc.errors, values=values), status_code=422)
    return RedirectResponse(_url(filters, level=values["level"]), status_code=303)


@router.get("/charts/{kind}.svg")
def chart(request: Request, session: SessionDep, settings: SettingsDep, kind: str) -> Response:
    if kind not in city_charts.KINDS:
        raise HTTPException(status_code=404)
    filters = _filters(session, request.query_params)
    refused = aggregates.refusal(session, filters, settings.min_cell)
    if refused is not None:  # the page shows no chart then; one asked for anyway says why
        fig = city_charts.message(translate(request.state.lang, refused) % {"k": settings.min_cell})
    else:
        k = settings.min_cell
        fig = city_charts.dashboard_chart(kind, lambda name: city_dashboard.table(session, filters, name, k),
                                          filters.definition, k=k, lang=request.state.lang)
    return Response(charts.to_svg(fig), media_type=SVG, headers={"Cache-Control": "private, no-store"})


@router.get("/exports/{table}.{fmt}")
def export(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, table: str,
           fmt: str) -> Response:
    """One of the dashboard's tables (or the overview) as CSV or XLSX, with the same filters."""
    if table not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise HTTPException(status_code=404)
    filters = _filters(session, request.query_params)
    k = settings.min_cell
    target = city_dashboard.target_of(session, filters.definition)
    try:
        level = city_dashboard.level_followed(filters.definition, request.query_params.get("level"), target)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    share = aggregates.share_at_or_above(session, filters, level, k) if table == "overview" else None
    audit_access(request, session, user, "city.export", "city", f"{table}:{_audit_id(filters)}"[:40])
    return _download(table, fmt, filters, lambda name: city_dashboard.table(session, filters, name, k), share, level,
                     target, request.state.lang)


def _download(table: str, fmt: str, filters: Filters, table_of: Callable[[str], Table], share: Share | None,
              level: str, target: CityTarget | None, lang: str, *, name_suffix: str = "") -> Response:
    """A table of the view (live or a snapshot's), or its overview, as a CSV or XLSX download."""
    now = utcnow()
    if table == "overview":
        assert share is not None
        data = city_exports.overview(table_of("sizes"), share, level, target, filters, now=now)
    else:
        data = city_exports.grouped(table_of(table), filters, name=table, now=now, lang=lang)
    name = f"city-{table}-{filters.instrument}-{filters.version}-{filters.period}{name_suffix}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(exports.to_csv(data), media_type=exports.CSV_MEDIA_TYPE, headers=headers)
    return Response(exports.to_xlsx(data, sheet_title=table), media_type=exports.XLSX_MEDIA_TYPE, headers=headers)


# -- the registered enterprises -------------------------------------------------------------------
@router.post("/population")
def upload_population(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                      form: FormDep) -> Response:
    """Replace the registered enterprises with an uploaded CSV; a wrong file changes nothing and the
    page lists what is wrong, row and column."""
    upload = form.get("file")
    data = upload.file.read(coverage.MAX_BYTES + 1) if isinstance(upload, StarletteUpload) else b""
    filters = _filters(session, {k: str(form.get(k) or "") for k in ("instrument", "version", "period",
                                                                      *city_dashboard.FILTER_KEYS)})
    try:
        coverage.replace(session=session, user=user, rows=coverage.parse(data), client=client_address(request))
    except coverage.PopulationErrors as exc:
        view = city_dashboard.dashboard(session, filters, settings.min_cell)
        return render(request, "city.html", _page_context(session, request, filters, view, settings.min_cell,
                                                          problems=exc.problems), status_code=422)
    return RedirectResponse(_url(filters) + "#coverage", status_code=303)


@router.get("/population.csv")
def population(session: SessionDep) -> Response:
    """The registered enterprises as uploaded (with no upload: the header alone, a template to fill)."""
    return Response(exports.to_csv(coverage.as_table(session)), media_type=exports.CSV_MEDIA_TYPE,
                    headers={"Content-Disposition": 'attachment; filename="city-population.csv"',
                             "Cache-Control": "no-store"})


# -- published periods ----------------------------------------------------------------------------
@router.post("/snapshots")
def publish(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
            form: FormDep) -> Response:
    """Freeze the period's city figures as the view shows them now (no filter)."""
    values = {k: str(form.get(k) or "") for k in ("instrument", "version", "period", *city_dashboard.FILTER_KEYS)}
    filters = _filters(session, values)
    try:
        snapshot = city_snapshots.publish(session=session, user=user, filters=filters,
                                          level=str(form.get("level") or "") or None, k=settings.min_cell,
                                          client=client_address(request))
    except (FormErrors, ValueError) as exc:
        session.rollback()
        errors = exc.errors if isinstance(exc, FormErrors) else {"period": str(exc)}
        view = city_dashboard.dashboard(session, filters, settings.min_cell)
        return render(request, "city.html", _page_context(session, request, filters, view, settings.min_cell,
                                                          errors=errors, values=values), status_code=422)
    return RedirectResponse(f"/city/snapshots/{snapshot.id}", status_code=303)


@router.get("/snapshots")
def snapshots(request: Request, session: SessionDep) -> Response:
    titles = {i: loader.latest(i).title for i in loader.bundled()}
    return render(request, "city_snapshots.html", {"snapshots": city_snapshots.listed(session), "titles": titles})


def _snapshot(session: Session, snapshot_id: int) -> CitySnapshot:
    snapshot = session.get(CitySnapshot, snapshot_id)
    if snapshot is None:
        raise HTTPException(status_code=404)
    return snapshot


@router.get("/snapshots/{snapshot_id}")
def snapshot(request: Request, session: SessionDep, user: CurrentUser, snapshot_id: RowId) -> Response:
    """A published period, rendered by the live view's template from its frozen tables."""
    published = _snapshot(session, snapshot_id)
    view = city_snapshots.view_of(published)
    audit_access(request, session, user, "city.view", "city", f"snapshot-{published.id}")
    context = _page_context(session, request, view.filters, view, published.k, base=f"/city/snapshots/{published.id}",
                            snapshot=published, published=published, publishable=False, coverage=None)
    context["query"] = ""
    return render(request, "city.html", context)


@router.get("/snapshots/{snapshot_id}/charts/{kind}.svg")
def snapshot_chart(request: Request, session: SessionDep, snapshot_id: RowId, kind: str) -> Response:
    if kind not in city_charts.KINDS:
        raise HTTPException(status_code=404)
    published = _snapshot(session, snapshot_id)
    view = city_snapshots.view_of(published)
    fig = city_charts.dashboard_chart(kind, view.tables.__getitem__, view.filters.definition, k=published.k,
                                      lang=request.state.lang)
    return Response(charts.to_svg(fig), media_type=SVG, headers={"Cache-Control": "private, no-store"})


@router.get("/snapshots/{snapshot_id}/exports/{table}.{fmt}")
def snapshot_export(request: Request, session: SessionDep, user: CurrentUser, snapshot_id: RowId, table: str,
                    fmt: str) -> Response:
    if table not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise HTTPException(status_code=404)
    published = _snapshot(session, snapshot_id)
    view = city_snapshots.view_of(published)
    audit_access(request, session, user, "city.export", "city", f"{table}:snapshot-{published.id}"[:40])
    return _download(table, fmt, view.filters, view.tables.__getitem__, view.share, view.level, view.target,
                     request.state.lang, name_suffix="-published")
@router.get("/briefing.pdf")
def briefing(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """The current view (the dashboard's query) as a PDF briefing for a meeting, in the reader's
    language; a refused filter set gives a briefing saying why, a value that names nothing a 400."""
    params = request.query_params
    filters = _filters(session, params)
    try:
        view = city_dashboard.dashboard(session, filters, settings.min_cell, level=params.get("level") or None)
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    audit_access(request, session, user, "city.briefing", "city", _audit_id(filters))
    body = city_briefing.briefing_pdf(view=view, lang=request.state.lang, department=settings.department_name,
                                      now=utcnow())
    name = f"city-briefing-{filters.instrument}-{filters.version}-{filters.period}.pdf"
    return Response(body, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
# -- the record-level export ----------------------------------------------------------------------------
def _microdata_filters(session: Session, params: Mapping[str, Any]) -> Filters:
    return _filters(session, {key: str(params.get(key) or "") for key in MICRODATA_KEYS})


def _microdata_url(filters: Filters) -> str:
    return "/city/microdata?" + urlencode({key: getattr(filters, key) for key in MICRODATA_KEYS})


def _engine_url(request: Request) -> str:
    """The app's database, for a background job's own engine (``assessment.export_jobs``)."""
    return str(request.app.state.engine.url.render_as_string(hide_password=False))


@router.get("/microdata")
def microdata_page(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser) -> Response:
    """The export's filters and button, and the background exports one may see; an HTMX request (the
    list polling while a job runs) gets only the list."""
    filters = _microdata_filters(session, request.query_params)
    export_jobs.mark_stale(session, minutes=settings.export_job_stale_minutes)
    jobs = access.export_jobs_for(session, user)
    context = {
        "filters": filters, "k": settings.min_cell, "jobs": jobs, "job_rows": settings.microdata_job_rows,
        "polling": any(j.status in export_jobs.ACTIVE for j in jobs), "status_names": JOB_STATUS_NAMES,
        "stale_error": export_jobs.STALE,
        "query": urlencode({key: getattr(filters, key) for key in MICRODATA_KEYS}),
        "filter_query": {key: getattr(filters, key) for key in MICRODATA_KEYS},
        "instruments": [(i, list(versions)) for i, versions in loader.bundled().items()],
        "titles": {i: loader.latest(i).title for i in loader.bundled()},
        "periods": city_dashboard.periods(session, filters.instrument, filters.version),
    }
    return render(request, "city_microdata.html", context, block="jobs" if is_htmx(request) else None)


@router.post("/microdata")
def microdata_export(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                     form: FormDep) -> Response:
    """The records of the filters' period: streamed at once up to ``DXM_MICRODATA_JOB_ROWS`` rows,
    above that a background job (the same file, later) and back to the page that lists it."""
    filters = _microdata_filters(session, form)
    k = settings.min_cell
    planned = microdata.plan(session.connection(), filters, k)
    if planned.rows > settings.microdata_job_rows:
        params = export_jobs.microdata_params(filters, k)
        job = export_jobs.active_like(session, user, "microdata", params)
        new = job is None
        if job is None:
            job = export_jobs.create(session=session, user=user, kind="microdata", params=params,
                                     rows_total=planned.rows)
        audit_access(request, session, user, "city.microdata_job", "export_job", job.id or 0)
        if new:
            export_jobs.start(url=_engine_url(request), data_dir=settings.data_dir, job=job)
        return RedirectResponse(_microdata_url(filters), status_code=303)
    audit_access(request, session, user, "city.microdata", "city", _audit_id(filters))
    # The request's session has committed (its connection is back in the pool) but holds its slot
    # until the response is sent: the stream takes that connection from the engine itself.
    name = f"city-microdata-{filters.instrument}-{filters.version}-{filters.period}.csv"
    return StreamingResponse(microdata.iter_csv(request.app.state.engine, filters, k, now=utcnow()),
                             media_type=exports.CSV_MEDIA_TYPE,
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      "Cache-Control": "no-store"})


@router.post("/microdata/jobs/{job_id}/restart")
def microdata_restart(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                      job: VisibleExportJob) -> Response:
    """A failed background export run again (409 for one that has not failed)."""
    export_jobs.mark_stale(session, minutes=settings.export_job_stale_minutes)
    session.refresh(job)
    try:
        export_jobs.restart(session=session, job=job, k=settings.min_cell)
    except ValueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    audit_access(request, session, user, "city.microdata_job", "export_job", job.id or 0)
    export_jobs.start(url=_engine_url(request), data_dir=settings.data_dir, job=job)
    return RedirectResponse("/city/microdata?" + urlencode(
        {key: job.params.get(key, "") for key in MICRODATA_KEYS}), status_code=303)


@router.get("/microdata/jobs/{job_id}/download")
def microdata_download(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser,
                       job: VisibleExportJob) -> Response:
    """A finished background export's file (404 until it is ready)."""
    path = export_jobs.file_of(settings.data_dir, job)
    if path is None:
        raise HTTPException(status_code=404)
    audit_access(request, session, user, "city.microdata_file", "export_job", job.id or 0)
    return FileResponse(path, media_type=exports.CSV_MEDIA_TYPE, filename=export_jobs.download_name(job),
                        headers={"Cache-Control": "no-store"})
