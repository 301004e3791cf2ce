"""Cohorts over HTTP: a trainer creates a course (code, link, QR), owners join it by code or link with
their consent and leave it; who reaches a course's pages (404 for everyone but its trainers and the
admins); the dashboard (members' status, levels, dimension means, the city's figures only for groups of
at least ``min_cell``, where people stop), HTMX refreshes and filters; notes, actions and reminders.

Expected values are worked out by hand from answers chosen for that purpose (quick-check 1.0: a
dimension is 100 × the mean of its questions' scores, a multiple choice the sum of its ticks clipped to
[0, 1]; overall the mean of the five dimensions; levels from 30 developing, 55 established, 80 leading).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
from bs4 import BeautifulSoup
from sqlmodel import select

from assessment import access, accounts, cohorts, consent, rounds
from assessment.access import HANOI
from assessment.models import (
    AssessmentRound,
    BusinessMember,
    Cohort,
    CohortAction,
    CohortMember,
    CohortNote,
    CohortTrainer,
    Consent,
    MailMessage,
    Reminder,
    utcnow,
)
from tests.factories import PASSWORD, answered, login, make_business, submitted
from web import charts

DIMENSIONS = ("Customers", "Operations", "Data", "People", "Security")

# everything at its lowest (sec02 needs a tick: mfa 0.25): 0, 0, 0, 0, 12.5 -> overall 2.5, Starter
LOW = {"cus01": ["none"], "cus02": ["cash"], "cus03": ["memory"], "ops01": ["paper"], "ops02": ["verbal"],
       "dat01": ["paper"], "dat02": ["rarely"], "ppl01": ["basic"], "ppl02": ["no"], "sec01": ["none"],
       "sec02": ["mfa"]}
# everything at its best: 100 each -> overall 100, Leading
HIGH = {"cus01": ["full"], "cus02": ["integrated"], "cus03": ["crm"],
        "ops01": ["einvoice", "accounting", "sales", "stock", "payroll"], "ops02": ["tool"],
        "dat01": ["system"], "dat02": ["dashboard"], "ppl01": ["advanced"], "ppl02": ["regular"],
        "sec01": ["tested"], "sec02": ["mfa", "antivirus", "accounts", "awareness"]}
# 1, 1, 1 | 0.4, 0 | 0.7, 0.7 | 0.4, 0.5 | 0.35, 0.75 -> 100, 20, 70, 45, 55 -> overall 58, Established
MID = {"cus01": ["full"], "cus02": ["integrated"], "cus03": ["crm"], "ops01": ["einvoice", "accounting"],
       "ops02": ["verbal"], "dat01": ["shared"], "dat02": ["monthly"], "ppl01": ["office"], "ppl02": ["once"],
       "sec01": ["manual"], "sec02": ["mfa", "antivirus", "accounts"]}
FIRST_FOUR = {q: MID[q] for q in ("cus01", "cus02", "cus03", "ops01")}  # 4 of the 11 asked: 36 %

JOIN_CODE = re.compile(r"[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{8}")


# -- helpers -----------------------------------------------------------------------------------------
def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def text_of(node) -> str:
    return " ".join(node.get_text(" ").split()) if node is not None else ""


def main_text(response) -> str:
    return text_of(html(response).select_one("main"))


def today() -> date:
    return access.hanoi_date(utcnow())


def at(day: date, hour: int = 10) -> datetime:
    """A moment on ``day`` in Hanoi."""
    return datetime.combine(day, time(hour), HANOI)


def person(session, new_client, email: str, role: str = "owner", language: str = "en"):
    """An account and a browser logged in as it."""
    user = accounts.create_user(session=session, email=email, password=PASSWORD, role=role, language=language)
    browser = new_client()
    assert login(browser, email).status_code == 303
    return user, browser


def owner_with_business(session, name: str, email: str, language: str = "en", **form):
    owner = accounts.create_user(session=session, email=email, password=PASSWORD, role="owner", language=language)
    return owner, make_business(session, owner, name=name, **form)


def course(session, trainer, *, name: str = "Digital basics, spring", starts_on: date | None = None,
           ends_on: date | None = None, co_trainers: str = "") -> Cohort:
    start = starts_on or today()
    return cohorts.create(session=session, trainer=trainer, form={
        "name": name, "instrument": "quick-check", "starts_on": start.isoformat(),
        "ends_on": (ends_on or start + timedelta(days=60)).isoformat(), "co_trainers": co_trainers})


def enrol(session, cohort: Cohort, business, owner, now: datetime | None = None) -> CohortMember:
    """The owner brings the business in, having agreed to reminder e-mails too."""
    consent.give(session=session, user=owner, purpose="reminders", language="en")
    return cohorts.join(session=session, cohort=cohort, business=business, by=owner, lang="en", now=now or utcnow())


def member_rows(response) -> dict[str, list[str]]:
    """The dashboard's members table: business name -> [status, overall, level, reminders]."""
    rows = {}
    for tr in html(response).select("table.members tbody tr"):
        rows[tr.select_one("th a").get_text(strip=True)] = [text_of(td) for td in tr.select("td")]
    return rows


def dimension_rows(response) -> dict[str, list[str]]:
    """The dimension means table: dimension -> [businesses, course mean, lowest – highest, city mean]."""
    return {text_of(tr.select_one("th")): [text_of(td) for td in tr.select("td")]
            for tr in html(response).select("table.dimension-means tbody tr")}


def funnel_rows(response) -> list[tuple[str, int, int]]:
    out = []
    for tr in html(response).select("table.funnel tbody tr"):
        meter = tr.select_one("meter")
        assert text_of(tr.select_one("td")).endswith(f"{meter['value']} / {meter['max']}")
        out.append((text_of(tr.select_one("th")), int(meter["value"]), int(meter["max"])))
    return out


