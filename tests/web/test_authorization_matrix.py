"""The authorization matrix, written by hand: every route of the app × every kind of person × every
kind of id, and the status each cell must answer.

The expected statuses below are this file's own table, worked out from what each person should be
able to do (the product's rules in words, see the README's "Who sees what"), never read from the
access policy it checks. The route list is the app's own: a route without a row here fails
``test_every_route_has_a_row``, so a route added later must say who may call it.

People: ``anon`` (nobody logged in), owners ``A`` (business X) and ``B`` (business Y), ``R`` a
respondent of X (a copy in X's open round), ``P`` an owner account that asked to join X (pending),
trainers ``T1`` (course C1, X a member) with co-trainer ``T1b`` and ``T2`` (course C2, Y a member),
``D`` the department, ``M`` an admin, ``U`` a disabled owner account (its session must not work) and
``K`` a program holding an API token an admin issued (no session: anonymous on every page).

Ids: the objects of X's side and Y's side, a ``missing`` id (nothing has it) and a ``huge`` one (past
the database's integer range). Somebody else's object and a missing one must look the same (404).
Every cell that changes something runs in a freshly built world, so no cell sees another's change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from assessment import (
    accounts,
    api_tokens,
    city_dashboard,
    city_snapshots,
    cohorts,
    mail,
    people,
    resets,
    rounds,
    signup,
)
from assessment.city.aggregates import Filters
from assessment.models import (
    Assessment,
    AssessmentRound,
    CitySnapshot,
    CohortAction,
    ExportJob,
    JoinRequest,
    User,
    utcnow,
)
from tests.conftest import Browser, _empty_tables
from tests.factories import answer_all, make_business, start, submitted
from web.deps import SESSION_COOKIE

LOGGED_IN = ("A", "B", "R", "P", "T1", "T1b", "T2", "D", "M")
EVERYONE = ("anon", *LOGGED_IN, "U", "K")
OWNERS = ("A", "B", "R", "P")  # accounts of business people (R and P own no business here)
STAFF = ("T1", "T1b", "T2", "D", "M")
LOGIN = 303  # to the login page
MISSING_ID, HUGE_ID = 999_999, 2**31


def e(default: int, *, anon: int = LOGIN, **cells: int) -> dict[str, int]:
    """Expected statuses: ``default`` for every logged-in person not named, ``anon`` for nobody, for
    the disabled account (a session that must not count) and for the token (no session), and the
    named exceptions."""
    table = {who: default for who in LOGGED_IN} | {"anon": anon, "U": anon, "K": anon}
    for who, status in cells.items():
        for person in who.split("_"):  # A_B=200 names both
            table[person] = status
    return table


def only(people: str, status: int, *, others: int = 404, anon: int = LOGIN) -> dict[str, int]:
    """``status`` for the people named (``"A"``, ``"T1_T1b_M"``), ``others`` for the rest logged in."""
    return e(others, anon=anon, **{people: status})


@dataclass
class Row:
    method: str
    path: str
    cells: dict[str, dict[str, int]]  # id kind -> person -> status
    form: dict[str, str] = field(default_factory=dict)


ID_ROUTE_MISSING = e(404)  # a missing or out-of-range id names nothing, for everybody logged in


def row(method: str, path: str, form: dict[str, str] | None = None, missing: dict[str, int] | None = None,
        **cells: dict[str, int]) -> Row:
    if "{" in path:  # an id route: a missing and a huge id answer like any id that is not one's own
        cells.setdefault("missing", missing or ID_ROUTE_MISSING)
        cells.setdefault("huge", missing or ID_ROUTE_MISSING)
    return Row(method, path, dict(cells), form or {})


# -- the table ----------------------------------------------------------------------------------------
# Id kinds: X / Y (the two sides), Xd A's draft copy in X's open round, Xr R's draft copy in it,
# Xc A's submitted copy (X's closed round), Xo X's open round, Xk X's closed round, C1x course C1 with
# member X, C1y course C1 with Y (not its member), C2y course C2 with Y, self / other (admin pages).
ROWS: list[Row] = [
    # public pages
    row("GET", "/", **{"-": e(200, anon=200)}),
    row("POST", "/language", {"lang": "en"}, **{"-": e(303, anon=303)}),
    row("GET", "/healthz", **{"-": e(200, anon=200)}),
    row("GET", "/signup", **{"-": e(200, anon=200)}),
    row("POST", "/signup", **{"-": e(422, anon=422)}),
    # a sign-up's code page and a reset link: whoever holds the link (a dead one: 410 Gone)
    row("GET", "/signup/{token}", signup=e(200, anon=200), missing=e(410, anon=410), huge=e(410, anon=410)),
    row("POST", "/signup/{token}", signup=e(422, anon=422), missing=e(410, anon=410), huge=e(410, anon=410)),
    row("GET", "/password/forgot", **{"-": e(200, anon=200)}),
    row("POST", "/password/forgot", **{"-": e(422, anon=422)}),  # no address typed
    row("GET", "/password/reset/{token}", reset=e(200, anon=200), missing=e(410, anon=410), huge=e(410, anon=410)),
    row("POST", "/password/reset/{token}", reset=e(422, anon=422), missing=e(410, anon=410),
        huge=e(410, anon=410)),  # no new password typed
    row("GET", "/login", **{"-": e(200, anon=200)}),
    row("POST", "/login", **{"-": e(422, anon=422)}),
    row("POST", "/logout", **{"-": e(303, anon=303)}),
    # one's own account and data
    row("GET", "/privacy", **{"-": e(200, anon=200)}),
    row("GET", "/account", **{"-": e(200)}),
    row("GET", "/account/data.{fmt}", json=e(200), missing=e(200)),  # no id in it: "missing" asks for the CSV
    row("POST", "/account/consents/{purpose}", choice=e(303)),  # a purpose one cannot choose: 404
    row("POST", "/account/delete", **{"-": e(422)}),  # without the password
    row("POST", "/account/password", **{"-": e(422)}),
    row("POST", "/account/profile", {"display_name": "A person", "language": "en"}, **{"-": e(303)}),
    # businesses: their owners only; staff accounts have no business pages at all
    row("GET", "/businesses/new", **{"-": e(200, **{"T1_T1b_T2_D_M": 404})}),
    row("POST", "/businesses", **{"-": e(422, **{"T1_T1b_T2_D_M": 404})}),
    row("POST", "/businesses/join-requests", **{"-": e(400, **{"T1_T1b_T2_D_M": 404})}),  # a hidden field
    row("GET", "/businesses/{business_id}", X=only("A", 200), Y=only("B", 200)),
    row("GET", "/businesses/{business_id}/edit", X=only("A", 200), Y=only("B", 200)),
    row("POST", "/businesses/{business_id}", X=only("A", 422), Y=only("B", 422)),
    row("GET", "/businesses/{business_id}/people", X=only("A", 200), Y=only("B", 200)),
    row("POST", "/businesses/{business_id}/join-requests/{request_id}", {"decision": "approve"},
        X=only("A", 303), Y=e(404)),
    row("POST", "/businesses/{business_id}/assessments", {"instrument": "quick-check"}, X=only("A", 303),
        Y=only("B", 303)),
    row("GET", "/businesses/{business_id}/history/{instrument_id}", X=only("A", 200), Y=only("B", 200)),
    row("GET", "/businesses/{business_id}/history/{instrument_id}/{version}/chart.svg",
        X=only("A", 200), Y=only("B", 200)),
    # one's own copy: pages, review and submitting it (the owner cannot answer a respondent's copy)
    row("POST", "/assessments/{assessment_id}/answers/{question_id}", {"value": "none"},
        Xd=only("A", 200), Xr=only("R", 200), Xc=only("A", 422)),  # a submitted copy: refused
    row("GET", "/assessments/{assessment_id}", Xd=only("A", 303), Xr=only("R", 303), Xc=only("A", 303)),
    row("GET", "/assessments/{assessment_id}/pages/{number}", Xd=only("A", 200), Xr=only("R", 200)),
    row("GET", "/assessments/{assessment_id}/review", Xd=only("A", 200), Xr=only("R", 200)),
    row("POST", "/assessments/{assessment_id}/submit", Xd=only("A", 422), Xr=only("R", 303),  # A's is unanswered
        Xc=only("A", 303)),
    # a copy's results: the business's owners and the copy's own respondent
    row("GET", "/assessments/{assessment_id}/results", Xc=only("A", 200), Xr=only("A_R", 303)),  # a draft: to its pages
    row("POST", "/assessments/{assessment_id}/what-if", Xc=only("A", 200)),
    row("GET", "/assessments/{assessment_id}/charts/{kind}.svg", Xc=only("A", 200)),
    row("GET", "/assessments/{assessment_id}/report.pdf", Xc=only("A", 200)),
    row("POST", "/assessments/{assessment_id}/report/mail", Xc=only("A", 200)),
    # rounds: the owner manages; a closed round's result also for its trainers
    row("GET", "/rounds/{round_id}", Xo=only("A", 200), Xk=only("A", 200)),  # trainers: the member page
    row("POST", "/rounds/{round_id}/invitations", Xo=only("A", 200), Xk=only("A", 409)),
    row("POST", "/rounds/{round_id}/close", Xo=only("A", 303), Xk=only("A", 303)),  # closed already: no change
    # invitation links: any business person holding one (staff accounts can't answer for a business)
    row("GET", "/invitations/{token}", live=e(200, **{"T1_T1b_T2_D_M": 404}), missing=e(404), huge=e(404)),
    row("POST", "/invitations/{token}", live=e(303, **{"T1_T1b_T2_D_M": 404}), missing=e(404),
        huge=e(404)),
    # admins only
    row("GET", "/admin/users", **{"-": only("M", 200)}),
    row("POST", "/admin/users", **{"-": only("M", 422)}),
    row("POST", "/admin/users/{user_id}/disable", other=only("M", 200), self=only("M", 409)),
    row("POST", "/admin/users/{user_id}/enable", other=only("M", 200), self=only("M", 200)),
    row("POST", "/admin/users/{user_id}/role", {"role": "trainer"}, other=only("M", 200),
        self=only("M", 200)),  # another admin is left (M2)
    row("POST", "/admin/users/{user_id}/reset", other=only("M", 200), self=only("M", 200)),
    row("GET", "/admin/audit", **{"-": only("M", 200)}),
    row("GET", "/admin/audit.csv", **{"-": only("M", 200)}),
    row("GET", "/admin/outbox", **{"-": only("M", 200)}),
    row("GET", "/admin/outbox/{message_id}", mail=only("M", 200)),
    # courses: their trainers and the admins
    row("GET", "/cohorts", **{"-": only("T1_T1b_T2_M", 200)}),
    row("POST", "/cohorts", **{"-": only("T1_T1b_T2", 422)}),  # an admin oversees courses, a trainer runs one
    row("GET", "/cohorts/{cohort_id}", C1x=only("T1_T1b_M", 200), C2y=only("T2_M", 200)),
    row("GET", "/cohorts/{cohort_id}/charts/{kind}.svg", C1x=only("T1_T1b_M", 200), C2y=only("T2_M", 200)),
    row("GET", "/cohorts/{cohort_id}/before-after.svg", C1x=only("T1_T1b_M", 200), C2y=only("T2_M", 200)),
    row("GET", "/cohorts/{cohort_id}/exports/{table}.{fmt}", C1x=only("T1_T1b_M", 200), C2y=only("T2_M", 200)),
    row("GET", "/cohorts/{cohort_id}/qr.svg", C1x=only("T1_T1b_M", 200), C2y=only("T2_M", 200)),
    row("POST", "/cohorts/{cohort_id}/close", C1x=only("T1_T1b_M", 303), C2y=only("T2_M", 303)),
    row("GET", "/cohorts/{cohort_id}/members/{business_id}", C1x=only("T1_T1b_M", 200), C1y=e(404),
        C2y=only("T2_M", 200)),
    row("POST", "/cohorts/{cohort_id}/members/{business_id}/notes", C1x=only("T1_T1b_M", 422), C1y=e(404)),
    row("POST", "/cohorts/{cohort_id}/members/{business_id}/actions", C1x=only("T1_T1b_M", 422), C1y=e(404)),
    row("POST", "/cohorts/{cohort_id}/members/{business_id}/remind", C1x=only("T1_T1b_M", 400),  # no channel
        C1y=e(404)),
    # joining a course: business people
    row("GET", "/join", **{"-": e(200, **{"T1_T1b_T2_D_M": 404})}),
    row("GET", "/join/{code}", live=e(200, **{"T1_T1b_T2_D_M": 404}), missing=e(404), huge=e(404)),
    row("POST", "/join/{code}", live=e(422, **{"T1_T1b_T2_D_M": 404}), missing=e(404), huge=e(404)),
    row("POST", "/businesses/{business_id}/cohorts/{cohort_id}/leave", C1x=only("A", 303), C1y=e(404)),
    row("POST", "/businesses/{business_id}/cohorts/{cohort_id}/reminders", C1x=only("A", 303), C1y=e(404)),
    row("POST", "/businesses/{business_id}/actions/{action_id}", C1x=only("A", 303), C1y=e(404)),
    # the city: the department and admins (aggregates only); the API also for the token
    row("GET", "/city", **{"-": only("D_M", 200)}),
    row("POST", "/city/targets", **{"-": only("D_M", 422)}),  # no level chosen
    row("GET", "/city/charts/{kind}.svg", city=only("D_M", 200)),
    row("GET", "/city/exports/{table}.{fmt}", city=only("D_M", 200)),
    row("POST", "/city/population", **{"-": only("D_M", 422)}),  # no file chosen
    row("GET", "/city/population.csv", **{"-": only("D_M", 200)}),
    row("GET", "/city/snapshots", **{"-": only("D_M", 200)}),
    row("POST", "/city/snapshots", **{"-": only("D_M", 422)}),  # the default period is the current one: not ended
    row("GET", "/city/snapshots/{snapshot_id}", snap=only("D_M", 200)),
    row("GET", "/city/snapshots/{snapshot_id}/charts/{kind}.svg", snap=only("D_M", 200)),
    row("GET", "/city/snapshots/{snapshot_id}/exports/{table}.{fmt}", snap=only("D_M", 200)),
    row("GET", "/city/briefing.pdf", **{"-": only("D_M", 200)}),  # too few businesses: a PDF saying so
    # the record-level export: the department and admins; a background job its requester (D) and admins
    row("GET", "/city/microdata", **{"-": only("D_M", 200)}),
    row("POST", "/city/microdata", **{"-": only("D_M", 200)}),  # below k: every record dropped, streamed at once
    row("POST", "/city/microdata/jobs/{job_id}/restart", job=only("D_M", 303), jobdone=only("D_M", 409)),
    row("GET", "/city/microdata/jobs/{job_id}/download", jobdone=only("D_M", 200), job=only("D_M", 404)),
    row("GET", "/api/v1/aggregates", **{"-": only("D_M_K", 400, anon=401)}),  # after the access check: no group_by
    row("GET", "/api/v1/openapi.json", **{"-": e(200, anon=200)}),  # the schema holds no figures
    row("GET", "/admin/api-tokens", **{"-": only("M", 200)}),
    row("POST", "/admin/api-tokens", **{"-": only("M", 422)}),  # no name
    row("POST", "/admin/api-tokens/{token_id}/revoke", token=only("M", 303)),
]


# -- the world ----------------------------------------------------------------------------------------
@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, dict[str, Any]]  # id kind -> path parameter -> value
    token: str = ""  # the API token K holds


def build_world(engine, settings) -> World:
    """Two businesses with an open and a closed round each, a respondent, a pending joiner, two
    courses, an invitation, an agreed action, a mail; one password hash for everybody (hashing eleven
    would cost seconds per world)."""
    _empty_tables(engine)
    hashed = accounts.HASHER.hash("correct-horse-battery")
    with Session(engine, expire_on_commit=False) as s:
        def person(name: str, role: str) -> User:
            user = User(email=f"{name.lower()}@example.vn", password_hash=hashed, role=role, language="en")
            s.add(user)
            s.commit()
            return user

        users = {name: person(name, role) for name, role in (
            ("A", "owner"), ("B", "owner"), ("R", "owner"), ("P", "owner"), ("T1", "trainer"), ("T1b", "trainer"),
            ("T2", "trainer"), ("D", "department"), ("M", "admin"), ("U", "owner"), ("M2", "admin"))}
        x, y = make_business(s, users["A"]), make_business(s, users["B"])
        make_business(s, users["U"])
        x_closed, y_closed = submitted(s, x, users["A"]), submitted(s, y, users["B"])
        x_open = start(s, x, users["A"])
        start(s, y, users["B"])
        open_round = s.get(AssessmentRound, x_open.round_id)
        token = rounds.invite(session=s, round_=open_round, by=users["A"], label="IT lead")
        respondent_copy = rounds.accept(session=s, token=token, user=users["R"])
        answer_all(s, respondent_copy, x, pick=0)  # A's draft stays empty: submitting it is refused
        live_token = rounds.invite(session=s, round_=open_round, by=users["A"])
        people.ask_to_join(session=s, user=users["P"], tax_code=x.tax_code)
        request = s.exec(select(JoinRequest)).one()
        today = utcnow().date()
        form = {"name": "Course", "instrument": "quick-check", "starts_on": today.isoformat(),
                "ends_on": (today + timedelta(days=60)).isoformat()}
        c1 = cohorts.create(session=s, trainer=users["T1"], form={**form, "co_trainers": "t1b@example.vn"})
        c2 = cohorts.create(session=s, trainer=users["T2"], form={**form, "co_trainers": ""})
        cohorts.join(session=s, cohort=c1, business=x, by=users["A"], lang="en", now=utcnow())
        cohorts.join(session=s, cohort=c2, business=y, by=users["B"], lang="en", now=utcnow())
        action = CohortAction(cohort_id=c1.id, business_id=x.id, dimension_id="customers", text="Try e-invoices",
                              created_by=users["T1"].id)
        s.add(action)
        message = mail.send(session=s, settings=settings, to="a@example.vn", subject="Hello", body="Hi", kind="test")
        pending = signup.start(session=s, settings=settings, email="new@example.vn", password="long-enough-password",
                               display_name="", language="en", next_url="/", client="world")
        reset = resets.request(session=s, settings=settings, email="a@example.vn", language="en", client="world")
        issued = api_tokens.issue(session=s, admin=users["M2"], name="statistics", client="world")
        assert reset is not None and reset.token
        job_params = {"instrument": "quick-check", "version": "1.0", "period": "2026-Q2", "k": 5}
        failed_job = ExportJob(kind="microdata", requested_by=users["D"].id, params=job_params, status="failed")
        done_job = ExportJob(kind="microdata", requested_by=users["D"].id, params=job_params, status="done",
                             file_path="exports/world.csv", rows_total=0)
        s.add_all([failed_job, done_job])
        (settings.data_dir / "exports").mkdir(parents=True, exist_ok=True)
        (settings.data_dir / "exports" / "world.csv").write_bytes(b"instrument\r\n")
        users["U"].disabled_at = utcnow()
        s.add(users["U"])
        s.commit()
        version = x_closed.instrument_version
        published = Filters("quick-check", version, "2025-Q1")  # a period with nothing in it: frozen as refused
        snapshot = CitySnapshot(instrument_id="quick-check", instrument_version=version, period=published.period, k=5,
                                body=json.dumps(city_snapshots.encode(city_dashboard.dashboard(s, published, 5))))
        s.add(snapshot)
        s.commit()
        ids: dict[str, dict[str, Any]] = {
            "-": {},
            "X": {"business_id": x.id, "instrument_id": "quick-check", "version": version, "request_id": request.id},
            "Y": {"business_id": y.id, "instrument_id": "quick-check", "version": version, "request_id": request.id},
            "Xd": {"assessment_id": x_open.id, "number": 1, "question_id": "cus01", "kind": "radar"},
            "Xr": {"assessment_id": respondent_copy.id, "number": 1, "question_id": "cus01", "kind": "radar"},
            "Xc": {"assessment_id": x_closed.id, "number": 1, "question_id": "cus01", "kind": "radar"},
            "Xo": {"round_id": x_open.round_id},
            "Xk": {"round_id": x_closed.round_id},
            "live": {"token": live_token, "code": c1.join_code},
            "self": {"user_id": users["M"].id},
            "other": {"user_id": users["B"].id},
            "mail": {"message_id": message.id},
            "signup": {"token": pending.token},
            "json": {"fmt": "json"},
            "choice": {"purpose": "statistics"},
            "reset": {"token": reset.token},
            "C1x": {"cohort_id": c1.id, "business_id": x.id, "action_id": action.id, "kind": "levels",
                    "table": "members", "fmt": "csv"},
            "C1y": {"cohort_id": c1.id, "business_id": y.id, "action_id": action.id, "kind": "levels",
                    "table": "members", "fmt": "csv"},
            "C2y": {"cohort_id": c2.id, "business_id": y.id, "action_id": action.id, "kind": "levels",
                    "table": "members", "fmt": "csv"},
            "city": {"kind": "levels", "table": "sections", "fmt": "csv"},
            "snap": {"snapshot_id": snapshot.id, "kind": "levels", "table": "sections", "fmt": "csv"},
            "token": {"token_id": issued.token.id},
            "job": {"job_id": failed_job.id},
            "jobdone": {"job_id": done_job.id},
        }
        assert y_closed.id and s.exec(select(Assessment)).all()
        return World(users, ids, issued.secret)


def _fill(path: str, kind: str, ids: dict[str, dict[str, Any]]) -> str:
    """The path with the id kind's values; ``missing`` and ``huge`` put their number in every id and
    a made-up value in every token or code."""
    values = dict(ids.get(kind, {}))
    out = path.replace(":int", "")
    for name in [p.split("}")[0] for p in out.split("{")[1:]]:
        if kind in ("missing", "huge"):
            number = MISSING_ID if kind == "missing" else HUGE_ID
            value = values.get(name) or {"token": "no-such-token", "code": "NOSUCH22", "kind": "radar",
                                         "question_id": "cus01", "instrument_id": "quick-check", "version": "1.0",
                                         "table": "members", "fmt": "csv"}.get(name, number)
        else:
            value = values[name]
        out = out.replace("{" + name + "}", str(value))
    return out


class People:
    """A logged-in browser per person, through a session made directly (no password hashing)."""

    def __init__(self, app, engine, world: World) -> None:
        self.browsers: dict[str, Browser] = {}
        with Session(engine, expire_on_commit=False) as s:
            for name in EVERYONE:
                browser = Browser(app, follow_redirects=False)
                if name == "K":
                    browser.headers["Authorization"] = f"Bearer {world.token}"
                elif name != "anon":
                    user = world.users[name]
                    browser.cookies.set(SESSION_COOKIE, accounts.start_session(session=s, user=user, days=1))
                browser.get("/healthz")
                self.browsers[name] = browser

    def call(self, who: str, method: str, path: str, form: dict[str, str]) -> int:
        browser = self.browsers[who]
        if method == "GET":
            return browser.get(path).status_code
        return browser.submit(path, form).status_code


def _routes(app) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside, from its route table (included routers too)."""
    found = []

    def walk(routes) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                walk(inner.routes)
            elif getattr(route, "methods", None):
                found.extend((m, route.path.replace(":int", "")) for m in sorted(route.methods - {"HEAD"}))

    walk(app.routes)
    return found


