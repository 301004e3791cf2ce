"""Rounds over HTTP: starting one, inviting a colleague by link, both answering, closing the round and
its combined result; who sees what (404 for everyone else); join requests and their rate limit; CSRF
on every new form; staff accounts kept out.

The combined result is checked against values computed by hand from answers chosen for that purpose
(quick-check 1.0: a dimension is 100 × the mean of its questions' scores, a multiple choice is the
sum of its ticks clipped to [0, 1], "na" is left out; overall is the mean of the five dimensions)."""

from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment import accounts, taxcode
from assessment.models import (
    Assessment,
    AssessmentRound,
    Business,
    BusinessMember,
    Cohort,
    CohortMember,
    CohortTrainer,
    DimensionResult,
    Invitation,
    JoinRequest,
    RoundResult,
    utcnow,
)
from tests.factories import BUSINESS_FORM, PASSWORD, TAX_CODES, login, make_business

DIMENSIONS = ("customers", "operations", "data", "people", "security")
NAMES = {"customers": "Customers", "operations": "Operations", "data": "Data", "people": "People",
         "security": "Security"}

# The colleague's answers, and their dimension scores worked out by hand
THEIRS = {"cus01": ["full"], "cus02": ["integrated"], "cus03": ["crm"],  # 1, 1, 1
          "ops01": ["einvoice", "accounting"], "ops02": ["verbal"],  # 0.2 + 0.2 = 0.4, 0
          "dat01": ["shared"], "dat02": ["monthly"],  # 0.7, 0.7
          "ppl01": ["office"], "ppl02": ["once"],  # 0.4, 0.5
          "sec01": ["manual"], "sec02": ["mfa", "antivirus", "accounts"]}  # 0.35, 0.75
THEIR_SCORES = {"customers": 100.0, "operations": 20.0, "data": 70.0, "people": 45.0, "security": 55.0}
THEIR_OVERALL = 58.0  # (100 + 20 + 70 + 45 + 55) / 5

# The owner's answers
OWNERS = {"cus01": ["none"], "cus02": ["transfer"], "cus03": ["spreadsheet"],  # 0, 0.6, 0.4
          "ops01": ["paper"], "ops02": ["tool"],  # -0.2 clipped to 0, 1
          "dat01": ["paper"], "dat02": ["rarely"],  # 0, 0
          "ppl01": ["advanced"], "ppl02": ["na"],  # 1, left out
          "sec01": ["tested"], "sec02": ["mfa", "antivirus", "accounts", "awareness"]}  # 1, 1
OWNER_SCORES = {"customers": 100 / 3, "operations": 50.0, "data": 0.0, "people": 100.0, "security": 100.0}
OWNER_OVERALL = (100 / 3 + 50 + 0 + 100 + 100) / 5  # 56.67

# The round: per dimension the mean of the two copies, the overall from those means
COMBINED = {"customers": (100 + 100 / 3) / 2, "operations": 35.0, "data": 35.0, "people": 72.5,
            "security": 77.5}
COMBINED_OVERALL = ((100 + 100 / 3) / 2 + 35 + 35 + 72.5 + 77.5) / 5  # 57.33
# levels (at least 30 developing, 55 established, 80 leading)
COMBINED_LEVELS = {"customers": "Established", "operations": "Developing", "data": "Developing",
                   "people": "Established", "security": "Established"}
SPREAD = {"customers": "33.3 – 100.0", "operations": "20.0 – 50.0", "data": "0.0 – 70.0",
          "people": "45.0 – 100.0", "security": "55.0 – 100.0"}


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def person(session, new_client, email: str, role: str = "owner", display_name: str = ""):
    """An account and a browser logged in as it."""
    user = accounts.create_user(session=session, email=email, password=PASSWORD, role=role,
                                display_name=display_name, language="en")
    browser = new_client()
    assert login(browser, email).status_code == 303
    return user, browser


def answer(browser, copy_id: int, chosen: dict[str, list[str]]) -> None:
    for question_id, options in chosen.items():
        response = browser.hx(f"/assessments/{copy_id}/answers/{question_id}", [("answer", o) for o in options])
        assert response.status_code == 200, (question_id, response.text)