def count(session, model) -> int:
    session.expire_all()
    return len(session.exec(select(model)).all())


@pytest.fixture
def trainer(session, new_client):
    """A trainer (logged in on the returned browser)."""
    return person(session, new_client, "trainer@example.vn", role="trainer")


# -- creating a course ---------------------------------------------------------------------------------
def test_a_trainer_creates_a_course_with_a_co_trainer(session, new_client, trainer):
    user, browser = trainer
    co_trainer, co_browser = person(session, new_client, "co@example.vn", role="trainer")
    accounts.create_user(session=session, email="owner@example.vn", password=PASSWORD, role="owner", language="en")
    page = browser.get("/cohorts")
    assert page.status_code == 200
    assert html(page).select_one("form[action='/cohorts'] input#name") is not None
    not_a_trainer = "Each co-trainer must be the e-mail of a trainer account."
    good = {"name": "  Digital   basics  ", "description": "Tuesdays, room 3", "instrument": "quick-check",
            "starts_on": "2031-03-03", "ends_on": "2031-05-26", "co_trainers": "CO@example.vn"}

    for wrong, field, message in [
        ({"name": "   "}, "name", "Enter the course name (at most 120 characters)."),
        ({"ends_on": "2031-03-02"}, "ends_on", "The course cannot end before it starts."),
        ({"co_trainers": "nobody@example.vn"}, "co_trainers", not_a_trainer),
        ({"co_trainers": "owner@example.vn"}, "co_trainers", not_a_trainer),
        ({"starts_on": "next week"}, "starts_on", "Enter a date."),
        ({"instrument": "no-such-questionnaire"}, "instrument", "Choose a questionnaire."),
        ({"description": "x" * 2001}, "description", "Use at most 2000 characters."),
    ]:
        response = browser.submit("/cohorts", {**good, **wrong})
        assert response.status_code == 422, wrong
        page = html(response)
        assert text_of(page.select_one(f"#{field}-error")) == message
        assert page.select_one(f"#{field}")["aria-invalid"] == "true"
        assert len(page.select("small.error")) == 1, wrong
        if field != "name":
            assert page.select_one("#name")["value"] == good["name"]  # what was typed is kept
    assert count(session, Cohort) == 0 and count(session, CohortTrainer) == 0

    created = browser.submit("/cohorts", good)
    assert created.status_code == 303
    cohort = session.exec(select(Cohort)).one()
    assert created.headers["location"] == f"/cohorts/{cohort.id}"
    assert (cohort.name, cohort.description, cohort.instrument_id, cohort.instrument_version, cohort.status) == (
        "Digital basics", "Tuesdays, room 3", "quick-check", "1.0", "open")
    assert (cohort.starts_on, cohort.ends_on, cohort.created_by) == (date(2031, 3, 3), date(2031, 5, 26), user.id)
    assert JOIN_CODE.fullmatch(cohort.join_code), cohort.join_code
    assert {t.user_id for t in session.exec(select(CohortTrainer))} == {user.id, co_trainer.id}

    for who in (browser, co_browser):
        dashboard = who.get(f"/cohorts/{cohort.id}")
        assert dashboard.status_code == 200
        page = html(dashboard)
        assert text_of(page.select_one("main h1")) == "Digital basics"
        assert text_of(page.select_one("strong.code")) == cohort.join_code
        assert page.select_one("input.join-link")["value"] == f"http://testserver/join/{cohort.join_code}"
        assert page.select_one(f"form[action='/cohorts/{cohort.id}/close']") is not None
        listed = html(who.get("/cohorts")).select("ul.cohort-list li")
        assert [text_of(li.select_one("a")) for li in listed] == ["Digital basics"]
        assert cohort.join_code in text_of(listed[0])

    qr = browser.get(f"/cohorts/{cohort.id}/qr.svg")
    assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
    assert qr.text.lstrip().startswith("<?xml") and "<svg" in qr.text and "</svg>" in qr.text
    assert re.search(r"<title>([^<]*)</title>", qr.text).group(1) == "Digital basics"

    # a second course gets a code of its own
    browser.submit("/cohorts", {**good, "name": "Digital basics, autumn", "co_trainers": ""})
    codes = [c.join_code for c in session.exec(select(Cohort))]
    assert len(codes) == 2 and len(set(codes)) == 2


def test_only_trainers_create_courses(session, new_client):
    for role in ("owner", "admin", "department"):
        _, browser = person(session, new_client, f"{role}@example.vn", role=role)
        response = browser.submit("/cohorts", {"name": "A course", "instrument": "quick-check",
                                               "starts_on": "2031-03-03", "ends_on": "2031-04-03"})
        assert response.status_code == 404, role
    assert count(session, Cohort) == 0