def test_every_route_has_a_row(app):
    declared = {(r.method, r.path) for r in ROWS}
    routes = set(_routes(app))
    assert sorted(routes - declared) == [], "routes without a row in the matrix: say who may call them"
    assert sorted(declared - routes) == [], "rows for routes the app no longer has"


def _changes(row: Row, expected: int) -> bool:
    """A cell that may change the world (a state-changing call that should succeed) runs in a fresh one."""
    return row.method == "POST" and expected < 400 and row.path not in ("/language",)


def test_every_cell_answers_as_the_table_says(app, engine, settings):
    world = build_world(engine, settings)
    everyone = People(app, engine, world)
    wrong: list[str] = []
    later: list[tuple[Row, str, str, int]] = []
    cells = 0
    for r in ROWS:
        for kind, table in r.cells.items():
            assert set(table) == set(EVERYONE), f"{r.method} {r.path} {kind}: a cell per person"
            for who, expected in table.items():
                if _changes(r, expected) and who not in ("anon", "U", "K"):
                    later.append((r, kind, who, expected))
                    continue
                if r.method == "POST" and r.path == "/logout":
                    continue  # it ends the session: run it last, below
                got = everyone.call(who, r.method, _fill(r.path, kind, world.ids), r.form)
                cells += 1
                if got != expected:
                    wrong.append(f"{r.method} {r.path} [{kind}] as {who}: {got}, expected {expected}")
    for r, kind, who, expected in later:  # each in a world of its own
        world = build_world(engine, settings)
        fresh = People(app, engine, world)
        got = fresh.call(who, r.method, _fill(r.path, kind, world.ids), r.form)
        cells += 1
        if got != expected:
            wrong.append(f"{r.method} {r.path} [{kind}] as {who}: {got}, expected {expected} (fresh world)")
    assert cells > 1000
    assert wrong == [], f"{len(wrong)} of {cells} cells:\n" + "\n".join(wrong)


@pytest.fixture
def settings(database_url, tmp_path):
    from assessment.settings import Settings

    return Settings(database_url=database_url, default_language="en", data_dir=tmp_path)