def start_round(browser, business, name: str = "Spring check") -> int:
    """The owner starts an assessment; the id of their copy."""
    response = browser.submit(f"/businesses/{business.id}/assessments", {"instrument": "quick-check", "name": name})
    assert response.status_code == 303
    path = response.headers["location"]
    assert path.startswith("/assessments/") and path.endswith("/pages/0")
    return int(path.split("/")[2])


def invitation_link(browser, round_id: int, label: str = "") -> str:
    """The owner creates an invitation link on the round page; its path."""
    response = browser.submit(f"/rounds/{round_id}/invitations", {"label": label})
    assert response.status_code == 200
    link = html(response).select_one("input.invitation-link")["value"]
    assert link.startswith("http://testserver/invitations/")
    return urlsplit(link).path


def accept(browser, path: str) -> int:
    """A colleague opens the link and accepts; the id of their copy."""
    response = browser.submit(path)
    assert response.status_code == 303
    return int(response.headers["location"].split("/")[2])


def stored_scores(session, copy_id: int) -> dict[str, float | None]:
    rows = session.exec(select(DimensionResult).where(DimensionResult.assessment_id == copy_id)).all()
    return {r.dimension_id: r.score for r in rows}


def result_rows(page: BeautifulSoup) -> dict[str, tuple[str, str, str]]:
    rows = {}
    for tr in page.select("table.dimensions tbody tr"):
        cells = [td.get_text(" ", strip=True) for td in tr.select("td")]
        rows[tr.select_one("th").get_text(strip=True)] = tuple(cells)
    return rows


def round_of(session, copy_id: int) -> AssessmentRound:
    session.expire_all()
    return session.get(AssessmentRound, session.get(Assessment, copy_id).round_id)


@pytest.fixture
def owner(client, session):
    """The owner (logged in on ``client``) and their business."""
    user = accounts.create_user(session=session, email="owner@example.vn", password=PASSWORD,
                                display_name="Nguyễn Thị Lan", language="en")
    business = make_business(session, user)
    login(client)
    return user, business


def not_valid(response) -> bool:
    return response.status_code == 404 and "not valid any more" in response.text


