"""Large exports written in the background: the ``export_job`` table and the thread that writes one.

An export too large to stream while its requester waits (the city's record-level export above
``DXM_MICRODATA_JOB_ROWS`` rows) becomes a row here, and a thread started by the request writes its
file under ``DXM_DATA_DIR``/exports. Everything the pages show (status, rows done of rows total, the
download once done) is read from the row, so every worker shows the same, and nothing lives in a
worker's memory.

* The thread has an engine of its own (two connections: one reads the export in one snapshot, the
  other commits the progress), so a long export never holds the web pool's few connections.
* **Heartbeat.** A running job writes its progress (and ``updated_at``) every ``HEARTBEAT_ROWS``
  rows. A job still ``running`` whose heartbeat is older than ``DXM_EXPORT_JOB_STALE_MINUTES`` lost
  its worker (a restart or a crash: the thread died with its process) and is marked failed when
  jobs are next read (``mark_stale``); its requester can restart it. (A worker that starts cannot
  fail every running job at once: with several workers, another may be running it.)
* **Attempts.** A restart raises ``attempt``; a run writes only while the row still has its attempt
  and is running, so a run declared dead that wakes up stops instead of overwriting a newer one.
* The file is written to a temporary name and renamed when complete: a job is ``done`` only with
  its whole file, a failed one leaves none.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from assessment import exports
from assessment.city import microdata
from assessment.city.aggregates import Filters
from assessment.db import make_engine
from assessment.messages import N_
from assessment.models import ExportJob, User, utcnow

KINDS = ("microdata",)
ACTIVE = ("queued", "running")
HEARTBEAT_ROWS = 5000
EXPORTS_DIR = "exports"
MAX_ERROR = 2000
STALE = N_("Interrupted: the worker running it stopped (a restart?). Restart it.")  # pages translate it
log = logging.getLogger("dxm.export_jobs")


class JobLost(Exception):
    """The run no longer owns its row (marked failed as stale, or restarted): it stops writing."""


def microdata_params(filters: Filters, k: int) -> dict[str, Any]:
    return {"instrument": filters.instrument, "version": filters.version, "period": filters.period, "k": k}


def create(*, session: Session, user: User, kind: str, params: dict[str, Any], rows_total: int) -> ExportJob:
    """A queued job of ``user``'s, committed (the thread that runs it reads it from the database)."""
    if kind not in KINDS:
        raise ValueError(f"unknown export kind {kind!r}")
    job = ExportJob(kind=kind, params=params, requested_by=user.id, rows_total=rows_total)  # type: ignore[arg-type]
    session.add(job)
    session.commit()
    return job


def active_like(session: Session, user: User, kind: str, params: dict[str, Any]) -> ExportJob | None:
    """``user``'s queued or running job of the same export, if any (asking twice starts it once)."""
    jobs = session.exec(select(ExportJob).where(col(ExportJob.requested_by) == user.id, col(ExportJob.kind) == kind,
                                                col(ExportJob.status).in_(ACTIVE))).all()
    return next((j for j in jobs if j.params == params), None)


def mark_stale(session: Session, *, minutes: int, now: datetime | None = None) -> int:
    """Mark failed every running job whose heartbeat is older than ``minutes`` (module docstring);
    how many. Committed."""
    now = now or utcnow()
    result = session.execute(
        update(ExportJob).where(col(ExportJob.status) == "running",
                                col(ExportJob.updated_at) < now - timedelta(minutes=minutes))
        .values(status="failed", error=STALE,
                updated_at=now, finished_at=now))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def restart(*, session: Session, job: ExportJob, k: int) -> ExportJob:
    """A failed job queued again as a new attempt (progress and error cleared), under today's ``k``
    (the rule may have been tightened since). ValueError if it has not failed."""
    if job.status != "failed":
        raise ValueError(f"only a failed job can be restarted; this one is {job.status}")
    job.params = {**job.params, "k": k}
    job.status, job.attempt, job.rows_done, job.error = "queued", job.attempt + 1, 0, None
    job.file_path, job.finished_at, job.updated_at = None, None, utcnow()
    session.add(job)
    session.commit()
    return job