# -- joining and leaving ----------------------------------------------------------------------------------
def test_owners_join_by_code_or_link_with_their_consent_and_leave(session, new_client, trainer):
    cohort = course(session, trainer[0])
    code = cohort.join_code
    owner, browser = person(session, new_client, "lan@example.vn")
    business = make_business(session, owner, name="Lan Ceramics")
    second = make_business(session, owner, name="Lan Tea House")

    empty = browser.get("/join")
    assert empty.status_code == 200 and html(empty).select_one("form[action='/join'] input#code") is not None
    spaced = f"{code[:4].lower()} {code[4:].lower()}"
    for url in (f"/join?code={code}", f"/join?code={code.lower()}", f"/join?code={spaced}",
                f"/join?code={code[:4]}-{code[4:]}", f"/join/{code}", f"/join/{code.lower()}"):
        response = browser.get(url)
        assert response.status_code == 200, url
        page = html(response)
        assert "Digital basics, spring" in main_text(response)
        assert page.select_one(f"form[action='/join/{code}']") is not None, url
        assert [i["value"] for i in page.select("input[name=business_id]")] == [str(business.id), str(second.id)]
        assert "never its answers" in text_of(page.select_one(".consent-text"))
        assert page.select_one("input[name=consent][value=yes]") is not None

    refused = browser.submit(f"/join/{code}", {"business_id": str(business.id)})  # the box not ticked
    assert refused.status_code == 422
    assert html(refused).select_one(f"form[action='/join/{code}']") is not None
    assert count(session, CohortMember) == 0

    joined = browser.submit(f"/join/{code.lower()}", {"business_id": str(business.id), "consent": "yes"})
    assert joined.status_code == 303 and joined.headers["location"] == f"/businesses/{business.id}"
    member = session.get(CohortMember, (cohort.id, business.id))
    assert (member.joined_by, member.left_at, member.reminders_off) == (owner.id, None, False)
    (given,) = session.exec(select(Consent).where(Consent.purpose == "cohort")).all()
    assert (given.user_id, given.cohort_id, given.business_id, given.text_version, given.language,
            given.withdrawn_at) == (owner.id, cohort.id, business.id, "cohort-consent-1", "en", None)
    first_joined = member.joined_at
    assert count(session, CohortMember) == 1  # the other business stays out
    # joining again while in: the same membership, joined when it first did
    assert browser.submit(f"/join/{code}", {"business_id": str(business.id), "consent": "yes"}).status_code == 303
    session.expire_all()
    assert session.get(CohortMember, (cohort.id, business.id)).joined_at == first_joined

    # a business the person does not own
    stranger, theirs = person(session, new_client, "minh@example.vn")
    assert theirs.submit(f"/join/{code}", {"business_id": str(second.id), "consent": "yes"}).status_code == 422
    assert theirs.submit(f"/join/{code}", {"business_id": "999999", "consent": "yes"}).status_code == 422
    assert count(session, CohortMember) == 1

    # leaving, then joining again
    left = browser.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/leave")
    assert left.status_code == 303 and left.headers["location"] == f"/businesses/{business.id}"
    session.expire_all()
    member = session.get(CohortMember, (cohort.id, business.id))
    assert member.left_at is not None and member.left_at >= first_joined
    assert browser.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/leave").status_code == 404
    assert theirs.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/leave").status_code == 404
    assert browser.submit(f"/businesses/{second.id}/cohorts/{cohort.id}/leave").status_code == 404  # never joined

    again = browser.submit(f"/join/{code}", {"business_id": str(business.id), "consent": "yes"})
    assert again.status_code == 303
    session.expire_all()
    member = session.get(CohortMember, (cohort.id, business.id))
    assert member.left_at is None and member.joined_at >= first_joined and member.joined_by == owner.id
    assert count(session, CohortMember) == 1


def test_the_consent_is_recorded_in_the_owners_language(session, new_client, trainer):
    cohort = course(session, trainer[0])
    owner, browser = person(session, new_client, "hoa@example.vn", language="vi")
    business = make_business(session, owner, name="Gốm Bát Tràng")
    assert browser.submit(f"/join/{cohort.join_code}", {"business_id": str(business.id), "consent": "yes",
                                                        "reminders": "yes"}).status_code == 303
    given = {c.purpose: (c.text_version, c.language) for c in session.exec(select(Consent))}
    assert given == {"cohort": ("cohort-consent-1", "vi"), "reminders": ("reminders-1", "vi")}


def test_wrong_closed_and_ended_courses_cannot_be_joined(session, new_client, trainer):
    user, trainer_browser = trainer
    owner, browser = person(session, new_client, "lan@example.vn")
    business = make_business(session, owner, name="Lan Ceramics")
    join = {"business_id": str(business.id), "consent": "yes"}

    for url in ("/join?code=ZZZZ2222", "/join/ZZZZ2222", "/join?code=" + "A" * 40):
        response = browser.get(url)
        assert response.status_code == 404, url
        assert text_of(html(response).select_one("[role=alert]")) == (
            "No course has this code: check it with your trainer.")
    assert browser.submit("/join/ZZZZ2222", join).status_code == 404

    closed = course(session, user, name="Closed course")
    assert browser.get(f"/join/{closed.join_code}").status_code == 200
    assert trainer_browser.submit(f"/cohorts/{closed.id}/close").status_code == 303
    session.expire_all()
    assert session.get(Cohort, closed.id).status == "closed"
    for response in (browser.get(f"/join/{closed.join_code}"), browser.get(f"/join?code={closed.join_code}"),
                     browser.submit(f"/join/{closed.join_code}", join)):
        assert response.status_code == 404
        assert text_of(html(response).select_one("[role=alert]")) == "This course is closed to new members."
    assert html(trainer_browser.get(f"/cohorts/{closed.id}")).select_one(
        f"form[action='/cohorts/{closed.id}/close']") is None

    ended = course(session, user, name="Ended course", starts_on=today() - timedelta(days=30),
                   ends_on=today() - timedelta(days=1))
    for response in (browser.get(f"/join/{ended.join_code}"), browser.submit(f"/join/{ended.join_code}", join)):
        assert response.status_code == 404
        assert text_of(html(response).select_one("[role=alert]")) == "This course has ended: its code no longer works."
    assert count(session, CohortMember) == 0

    last_day = course(session, user, name="Last day", starts_on=today() - timedelta(days=30), ends_on=today())
    assert browser.submit(f"/join/{last_day.join_code}", join).status_code == 303
    assert count(session, CohortMember) == 1


def test_joining_needs_an_owner_account(session, new_client, client, trainer):
    cohort = course(session, trainer[0])
    anonymous = client.get(f"/join/{cohort.join_code}")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == f"/login?next=/join/{cohort.join_code}"
    assert client.get("/join").headers["location"] == "/login?next=/join"
    assert trainer[1].get(f"/join/{cohort.join_code}").status_code == 404
    _, department = person(session, new_client, "dept@example.vn", role="department")
    assert department.get(f"/join?code={cohort.join_code}").status_code == 404