# -- the journey -------------------------------------------------------------------------------------
def test_two_people_answer_a_round_and_see_its_combined_result(client, new_client, session, owner):
    owner_user, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    assert (round_.status, round_.name, round_.business_id) == ("open", "Spring check", business.id)
    copies = session.exec(select(Assessment).where(Assessment.round_id == round_.id)).all()
    assert [(c.id, c.respondent_id, c.status) for c in copies] == [(owner_copy, owner_user.id, "draft")]

    page = html(client.get(f"/rounds/{round_.id}"))
    assert len(page.select("table.copies tbody tr")) == 1 and page.select_one("input.invitation-link") is None
    path = invitation_link(client, round_.id, label="IT lead")
    assert "1 invitation not used yet: IT lead" in client.get(f"/rounds/{round_.id}").text

    colleague, theirs = person(session, new_client, "it@example.vn", display_name="Trần Minh")
    invitation = theirs.get(path)
    assert invitation.status_code == 200
    text = html(invitation).get_text(" ", strip=True)
    assert business.name in text and "Spring check" in text
    assert html(invitation).select_one(f'form[action="{path}"]') is not None
    their_copy = accept(theirs, path)
    assert theirs.get(f"/assessments/{their_copy}").headers["location"] == f"/assessments/{their_copy}/pages/0"
    assert session.get(BusinessMember, (business.id, colleague.id)).role == "respondent"
    copy = session.get(Assessment, their_copy)
    assert (copy.round_id, copy.respondent_id, copy.status) == (round_.id, colleague.id, "draft")
    assert theirs.get(f"/rounds/{round_.id}").status_code == 404  # no result before the round closes

    answer(theirs, their_copy, THEIRS)
    done = theirs.submit(f"/assessments/{their_copy}/submit")
    assert done.status_code == 303 and done.headers["location"] == f"/assessments/{their_copy}/results"
    assert round_of(session, their_copy).status == "open"  # the owner's copy is still to come
    assert stored_scores(session, their_copy) == pytest.approx(THEIR_SCORES)
    assert session.get(Assessment, their_copy).overall_score == pytest.approx(THEIR_OVERALL)
    assert theirs.get(f"/rounds/{round_.id}").status_code == 404

    answer(client, owner_copy, OWNERS)
    assert client.submit(f"/assessments/{owner_copy}/submit").status_code == 303
    assert round_of(session, owner_copy).status == "open"  # two copies: only the owner closes it
    assert stored_scores(session, owner_copy) == pytest.approx(OWNER_SCORES)
    assert session.get(Assessment, owner_copy).overall_score == pytest.approx(OWNER_OVERALL)
    rows = html(client.get(f"/rounds/{round_.id}")).select("table.copies tbody tr")
    assert [[td.get_text(" ", strip=True) for td in tr.select("td")][1:4] for tr in rows] == [
        ["submitted", "11 / 11", f"{OWNER_OVERALL:.1f}"], ["submitted", "11 / 11", f"{THEIR_OVERALL:.1f}"]]
    assert "Trần Minh" in rows[1].text

    closed = client.submit(f"/rounds/{round_.id}/close")
    assert closed.status_code == 303 and closed.headers["location"] == f"/rounds/{round_.id}"
    round_ = round_of(session, owner_copy)
    assert (round_.status, round_.respondents, round_.overall_level) == ("closed", 2, "established")
    assert round_.overall_score == pytest.approx(COMBINED_OVERALL)
    assert (round_.is_latest, round_.latest_in_quarter, round_.latest_in_year) == (True, True, True)
    stored = {r.dimension_id: r for r in session.exec(select(RoundResult).where(RoundResult.round_id == round_.id))}
    assert {d: r.score for d, r in stored.items()} == pytest.approx(COMBINED)
    assert {d: r.respondents for d, r in stored.items()} == {d: 2 for d in DIMENSIONS}
    assert {d: r.low for d, r in stored.items()} == pytest.approx(
        {d: min(THEIR_SCORES[d], OWNER_SCORES[d]) for d in DIMENSIONS})
    assert {d: r.high for d, r in stored.items()} == pytest.approx(
        {d: max(THEIR_SCORES[d], OWNER_SCORES[d]) for d in DIMENSIONS})

    for browser in (client, theirs):  # the owner and the colleague see the same combined result
        page = html(browser.get(f"/rounds/{round_.id}"))
        assert page.select_one(".big-score").get_text(strip=True).startswith(f"{COMBINED_OVERALL:.1f}")  # 57.3
        assert page.select_one(".level").get_text(strip=True) == "Established"
        assert "2 respondents" in page.get_text(" ", strip=True)
        assert result_rows(page) == {NAMES[d]: (f"{COMBINED[d]:.1f}", COMBINED_LEVELS[d], SPREAD[d])
                                     for d in DIMENSIONS}
    assert result_rows(page)["Customers"][0] == "66.7" and result_rows(page)["People"][0] == "72.5"

    # the colleague sees the round's result and their own copy, nothing else of the business
    page = html(theirs.get(f"/rounds/{round_.id}"))
    assert page.select_one("table.copies") is None
    assert page.select_one(f'form[action="/rounds/{round_.id}/close"]') is None
    assert "owner@example.vn" not in page.text and "Nguyễn Thị Lan" not in page.text
    assert theirs.get(f"/assessments/{their_copy}/results").status_code == 200
    for url in (f"/businesses/{business.id}", f"/businesses/{business.id}/people", f"/businesses/{business.id}/edit",
                f"/assessments/{owner_copy}/results", f"/assessments/{owner_copy}",
                f"/assessments/{owner_copy}/report.pdf", f"/businesses/{business.id}/history/quick-check"):
        assert theirs.get(url).status_code == 404, url
    assert theirs.submit(f"/rounds/{round_.id}/invitations").status_code == 404
    home = html(theirs.get("/"))
    assert home.select_one(f'a[href="/rounds/{round_.id}"]') is not None
    assert home.select_one(f'a[href="/businesses/{business.id}"]') is None
    # and the owner sees the colleague's copy
    assert client.get(f"/assessments/{their_copy}/results").status_code == 200


