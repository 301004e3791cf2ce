"""Business profiles over HTTP: validation next to the field, derived size, ownership (404)."""

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment.models import Business
from tests.factories import BUSINESS_FORM, login, make_business, make_owner


@pytest.fixture
def owner(client, session):
    user = make_owner(session)
    login(client)
    return user


def test_register_a_business_derives_the_size_class(client, session, owner):
    response = client.submit("/businesses", {**BUSINESS_FORM, "employees": "40", "revenue_bn": "80"})
    assert response.status_code == 303
    business = session.exec(select(Business)).one()
    assert business.size_class == "small" and business.vsic_version == "2018"
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and "Công ty TNHH Đồng Xuân" in page.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tax_code", "0100233480", "last digit does not match"),
        ("tax_code", "12345", "10 digits"),
        ("tax_code", "0100233488-000", "branch number"),
        ("ward_code", "99999", "Choose the ward or commune."),
        ("vsic_section", "Z", "Choose the main business sector."),
        ("employees", "-3", "whole number of employees"),
        ("employees", "2.5", "whole number of employees"),
        ("revenue_bn", "lots", "revenue in billion VND"),
        ("capital_bn", "nan", "capital in billion VND"),
        ("name", "", "Enter the business name"),
    ],
)
def test_wrong_input_is_shown_next_to_the_field_and_nothing_is_saved(client, session, owner, field, value, message):
    response = client.submit("/businesses", {**BUSINESS_FORM, field: value})
    assert response.status_code == 422
    error = BeautifulSoup(response.text, "html.parser").select_one(f"#{field}-error")
    assert error is not None and message in error.text
    assert session.exec(select(Business)).all() == []


def test_branch_and_household_tax_codes_are_accepted(client, session, owner):
    assert client.submit("/businesses", {**BUSINESS_FORM, "tax_code": "0314409058002"}).status_code == 303
    assert client.submit("/businesses", {**BUSINESS_FORM, "tax_code": "001085012345"}).status_code == 303
    assert sorted(b.tax_code for b in session.exec(select(Business))) == ["001085012345", "0314409058-002"]


def test_edit_and_a_foreign_business_is_404(client, session, owner):
    mine = make_business(session, owner)
    other = make_business(session, make_owner(session, "other@example.vn"), name="Other")
    assert client.get(f"/businesses/{mine.id}/edit").status_code == 200
    assert client.submit(f"/businesses/{mine.id}", {**BUSINESS_FORM, "name": "Tên mới"}).status_code == 303
    session.refresh(mine)
    assert mine.name == "Tên mới"
    for url in (f"/businesses/{other.id}", f"/businesses/{other.id}/edit", "/businesses/999999"):
        assert client.get(url).status_code == 404
    assert client.submit(f"/businesses/{other.id}", {**BUSINESS_FORM, "name": "Hijack"}).status_code == 404
    session.refresh(other)
    assert other.name == "Other"


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get("/businesses/new")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_business_page_names_questionnaires_and_says_why_fewer_questions_are_asked(client, session, owner):
    """Titles, never ids; a retail business (section G) is asked 34 of the DMAT's 36 questions, and
    the page says the other 2 are for other sectors or sizes."""
    business = make_business(session, owner, vsic_section="G")
    client.submit(f"/businesses/{business.id}/assessments", {"instrument": "dmat", "name": "2026 Q4"})
    page = BeautifulSoup(client.get(f"/businesses/{business.id}").text, "html.parser")
    choice = next(label for label in page.select("label.choice") if label.input["value"] == "dmat")
    assert "34 questions for your business" in choice.text
    assert "2 of the 36 are for other sectors or sizes" in choice.text
    row = page.select_one("table.rounds tbody tr")
    assert row.select("td")[1].text.strip() == "Digital maturity assessment (DMAT model)"
    assert "dmat" not in row.text.lower().replace("(dmat model)", "")
