"""The JSON API (``/api/v1/aggregates``) on the small city of tests/web/test_city.py: the same cells as
the dashboard and its CSV, the same suppression, the access rule (the department's login or an
admin's token; 401 and 404 as JSON), clear 400s, the OpenAPI schema of the API alone, and a fuzz of
the query parameters (hypothesis, beside tests/web/test_api_schemathesis.py's schema-driven one) that
never gets a 5xx and always gets a response of the documented shape."""

from __future__ import annotations

import csv
import io

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import Session, select

from assessment import accounts, api_tokens
from assessment.models import ApiToken, AuditEvent
from tests.factories import PASSWORD, login
from tests.web.test_city import QUERY
from web.routes.api import AggregatesOut, ErrorOut

API = "/api/v1/aggregates"


def person(client, session, role: str):
    accounts.create_user(session=session, email=f"{role}@example.vn", password=PASSWORD, role=role, language="en")
    assert login(client, f"{role}@example.vn").status_code == 303
    return client


def rows_by(body: dict, key: str) -> dict[str, dict]:
    return {r["keys"][key]: r for r in body["rows"]}


def test_the_api_gives_the_dashboards_cells(city, department):
    response = department.get(f"{API}?{QUERY}&group_by=vsic_section")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = AggregatesOut.model_validate(response.json()).model_dump()
    assert (body["instrument"], body["version"], body["period"], body["k"], body["refused"]) == (
        "quick-check", "1.0", "2026-Q2", 5, None)
    rows = rows_by(body, "vsic_section")
    assert (rows["G"]["n"], rows["G"]["suppressed"], rows["G"]["mean_overall"]) == (5, False, pytest.approx(35.8))
    assert (rows["C"]["n"], rows["C"]["suppressed"], rows["C"]["mean_overall"]) == (None, True, None)
    assert (rows["I"]["n"], rows["I"]["suppressed"]) == (None, True)
    assert body["total"]["n"] == 12 and body["total"]["mean_overall"] == pytest.approx(34.875)
    assert body["total"]["level_counts"] == {"starter": 5, "developing": None, "established": 7, "leading": None}
    # the CSV of the same table: the same cells, hidden the same way
    exported = {r["vsic_section"]: r for r in csv.DictReader(io.StringIO(
        department.get(f"/city/exports/sections.csv?{QUERY}").content.decode("utf-8-sig")))}
    for section, row in rows.items():
        assert exported[section]["businesses"] == ("" if row["n"] is None else str(row["n"])), section
        assert (exported[section]["suppressed"] == "true") == row["suppressed"], section
        mean = exported[section]["mean_overall"]
        assert (float(mean) if mean else None) == (None if row["mean_overall"] is None
                                                   else pytest.approx(row["mean_overall"])), section


def test_two_keys_and_a_filter(city, department):
    body = department.get(f"{API}?{QUERY}&group_by=ward,vsic_section&size_class=micro").json()
    assert body["group_by"] == ["ward", "vsic_section"] and body["filters"]["size_class"] == "micro"
    cell = next(r for r in body["rows"] if r["keys"] == {"ward": "00004", "vsic_section": "G"})
    assert (cell["n"], cell["mean_overall"]) == (5, pytest.approx(35.8))


def test_a_small_filter_set_is_refused_as_on_the_screen(city, department):
    body = department.get(f"{API}?{QUERY}&group_by=size_class&vsic_section=C").json()
    assert body["refused"] == "Fewer than 5 businesses match these filters, so no figures are shown for them."
    assert body["rows"] == [] and body["total"]["suppressed"] is True and body["total"]["n"] is None


@pytest.mark.parametrize(("query", "says"), [
    ("", "group_by"), ("group_by=colour", "group_by: String should match pattern"), ("group_by=ward,district", "nest"),
    ("group_by=ward&period=2026-Q9", "period"), ("group_by=ward&sector=G", "unknown parameter 'sector'"),
    ("group_by=ward&ward=123", "ward: String should match"),
    ("group_by=ward,ward", "group by one or two"), ("group_by=ward&instrument=nope", "questionnaire"),
])
def test_bad_parameters_get_a_400_saying_which(city, department, query, says):
    response = department.get(f"{API}?{query}")
    assert response.status_code == 400 and response.headers["content-type"] == "application/json"
    assert says in ErrorOut.model_validate(response.json()).detail


def test_audited_for_a_login(city, department, engine):
    department.get(f"{API}?{QUERY}&group_by=size_class")
    with Session(engine) as s:
        assert [e.object_id for e in s.exec(select(AuditEvent).where(AuditEvent.action == "city.api"))] == [
            "quick-check/1.0/2026-Q2"]


# -- who may read it ----------------------------------------------------------------------------------------
def test_nobody_logged_in_gets_401_json(client):
    response = client.get(f"{API}?group_by=ward")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in response.json()["detail"]


@pytest.mark.parametrize("role", ["owner", "trainer"])
def test_other_roles_get_404_json(client, session, role):
    person(client, session, role)
    response = client.get(f"{API}?group_by=ward")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_an_unknown_api_path_is_404_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


