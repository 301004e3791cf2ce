"""The department's city view (roles department and admin; anybody else 404): the dashboard, its
charts, its tables for download and the target the department sets.

Every figure comes from ``assessment.city_dashboard`` (and through it ``assessment.city.aggregates``,
which hides small cells); the routes parse the query, call it and render. The filters live in the
URL: the filter form swaps the dashboard in place with HTMX and pushes the canonical URL of the view
(every value spelled out), so a bookmark or a link sent to a colleague opens the same view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from sqlmodel import Session

from assessment import access, city_dashboard, city_exports, export_jobs, exports, reference
from assessment.city import aggregates, microdata
from assessment.city.aggregates import Filters, Table
from assessment.city_dashboard import TABLES, Dashboard
from assessment.messages import N_, FormErrors
from assessment.models import utcnow
from assessment.sizing import SIZES
from questionnaires import loader
from web import charts, city_charts
from web.deps import (
    CurrentUser,
    FormDep,
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
CHARTS = ("levels", "dimensions", "heatmap", "wards", "districts", "areas", "sizes", "trend")
EXPORTS = ("overview", *TABLES)
WARD_CHART_ENDS = 10  # the ward chart: the 10 highest and the 10 lowest when more are shown
AREA_NAMES = {"ward": N_("Inner-city wards"), "commune": N_("Suburban communes")}
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
    return [{"key": r.keys[key], "name": _name(key, r.keys[key], lang), "cell": r.cell}
            for r in city_dashboard.ranked(table)]


def _name(key: str, value: str, lang: str) -> str:
    if key == "area":
        return translate(lang, AREA_NAMES.get(value, value))
    if key == "size_class":
        return translate(lang, value)
    return city_dashboard.key_name(key, value, lang)


def _page_context(session: Session, request: Request, filters: Filters, view: Dashboard, k: int,
                  **extra: Any) -> dict[str, Any]:
    lang = request.state.lang
    instrument = filters.definition
    query = urlencode(city_dashboard.query_of(filters) | {"level": view.level})
    return {
        "filters": filters, "view": view, "k": k, "instrument": instrument, "query": query,
        "instruments": [(i, list(versions)) for i, versions in loader.bundled().items()],
        "titles": {i: loader.latest(i).title for i in loader.bundled()},
        "periods": city_dashboard.periods(session, filters.instrument, filters.version),
        "sections": list(reference.sections().values()), "sizes": SIZES,
        "wards": sorted(reference.wards().values(), key=lambda w: w.name(lang)),
        "districts": aggregates.districts(), "area_names": AREA_NAMES,
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


def _chart(kind: str, session: Session, filters: Filters, k: int, lang: str) -> Any:
    instrument = filters.definition
    hidden_label = translate(lang, "Hidden: fewer than %(k)d businesses") % {"k": k}
    if kind in ("levels", "dimensions"):
        total = city_dashboard.table(session, filters, "sizes", k).total
        if kind == "levels":
            counts = total.level_counts or {}
            return city_charts.bars([lv.name.get(lang) for lv in instrument.levels],
                                    [counts.get(lv.id) for lv in instrument.levels], lang=lang, counts=True,
                                    hidden_label=hidden_label)
        means = total.dimension_means or {}
        return city_charts.bars([d.name.get(lang) for d in instrument.dimensions],
                                [means.get(d.id) for d in instrument.dimensions], lang=lang, hidden_label=hidden_label)
    if kind == "heatmap":
        table = city_dashboard.table(session, filters, "sections", k)
        return city_charts.heatmap(
            [r.keys["vsic_section"] for r in table.rows], [d.name.get(lang) for d in instrument.dimensions],
            [[(r.cell.dimension_means or {}).get(d.id) for d in instrument.dimensions] for r in table.rows],
            lang=lang, hidden_label=hidden_label)
    if kind == "trend":
        table = city_dashboard.table(session, filters, "quarters", k)
        return city_charts.trend([r.keys["quarter"] for r in table.rows], [r.cell.mean_overall for r in table.rows],
                                 lang=lang, hidden_label=hidden_label)
    name = {"wards": "wards", "districts": "districts", "areas": "areas", "sizes": "sizes"}[kind]
    key = TABLES[name][0]
    rows = city_dashboard.ranked(city_dashboard.table(session, filters, name, k))
    if kind == "wards":  # 126 wards: the published ones, the ends of the ranking when there are many
        rows = [r for r in rows if not r.cell.suppressed]
        if len(rows) > 2 * WARD_CHART_ENDS:
            rows = rows[:WARD_CHART_ENDS] + rows[-WARD_CHART_ENDS:]
    return city_charts.bars([_name(key, r.keys[key], lang) for r in rows], [r.cell.mean_overall for r in rows],
                            lang=lang, hidden_label=hidden_label)


@router.get("/charts/{kind}.svg")
def chart(request: Request, session: SessionDep, settings: SettingsDep, kind: str) -> Response:
    if kind not in CHARTS:
        raise HTTPException(status_code=404)
    filters = _filters(session, request.query_params)
    refused = aggregates.refusal(session, filters, settings.min_cell)
    if refused is not None:  # the page shows no chart then; one asked for anyway says why
        fig = city_charts.message(translate(request.state.lang, refused) % {"k": settings.min_cell})
    else:
        fig = _chart(kind, session, filters, settings.min_cell, request.state.lang)
    return Response(charts.to_svg(fig), media_type=SVG, headers={"Cache-Control": "private, no-store"})


@router.get("/exports/{table}.{fmt}")
def export(request: Request, session: SessionDep, settings: SettingsDep, user: CurrentUser, table: str,
           fmt: str) -> Response:
    """One of the dashboard's tables (or the overview) as CSV or XLSX, with the same filters."""
    if table not in EXPORTS or fmt not in ("csv", "xlsx"):
        raise HTTPException(status_code=404)
    filters = _filters(session, request.query_params)
    k, now, lang = settings.min_cell, utcnow(), request.state.lang
    if table == "overview":
        target = city_dashboard.target_of(session, filters.definition)
        try:
            level = city_dashboard.level_followed(filters.definition, request.query_params.get("level"), target)
        except ValueError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from None
        data = city_exports.overview(city_dashboard.table(session, filters, "sizes", k),
                                     aggregates.share_at_or_above(session, filters, level, k), level, target,
                                     filters, now=now)
    else:
        data = city_exports.grouped(city_dashboard.table(session, filters, table, k), filters, name=table, now=now,
                                    lang=lang)
    audit_access(request, session, user, "city.export", "city", f"{table}:{_audit_id(filters)}"[:40])
    name = f"city-{table}-{filters.instrument}-{filters.version}-{filters.period}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if fmt == "csv":
        return Response(exports.to_csv(data), media_type=exports.CSV_MEDIA_TYPE, headers=headers)
    return Response(exports.to_xlsx(data, sheet_title=table), media_type=exports.XLSX_MEDIA_TYPE, headers=headers)


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