def file_of(data_dir: Path, job: ExportJob) -> Path | None:
    """The finished job's file, if it is done and its file is there."""
    if job.status != "done" or not job.file_path:
        return None
    path = data_dir / job.file_path
    return path if path.is_file() else None


def download_name(job: ExportJob) -> str:
    p = job.params
    return f"city-{job.kind}-{p.get('instrument')}-{p.get('version')}-{p.get('period')}.csv"


# -- the run ----------------------------------------------------------------------------------------
def start(*, url: str, data_dir: Path, job: ExportJob) -> threading.Thread:
    """Run ``job`` (its current attempt) in a thread of its own, named ``export-job-<id>`` (a test
    joins it); the thread opens its own engine on ``url``."""
    thread = threading.Thread(target=run, kwargs={"url": url, "data_dir": data_dir, "job_id": job.id,
                                                   "attempt": job.attempt},
                              name=f"export-job-{job.id}", daemon=True)
    thread.start()
    return thread


def run(*, url: str, data_dir: Path, job_id: int, attempt: int, now: datetime | None = None) -> None:
    """Write the job's file; the row ends ``done`` or ``failed`` (with the error's text)."""
    engine = make_engine(url, pool_size=2)
    try:
        _run(engine, data_dir, job_id, attempt, now or utcnow())
    except JobLost:
        log.info("export job %s attempt %s: superseded, stopped", job_id, attempt)
    except Exception as exc:  # whatever went wrong is the job's result, shown to its requester
        log.exception("export job %s failed", job_id)
        _set(engine, job_id, attempt, status="failed", error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR],
             finished_at=utcnow())
    finally:
        engine.dispose()


def _set(engine: Engine, job_id: int, attempt: int, *, statuses: Sequence[str] = ("running",),
         **values: Any) -> None:
    """Update the row if this run still owns it, committed at once; JobLost if it does not."""
    with Session(engine) as session:
        result = session.execute(update(ExportJob).where(
            col(ExportJob.id) == job_id, col(ExportJob.attempt) == attempt, col(ExportJob.status).in_(statuses))
            .values(updated_at=utcnow(), **values))
        session.commit()
    if not result.rowcount:  # type: ignore[attr-defined]
        raise JobLost


def _run(engine: Engine, data_dir: Path, job_id: int, attempt: int, now: datetime) -> None:
    _set(engine, job_id, attempt, statuses=("queued",), status="running")
    with Session(engine) as session:
        job = session.get(ExportJob, job_id)
        if job is None:  # deleted since it was claimed (its account erased): nothing to write
            raise JobLost
        params = dict(job.params)
    filters = Filters(params["instrument"], params["version"], params["period"])
    relative = f"{EXPORTS_DIR}/{job_id}-{attempt}-microdata.csv"
    target = data_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    try:
        with engine.connect() as connection:
            read = microdata.snapshot(connection)
            planned = microdata.plan(read, filters, int(params["k"]))
            _set(engine, job_id, attempt, rows_total=planned.rows)
            table = microdata.table(read, planned, now)
            rows = _heartbeat(table.rows, engine, job_id, attempt)
            with partial.open("wb") as out:
                for chunk in exports.iter_csv(
                        exports.Table(table.columns, rows, table.metadata), metadata_lines=True):
                    out.write(chunk)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _set(engine, job_id, attempt, status="done", rows_done=planned.rows, file_path=relative, finished_at=utcnow())


def _heartbeat(rows: Iterable[Sequence[Any]], engine: Engine, job_id: int, attempt: int) -> Iterator[Sequence[Any]]:
    """The rows, writing the progress every ``HEARTBEAT_ROWS`` (which stops the run once it lost its row)."""
    for done, row in enumerate(rows, start=1):
        yield row
        if done % HEARTBEAT_ROWS == 0:
            _set(engine, job_id, attempt, rows_done=done)