def test_an_admin_issues_a_token_that_reads_the_api_until_revoked(city, client, session, new_client, engine):
    admin = person(client, session, "admin")
    page = admin.submit("/admin/api-tokens", {"name": "Statistics office"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    secret = BeautifulSoup(page.text, "html.parser").select_one("#new-token").get_text(strip=True)
    assert secret.startswith("dxm_") and len(secret) > 40
    with Session(engine) as s:
        (token,) = s.exec(select(ApiToken)).all()
        assert token.token_sha256 == api_tokens.digest(secret) and token.name == "Statistics office"
        dumped = " ".join(str(v) for row in s.execute(text("SELECT * FROM api_token")).all() for v in row)
        assert secret not in dumped and secret[10:] not in dumped  # only its digest and its first characters
    program = new_client()
    headers = {"Authorization": f"Bearer {secret}"}
    body = program.get(f"{API}?{QUERY}&group_by=vsic_section", headers=headers).json()
    assert rows_by(body, "vsic_section")["G"]["n"] == 5
    assert program.get("/city", headers=headers).status_code == 303  # a token opens no page
    listing = BeautifulSoup(admin.get("/admin/api-tokens").text, "html.parser")
    assert secret not in listing.text and listing.select_one(f"#token-{token.id}") is not None
    assert admin.submit(f"/admin/api-tokens/{token.id}/revoke").status_code == 303
    refused = program.get(f"{API}?{QUERY}&group_by=vsic_section", headers=headers)
    assert refused.status_code == 401 and "invalid_token" in refused.headers["www-authenticate"]
    assert program.get(f"{API}?group_by=ward", headers={"Authorization": "Bearer dxm_forged"}).status_code == 401
    assert program.get(f"{API}?group_by=ward", headers={"Authorization": "Basic eDp5"}).status_code == 401
    with Session(engine) as s:
        actions = [e.action for e in s.exec(select(AuditEvent).where(AuditEvent.object_type == "api_token"))]
        reads = [(e.actor, e.actor_role, e.object_id)
                 for e in s.exec(select(AuditEvent).where(AuditEvent.action == "city.api"))]
    assert actions == ["api_token.create", "api_token.revoke"]
    # the token's one read is audited under the token itself, not its issuer; refused calls read nothing
    assert reads == [(f"token-{token.id}", "api_token", "quick-check/1.0/2026-Q2")]
    log = BeautifulSoup(admin.get("/admin/audit", params={"actor": f"token-{token.id}"}).text, "html.parser")
    assert [row.select("td")[1].get_text(" ", strip=True) for row in log.select("tbody tr")] == [
        f"token-{token.id} (API token)"]


def test_a_token_needs_a_name_and_only_admins_issue_them(client, session):
    admin = person(client, session, "admin")
    response = admin.submit("/admin/api-tokens", {"name": "  "})
    assert response.status_code == 422
    assert BeautifulSoup(response.text, "html.parser").select_one("#name-error") is not None
    assert admin.submit("/admin/api-tokens/999999/revoke").status_code == 404


@pytest.mark.parametrize("role", ["department", "owner"])
def test_the_token_page_is_for_admins_only(client, session, role):
    person(client, session, role)
    assert client.get("/admin/api-tokens").status_code == 404


# -- the schema ------------------------------------------------------------------------------------------------
def test_the_openapi_schema_covers_the_api_only(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert list(schema["paths"]) == ["/api/v1/aggregates"]
    operation = schema["paths"]["/api/v1/aggregates"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "group_by", "instrument", "version", "period", "vsic_section", "size_class", "ward", "district"}
    assert {"200", "400", "401", "404"} <= set(operation["responses"])
    assert "AggregatesOut" in schema["components"]["schemas"]


# -- fuzz ------------------------------------------------------------------------------------------------------
KEYS = ["ward", "district", "area", "vsic_section", "size_class", "quarter", "colour", ""]
VALUE = st.one_of(st.sampled_from(["", "quick-check", "dmat", "1.0", "2.0", "2026", "2026-Q2", "2026-Q5", "G", "C",
                                   "micro", "00004", "Quận Ba Đình", "x" * 70]),
                  st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12))


@examples(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(group_by=st.lists(st.sampled_from(KEYS), max_size=3).map(",".join),
       params=st.dictionaries(st.sampled_from(["instrument", "version", "period", "vsic_section", "size_class",
                                               "ward", "district", "level"]), VALUE, max_size=4))
def test_no_query_gets_a_server_error_and_every_answer_has_its_shape(city, department, group_by, params):
    response = department.get(API, params={"group_by": group_by, **params})
    assert response.status_code in (200, 400), (response.status_code, params, group_by)
    if response.status_code == 200:
        body = AggregatesOut.model_validate(response.json())
        for row in body.rows:  # a published cell has at least k businesses
            assert row.suppressed or (row.n is not None and row.n >= body.k)
    else:
        assert ErrorOut.model_validate(response.json()).detail