def test_a_link_works_once(client, new_client, session, owner):
    _, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    path = invitation_link(client, round_.id)
    first, first_browser = person(session, new_client, "first@example.vn")
    accept(first_browser, path)
    third, third_browser = person(session, new_client, "third@example.vn")
    assert not_valid(third_browser.get(path))
    assert not_valid(third_browser.submit(path))
    assert session.get(BusinessMember, (business.id, third.id)) is None
    assert session.exec(select(Assessment).where(Assessment.respondent_id == third.id)).all() == []
    assert not_valid(first_browser.submit(path))  # not even its first holder twice
    assert len(session.exec(select(Assessment).where(Assessment.round_id == round_.id)).all()) == 2
    assert "not used yet" not in client.get(f"/rounds/{round_.id}").text


def test_an_expired_link_and_a_closed_rounds_link_are_not_valid(client, new_client, session, owner):
    _, business = owner
    round_ = round_of(session, start_round(client, business))
    expired = invitation_link(client, round_.id)
    invitation = session.exec(select(Invitation)).one()
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invitation)
    session.commit()
    late, browser = person(session, new_client, "late@example.vn")
    assert not_valid(browser.get(expired)) and not_valid(browser.submit(expired))
    assert session.get(BusinessMember, (business.id, late.id)) is None
    assert not_valid(browser.get("/invitations/no-such-token"))
    fresh = invitation_link(client, round_.id)
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303
    assert not_valid(browser.get(fresh)) and not_valid(browser.submit(fresh))
    assert client.submit(f"/rounds/{round_.id}/invitations").status_code == 409  # a closed round invites nobody
    assert session.get(BusinessMember, (business.id, late.id)) is None


def test_an_owner_following_their_own_link_keeps_their_copy(client, session, owner):
    owner_user, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    assert accept(client, invitation_link(client, round_.id)) == owner_copy
    assert session.get(BusinessMember, (business.id, owner_user.id)).role == "owner"
    assert len(session.exec(select(Assessment).where(Assessment.round_id == round_.id)).all()) == 1


def test_a_round_closed_with_no_submitted_copy_has_no_result(client, session, owner):
    _, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    answer(client, owner_copy, OWNERS)  # answered, never submitted
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303
    round_ = round_of(session, owner_copy)
    assert (round_.status, round_.respondents, round_.overall_score, round_.is_latest) == ("closed", 0, None, False)
    assert session.exec(select(RoundResult)).all() == []
    page = html(client.get(f"/rounds/{round_.id}"))
    assert "closed with no submitted copy, so it has no result" in page.text
    assert page.select_one(".big-score") is None and page.select_one("table.dimensions") is None
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303  # closing again changes nothing
    late = client.hx(f"/assessments/{owner_copy}/answers/cus01", {"answer": "full"})
    assert late.status_code == 422 and "round is closed" in late.text
    refused = client.submit(f"/assessments/{owner_copy}/submit")
    assert refused.status_code == 422 and "round is closed" in refused.text
    assert session.get(Assessment, owner_copy).status == "draft"


def test_a_round_answered_alone_closes_on_submit_with_the_copys_result(client, session, owner):
    _, business = owner
    owner_copy = start_round(client, business)
    answer(client, owner_copy, OWNERS)
    submitted = client.submit(f"/assessments/{owner_copy}/submit")
    assert submitted.headers["location"] == f"/assessments/{owner_copy}/results"
    round_ = round_of(session, owner_copy)
    assert (round_.status, round_.respondents, round_.is_latest) == ("closed", 1, True)
    assert round_.overall_score == pytest.approx(OWNER_OVERALL)
    copy = session.get(Assessment, owner_copy)
    assert (copy.status, copy.overall_level, copy.respondent_role) == ("submitted", "established", "owner")
    stored = {r.dimension_id: r for r in session.exec(select(RoundResult).where(RoundResult.round_id == round_.id))}
    assert {d: r.score for d, r in stored.items()} == pytest.approx(OWNER_SCORES)
    assert {d: r.respondents for d, r in stored.items()} == {d: 1 for d in DIMENSIONS}
    assert {d: r.low for d, r in stored.items()} == pytest.approx(OWNER_SCORES)
    assert {d: r.high for d, r in stored.items()} == pytest.approx(OWNER_SCORES)
    results = html(client.get(f"/assessments/{owner_copy}/results"))
    assert results.select_one(".big-score").get_text(strip=True).startswith("56.7")
    page = html(client.get(f"/rounds/{round_.id}"))
    assert page.select_one(".big-score").get_text(strip=True).startswith("56.7")
    assert "1 respondent" in page.get_text(" ", strip=True)
    levels = {"customers": "Developing", "operations": "Developing", "data": "Starter", "people": "Leading",
              "security": "Leading"}
    assert result_rows(page) == {NAMES[d]: (f"{OWNER_SCORES[d]:.1f}", levels[d], "—") for d in DIMENSIONS}