# -- who reaches a course --------------------------------------------------------------------------------
def test_only_the_courses_trainers_and_admins_reach_it(session, new_client, client, trainer):
    user, browser = trainer
    owner, owner_browser = person(session, new_client, "lan@example.vn")
    business = make_business(session, owner, name="Lan Ceramics")
    outsider = make_business(session, owner, name="Lan Tea House")  # not in the course
    cohort = course(session, user)
    enrol(session, cohort, business, owner)
    answered(session, business, MID)
    base = f"/cohorts/{cohort.id}"
    gets = [base, f"{base}/members/{business.id}", f"{base}/charts/levels.svg", f"{base}/charts/dimensions.svg",
            f"{base}/qr.svg"]
    posts = [(f"{base}/members/{business.id}/notes", {"text": "Wants a CRM", "private": "yes"}),
             (f"{base}/members/{business.id}/actions", {"text": "Try a CRM", "dimension": "customers"}),
             (f"{base}/members/{business.id}/remind", {"channel": "email"}),
             (f"{base}/members/{business.id}/remind", {"channel": "zalo"}),
             (f"{base}/close", {})]
    for url in gets:
        assert browser.get(url).status_code == 200, url

    _, other_trainer = person(session, new_client, "other-trainer@example.vn", role="trainer")
    _, department = person(session, new_client, "dept@example.vn", role="department")
    for who in (other_trainer, owner_browser, department):
        for url in gets:
            assert who.get(url).status_code == 404, url
        for url, data in posts:
            assert who.submit(url, data).status_code == 404, url
    assert html(other_trainer.get("/cohorts")).select("ul.cohort-list li") == []
    for url in gets:
        response = client.get(url)
        assert response.status_code == 303 and response.headers["location"] == f"/login?next={url}", url
    for url, data in posts:
        assert client.submit(url, data).status_code == 303, url
    assert [count(session, m) for m in (CohortNote, CohortAction, Reminder, MailMessage)] == [0, 0, 0, 0]
    assert session.get(Cohort, cohort.id).status == "open"

    _, admin = person(session, new_client, "admin@example.vn", role="admin")
    dashboard = admin.get(base)
    assert dashboard.status_code == 200 and list(member_rows(dashboard)) == ["Lan Ceramics"]
    assert [text_of(a) for a in html(admin.get("/cohorts")).select("ul.cohort-list li a")] == [cohort.name]

    # the trainer: no page of a business outside the course, nor of an unknown one
    for business_id in (outsider.id, 999999):
        assert browser.get(f"{base}/members/{business_id}").status_code == 404
        assert browser.submit(f"{base}/members/{business_id}/notes", {"text": "x"}).status_code == 404
        assert browser.submit(f"{base}/members/{business_id}/remind", {"channel": "zalo"}).status_code == 404
    assert browser.get(f"{base}/charts/other.svg").status_code == 404
    assert browser.get("/cohorts/999999").status_code == 404
    assert [count(session, m) for m in (CohortNote, Reminder)] == [0, 0]


# -- the dashboard ----------------------------------------------------------------------------------------
def test_the_dashboard_shows_each_members_status(session, trainer, monkeypatch):
    user, browser = trainer
    start = today()
    cohort = course(session, user, starts_on=start)
    people = {}
    for name in ("An Bakery", "Binh Tailors", "Chi Pharmacy", "Dung Printing", "Em Florist", "Giang Garage"):
        people[name] = owner_with_business(session, name, f"{name.split()[0].lower()}@example.vn")
    for owner, business in people.values():
        enrol(session, cohort, business, owner, now=utcnow() - timedelta(days=5))
    biz = {name: b for name, (_, b) in people.items()}
    answered(session, biz["Binh Tailors"], FIRST_FOUR, submit=False)  # 4 of 11: 36 %
    answered(session, biz["Chi Pharmacy"], MID)
    # closed more than a year before the course: not the trainer's to see
    answered(session, biz["Dung Printing"], HIGH, now=at(start - timedelta(days=400)))
    # closed before leaving (seen), then after leaving (not seen)
    answered(session, biz["Em Florist"], LOW, now=utcnow() - timedelta(days=3))
    cohorts.leave(session=session, cohort_id=cohort.id, business=biz["Em Florist"], now=utcnow() - timedelta(days=1))
    answered(session, biz["Em Florist"], HIGH)
    answered(session, biz["Giang Garage"], HIGH)

    response = browser.get(f"/cohorts/{cohort.id}")
    assert response.status_code == 200
    assert member_rows(response) == {
        "An Bakery": ["not started", "—", "—", "0"],
        "Binh Tailors": ["in progress · 36%", "—", "—", "0"],
        "Chi Pharmacy": ["submitted", "58.0", "Established", "0"],
        "Dung Printing": ["not started", "—", "—", "0"],
        "Em Florist": ["submitted", "2.5", "Starter", "0"],
        "Giang Garage": ["submitted", "100.0", "Leading", "0"],
    }
    page = html(response)
    assert list(member_rows(response)) == sorted(people)  # by name
    assert "(6)" in text_of(page.select_one("#dashboard h2"))
    left = [text_of(tr.select_one("th")) for tr in page.select("table.members tbody tr") if "(left)" in text_of(tr)]
    assert left == ["Em Florist (left)"]
    for name, state in (("An Bakery", "not-started"), ("Binh Tailors", "in-progress"), ("Chi Pharmacy", "submitted")):
        row = next(tr for tr in page.select("table.members tbody tr") if text_of(tr.select_one("th a")) == name)
        assert row.select_one("td")["class"] == [f"state-{state}"]

    # per dimension: Chi (100, 20, 70, 45, 55), Em (0, 0, 0, 0, 12.5), Giang (100 each)
    assert dimension_rows(response) == {
        "Customers": ["3", "66.7", "0.0 – 100.0", "—"],
        "Operations": ["3", "40.0", "0.0 – 100.0", "—"],
        "Data": ["3", "56.7", "0.0 – 100.0", "—"],
        "People": ["3", "48.3", "0.0 – 100.0", "—"],
        "Security": ["3", "55.8", "12.5 – 100.0", "—"],
    }
    # the city: Chi, Dung, Em and Giang have a latest closed round: 4 < 5, suppressed
    assert "City figures are shown only for groups of at least 5 businesses." in main_text(response)

    # the level chart counts the latest visible round of each member
    drawn = {}
    real = charts.counts

    def spy(labels, values, *, lang):
        drawn["levels"] = dict(zip(labels, values, strict=True))
        return real(labels, values, lang=lang)

    monkeypatch.setattr(charts, "counts", spy)
    chart = browser.get(f"/cohorts/{cohort.id}/charts/levels.svg")
    assert chart.status_code == 200 and chart.headers["content-type"].startswith("image/svg+xml")
    assert drawn["levels"] == {"Starter": 1, "Developing": 0, "Established": 1, "Leading": 1}
    strip = browser.get(f"/cohorts/{cohort.id}/charts/dimensions.svg")
    assert strip.status_code == 200 and "<svg" in strip.text


