"""Load on the web app with PostgreSQL: a workshop of owners answering at once, then saturation
against baselines measured in the same run.

    python benchmarks/bench_load.py [--database-url URL] [--workers 2 4] [--owners 200]
                                    [--duration 120] [--saturation 6] [--rounds 5] [--clients 64] [--quick]

Without ``--database-url`` it starts a throwaway PostgreSQL cluster (``tests.harness.Cluster``, made
as ``scripts/test.sh`` makes the test suite's: ``initdb`` in a temporary directory, as the
unprivileged user ``dxmtest`` when run as root, on a free port, ``fsync=off``) and removes it at the
end. With a URL it migrates that database, adds its own owners (e-mails
``bench-<run>-NNNN@bench.dxmaturity.vn``) and deletes them and their businesses again at the end.

Seeding goes through the app's own services: each owner (one password hash for all: argon2 is slow)
registers a business (``businesses.create_business``: the business and its ``business_member`` row
as owner) and opens a round of the quick-check (``rounds.open_round``: the open ``assessment_round``
and the owner's draft copy, ``respondent_id`` the owner).

For each worker count it starts ``dxm serve --workers N`` (``tests.harness.dxm_serve``, the server
harness the crash test uses too) and measures:

* workshop: every owner logs in (a bounded number at a time: argon2 is deliberately slow) and opens
  their assessment ("page (first open)": this includes the cold start of each new worker, which loads
  the questionnaires on first use); then for ``--duration`` seconds each one answers a random question
  every 2-5 s (uniform), and before one answer in four moves to another page. Latency of autosaves and
  of pages ("page", "autosave": the rows the target applies to), separately.
* saturation: ``--clients`` clients autosave in a loop for ``--saturation`` seconds → requests/s;
  then the same clients at the same concurrency drive a bare FastAPI app under uvicorn with the same
  worker count (written to a temporary directory by this script, running beside the idle app):
  ``POST /upsert/{copy}/{question}`` and ``GET /hello`` (JSON). The bare upsert is the floor of an
  autosave: it runs the app's own write statement, ``assessment.answers.PG_SAVE`` (lock the draft
  copy, upsert the answer when it differs, touch the copy, count the answers), through
  ``assessment.db.run_on_driver`` on a psycopg connection in autocommit mode, on the same copies of
  the same database, with the same parameters (the asked questions' ids, computed once here); as many
  connections per worker as the app's pool (``--pool``), kept in a plain queue. What the floor leaves
  out is everything else an autosave does: the login lookup and the access policy
  (``access.LOGIN_AND_COPY``), the answer's validation against its question, the CSRF check, the
  SQLAlchemy pool, security headers, logging and the HTML reply (it joins the chosen ids with "|" and
  returns JSON). ``--rounds`` rounds take turns this way, so a slow spell of a
  shared machine lowers both sides of a round's ratio; the report shows the median round.

Each saturation row also shows the server's CPU (all its processes) and PostgreSQL's CPU per answered
request, read from /proc over the same window: unlike requests/s, these barely move when the shared
host slows down, and they say where the two cores went.

Targets: workshop p99 < 100 ms with 0 errors; autosave ≥ 50 % of the bare upsert's requests/s.
The load generator runs on the same machine (one Python process, httpx + asyncio); its CPU share is
printed, because on a small machine it takes CPU from the server, most visibly for ``/hello``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app's packages, and tests.harness (tests/ is a namespace package)

from sqlalchemy import delete, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from assessment import accounts, businesses, layout, migrate  # noqa: E402
from assessment import rounds as round_service  # noqa: E402
from assessment.db import make_engine  # noqa: E402
from assessment.models import Business, BusinessMember, User  # noqa: E402
from assessment.settings import Settings  # noqa: E402
from tests import harness  # noqa: E402
from tests.harness import Cluster, Server  # noqa: E402

if Path(harness.__file__).resolve().parent != ROOT / "tests":  # another distribution's "tests" package
    sys.exit(f"tests.harness came from {harness.__file__}, not {ROOT / 'tests'}")

PASSWORD = "bench-password-2026"
BUSINESS_FORM = {
    "name": "Công ty TNHH Bench", "tax_code": "0100233488", "ward_code": "00070", "vsic_section": "G",
    "employees": "8", "revenue_bn": "5", "capital_bn": "2",
}
LOGIN_CONCURRENCY = 8  # each login verifies an argon2 hash (64 MiB, ~0.1-0.3 s of CPU)
READY_TIMEOUT = 120.0  # s; workers import the whole app (matplotlib, numpy) on start
WARMUP = 1.0  # s of saturation traffic not counted (0.5 s with --quick)
SATURATION_TIMEOUT = 10.0  # s; a slower answer counts as an error
TARGET_P99_MS = 100.0
TARGET_UPSERT_SHARE = 0.5

BARE_APP = '''
"""A bare FastAPI app: the least any web app does for a JSON answer, and the floor of an autosave:
the app's own write statement (assessment.answers.PG_SAVE) on psycopg, in autocommit mode, and nothing
else (no login, access policy, validation, CSRF, SQLAlchemy pool or HTML)."""
import os
import queue
import threading
from datetime import UTC, datetime

import psycopg
from fastapi import FastAPI, Form
from psycopg.rows import namedtuple_row

from assessment.answers import PG_SAVE
from assessment.db import run_on_driver

DSN = os.environ["BENCH_BARE_DSN"]
POOL_SIZE = int(os.environ.get("BENCH_BARE_POOL", "10"))
ASKED = os.environ["BENCH_BARE_ASKED"].split(",")  # the asked questions' ids, as the app counts them
app = FastAPI()
_idle = queue.LifoQueue()
_lock = threading.Lock()
_opened = 0


def _acquire():
    global _opened
    try:
        return _idle.get_nowait()
    except queue.Empty:
        pass
    with _lock:
        may_open = _opened < POOL_SIZE
        if may_open:
            _opened += 1
    if may_open:
        return psycopg.connect(DSN, autocommit=True)
    return _idle.get(timeout=30)


def _discard(connection):
    global _opened
    with _lock:
        _opened -= 1
    connection.close()


@app.get("/hello")
async def hello():
    return {"hello": "world"}


@app.post("/upsert/{copy_id}/{question_id}")
def upsert(copy_id: int, question_id: str, answer: list[str] = Form(...)):
    value = "|".join(answer)
    params = {"copy_id": copy_id, "question_id": question_id, "value": value, "now": datetime.now(UTC),
              "asked": ASKED}
    connection = _acquire()
    try:
        with connection.cursor(row_factory=namedtuple_row) as cursor:
            row = run_on_driver(cursor, PG_SAVE, params).fetchone()
    except Exception:
        _discard(connection)
        raise
    _idle.put(connection)
    return {"saved": value, "draft": row.is_draft, "answered": row.others + 1}
'''


# ------------------------------------------------------------------------------------------ helpers

def libpq_dsn(url: str) -> str:
    """postgresql+psycopg://... → postgresql://... for psycopg itself."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def check_local(url: str) -> None:
    host = make_url(url).host or ""
    if host not in ("127.0.0.1", "localhost", "::1", "") and not host.startswith("/"):
        sys.exit(f"refusing to load a non-local database host: {host!r} (only 127.0.0.1)")


