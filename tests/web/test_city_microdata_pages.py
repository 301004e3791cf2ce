"""The department's record-level export on the web (/city/microdata): a small export downloads at
once, a large one becomes a background job whose progress the page polls and whose file downloads
when done (the same bytes as the stream, bar its generation time), a job cut by a restart is marked
failed and can be restarted, who sees which job, audit, and bad input.

The city is tests/assessment/test_city_microdata.py's worked example (k = 5): 15 businesses of
2026-Q2, 11 rows exported (G / micro 6, * / micro 5), 4 dropped.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import Session, select

from assessment import accounts
from assessment.models import AuditEvent, ExportJob, User, utcnow
from assessment.settings import Settings
from tests.assessment.test_city_microdata import HEADER, build, expected_row, parse
from tests.factories import PASSWORD, login

FORM = {"instrument": "quick-check", "version": "1.0", "period": "2026-Q2"}
QUERY = "instrument=quick-check&version=1.0&period=2026-Q2"
ROWS = [*(expected_row("G", "micro", s) for s in (10, 20, 30, 40, 50, 60)),
        *(expected_row("*", "micro", s) for s in (15, 25, 45, 65, 70))]


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(database_url=database_url, default_language="en", data_dir=tmp_path)


@pytest.fixture
def city(session):
    build(session)
    return session


def person(client, session, email: str, role: str):
    accounts.create_user(session=session, email=email, password=PASSWORD, role=role, language="en")
    assert login(client, email).status_code == 303
    return client


@pytest.fixture
def department(client, session):
    return person(client, session, "dept@example.vn", "department")


def large_exports_are_jobs(app, rows: int = 5) -> None:
    """More than ``rows`` rows make a background job (the setting, lowered for the test)."""
    app.state.settings = app.state.settings.model_copy(update={"microdata_job_rows": rows})


def finish(job_id: int) -> None:
    """Wait for the job's thread, if it is still running (bounded: a join with a timeout)."""
    for thread in threading.enumerate():
        if thread.name == f"export-job-{job_id}":
            thread.join(timeout=60)
            assert not thread.is_alive(), "the export job did not finish within a minute"


def jobs(engine) -> list[ExportJob]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(select(ExportJob).order_by(ExportJob.id)).all())


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def without_generated_at(data: bytes) -> list[str]:
    return [line for line in data.decode("utf-8-sig").split("\r\n") if not line.startswith("# generated_at: ")]


# -- a small export ---------------------------------------------------------------------------------------
def test_the_page_has_the_filters_and_the_button(city, department):
    page = soup(department.get(f"/city/microdata?{QUERY}"))
    form = page.select_one("form.microdata-export")
    assert form["method"] == "post" and form["action"] == "/city/microdata"
    fields = {i["name"]: i["value"] for i in form.select("input[type=hidden]")}
    assert fields.pop("csrf_token") and fields == FORM
    assert page.select_one("select[name=period] option[selected]")["value"] == "2026-Q2"
    assert page.select_one("#export-jobs").get("hx-trigger") is None  # nothing runs: no polling


def test_a_small_export_downloads_at_once(city, department, engine):
    response = department.submit("/city/microdata", FORM)
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="city-microdata-quick-check-1.0-2026-Q2.csv"' in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    meta, header, rows = parse(response.content)
    assert header == HEADER and rows == ROWS
    assert (meta["period"], meta["rows"], meta["dropped"], meta["min_cell"]) == ("2026-Q2", "11", "4", "5")
    assert jobs(engine) == []
    with Session(engine, expire_on_commit=False) as s:
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "city.microdata")).all()
    assert [(e.object_type, e.object_id) for e in events] == [("city", "quick-check/1.0/2026-Q2")]


def test_other_filters_are_ignored_and_bad_ones_get_a_400(city, department):
    response = department.submit("/city/microdata", {**FORM, "vsic_section": "C", "ward": "00004"})
    assert parse(response.content)[2] == ROWS  # the export takes the period's whole city
    for bad in ({"period": "2026-Q5"}, {"instrument": "nope"}, {"version": "9.9"}, {"period": "9" * 80}):
        assert department.submit("/city/microdata", {**FORM, **bad}).status_code == 400, bad
        query = "&".join(f"{k}={v}" for k, v in {**FORM, **bad}.items())
        assert department.get(f"/city/microdata?{query}").status_code == 400, bad


# -- a large one: a background job --------------------------------------------------------------------------
def test_a_large_export_runs_as_a_job_and_its_file_is_the_stream(city, department, engine, app, tmp_path):
    streamed = department.submit("/city/microdata", FORM).content
    large_exports_are_jobs(app)
    response = department.submit("/city/microdata", FORM)
    assert response.status_code == 303 and response.headers["location"] == f"/city/microdata?{QUERY}"
    (job,) = jobs(engine)
    assert (job.kind, job.params, job.rows_total) == ("microdata", {**FORM, "k": 5}, 11)
    finish(job.id)
    (job,) = jobs(engine)
    assert (job.status, job.rows_done, job.error) == ("done", 11, None)
    assert (tmp_path / job.file_path).is_file()
    page = soup(department.get(f"/city/microdata?{QUERY}"))
    row = page.select_one(f"#job-{job.id}")
    assert row["data-status"] == "done" and "11 of 11" in row.get_text(" ", strip=True)
    link = row.select_one("a[download]")["href"]
    download = department.get(link)
    assert download.status_code == 200 and download.headers["cache-control"] == "no-store"
    assert 'filename="city-microdata-quick-check-1.0-2026-Q2.csv"' in download.headers["content-disposition"]
    assert without_generated_at(download.content) == without_generated_at(streamed)
    assert parse(download.content)[2] == ROWS
    with Session(engine, expire_on_commit=False) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert actions == ["city.microdata", "city.microdata_job", "city.microdata_file"]