def test_rounds_closed_up_to_a_year_before_the_start_are_shown(session, trainer):
    user, browser = trainer
    start = today() + timedelta(days=7)
    cohort = course(session, user, starts_on=start)
    for name, closed_on, chosen in (("Hai Bakery", start - timedelta(days=365), MID),
                                    ("Khanh Bakery", start - timedelta(days=366), HIGH)):
        owner, business = owner_with_business(session, name, f"{name.split()[0].lower()}@example.vn")
        enrol(session, cohort, business, owner)
        answered(session, business, chosen, now=at(closed_on))
    assert member_rows(browser.get(f"/cohorts/{cohort.id}")) == {
        "Hai Bakery": ["submitted", "58.0", "Established", "0"],
        "Khanh Bakery": ["not started", "—", "—", "0"],
    }


def test_a_round_opened_earlier_but_closed_within_the_year_before_the_start_is_shown(session, trainer):
    """The access policy grants the rounds *closed* from 365 days before the start
    (``access.trainer_sees_round``); when the round was opened does not matter."""
    user, browser = trainer
    start = today()
    cohort = course(session, user, starts_on=start)
    owner, business = owner_with_business(session, "Long Bakery", "long@example.vn")
    enrol(session, cohort, business, owner)
    copy = answered(session, business, MID, now=at(start - timedelta(days=370)), submit=False)
    assert rounds.submit(session=session, copy=copy, business=business, now=at(start - timedelta(days=360))) == []
    round_ = session.get(AssessmentRound, copy.round_id)
    assert round_.status == "closed"
    assert access.trainer_sees_round("quick-check", round_.closed_at,
                                     [access.CohortSpan("quick-check", cohort.starts_on, None)])
    assert member_rows(browser.get(f"/cohorts/{cohort.id}")) == {
        "Long Bakery": ["submitted", "58.0", "Established", "0"]}