def pctl(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (float("nan"),) * 3  # type: ignore[return-value]
    p50, p95, p99 = np.percentile(np.asarray(values), [50, 95, 99])
    return float(p50), float(p95), float(p99)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, list[str]]:
    """pid → the fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError), open(f"/proc/{entry}/stat", encoding="ascii") as f:
                found[int(entry)] = f.read().rsplit(")", 1)[1].split()
    return found


def cpu_seconds(select) -> dict[int, float]:  # (pid, fields) → bool
    """User + system CPU seconds of the processes ``select`` picks, by pid."""
    return {pid: (int(f[11]) + int(f[12])) / CLOCK_TICKS for pid, f in _processes().items() if select(pid, f)}


def sched_seconds(select) -> tuple[float, float]:  # (pid, fields) → bool
    """(seconds on a CPU, seconds runnable but waiting for one) of every thread of the processes
    ``select`` picks, from /proc/<pid>/task/<tid>/schedstat (threads that ended are not counted)."""
    ran = waited = 0.0
    for pid, f in _processes().items():
        if not select(pid, f):
            continue
        with contextlib.suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError, ValueError), open(f"/proc/{pid}/task/{tid}/schedstat",
                                                                    encoding="ascii") as stat:
                    run_ns, wait_ns, *_ = stat.read().split()
                    ran, waited = ran + int(run_ns) / 1e9, waited + int(wait_ns) / 1e9
    return ran, waited


@dataclass(frozen=True)
class Contention:
    """Over the workshop's answering phase: CPU seconds and seconds spent waiting for a CPU (runnable,
    not running) of the server's and PostgreSQL's threads, and the host's load average at its end. A
    wait that is large beside the CPU time says the latency was the host's queue for its cores."""

    wall: float
    server_cpu: float
    server_wait: float
    database_cpu: float
    database_wait: float
    load: float