def test_asking_twice_while_it_runs_starts_one_job(city, department, engine, app):
    large_exports_are_jobs(app)
    with Session(engine, expire_on_commit=False) as s:
        dept = s.exec(select(User).where(User.email == "dept@example.vn")).one()
        s.add(ExportJob(kind="microdata", requested_by=dept.id, params={**FORM, "k": 5}, status="running",
                        rows_total=11, rows_done=5))
        s.commit()
    assert department.submit("/city/microdata", FORM).status_code == 303
    assert len(jobs(engine)) == 1


def test_the_list_polls_while_a_job_runs_and_shows_its_progress(city, department, engine):
    with Session(engine, expire_on_commit=False) as s:
        dept = s.exec(select(User).where(User.email == "dept@example.vn")).one()
        job = ExportJob(kind="microdata", requested_by=dept.id, params={**FORM, "k": 5}, status="running",
                        rows_total=200_000, rows_done=35_000)
        s.add(job)
        s.commit()
    fragment = department.get(f"/city/microdata?{QUERY}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    section = soup(fragment).select_one("section#export-jobs")
    assert section["hx-trigger"] == "every 2s" and section["hx-get"] == f"/city/microdata?{QUERY}"
    row = section.select_one(f"#job-{job.id}")
    assert row.select_one("progress")["value"] == "35000" and "35,000 of 200,000" in row.get_text(" ", strip=True)
    assert row.select_one("a[download]") is None  # not ready yet
    assert department.get(f"/city/microdata/jobs/{job.id}/download").status_code == 404
    with Session(engine, expire_on_commit=False) as s:
        s.get(ExportJob, job.id).status = "failed"
        s.commit()
    assert soup(department.get(f"/city/microdata?{QUERY}")).select_one("#export-jobs").get("hx-trigger") is None


def test_a_job_cut_by_a_restart_is_marked_failed_and_can_be_restarted(city, department, engine, tmp_path):
    with Session(engine, expire_on_commit=False) as s:
        dept = s.exec(select(User).where(User.email == "dept@example.vn")).one()
        job = ExportJob(kind="microdata", requested_by=dept.id, params={**FORM, "k": 5}, status="running",
                        rows_total=11, rows_done=5, updated_at=utcnow() - timedelta(minutes=11))
        s.add(job)
        s.commit()
    row = soup(department.get(f"/city/microdata?{QUERY}")).select_one(f"#job-{job.id}")
    assert row["data-status"] == "failed" and "Interrupted: the worker running it stopped" in row.get_text(" ",
                                                                                                   strip=True)
    restart = row.select_one("form")["action"]
    assert department.submit(restart).status_code == 303
    finish(job.id)
    (done,) = jobs(engine)
    assert (done.status, done.attempt, done.rows_done) == ("done", 2, 11)
    assert parse(department.get(f"/city/microdata/jobs/{job.id}/download").content)[2] == ROWS
    assert department.submit(restart).status_code == 409  # done: nothing to restart


# -- who sees a job ---------------------------------------------------------------------------------------------
def _others_job(engine) -> int:
    with Session(engine, expire_on_commit=False) as s:
        other = User(email="other.dept@example.vn", password_hash="x", role="department", language="en")
        s.add(other)
        s.flush()
        job = ExportJob(kind="microdata", requested_by=other.id, params={**FORM, "k": 5}, status="failed",
                        error="interrupted")
        s.add(job)
        s.commit()
        return job.id


def test_another_department_account_does_not_see_the_job_and_an_admin_does(city, department, engine, new_client,
                                                                          session):
    job_id = _others_job(engine)
    page = soup(department.get(f"/city/microdata?{QUERY}"))
    assert page.select(f"#job-{job_id}") == []
    assert department.submit(f"/city/microdata/jobs/{job_id}/restart").status_code == 404
    assert department.get(f"/city/microdata/jobs/{job_id}/download").status_code == 404
    admin = person(new_client(), session, "admin@example.vn", "admin")
    assert soup(admin.get(f"/city/microdata?{QUERY}")).select(f"#job-{job_id}") != []


@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_owners_and_trainers_get_404(city, client, session, engine, role):
    job_id = _others_job(engine)
    person(client, session, "x@example.vn", role)
    assert client.get(f"/city/microdata?{QUERY}").status_code == 404
    assert client.submit("/city/microdata", FORM).status_code == 404
    assert client.submit(f"/city/microdata/jobs/{job_id}/restart").status_code == 404
    assert client.get(f"/city/microdata/jobs/{job_id}/download").status_code == 404
    assert jobs(engine)[0].status == "failed"  # the restart did nothing