def test_htmx_gets_only_the_dashboard_and_filters_narrow_the_members(session, trainer):
    user, browser = trainer
    cohort = course(session, user)
    for name, email, form in (
        ("Alpha Shop", "alpha@example.vn", {}),  # G, 8 employees, 5 bn: micro
        ("Beta Works", "beta@example.vn", {"vsic_section": "C", "employees": "12", "revenue_bn": "10"}),  # small
        ("Gamma Trading", "gamma@example.vn", {"employees": "30", "revenue_bn": "50"}),  # G small
    ):
        owner, business = owner_with_business(session, name, email, **form)
        enrol(session, cohort, business, owner)
    answered(session, business, MID)  # Gamma

    url = f"/cohorts/{cohort.id}"
    full = browser.get(url)
    assert full.headers["vary"] == "HX-Request"
    assert "<html" in full.text and html(full).select_one("form.filters") is not None
    assert list(member_rows(full)) == ["Alpha Shop", "Beta Works", "Gamma Trading"]

    for query, names in (("?section=C", ["Beta Works"]), ("?size=small", ["Beta Works", "Gamma Trading"]),
                         ("?section=G&size=micro", ["Alpha Shop"]), ("?section=G", ["Alpha Shop", "Gamma Trading"]),
                         ("?section=F", []), ("?section=ZZ&size=huge", ["Alpha Shop", "Beta Works", "Gamma Trading"])):
        response = browser.get(url + query)
        assert response.status_code == 200
        assert list(member_rows(response)) == names, query
        assert f"({len(names)})" in text_of(html(response).select_one("#dashboard h2"))

    fragment = browser.get(url + "?section=G", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and fragment.headers["vary"] == "HX-Request"
    assert fragment.text.lstrip().startswith('<div id="dashboard"')
    assert fragment.text.rstrip().endswith("</div>")
    assert "<html" not in fragment.text and "<nav" not in fragment.text
    part = html(fragment)
    assert part.select_one("form.filters") is None and part.select_one(".join-code") is None
    top = part.select_one("#dashboard")
    assert top["hx-get"] == f"/cohorts/{cohort.id}?section=G" and top["hx-trigger"] == "every 30s"
    assert list(member_rows(fragment)) == ["Alpha Shop", "Gamma Trading"]
    assert member_rows(fragment)["Gamma Trading"] == ["submitted", "58.0", "Established", "0"]
    assert browser.get(url, headers={"HX-Request": "true"}).text.lstrip().startswith(
        f'<div id="dashboard" hx-get="/cohorts/{cohort.id}" ')


def test_city_figures_are_shown_only_for_at_least_min_cell_businesses(session, trainer, settings):
    assert settings.min_cell == 5
    user, browser = trainer
    cohort = course(session, user)
    owner, member = owner_with_business(session, "Member Shop", "member@example.vn")
    enrol(session, cohort, member, owner)  # not started: the course has no figures of its own
    others = []
    for i, chosen in enumerate((HIGH, MID, LOW, MID)):
        _, business = owner_with_business(session, f"Other {i}", f"other{i}@example.vn")
        answered(session, business, chosen)
        others.append(business)
    # not counted: another questionnaire, a round still open
    _, dmat = owner_with_business(session, "Dmat Shop", "dmat@example.vn")
    submitted(session, dmat, instrument_id="dmat")
    _, drafting = owner_with_business(session, "Draft Shop", "draft@example.vn")
    answered(session, drafting, FIRST_FOUR, submit=False)

    url = f"/cohorts/{cohort.id}"
    four = browser.get(url)
    assert "City figures are shown only for groups of at least 5 businesses." in main_text(four)
    assert [row[3] for row in dimension_rows(four).values()] == ["—"] * 5

    _, fifth = owner_with_business(session, "Other 4", "other4@example.vn")
    answered(session, fifth, LOW)
    five = browser.get(url)
    # overall (100 + 58 + 2.5 + 58 + 2.5) / 5 = 44.2; customers (100 + 100 + 0 + 100 + 0) / 5 = 60,
    # operations (100 + 20 + 0 + 20 + 0) / 5 = 28, data (100 + 70 + 70) / 5 = 48, people (100 + 45 + 45) / 5 = 38,
    # security (100 + 55 + 12.5 + 55 + 12.5) / 5 = 47
    assert ("City: the latest closed round of 5 participating businesses with this questionnaire version and "
            "these filters; mean overall score 44.2.") in main_text(five)
    assert dimension_rows(five) == {d: ["0", "—", "—", city] for d, city in zip(
        DIMENSIONS, ("60.0", "28.0", "48.0", "38.0", "47.0"), strict=True)}
    # the filters apply to the city too: no manufacturer among them
    assert "City figures are shown only for groups of at least 5" in main_text(browser.get(url + "?section=C"))
    assert "of 5 participating businesses" in main_text(browser.get(url + "?section=G&size=micro"))


def test_the_funnel_counts_where_members_stop(session, trainer):
    user, browser = trainer
    cohort = course(session, user)
    biz = {}
    for name in ("Page One Only", "Page One Twice", "Pages One And Two", "Not Started", "Submitted"):
        owner, biz[name] = owner_with_business(session, name, f"{name.replace(' ', '').lower()}@example.vn")
        enrol(session, cohort, biz[name], owner)
    answered(session, biz["Page One Only"], {"cus01": ["shop"]}, submit=False)
    answered(session, biz["Page One Twice"], {"cus01": ["shop"], "cus03": ["crm"]}, submit=False)
    answered(session, biz["Pages One And Two"], {"cus02": ["cash"], "ops02": ["tool"]}, submit=False)
    answered(session, biz["Submitted"], MID)
    # an earlier round with every page answered does not count: only the current one does
    answered(session, biz["Page One Only"], HIGH, now=utcnow() - timedelta(days=30))
    assert funnel_rows(browser.get(f"/cohorts/{cohort.id}")) == [
        ("1. Customers", 4, 5), ("2. Operations", 2, 5), ("3. Data", 1, 5), ("4. People", 1, 5),
        ("5. Security", 1, 5)]


def test_the_funnel_ignores_what_a_member_answers_after_leaving(session, trainer):
    """After leaving, a business's new drafts are not the trainers' to see (its status no longer says
    "in progress"), so they do not move the funnel either."""
    user, browser = trainer
    cohort = course(session, user)
    owner, business = owner_with_business(session, "Gone Shop", "gone@example.vn")
    enrol(session, cohort, business, owner, now=utcnow() - timedelta(days=10))
    cohorts.leave(session=session, cohort_id=cohort.id, business=business, now=utcnow() - timedelta(days=2))
    answered(session, business, {"cus01": ["shop"]}, submit=False)  # a new draft after leaving
    response = browser.get(f"/cohorts/{cohort.id}")
    assert member_rows(response) == {"Gone Shop": ["not started", "—", "—", "0"]}
    assert [n for _, n, _ in funnel_rows(response)] == [0, 0, 0, 0, 0]


# -- notes and actions ------------------------------------------------------------------------------------------
@pytest.fixture
def member(session, new_client, trainer):
    """A course of the trainer's with one member business whose owner (logged in) has submitted a copy:
    (cohort, business, owner browser, the copy)."""
    cohort = course(session, trainer[0])
    owner, browser = person(session, new_client, "lan@example.vn")
    business = make_business(session, owner, name="Lan Ceramics")
    enrol(session, cohort, business, owner)
    copy = answered(session, business, MID)
    return cohort, business, browser, copy


def test_notes_are_read_by_the_trainers_only(session, new_client, trainer, member):
    user, browser = trainer
    cohort, business, owner_browser, copy = member
    co_trainer, co_browser = person(session, new_client, "co@example.vn", role="trainer")
    session.add(CohortTrainer(cohort_id=cohort.id, user_id=co_trainer.id))
    session.commit()
    page_url = f"/cohorts/{cohort.id}/members/{business.id}"

    private = browser.submit(f"{page_url}/notes", {"text": "  Worried about the cost of software  ", "private": "yes"})
    assert private.status_code == 303 and private.headers["location"] == page_url
    assert browser.submit(f"{page_url}/notes", {"text": "Keen to open an online shop"}).status_code == 303
    stored = session.exec(select(CohortNote).order_by(CohortNote.id)).all()
    assert [(n.text, n.private, n.author_id, n.business_id) for n in stored] == [
        ("Worried about the cost of software", True, user.id, business.id),
        ("Keen to open an online shop", False, user.id, business.id)]

    for who in (browser, co_browser):
        notes = html(who.get(page_url)).select("article.note")
        assert [text_of(n.select_one("p")) for n in notes] == [
            "Keen to open an online shop", "Worried about the cost of software"]  # newest first
        assert "private: trainers only" in text_of(notes[1].select_one("footer"))
        assert "private" not in text_of(notes[0].select_one("footer"))

    for url in (f"/businesses/{business.id}", f"/assessments/{copy.id}/results", f"/rounds/{copy.round_id}"):
        response = owner_browser.get(url)
        assert response.status_code == 200, url
        assert "Worried about the cost" not in response.text and "Keen to open" not in response.text, url


def test_an_empty_note_is_refused_next_to_the_note_field(session, trainer, member):
    user, browser = trainer
    cohort, business, _, _ = member
    response = browser.submit(f"/cohorts/{cohort.id}/members/{business.id}/notes", {"text": "   "})
    assert response.status_code == 422
    assert count(session, CohortNote) == 0
    page = html(response)
    errors = page.select("small.error")
    assert [text_of(e) for e in errors] == ["Write the note (at most 2000 characters)."]
    assert errors[0].find_parent("form")["action"].endswith("/notes")
    assert page.select_one("#action-text").get("aria-invalid") is None


def test_actions_agreed_with_the_trainer_are_marked_done_by_the_owner(session, new_client, trainer, member):
    user, browser = trainer
    cohort, business, owner_browser, copy = member
    page_url = f"/cohorts/{cohort.id}/members/{business.id}"
    for wrong, message in (({"text": ""}, "Describe the action (at most 500 characters)."),
                           ({"dimension": "strategy"}, None), ({"due_on": "soon"}, None)):
        response = browser.submit(f"{page_url}/actions", {"text": "Move the books to cloud accounting",
                                                          "dimension": "data", "due_on": "2031-03-05", **wrong})
        assert response.status_code == 422, wrong
        if message:
            assert message in main_text(response)
    assert count(session, CohortAction) == 0

    added = browser.submit(f"{page_url}/actions", {"text": " Move the books  to cloud accounting ",
                                                   "dimension": "data", "due_on": "2031-03-05"})
    assert added.status_code == 303 and added.headers["location"] == page_url
    action = session.exec(select(CohortAction)).one()
    assert (action.cohort_id, action.business_id, action.dimension_id, action.text, action.due_on, action.done_at,
            action.created_by) == (cohort.id, business.id, "data", "Move the books to cloud accounting",
                                   date(2031, 3, 5), None, user.id)
    items = html(browser.get(page_url)).select("ul.actions li")
    assert [text_of(li) for li in items] == ["Data : Move the books to cloud accounting · due 5 Mar 2031 · to do"]

    # the owner, on the results page of their submitted copy
    results_url = f"/assessments/{copy.id}/results"
    results = html(owner_browser.get(results_url))
    section = results.select_one("section.course-actions")
    assert text_of(section.select_one("h3")) == cohort.name
    item = section.select_one("ul.actions li")
    assert text_of(item).startswith("Move the books to cloud accounting · due 5 Mar 2031")
    form = item.select_one("form")
    assert form["action"] == f"/businesses/{business.id}/actions/{action.id}"
    assert form.select_one("input[name=back]")["value"] == results_url
    assert form.select_one("button[name=done]")["value"] == "yes"

    done = owner_browser.submit(form["action"], {"done": "yes", "back": results_url})
    assert done.status_code == 303 and done.headers["location"] == results_url
    session.expire_all()
    done_at = session.get(CohortAction, action.id).done_at
    assert done_at is not None
    assert html(owner_browser.get(results_url)).select_one(
        "section.course-actions button[name=done]")["value"] == "no"
    [item] = html(browser.get(page_url)).select("ul.actions li")
    assert text_of(item).endswith("✓ done " + done_at.astimezone(HANOI).date().strftime("%-d %b %Y"))

    # somebody else's owner: not found, and nothing changes
    stranger, theirs = person(session, new_client, "minh@example.vn")
    own = make_business(session, stranger, name="Minh Bikes")
    assert theirs.submit(f"/businesses/{business.id}/actions/{action.id}", {"done": "no"}).status_code == 404
    assert theirs.submit(f"/businesses/{own.id}/actions/{action.id}", {"done": "no"}).status_code == 404
    assert owner_browser.submit(f"/businesses/{business.id}/actions/999999", {"done": "yes"}).status_code == 404
    assert browser.submit(f"/businesses/{business.id}/actions/{action.id}", {"done": "no"}).status_code == 404
    session.expire_all()
    assert session.get(CohortAction, action.id).done_at == done_at

    # undone again; a foreign "back" is not followed
    undone = owner_browser.submit(f"/businesses/{business.id}/actions/{action.id}",
                                  {"done": "no", "back": "//evil.example/phish"})
    assert undone.status_code == 303 and undone.headers["location"] == f"/businesses/{business.id}"
    session.expire_all()
    assert session.get(CohortAction, action.id).done_at is None


def test_the_owner_sees_the_courses_actions_on_the_business_page(session, trainer, member):
    user, browser = trainer
    cohort, business, owner_browser, _ = member
    browser.submit(f"/cohorts/{cohort.id}/members/{business.id}/actions",
                   {"text": "Move the books to cloud accounting", "dimension": "data", "due_on": "2031-03-05"})
    action = session.exec(select(CohortAction)).one()
    page = html(owner_browser.get(f"/businesses/{business.id}"))
    assert text_of(page.select_one("title")).startswith("Lan Ceramics")
    assert "Courses" not in text_of(page.select_one("title"))
    membership = page.select_one("main article.membership")
    assert membership is not None, "the business page shows no course"
    assert cohort.name in text_of(membership)
    assert "Move the books to cloud accounting · due 5 Mar 2031" in text_of(membership)
    assert membership.select_one(f"form[action='/businesses/{business.id}/actions/{action.id}'] "
                                 "button[name=done][value=yes]") is not None
    assert membership.select_one(f"form[action='/businesses/{business.id}/cohorts/{cohort.id}/leave']") is not None


# -- reminders ----------------------------------------------------------------------------------------------------
def test_reminders_by_email_and_zalo(session, new_client, trainer, member):
    user, browser = trainer
    cohort, business, owner_browser, _ = member
    co_owner = accounts.create_user(session=session, email="tuan@example.vn", password=PASSWORD, role="owner",
                                    language="vi")
    session.add(BusinessMember(business_id=business.id, user_id=co_owner.id, role="owner"))
    session.commit()
    page_url = f"/cohorts/{cohort.id}/members/{business.id}"
    remind = f"{page_url}/remind"
    assert html(browser.get(page_url)).select_one("button[name=channel][value=email]") is not None

    sent = browser.submit(remind, {"channel": "email"})
    assert sent.status_code == 303 and sent.headers["location"] == page_url
    mails = session.exec(select(MailMessage).order_by(MailMessage.to_address)).all()
    assert [(m.to_address, m.kind, m.sent_at, m.error) for m in mails] == [
        ("lan@example.vn", "cohort-reminder", None, None)]  # the co-owner never agreed to reminder e-mails
    assert mails[0].subject == "Reminder: your digital maturity self-assessment"
    assert mails[0].body == ("Hello! This is a reminder from the course “Digital basics, spring”: please complete the "
                             "digital maturity self-assessment of Lan Ceramics before the next session: "
                             f"http://testserver/businesses/{business.id}")
    assert all(f"http://testserver/businesses/{business.id}" in m.body and "Lan Ceramics" in m.body for m in mails)
    logged = session.exec(select(Reminder)).all()
    assert [(r.cohort_id, r.business_id, r.channel, r.sent_by) for r in logged] == [
        (cohort.id, business.id, "email", user.id)]
    assert member_rows(browser.get(f"/cohorts/{cohort.id}"))["Lan Ceramics"][3] == "1"
    assert "(email)" in main_text(browser.get(page_url))

    # the owner turns reminder e-mails off
    off = owner_browser.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/reminders", {"on": "no"})
    assert off.status_code == 303 and off.headers["location"] == f"/businesses/{business.id}"
    session.expire_all()
    assert session.get(CohortMember, (cohort.id, business.id)).reminders_off is True
    page = browser.get(page_url)
    assert html(page).select_one("button[name=channel][value=email]") is None
    assert "This business turned reminder e-mails off, or has left the course." in main_text(page)
    assert browser.submit(remind, {"channel": "email"}).status_code == 409
    assert count(session, MailMessage) == 1 and count(session, Reminder) == 1

    # Zalo: a message to copy, logged too
    zalo = browser.submit(remind, {"channel": "zalo"})
    assert zalo.status_code == 200
    assert html(zalo).select_one("textarea.zalo").get_text() == (
        "Hello! This is a reminder from the course “Digital basics, spring”: please complete the digital maturity "
        f"self-assessment of Lan Ceramics before the next session: http://testserver/businesses/{business.id}")
    session.expire_all()
    assert [r.channel for r in session.exec(select(Reminder).order_by(Reminder.id))] == ["email", "zalo"]
    assert count(session, MailMessage) == 1
    assert member_rows(browser.get(f"/cohorts/{cohort.id}"))["Lan Ceramics"][3] == "2"
    assert browser.submit(remind, {"channel": "sms"}).status_code == 400

    # on again: the button is back; after leaving, no e-mail
    assert owner_browser.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/reminders",
                                {"on": "yes"}).status_code == 303
    assert html(browser.get(page_url)).select_one("button[name=channel][value=email]") is not None
    assert owner_browser.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/leave").status_code == 303
    assert html(browser.get(page_url)).select_one("button[name=channel][value=email]") is None
    assert browser.submit(remind, {"channel": "email"}).status_code == 409
    assert count(session, MailMessage) == 1 and count(session, Reminder) == 2