def test_an_open_invitation_keeps_the_round_open_and_only_submitted_copies_count(client, new_client, session, owner):
    _, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    path = invitation_link(client, round_.id)
    answer(client, owner_copy, OWNERS)
    assert client.submit(f"/assessments/{owner_copy}/submit").status_code == 303
    assert round_of(session, owner_copy).status == "open"  # somebody is invited
    late, browser = person(session, new_client, "late@example.vn")
    their_copy = accept(browser, path)
    answer(browser, their_copy, {"cus01": ["full"]})  # a draft when the round closes
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303
    round_ = round_of(session, owner_copy)
    assert (round_.status, round_.respondents) == ("closed", 1)
    assert round_.overall_score == pytest.approx(OWNER_OVERALL)
    refused = browser.hx(f"/assessments/{their_copy}/answers/cus02", {"answer": "cash"})
    assert refused.status_code == 422 and "round is closed" in refused.text
    assert browser.get(f"/rounds/{round_.id}").status_code == 200  # they had a copy in the round


def test_a_stranger_gets_404_on_everything(client, new_client, session, owner):
    _, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    invitation_link(client, round_.id)
    _, stranger = person(session, new_client, "stranger@example.vn")
    make_business(session, accounts.create_user(session=session, email="s2@example.vn", password=PASSWORD))
    for url in (f"/rounds/{round_.id}", f"/businesses/{business.id}", f"/businesses/{business.id}/people",
                f"/businesses/{business.id}/edit", f"/assessments/{owner_copy}", f"/assessments/{owner_copy}/pages/0",
                f"/assessments/{owner_copy}/review", f"/assessments/{owner_copy}/results", "/rounds/999999"):
        assert stranger.get(url).status_code == 404, url
    for url in (f"/rounds/{round_.id}/invitations", f"/rounds/{round_.id}/close",
                f"/businesses/{business.id}/assessments",
                f"/assessments/{owner_copy}/submit", f"/businesses/{business.id}/join-requests/1"):
        assert stranger.submit(url, {"instrument": "quick-check", "decision": "approve"}).status_code == 404, url
    assert stranger.hx(f"/assessments/{owner_copy}/answers/cus01", {"answer": "full"}).status_code == 404
    session.expire_all()
    assert session.get(AssessmentRound, round_.id).status == "open"
    assert len(session.exec(select(Invitation)).all()) == 1
    assert len(session.exec(select(AssessmentRound)).all()) == 1
    assert session.exec(select(DimensionResult)).all() == []


def test_the_round_closes_when_the_owner_closes_it_once(client, new_client, session, owner):
    """Closing twice (a second click) changes nothing: the result stays the one frozen first."""
    _, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    _, browser = person(session, new_client, "it@example.vn")
    their_copy = accept(browser, invitation_link(client, round_.id))
    answer(browser, their_copy, THEIRS)
    assert browser.submit(f"/assessments/{their_copy}/submit").status_code == 303
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303
    first = round_of(session, owner_copy)
    assert (first.respondents, first.overall_score) == (1, pytest.approx(THEIR_OVERALL))
    assert client.submit(f"/rounds/{round_.id}/close").status_code == 303
    again = round_of(session, owner_copy)
    assert (again.closed_at, again.respondents, again.overall_score) == (first.closed_at, 1, first.overall_score)


# -- join requests -----------------------------------------------------------------------------------
def test_registering_a_known_tax_code_says_so_without_naming_its_owner(client, new_client, session, owner):
    _, business = owner
    _, other = person(session, new_client, "other@example.vn")
    response = other.submit("/businesses", {**BUSINESS_FORM, "name": "Cửa hàng Khác"})
    assert response.status_code == 409
    page = html(response)
    assert "already registered" in page.select_one("h1").text
    assert business.tax_code in page.text
    for secret in ("Nguyễn Thị Lan", "owner@example.vn", business.name):
        assert secret not in page.text, secret
    ask = page.select_one('form[action="/businesses/join-requests"] input[name="tax_code"]')
    assert ask["value"] == business.tax_code
    assert len(session.exec(select(Business)).all()) == 1


