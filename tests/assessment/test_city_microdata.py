"""The record-level export (assessment/city/microdata.py) on docs/method.md's worked example (section
11, "Record-level export"), k = 5, and the background job that writes it (assessment/export_jobs.py).

The example city, quick-check 1.0, 2026-Q2, one business per score (overall = every dimension):

* G micro: 10, 20, 30, 40, 50, 60 (6: kept as G / micro);
* C micro: 70, 15, 45 and I micro: 25, 65 (3 + 2 = 5: published as * / micro);
* C small: 35, 55 and G small: 5 (3 small ones), F medium: 80 (1): 4 left, fewer than 5: dropped.

So 11 rows of 15; with one more F medium business the 5 left would be published as * / *.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from assessment import export_jobs
from assessment.city import microdata
from assessment.city.aggregates import Filters
from assessment.models import Business, ExportJob, User, utcnow
from tests.assessment.test_city_aggregates import unit
from tests.factories import make_owner

K = 5
EXAMPLE = {("G", "micro"): [10, 20, 30, 40, 50, 60], ("C", "micro"): [70, 15, 45], ("I", "micro"): [25, 65],
           ("C", "small"): [35, 55], ("G", "small"): [5], ("F", "medium"): [80]}
HEADER = ["instrument", "version", "year", "vsic_section", "size_class", "overall_score", "overall_level",
          "customers_score", "operations_score", "data_score", "people_score", "security_score"]
NOW = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def level_of(score: float) -> str:
    return "leading" if score >= 80 else "established" if score >= 55 else "developing" if score >= 30 else "starter"


def build(session, spec=EXAMPLE) -> None:
    for (section, size), scores in spec.items():
        for score in scores:
            unit(session, section=section, size=size, score=float(score))


def expected_row(section: str, size: str, score: float) -> list[str]:
    return ["quick-check", "1.0", "2026", section, size, repr(float(score)), level_of(score), *[repr(float(score))] * 5]


def parse(data: bytes) -> tuple[dict[str, str], list[str], list[list[str]]]:
    """(metadata, header, rows) of an export: the ``# key: value`` lines, then the CSV."""
    text = data.decode("utf-8-sig")
    lines = text.split("\r\n")
    meta = dict(line[2:].split(": ", 1) for line in lines if line.startswith("# "))
    body = "\r\n".join(line for line in lines if not line.startswith("# "))
    header, *rows = list(csv.reader(io.StringIO(body)))
    return meta, header, rows


def test_the_rule_generalises_section_then_size_then_drops():
    counts = {(s, z): len(v) for (s, z), v in EXAMPLE.items()}
    groups, dropped = microdata.generalise(counts, K)
    assert [(g.vsic_section, g.size_class, g.n) for g in groups] == [("G", "micro", 6), ("*", "micro", 5)]
    assert groups[1].sources == (("C", "micro"), ("I", "micro")) and dropped == 4
    groups, dropped = microdata.generalise({**counts, ("F", "medium"): 2}, K)  # 5 left: one group * / *
    assert [(g.vsic_section, g.size_class, g.n) for g in groups][-1] == ("*", "*", 5) and dropped == 0
    assert set(groups[-1].sources) == {("C", "small"), ("G", "small"), ("F", "medium")}


def test_the_rule_at_its_limits():
    assert microdata.generalise({}, K) == ([], 0)
    assert microdata.generalise({("G", "micro"): 4}, K)[1] == 4  # the whole city under k: nothing published
    (group,), dropped = microdata.generalise({("G", "micro"): 5}, K)
    assert (group.vsic_section, group.size_class, group.n, dropped) == ("G", "micro", 5, 0)
    with pytest.raises(ValueError, match="k must be at least 1"):
        microdata.generalise({("G", "micro"): 5}, 0)


def test_the_export_of_the_worked_example(session, engine):
    build(session)
    data = b"".join(microdata.iter_csv(engine, Filters("quick-check", "1.0", "2026-Q2"), K, now=NOW))
    meta, header, rows = parse(data)
    assert header == HEADER
    assert rows == [*(expected_row("G", "micro", s) for s in (10, 20, 30, 40, 50, 60)),
                    *(expected_row("*", "micro", s) for s in (15, 25, 45, 65, 70))]  # by score, sections mixed
    assert (meta["instrument"], meta["version"], meta["period"], meta["min_cell"]) == ("quick-check", "1.0",
                                                                                       "2026-Q2", "5")
    assert (meta["rows"], meta["dropped"], meta["generated_at"]) == ("11", "4", "2026-07-01T09:00:00+07:00")
    assert "fewer than 5 times are generalised" in meta["rule"]


def test_no_name_tax_code_ward_or_id_is_exported(session, engine):
    build(session, {("G", "micro"): [40] * 5})
    data = b"".join(microdata.iter_csv(engine, Filters("quick-check", "1.0", "2026"), K, now=NOW))
    _, header, rows = parse(data)
    assert not {"name", "tax_code", "ward", "ward_code", "business_id", "round_id", "id"} & set(header)
    assert len(rows) == 5 and all(r[2] == "2026" for r in rows)  # a year's export: its year
    text = data.decode("utf-8-sig")
    businesses = session.exec(select(Business)).all()
    assert len(businesses) == 5 and "00004" not in text  # the ward's code
    for business in businesses:
        assert business.name not in text and business.tax_code not in text and f",{business.id}," not in text