def test_reminders_cannot_be_switched_for_a_course_the_business_is_not_in(session, new_client, trainer, member):
    cohort, business, owner_browser, _ = member
    other = course(session, trainer[0], name="Another course")
    assert owner_browser.submit(f"/businesses/{business.id}/cohorts/{other.id}/reminders",
                                {"on": "no"}).status_code == 404
    _, stranger = person(session, new_client, "minh@example.vn")
    assert stranger.submit(f"/businesses/{business.id}/cohorts/{cohort.id}/reminders",
                           {"on": "no"}).status_code == 404
    session.expire_all()
    assert session.get(CohortMember, (cohort.id, business.id)).reminders_off is False


# -- a household business's tax code ------------------------------------------------------------------------------
def test_a_personal_tax_code_is_masked_for_the_trainer(session, trainer):
    user, browser = trainer
    cohort = course(session, user)
    owner, business = owner_with_business(session, "Bà Hạnh's Noodles", "hanh@example.vn", tax_code="001234567845")
    assert business.tax_code == "001234567845"
    enrol(session, cohort, business, owner)
    page = browser.get(f"/cohorts/{cohort.id}/members/{business.id}")
    assert page.status_code == 200
    assert "Tax code 001*******45" in text_of(html(page).select_one("main hgroup"))
    for response in (page, browser.get(f"/cohorts/{cohort.id}"),
                     browser.submit(f"/cohorts/{cohort.id}/members/{business.id}/remind", {"channel": "zalo"})):
        assert "001234567845" not in response.text