def test_ask_to_join_then_the_owner_approves(client, new_client, session, owner):
    _, business = owner
    asker, browser = person(session, new_client, "asker@example.vn", display_name="Phạm Hùng")
    registered = html(browser.submit("/businesses", dict(BUSINESS_FORM)))
    form = registered.select_one('form[action="/businesses/join-requests"]')
    fields = {i["name"]: i["value"] for i in form.select("input[name]")}
    sent = browser.post("/businesses/join-requests", data=fields)  # the page's own form, its CSRF token included
    assert sent.status_code == 200 and "Request sent" in html(sent).select_one("h1").text
    assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    (request,) = session.exec(select(JoinRequest)).all()  # asking twice makes one request
    assert (request.business_id, request.user_id, request.status) == (business.id, asker.id, "pending")

    assert "1 request to join" in client.get(f"/businesses/{business.id}").text
    people = html(client.get(f"/businesses/{business.id}/people"))
    (item,) = people.select("ul.requests li")
    assert "Phạm Hùng" in item.text and "asker@example.vn" in item.text
    action = item.select_one("form")["action"]
    assert action == f"/businesses/{business.id}/join-requests/{request.id}"
    decided = client.submit(action, {"decision": "approve"})
    assert decided.status_code == 303 and decided.headers["location"] == f"/businesses/{business.id}/people"

    session.expire_all()
    assert session.get(BusinessMember, (business.id, asker.id)).role == "respondent"
    request = session.get(JoinRequest, request.id)
    assert request.status == "approved" and request.decided_at is not None
    people = html(client.get(f"/businesses/{business.id}/people"))
    members = {tr.select("td")[1].text: tr.select("td")[2].text for tr in people.select("table tbody tr")}
    assert members == {"owner@example.vn": "owner", "asker@example.vn": "respondent"}
    assert people.select("ul.requests li") == [] and "No request waiting." in people.text
    for url in (f"/businesses/{business.id}", f"/businesses/{business.id}/people"):  # respondents don't manage
        assert browser.get(url).status_code == 404, url
    again = browser.submit("/businesses/join-requests", {"tax_code": business.tax_code})  # a member asks again:
    assert again.status_code == 200 and "Request sent" in again.text  # the same answer, and no new request
    assert len(session.exec(select(JoinRequest).where(JoinRequest.user_id == asker.id)).all()) == 1


def test_deciding_an_answered_request_again_is_404(client, new_client, session, owner):
    _, business = owner
    asker, browser = person(session, new_client, "asker@example.vn")
    assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    request = session.exec(select(JoinRequest)).one()
    action = f"/businesses/{business.id}/join-requests/{request.id}"
    assert client.submit(action, {"decision": "approve"}).status_code == 303
    assert client.submit(action, {"decision": "refuse"}).status_code == 404  # answered already
    assert client.submit(f"/businesses/{business.id}/join-requests/999999", {"decision": "refuse"}).status_code == 404
    session.expire_all()
    assert session.get(JoinRequest, request.id).status == "approved"
    assert session.get(BusinessMember, (business.id, asker.id)).role == "respondent"


def test_ask_to_join_then_the_owner_refuses(client, new_client, session, owner):
    _, business = owner
    asker, browser = person(session, new_client, "asker@example.vn")
    assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    request = session.exec(select(JoinRequest)).one()
    action = f"/businesses/{business.id}/join-requests/{request.id}"
    assert client.submit(action, {"decision": "maybe"}).status_code == 400
    assert client.submit(action, {"decision": "refuse"}).status_code == 303
    session.expire_all()
    assert session.get(JoinRequest, request.id).status == "refused"
    assert session.get(BusinessMember, (business.id, asker.id)) is None
    assert "No request waiting." in client.get(f"/businesses/{business.id}/people").text
    assert browser.get(f"/businesses/{business.id}").status_code == 404