def test_a_year_export_counts_each_business_once(session, engine):
    for score in (20, 30, 40, 50, 60):
        business = unit(session, section="G", score=score, when=datetime(2026, 2, 10, 3, tzinfo=UTC))
        unit(session, section="G", score=score + 1, business=business)  # a later round in Q2: the year's latest
    _, _, rows = parse(b"".join(microdata.iter_csv(engine, Filters("quick-check", "1.0", "2026"), K, now=NOW)))
    assert [float(r[5]) for r in rows] == [21.0, 31.0, 41.0, 51.0, 61.0]


# -- the background job ---------------------------------------------------------------------------------
def _job(session, **values) -> ExportJob:
    owner = (session.exec(select(User).where(User.email == "dept.job@example.vn")).first()
             or make_owner(session, "dept.job@example.vn"))
    job = ExportJob(kind="microdata", requested_by=owner.id,
                    params={"instrument": "quick-check", "version": "1.0", "period": "2026-Q2", "k": K}, **values)
    session.add(job)
    session.commit()
    return job


def test_a_job_writes_the_same_file_as_the_stream(session, engine, database_url, tmp_path):
    build(session)
    job = _job(session)
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=job.id, attempt=1, now=NOW)
    with Session(engine) as s:
        done = s.get(ExportJob, job.id)
        assert (done.status, done.rows_done, done.rows_total, done.error) == ("done", 11, 11, None)
        assert done.finished_at is not None
        path = export_jobs.file_of(tmp_path, done)
    streamed = b"".join(microdata.iter_csv(engine, Filters("quick-check", "1.0", "2026-Q2"), K, now=NOW))
    assert path is not None and path.read_bytes() == streamed
    assert [p.name for p in (tmp_path / "exports").iterdir()] == [path.name]  # no partial file left


def test_a_stale_running_job_is_marked_failed_and_its_old_run_cannot_write(session, engine, database_url,
                                                                           tmp_path):
    build(session)
    job = _job(session, status="running", updated_at=utcnow() - timedelta(minutes=11))
    assert export_jobs.mark_stale(session, minutes=10) == 1
    with Session(engine) as s:
        failed = s.get(ExportJob, job.id)
        assert failed.status == "failed" and failed.error == export_jobs.STALE
        export_jobs.restart(session=s, job=failed, k=K)
        assert (failed.status, failed.attempt, failed.error) == ("queued", 2, None)
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=job.id, attempt=1, now=NOW)  # the dead run
    with Session(engine) as s:
        assert s.get(ExportJob, job.id).status == "queued"  # untouched: attempt 2 owns it
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=job.id, attempt=2, now=NOW)
    with Session(engine) as s:
        assert s.get(ExportJob, job.id).status == "done"


def test_a_recent_running_job_is_left_alone_and_only_a_failed_one_restarts(session):
    job = _job(session, status="running")
    assert export_jobs.mark_stale(session, minutes=10) == 0
    with pytest.raises(ValueError, match="only a failed job can be restarted; this one is running"):
        export_jobs.restart(session=session, job=job, k=K)


def test_a_job_that_fails_says_why_and_leaves_no_file(session, engine, database_url, tmp_path):
    job = _job(session)
    with Session(engine) as s:
        broken = s.get(ExportJob, job.id)
        broken.params = {**broken.params, "version": "9.9"}
        s.add(broken)
        s.commit()
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=job.id, attempt=1, now=NOW)
    with Session(engine) as s:
        failed = s.get(ExportJob, job.id)
        assert failed.status == "failed" and "unknown questionnaire version 'quick-check' '9.9'" in failed.error
        assert export_jobs.file_of(tmp_path, failed) is None
    assert not (tmp_path / "exports").exists() or list((tmp_path / "exports").iterdir()) == []


def test_plan_and_rows_come_from_one_snapshot(session, engine):
    """A round closing between the plan and the rows changes neither: no group gets fewer (or more)
    rows than the plan counted, which could publish a combination rarer than k."""
    build(session)
    with engine.connect() as connection:
        read = microdata.snapshot(connection)
        planned = microdata.plan(read, Filters("quick-check", "1.0", "2026-Q2"), K)
        unit(session, section="C", size="micro", score=99.0)  # committed by another connection meanwhile
        rows = list(microdata.records(read, planned))
    assert planned.rows == len(rows) == 11 and 99.0 not in [r[5] for r in rows]


def test_a_running_job_writes_its_progress_while_it_reads(session, engine, database_url, tmp_path, monkeypatch):
    """The heartbeat commits on a second connection while the first still reads its snapshot (both
    databases allow it: PostgreSQL, and SQLite in WAL mode); a run that lost its row stops there."""
    build(session)
    monkeypatch.setattr(export_jobs, "HEARTBEAT_ROWS", 4)
    written: list[int] = []
    real_set = export_jobs._set

    def recording(engine_, job_id, attempt, **values):
        real_set(engine_, job_id, attempt, **values)
        if "rows_done" in values:
            written.append(values["rows_done"])

    monkeypatch.setattr(export_jobs, "_set", recording)
    job = _job(session)
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=job.id, attempt=1, now=NOW)
    assert written == [4, 8, 11]

    def superseded(engine_, job_id, attempt, **values):
        if values.get("rows_done") == 4:  # a restart elsewhere meanwhile: attempt 2 owns the row
            with Session(engine_) as s:
                s.get(ExportJob, job_id).attempt = 2
                s.commit()
        real_set(engine_, job_id, attempt, **values)

    monkeypatch.setattr(export_jobs, "_set", superseded)
    again = _job(session)
    export_jobs.run(url=database_url, data_dir=tmp_path, job_id=again.id, attempt=1, now=NOW)
    with Session(engine) as s:
        stopped = s.get(ExportJob, again.id)
        assert (stopped.status, stopped.rows_done, stopped.file_path) == ("running", 0, None)  # as attempt 2 left it
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == [f"{job.id}-1-microdata.csv"]