def in_group(pgid: int):
    """A server and its workers: the process group it was started in."""
    return lambda _pid, f: int(f[2]) == pgid


def postgres_of(cluster: Cluster):
    """The cluster's postmaster and its children (backends, WAL writer, ...); nothing for a database
    that is not ours (``--database-url``)."""
    master = cluster.postmaster_pid() if cluster.started else None
    return lambda pid, f: master is not None and (pid == master or int(f[1]) == master)


# ------------------------------------------------------------------------------------------ seeding

@dataclass(frozen=True)
class QuestionSpec:
    id: str
    page: int
    multi: bool
    options: tuple[str, ...]
    allow_na: bool

    def pick(self, rng: random.Random) -> list[str]:
        if self.allow_na and rng.random() < 0.1:
            return ["na"]
        if self.multi:
            return rng.sample(self.options, rng.randint(1, min(3, len(self.options))))
        return [rng.choice(self.options)]


@dataclass(frozen=True)
class Owner:
    email: str
    assessment_id: int


@dataclass(frozen=True)
class Seeded:
    owners: list[Owner]
    questions: list[QuestionSpec]
    n_pages: int
    asked: list[str]  # the ids of the questions asked of the seeded businesses (one sector and size)


def seed(url: str, n: int, tag: str) -> Seeded:
    """N owners (one password hash for all), each with a business and an open round of the
    quick-check holding their own draft copy, made by the app's own services."""
    migrate.upgrade(url)
    password_hash = accounts.HASHER.hash(PASSWORD)
    # tax codes from a point of their own per run, skipping any a database given by URL has already
    codes = harness.tax_codes(start=int(tag, 16) % 9_000_000, prefix="09")
    engine = make_engine(url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            users = [User(email=f"bench-{tag}-{i:04d}@bench.dxmaturity.vn", password_hash=password_hash,
                          role="owner", language="en") for i in range(n)]
            session.add_all(users)
            session.commit()
            owners, business = [], None
            for user in users:
                for code in itertools.islice(codes, 1000):
                    try:
                        business = businesses.create_business(session=session, owner=user,
                                                              form={**BUSINESS_FORM, "tax_code": code})
                        break
                    except businesses.AlreadyRegistered:
                        continue
                else:
                    raise RuntimeError("no free tax code for a bench business")
                copy = round_service.open_round(session=session, business=business, user=user,
                                                instrument_id="quick-check")
                owners.append(Owner(user.email, copy.id))
            instrument = round_service.instrument_of(copy)
            pages = layout.pages(instrument, business.vsic_section, business.size_class)
            asked = layout.asked_ids(instrument, business.vsic_section, business.size_class)
    finally:
        engine.dispose()
    questions = [QuestionSpec(q.id, p.number, q.type == "multi", tuple(o.id for o in q.options), q.allow_na)
                 for p in pages for q in p.questions]
    return Seeded(owners, questions, len(pages), asked)


def unseed(url: str, tag: str) -> None:
    """Delete this run's owners and their businesses (which takes their rounds, copies and answers)."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            ids = list(session.exec(select(User.id).where(User.email.like(f"bench-{tag}-%"))).scalars())
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                owned = select(BusinessMember.business_id).where(BusinessMember.user_id.in_(chunk))
                session.exec(delete(Business).where(Business.id.in_(owned)))  # cascades to rounds and copies
                session.exec(delete(User).where(User.id.in_(chunk)))  # cascades to logins and memberships
            session.commit()
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------ load

@dataclass
class Recorder:
    contention: Contention | None = None
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, ms: float) -> None:
        self.latencies.setdefault(kind, []).append(ms)

    def error(self, kind: str, what: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        seen = self.samples.setdefault(kind, [])
        if len(seen) < 3 and what not in seen:
            seen.append(what)

    def row(self, kind: str) -> tuple[int, float, float, float, int]:
        values = self.latencies.get(kind, [])
        return (len(values), *pctl(values), self.errors.get(kind, 0))


async def timed(rec: Recorder, kind: str, request, ok: tuple[int, ...] = (200,)) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = await request
    except httpx.HTTPError as exc:
        rec.add(kind, (time.perf_counter() - started) * 1000)
        rec.error(kind, f"{type(exc).__name__}: {exc}"[:120])
        return None
    rec.add(kind, (time.perf_counter() - started) * 1000)
    if response.status_code not in ok:
        rec.error(kind, f"HTTP {response.status_code}")
    return response


def new_client(base: str, cookies: httpx.Cookies | None = None, timeout: float = 30.0) -> httpx.AsyncClient:
    # keep-alive shorter than uvicorn's 5 s, so an idle owner never reuses a connection the server closes
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=1, keepalive_expiry=4.0)
    return httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits, cookies=cookies)


def saturation_client(base: str, headers: dict[str, str]) -> httpx.AsyncClient:
    """A client for saturation, the same for the app and the bare app: one kept-alive connection."""
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base, timeout=SATURATION_TIMEOUT, limits=limits, headers=headers)


def answer_path(owner: Owner, q: QuestionSpec) -> str:
    return f"/assessments/{owner.assessment_id}/answers/{q.id}"


def autosave(client: httpx.AsyncClient, owner: Owner, q: QuestionSpec, rng: random.Random):
    return client.post(answer_path(owner, q), data={"answer": q.pick(rng)},
                       headers={"HX-Request": "true", "X-CSRF-Token": client.cookies.get("dxm_csrf") or ""})


async def log_in(client: httpx.AsyncClient, owner: Owner, rec: Recorder) -> bool:
    await timed(rec, "login form", client.get("/login"))
    csrf = client.cookies.get("dxm_csrf") or ""
    response = await timed(rec, "login", client.post("/login", data={
        "email": owner.email, "password": PASSWORD, "csrf_token": csrf}), ok=(303,))
    if response is None or response.status_code != 303 or not client.cookies.get("dxm_session"):
        return False
    opened = await timed(rec, "page (first open)", client.get(f"/assessments/{owner.assessment_id}/pages/0"))
    return opened is not None and opened.status_code == 200


Inside = list[tuple[httpx.AsyncClient, Owner]]  # the logged-in owners, each with their browser


async def workshop(base: str, owners: list[Owner], questions: list[QuestionSpec], n_pages: int,
                   duration: float, seed_value: int, meters: Meters) -> tuple[Recorder, Inside, float]:
    rec = Recorder()
    clients = [new_client(base) for _ in owners]
    gate = asyncio.Semaphore(LOGIN_CONCURRENCY)

    async def enter(client: httpx.AsyncClient, owner: Owner) -> bool:
        async with gate:
            return await log_in(client, owner, rec)

    started = time.perf_counter()
    try:
        logged = await asyncio.wait_for(
            asyncio.gather(*(enter(c, o) for c, o in zip(clients, owners, strict=True))), timeout=600)
    except BaseException:
        await asyncio.gather(*(c.aclose() for c in clients))
        raise
    login_seconds = time.perf_counter() - started
    by_page = [[q for q in questions if q.page == p] for p in range(n_pages)]
    deadline = time.monotonic() + duration
    max_actions = int(duration / 2) + 2

    async def owner_loop(index: int, client: httpx.AsyncClient, owner: Owner) -> None:
        rng = random.Random(seed_value * 100_003 + index)
        page = 0
        for _ in range(max_actions):
            pause = rng.uniform(2.0, 5.0)
            if time.monotonic() + pause >= deadline:
                break
            await asyncio.sleep(pause)
            if rng.random() < 0.25:  # moves to another part of the questionnaire first
                page = rng.randrange(n_pages)
                await timed(rec, "page", client.get(f"/assessments/{owner.assessment_id}/pages/{page}"))
            await timed(rec, "autosave", autosave(client, owner, rng.choice(by_page[page]), rng))

    inside = [(c, o) for c, o, ok in zip(clients, owners, logged, strict=True) if ok]
    await asyncio.gather(*(c.aclose() for c, ok in zip(clients, logged, strict=True) if not ok))
    try:
        before, began = (sched_seconds(meters.server), sched_seconds(meters.database)), time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(owner_loop(i, c, o) for i, (c, o) in enumerate(inside))),
                               timeout=duration + 120)
        (server, database), wall = (sched_seconds(meters.server), sched_seconds(meters.database)), time.monotonic()
        rec.contention = Contention(wall - began, server[0] - before[0][0], server[1] - before[0][1],
                                    database[0] - before[1][0], database[1] - before[1][1], os.getloadavg()[0])
    except BaseException:
        await asyncio.gather(*(c.aclose() for c, _owner in inside))
        raise
    return rec, inside, login_seconds


@dataclass
class Rate:
    rps: float
    count: int
    errors: int
    p50: float
    p99: float
    client_cpu: float  # the load generator's CPU seconds per wall second
    server_us: float  # the server's CPU (all its processes) per answered request, µs
    database_us: float  # PostgreSQL's CPU per answered request, µs (nan for a database not ours)


@dataclass(frozen=True)
class Meters:
    """Which processes are the server and which the database, for CPU per request."""

    server: object
    database: object


async def saturate(make_request, n_clients: int, seconds: float, meters: Meters) -> Rate:
    """n_clients loops, each sending its next request as soon as the last one is answered. Requests/s
    counts the answers within the window; latency and errors count every request started in it (a
    request still waiting when the window closes counts, and fails after SATURATION_TIMEOUT). The
    server's and the database's CPU over the same window, per answered request, show where the
    cores went, whatever the host's speed at the moment."""
    latencies: list[float] = []
    answered = 0
    errors = 0
    cpu0 = time.process_time()
    begin = time.monotonic()
    measure_from = begin + WARMUP
    end = measure_from + seconds

    async def loop(index: int) -> None:
        nonlocal answered, errors
        rng = random.Random(index)
        for _ in range(1_000_000):
            now = time.monotonic()
            if now >= end:
                break
            started = time.perf_counter()
            try:
                response = await make_request(index, rng)
                failed = response.status_code // 100 != 2
            except httpx.HTTPError:
                failed = True
            if now >= measure_from:
                latencies.append((time.perf_counter() - started) * 1000)
                errors += failed
                answered += not failed and time.monotonic() <= end

    readings: list[tuple[dict[int, float], dict[int, float]]] = []

    async def read_cpu() -> None:
        for at in (measure_from, end):
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            readings.append((cpu_seconds(meters.server), cpu_seconds(meters.database)))

    await asyncio.wait_for(asyncio.gather(read_cpu(), *(loop(i) for i in range(n_clients))),
                           timeout=WARMUP + seconds + SATURATION_TIMEOUT + 30)
    wall = time.monotonic() - begin
    cpu = (time.process_time() - cpu0) / wall
    p50, _, p99 = pctl(latencies)
    (server0, db0), (server1, db1) = readings

    def per_request(before: dict[int, float], after: dict[int, float]) -> float:
        if not after or not answered:
            return float("nan")
        return 1e6 * sum(t - before.get(pid, 0.0) for pid, t in after.items()) / answered

    return Rate(answered / seconds, len(latencies), errors, p50, p99, cpu, per_request(server0, server1),
                per_request(db0, db1))


async def saturate_app(base: str, inside: Inside, questions: list[QuestionSpec],
                       n_clients: int, seconds: float, meters: Meters) -> Rate:
    """Client i autosaves as owner i (modulo the owners logged in), sending that owner's cookies as a
    fixed header: httpx's cookie jar would cost the load generator (on the same cores) more CPU per
    request than some of the server's steps, and only on this side of the comparison."""
    users = [inside[i % len(inside)] for i in range(n_clients)]
    clients = [saturation_client(base, {
        "Cookie": "; ".join(f"{name}={value}" for name, value in c.cookies.items()),
        "HX-Request": "true", "X-CSRF-Token": c.cookies.get("dxm_csrf") or "",
    }) for c, _owner in users]

    def request(i: int, rng: random.Random):
        q = rng.choice(questions)
        return clients[i].post(answer_path(users[i][1], q), data={"answer": q.pick(rng)})

    try:
        return await saturate(request, n_clients, seconds, meters)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


async def saturate_bare(base: str, path: str, owners: list[Owner], questions: list[QuestionSpec], n_clients: int,
                        seconds: float, meters: Meters) -> Rate:
    clients = [saturation_client(base, {}) for _ in range(n_clients)]

    def request(i: int, rng: random.Random):
        if path == "/hello":
            return clients[i].get("/hello")
        q = rng.choice(questions)
        return clients[i].post(f"/upsert/{owners[i % len(owners)].assessment_id}/{q.id}", data={"answer": q.pick(rng)})

    try:
        return await saturate(request, n_clients, seconds, meters)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))