def test_an_owner_decides_only_their_own_businesses_requests(client, new_client, session, owner):
    _, business = owner
    other_owner, other_browser = person(session, new_client, "other-owner@example.vn")
    other = make_business(session, other_owner, name="Other")
    asker, browser = person(session, new_client, "asker@example.vn")
    assert browser.submit("/businesses/join-requests", {"tax_code": other.tax_code}).status_code == 200
    request = session.exec(select(JoinRequest)).one()
    for url in (f"/businesses/{other.id}/join-requests/{request.id}",  # on a business I do not own
                f"/businesses/{business.id}/join-requests/{request.id}"):  # through my business's URL
        assert client.submit(url, {"decision": "approve"}).status_code == 404, url
    session.expire_all()
    assert session.get(JoinRequest, request.id).status == "pending"
    assert session.get(BusinessMember, (other.id, asker.id)) is None
    assert "asker@example.vn" not in client.get(f"/businesses/{business.id}/people").text


def valid_codes(count: int, start: int = 10_900_000) -> list[str]:
    """Valid 10-digit tax codes nobody registered (check digits computed)."""
    codes = []
    n = start
    while len(codes) < count:
        first_nine = f"{n:09d}"
        digit = taxcode.check_digit(first_nine)
        if digit is not None:
            codes.append(taxcode.normalise(first_nine + str(digit)))
        n += 1
    return codes


@pytest.fixture
def six_businesses(session):
    owner = accounts.create_user(session=session, email="many@example.vn", password=PASSWORD)
    return [make_business(session, owner, tax_code=code, name=f"B{i}")
            for i, code in enumerate((BUSINESS_FORM["tax_code"], *TAX_CODES[:5]))]


def test_an_unknown_tax_code_gets_the_same_answer_as_a_known_one(new_client, session, six_businesses):
    _, browser = person(session, new_client, "asker@example.vn")
    known = browser.submit("/businesses/join-requests", {"tax_code": six_businesses[0].tax_code})
    (unknown_code,) = valid_codes(1)
    unknown = browser.submit("/businesses/join-requests", {"tax_code": unknown_code})
    assert known.status_code == unknown.status_code == 200
    assert html(known).select_one("main").get_text(" ", strip=True).replace(six_businesses[0].tax_code, "CODE") == \
        html(unknown).select_one("main").get_text(" ", strip=True).replace(unknown_code, "CODE")
    assert browser.submit("/businesses/join-requests", {"tax_code": "12345"}).status_code == 400


def test_the_sixth_request_in_a_day_is_refused(new_client, session, six_businesses):
    asker, browser = person(session, new_client, "asker@example.vn")
    for business in six_businesses[:5]:
        assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    sixth = browser.submit("/businesses/join-requests", {"tax_code": six_businesses[5].tax_code})
    assert sixth.status_code == 429
    assert "too many businesses: try again in 24 hours" in html(sixth).select_one('[role="alert"]').text
    assert session.exec(select(JoinRequest).where(JoinRequest.business_id == six_businesses[5].id)).all() == []
    assert len(session.exec(select(JoinRequest).where(JoinRequest.user_id == asker.id)).all()) == 5


def test_after_the_limit_an_unknown_tax_code_gets_the_same_refusal(new_client, session, six_businesses):
    """Else the limit itself tells which codes are registered: past it, a known code is refused, an
    unknown one 'sent'."""
    _, browser = person(session, new_client, "asker@example.vn")
    for business in six_businesses[:5]:
        assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    known = browser.submit("/businesses/join-requests", {"tax_code": six_businesses[5].tax_code})
    (unknown_code,) = valid_codes(1)
    unknown = browser.submit("/businesses/join-requests", {"tax_code": unknown_code})
    assert (unknown.status_code, "too many businesses" in unknown.text) == (known.status_code, True)


def test_requests_for_unknown_codes_count_towards_the_limit(new_client, session, six_businesses):
    """The sixth request of the day is refused whichever codes the first five named."""
    _, browser = person(session, new_client, "asker@example.vn")
    for code in valid_codes(5):
        assert browser.submit("/businesses/join-requests", {"tax_code": code}).status_code == 200
    sixth = browser.submit("/businesses/join-requests", {"tax_code": six_businesses[0].tax_code})
    assert sixth.status_code == 429 and "too many businesses" in sixth.text


