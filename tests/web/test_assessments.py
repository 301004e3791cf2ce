"""Taking an assessment over HTTP: autosave, bad answers, completeness, submit once, ownership."""

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment import answers, layout, rounds
from assessment.models import Answer, Assessment, DimensionResult
from tests.factories import answer_all, login, make_business, make_owner


@pytest.fixture
def owned(client, session):
    owner = make_owner(session)
    business = make_business(session, owner)
    login(client)
    response = client.submit(f"/businesses/{business.id}/assessments", {"instrument": "quick-check"})
    assert response.status_code == 303
    assessment = session.exec(select(Assessment)).one()
    return assessment, business


def first_question(assessment, business):
    return layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]


def test_pages_show_one_dimension_with_progress_and_help(client, owned):
    assessment, business = owned
    page = BeautifulSoup(client.get(f"/assessments/{assessment.id}/pages/0").text, "html.parser")
    instrument = rounds.instrument_of(assessment)
    first_dimension = layout.pages(instrument, business.vsic_section, business.size_class)[0]
    assert len(page.select("fieldset.question")) == len(first_dimension.questions)
    assert page.select_one("progress")["value"] == "0"
    assert page.select_one(".help") is not None
    assert client.get(f"/assessments/{assessment.id}/pages/99").status_code == 404


def test_autosave_stores_the_answer_and_is_idempotent(client, session, owned):
    assessment, business = owned
    q = first_question(assessment, business)
    url = f"/assessments/{assessment.id}/answers/{q.id}"
    stamps = []
    for _ in range(2):
        response = client.hx(url, {"answer": q.options[0].id})
        assert response.status_code == 200 and "Saved" in response.text
        assert 'id="progress"' in response.text and 'hx-swap-oob="true"' in response.text
        session.expire_all()
        answer_stamp = session.exec(select(Answer)).one().updated_at
        stamps.append((answer_stamp, session.get(Assessment, assessment.id).updated_at))
    rows = session.exec(select(Answer)).all()
    assert [(r.question_id, r.value) for r in rows] == [(q.id, q.options[0].id)]
    assert stamps[0] == stamps[1]  # the repeated save wrote nothing


@pytest.mark.parametrize(
    ("answer", "message"),
    [(["nope"], "Unknown answer."), (["na"], "Not applicable")],
)
def test_bad_answers_change_nothing(client, session, owned, answer, message):
    assessment, business = owned
    instrument = rounds.instrument_of(assessment)
    asked = layout.applicable(instrument, business.vsic_section, business.size_class)
    q = next(q for q in asked if not q.allow_na and q.type == "single")
    response = client.hx(f"/assessments/{assessment.id}/answers/{q.id}", {"answer": answer})
    assert response.status_code == 422 and message in response.text
    assert session.exec(select(Answer)).all() == []


def test_two_options_for_a_single_choice_and_unknown_question(client, session, owned):
    assessment, business = owned
    instrument = rounds.instrument_of(assessment)
    q = next(q for q in layout.applicable(instrument, business.vsic_section, business.size_class) if q.type == "single")
    two = [("answer", q.options[0].id), ("answer", q.options[1].id)]
    assert client.hx(f"/assessments/{assessment.id}/answers/{q.id}", two).status_code == 422
    assert client.hx(f"/assessments/{assessment.id}/answers/zzz", {"answer": "a"}).status_code == 422
    assert session.exec(select(Answer)).all() == []


def test_multi_choice_answers_are_stored_in_option_order(client, session, owned):
    assessment, business = owned
    instrument = rounds.instrument_of(assessment)
    q = next(q for q in layout.applicable(instrument, business.vsic_section, business.size_class) if q.type == "multi")
    picked = [("answer", q.options[1].id), ("answer", q.options[0].id)]
    assert client.hx(f"/assessments/{assessment.id}/answers/{q.id}", picked).status_code == 200
    assert session.exec(select(Answer)).one().value == f"{q.options[0].id}|{q.options[1].id}"
    assert client.hx(f"/assessments/{assessment.id}/answers/{q.id}", {}).status_code == 200  # untick all
    assert session.exec(select(Answer)).all() == []


def test_submit_lists_exactly_the_missing_questions(client, session, owned):
    assessment, business = owned
    instrument = rounds.instrument_of(assessment)
    asked = layout.applicable(instrument, business.vsic_section, business.size_class)
    for q in asked[:-2]:
        answers.save(session=session, draft=assessment, business=business, question_id=q.id,
                                chosen=[q.options[0].id])
    response = client.submit(f"/assessments/{assessment.id}/submit")
    assert response.status_code == 422
    missing = [a.get("href") for a in BeautifulSoup(response.text, "html.parser").select(".missing li a")]
    assert [m.split("#q-")[1] for m in missing] == [q.id for q in asked[-2:]]
    session.refresh(assessment)
    assert assessment.status == "draft"


def test_submit_freezes_once_and_double_submit_does_nothing(client, session, owned):
    assessment, business = owned
    answer_all(session, assessment, business, pick=1)
    response = client.submit(f"/assessments/{assessment.id}/submit")
    assert response.status_code == 303 and response.headers["location"].endswith("/results")
    session.refresh(assessment)
    first = (assessment.status, assessment.submitted_at, assessment.overall_score)
    assert first[0] == "submitted" and assessment.instrument_version == "1.0"
    assert client.submit(f"/assessments/{assessment.id}/submit").status_code == 303
    session.refresh(assessment)
    assert (assessment.status, assessment.submitted_at, assessment.overall_score) == first
    n_dims = len(rounds.instrument_of(assessment).dimensions)
    assert len(session.exec(select(DimensionResult)).all()) == n_dims
    q = first_question(assessment, business)
    late = client.hx(f"/assessments/{assessment.id}/answers/{q.id}", {"answer": q.options[-1].id})
    assert late.status_code == 422 and "submitted" in late.text