Round = tuple[Rate, Rate, Rate]  # dxm autosave, bare upsert, bare hello


async def run_phases(app: Server, bare: Server, database: object, owners: list[Owner], questions: list[QuestionSpec],
                     n_pages: int, args: argparse.Namespace, seed_value: int) -> tuple[Recorder, float, list[Round]]:
    """The workshop on the app, then saturation rounds that take turns between the app and the bare
    app (both running, the idle one waiting): a slow spell of a shared machine then lowers both
    sides of a round's ratio instead of only one, and the median round is the figure."""
    on_app, on_bare = Meters(in_group(app.pgid), database), Meters(in_group(bare.pgid), database)
    rec, inside, login_seconds = await workshop(app.base, owners, questions, n_pages, args.duration, seed_value,
                                                on_app)
    rounds: list[Round] = []
    try:
        if not inside:
            raise RuntimeError(f"no owner could log in: {rec.samples!r}")
        for _ in range(args.rounds):
            app_rate = await saturate_app(app.base, inside, questions, args.clients, args.saturation, on_app)
            upsert = await saturate_bare(bare.base, "/upsert", owners, questions, args.clients, args.saturation,
                                         on_bare)
            hello = await saturate_bare(bare.base, "/hello", owners, questions, args.clients, args.saturation,
                                        on_bare)
            rounds.append((app_rate, upsert, hello))
    finally:
        await asyncio.gather(*(c.aclose() for c, _owner in inside))
    return rec, login_seconds, rounds