# -- CSRF --------------------------------------------------------------------------------------------
def test_every_new_form_needs_the_csrf_token(client, new_client, session, owner):
    owner_user, business = owner
    owner_copy = start_round(client, business)
    round_ = round_of(session, owner_copy)
    path = invitation_link(client, round_.id)
    asker, browser = person(session, new_client, "asker@example.vn")
    assert browser.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    request = session.exec(select(JoinRequest)).one()
    answer(client, owner_copy, OWNERS)
    attempts = [
        (client, f"/businesses/{business.id}/assessments", {"instrument": "quick-check"}),
        (client, f"/rounds/{round_.id}/invitations", {"label": "x"}),
        (client, f"/rounds/{round_.id}/close", {}),
        (client, f"/assessments/{owner_copy}/submit", {}),
        (client, f"/businesses/{business.id}/join-requests/{request.id}", {"decision": "approve"}),
        (browser, path, {}),
        (browser, "/businesses/join-requests", {"tax_code": TAX_CODES[0]}),
    ]
    for who, url, data in attempts:
        who.csrf()  # the cookie is there; the form does not echo it
        assert who.post(url, data=data).status_code == 403, url
        assert who.post(url, data={**data, "csrf_token": "x" * 43}).status_code == 403, url
    session.expire_all()
    assert len(session.exec(select(AssessmentRound)).all()) == 1
    assert session.get(AssessmentRound, round_.id).status == "open"
    assert len(session.exec(select(Invitation)).all()) == 1
    assert session.exec(select(Invitation)).one().used_at is None
    assert session.get(Assessment, owner_copy).status == "draft"
    assert session.get(JoinRequest, request.id).status == "pending"
    assert session.get(BusinessMember, (business.id, asker.id)) is None
    assert len(session.exec(select(JoinRequest)).all()) == 1


# -- staff accounts --------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["trainer", "department", "admin"])
def test_staff_accounts_get_404_on_every_new_route(client, new_client, session, owner, role):
    owner_user, business = owner
    closed_copy = start_round(client, business, name="Done")
    answer(client, closed_copy, OWNERS)
    assert client.submit(f"/assessments/{closed_copy}/submit").status_code == 303  # closes (alone)
    closed = round_of(session, closed_copy)
    open_copy = start_round(client, business, name="Now")
    open_ = round_of(session, open_copy)
    path = invitation_link(client, open_.id)
    staff, browser = person(session, new_client, f"{role}@example.vn", role=role)
    asker, asking = person(session, new_client, "asker@example.vn")
    assert asking.submit("/businesses/join-requests", {"tax_code": business.tax_code}).status_code == 200
    request = session.exec(select(JoinRequest)).one()
    if role == "trainer":  # even a trainer whose cohort grants the closed round: no route here shows it
        cohort = Cohort(name="Course", instrument_id="quick-check", starts_on=date.today(),
                        ends_on=date.today() + timedelta(days=60), join_code="COURSE1")
        session.add(cohort)
        session.flush()
        session.add(CohortTrainer(cohort_id=cohort.id, user_id=staff.id))
        session.add(CohortMember(cohort_id=cohort.id, business_id=business.id))
        session.commit()
    for url in (f"/rounds/{closed.id}", f"/rounds/{open_.id}", path, f"/businesses/{business.id}",
                f"/businesses/{business.id}/people", f"/assessments/{closed_copy}/results",
                f"/assessments/{open_copy}"):
        assert browser.get(url).status_code == 404, url
    for url, data in ((f"/rounds/{open_.id}/invitations", {}), (f"/rounds/{open_.id}/close", {}), (path, {}),
                      ("/businesses/join-requests", {"tax_code": business.tax_code}),
                      (f"/businesses/{business.id}/join-requests/{request.id}", {"decision": "approve"}),
                      (f"/businesses/{business.id}/assessments", {"instrument": "quick-check"}),
                      (f"/assessments/{open_copy}/submit", {})):
        assert browser.submit(url, data).status_code == 404, url
    session.expire_all()
    assert session.get(AssessmentRound, open_.id).status == "open"
    assert session.exec(select(Invitation)).one().used_at is None
    assert session.get(JoinRequest, request.id).status == "pending"
    assert session.get(BusinessMember, (business.id, staff.id)) is None
    assert len(session.exec(select(JoinRequest)).all()) == 1
    assert len(session.exec(select(AssessmentRound)).all()) == 2