def test_resume_goes_to_the_first_unanswered_page(client, session, owned):
    assessment, business = owned
    instrument = rounds.instrument_of(assessment)
    first_page = layout.pages(instrument, business.vsic_section, business.size_class)[0]
    for q in first_page.questions:
        answers.save(session=session, draft=assessment, business=business, question_id=q.id,
                                chosen=[q.options[0].id])
    assert client.get(f"/assessments/{assessment.id}").headers["location"].endswith("/pages/1")


def test_questions_not_applicable_to_the_sector_are_not_asked(session):
    from questionnaires import loader

    owner = make_owner(session)
    shop = make_business(session, owner, vsic_section="G")
    factory = make_business(session, owner, vsic_section="C")
    for instrument in loader.catalogue():
        if any(q.applies_to.sections for q in instrument.questions):
            asked_of_shop = layout.applicable(instrument, shop.vsic_section, shop.size_class)
            asked_of_factory = layout.applicable(instrument, factory.vsic_section, factory.size_class)
            assert {q.id for q in asked_of_shop} != {q.id for q in asked_of_factory}
            assert all(not q.applies_to.sections or "G" in q.applies_to.sections for q in asked_of_shop)
            break
    else:
        pytest.fail("no bundled instrument has a sector rule")


def test_a_foreign_assessment_is_404_everywhere(client, new_client, session, owned):
    assessment, business = owned
    make_owner(session, "intruder@example.vn")
    intruder = new_client()
    login(intruder, "intruder@example.vn")
    q = first_question(assessment, business)
    for url in (f"/assessments/{assessment.id}", f"/assessments/{assessment.id}/pages/0",
                f"/assessments/{assessment.id}/review", f"/assessments/{assessment.id}/results",
                f"/assessments/{assessment.id}/report.pdf", f"/assessments/{assessment.id}/charts/radar.svg"):
        assert intruder.get(url).status_code == 404, url
    assert intruder.hx(f"/assessments/{assessment.id}/answers/{q.id}", {"answer": q.options[0].id}).status_code == 404
    assert intruder.submit(f"/assessments/{assessment.id}/submit").status_code == 404
    assert intruder.submit(f"/businesses/{business.id}/assessments", {"instrument": "quick-check"}).status_code == 404
    assert session.exec(select(Answer)).all() == []
    assert len(session.exec(select(Assessment)).all()) == 1


def test_autosave_without_a_login_or_as_another_role_writes_nothing(new_client, session, owned):
    assessment, business = owned
    q = first_question(assessment, business)
    url = f"/assessments/{assessment.id}/answers/{q.id}"
    stranger = new_client()
    stranger.get("/login")  # a CSRF cookie, but no login
    logged_out = stranger.hx(url, {"answer": q.options[0].id})
    assert logged_out.status_code == 401 and logged_out.headers["HX-Redirect"] == f"/login?next={url}"
    make_owner(session, "trainer@example.vn", role="trainer")
    trainer = new_client()
    login(trainer, "trainer@example.vn")
    assert trainer.hx(url, {"answer": q.options[0].id}).status_code == 404
    assert session.exec(select(Answer)).all() == []


def test_unknown_instrument_cannot_be_started(client, session, owned):
    _, business = owned
    assert client.submit(f"/businesses/{business.id}/assessments", {"instrument": "nope"}).status_code == 404


@pytest.mark.parametrize("big", [2**31, 10**20])
def test_ids_too_large_for_the_database_are_clear_errors(client, session, owned, big):
    """An id no row can have is refused before the database sees it (PostgreSQL would fail to cast
    it to an integer; SQLite's driver cannot bind it): a 400 or a 404, never a 500."""
    assessment, business = owned
    q = first_question(assessment, business)
    for url in (f"/assessments/{big}", f"/assessments/{big}/pages/0", f"/assessments/{big}/review",
                f"/assessments/{big}/results", f"/assessments/{big}/report.pdf", f"/businesses/{big}",
                f"/businesses/{big}/history/quick-check"):
        assert client.get(url).status_code in (400, 404), url
    assert client.hx(f"/assessments/{big}/answers/{q.id}", {"answer": q.options[0].id}).status_code == 404
    assert client.submit(f"/assessments/{big}/submit").status_code in (400, 404)
    assert session.exec(select(Answer)).all() == []


def test_autosave_checks_the_csrf_token_itself(client, session, owned):
    """The autosave is a plain Starlette route, out of reach of FastAPI's app-wide CSRF dependency:
    without the token, or with another one, a logged-in owner's save is refused and writes nothing."""
    assessment, business = owned
    q = first_question(assessment, business)
    url = f"/assessments/{assessment.id}/answers/{q.id}"
    client.csrf()
    assert client.post(url, data={"answer": q.options[0].id}, headers={"HX-Request": "true"}).status_code == 403
    wrong = {"HX-Request": "true", "X-CSRF-Token": "w" * 43}
    assert client.post(url, data={"answer": q.options[0].id}, headers=wrong).status_code == 403
    assert client.post(url, data={"answer": q.options[0].id, "csrf_token": "w" * 43}).status_code == 403
    assert session.exec(select(Answer)).all() == []
    assert client.hx(url, {"answer": q.options[0].id}).status_code == 200  # with it, the save goes through