def share(rate: Rate, baseline: Rate) -> float:
    return rate.rps / baseline.rps if baseline.rps else float("nan")


def round_errors(rounds: list[Round]) -> int:
    return sum(rate.errors for round_ in rounds for rate in round_)


def median_round(rounds: list[Round]) -> Round:
    """The round whose autosave ÷ bare upsert is the median."""
    ranked = sorted(rounds, key=lambda r: share(r[0], r[1]))
    return ranked[(len(ranked) - 1) // 2]


# ------------------------------------------------------------------------------------------ main

def fmt_ms(value: float) -> str:
    return "-" if value != value else f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def main() -> None:  # one linear script
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", help="a PostgreSQL URL on 127.0.0.1 (default: a throwaway cluster)")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--owners", type=int, default=200)
    ap.add_argument("--duration", type=float, default=120.0, help="workshop seconds")
    ap.add_argument("--saturation", type=float, default=6.0, help="seconds per saturation measurement")
    ap.add_argument("--rounds", type=int, default=5, help="saturation rounds, taking turns between the apps")
    ap.add_argument("--clients", type=int, default=64, help="concurrent clients for saturation")
    ap.add_argument("--pool", type=int, default=Settings.model_fields["db_pool_size"].default,
                    help="database connections per worker, for the app (DXM_DB_POOL_SIZE) and the bare app")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--quick", action="store_true", help="20 s workshop, 50 owners, 4 s saturation")
    args = ap.parse_args()
    if args.quick:
        global WARMUP
        WARMUP = 0.5
        args.duration, args.owners, args.saturation = 20.0, min(args.owners, 50), min(args.saturation, 4.0)
    if args.database_url:
        check_local(args.database_url)

    def interrupted(_signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    t_start = time.perf_counter()
    cluster = Cluster()
    servers: list[Server] = []
    log_dir = tempfile.mkdtemp(prefix="dxm-bench-logs-")
    bare_dir = tempfile.mkdtemp(prefix="dxm-bench-bare-")
    Path(bare_dir, "bare_app.py").write_text(textwrap.dedent(BARE_APP), encoding="utf-8")
    tag = secrets.token_hex(3)
    url = args.database_url
    seeded = False
    results = []
    try:
        if url is None:
            url = cluster.start()
            print(f"throwaway PostgreSQL on 127.0.0.1:{cluster.port} (fsync=off, max_connections=300)", flush=True)
        print(f"seeding {args.owners} owners (business, owner membership, open round with the owner's draft "
              "quick-check copy each)...", flush=True)
        seeded = True
        data = seed(url, args.owners, tag)
        owners, questions, n_pages = data.owners, data.questions, data.n_pages
        env = {"DXM_DB_POOL_SIZE": str(args.pool), "PYTHONUNBUFFERED": "1"}
        bare_env = {**os.environ, "BENCH_BARE_DSN": libpq_dsn(url), "BENCH_BARE_POOL": str(args.pool),
                    "BENCH_BARE_ASKED": ",".join(data.asked),
                    "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
        for n in args.workers:
            app = harness.dxm_serve(url, workers=n, log_dir=log_dir, env=env, ready_timeout=READY_TIMEOUT)
            servers.append(app)
            boot = app.start()
            bare_port = harness.free_port()
            bare = Server(f"bare-{n}w", [sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1",
                                         "--port", str(bare_port), "--workers", str(n), "--log-level", "warning",
                                         "--no-access-log"], env=bare_env, log_dir=log_dir, port=bare_port,
                          cwd=bare_dir, ready_path="/hello", ready_timeout=READY_TIMEOUT)
            servers.append(bare)
            bare.start()
            print(f"[{n} workers] dxm serve answered after {boot:.1f}s; {len(owners)} owners log in, then "
                  f"{args.duration:.0f}s of workshop, then {args.rounds} saturation rounds...", flush=True)
            rec, login_seconds, rounds = asyncio.run(
                run_phases(app, bare, postgres_of(cluster), owners, questions, n_pages, args, args.seed + n))
            app.stop()
            bare.stop()
            print(f"[{n} workers] logins took {login_seconds:.0f}s; autosave ÷ bare upsert by round: "
                  + ", ".join(f"{share(a, u):.2f} ({a.rps:.0f}/{u.rps:.0f})" for a, u, _h in rounds)
                  + f" ({time.perf_counter() - t_start:.0f}s so far)", flush=True)
            results.append((n, rec, login_seconds, rounds))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping everything", file=sys.stderr)
    finally:
        for server in servers:
            server.stop()
        if seeded and args.database_url:
            with contextlib.suppress(Exception):
                unseed(url, tag)
        cluster.stop()
        shutil.rmtree(bare_dir, ignore_errors=True)
    report(results, args, time.perf_counter() - t_start, log_dir)
    clean = results and all(not rec.errors and not round_errors(rounds) for _, rec, _, rounds in results)
    if clean:  # keep the server logs only when something went wrong
        shutil.rmtree(log_dir, ignore_errors=True)


def report(results: list, args: argparse.Namespace, elapsed: float, log_dir: str) -> None:
    if not results:
        print(f"no results (server logs in {log_dir})")
        return
    print()
    print(f"Workshop: {args.owners} owners, one answer every 2-5 s each for {args.duration:.0f} s "
          f"(target: p99 < {TARGET_P99_MS:.0f} ms and 0 errors)")
    print(f"{'workers':>7} {'request':<18} {'count':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6}  "
          "target")
    for n, rec, login_seconds, *_ in results:
        for kind in ("login form", "login", "page (first open)", "page", "autosave"):
            count, p50, p95, p99, errors = rec.row(kind)
            target = ""
            if kind in ("page", "autosave"):
                target = "met" if p99 < TARGET_P99_MS and errors == 0 and count else "MISSED"
            elif kind == "login":
                target = f"({login_seconds:.1f} s for all, {LOGIN_CONCURRENCY} at a time)"
            print(f"{n:>7} {kind:<18} {count:>6} {fmt_ms(p50):>7} {fmt_ms(p95):>7} {fmt_ms(p99):>7} {errors:>6}  "
                  f"{target}")
            for sample in rec.samples.get(kind, []):
                print(f"{'':>8}   e.g. {sample}")
        if (c := rec.contention) is not None:
            print(f"{'':>8} over the {c.wall:.0f} s of answering: server {c.server_cpu:.1f} s on a CPU, "
                  f"{c.server_wait:.1f} s waiting for one; PostgreSQL {c.database_cpu:.1f} s on a CPU, "
                  f"{c.database_wait:.1f} s waiting; host load average {c.load:.1f} at the end "
                  f"({os.cpu_count()} CPUs)")
    print()
    print(f"Saturation: {args.clients} concurrent clients, {args.saturation:.0f} s each after {WARMUP:g} s warm-up, "
          f"the median of {args.rounds} rounds "
          f"(target: autosave ≥ {TARGET_UPSERT_SHARE:.0%} of bare upsert)")
    print(f"{'workers':>7} {'endpoint':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'client CPU':>10} "
          f"{'server µs/req':>13} {'db µs/req':>9}")
    for n, _rec, _login, rounds in results:
        app_rate, upsert, hello = median_round(rounds)
        for name, rate in (("dxm autosave", app_rate), ("bare upsert", upsert), ("bare hello", hello)):
            print(f"{n:>7} {name:<16} {rate.rps:>7.0f} {fmt_ms(rate.p50):>7} {fmt_ms(rate.p99):>7} {rate.errors:>6} "
                  f"{rate.client_cpu:>9.0%} {fmt_ms(rate.server_us):>13} {fmt_ms(rate.database_us):>9}")
        errors = round_errors(rounds)
        verdict = "met" if share(app_rate, upsert) >= TARGET_UPSERT_SHARE and errors == 0 else "MISSED"
        print(f"{n:>7} autosave ÷ bare upsert = {share(app_rate, upsert):.2f}  ({verdict}; median of "
              f"{len(rounds)} rounds, {errors} errors in all);  autosave ÷ hello = {share(app_rate, hello):.2f}")
    print()
    print(f"total {elapsed:.0f} s (server logs in {log_dir}, removed when nothing failed)")


if __name__ == "__main__":
    main()
