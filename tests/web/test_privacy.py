"""Personal data: consents per purpose, the download of one's data, deleting one's account (erasure)
and its re-application after a restore; the deadline of a request."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from sqlmodel import col, select

from assessment import audit, cohorts, consent, privacy
from assessment.models import (
    Assessment,
    AuditEvent,
    Business,
    BusinessMember,
    Consent,
    DataRequest,
    Erasure,
    MailMessage,
    User,
    WebSession,
    utcnow,
)
from tests.factories import PASSWORD, login, make_business, make_owner, submitted


def test_a_request_is_due_two_working_days_after_it_arrives():
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert privacy.due(friday) == datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # Saturday and Sunday skipped
    wednesday = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert privacy.due(wednesday) == datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_optional_consents_are_given_and_withdrawn_on_the_account_page_with_their_history(client, session):
    owner = make_owner(session, consents=("service",))
    login(client)
    page = client.get("/account").text
    assert 'id="give-statistics"' in page and 'id="give-reminders"' in page
    assert client.submit("/account/consents/statistics", {"on": "yes"}).status_code == 303
    assert 'id="withdraw-statistics"' in client.get("/account").text
    assert client.submit("/account/consents/statistics", {"on": ""}).status_code == 303
    assert client.submit("/account/consents/statistics", {"on": "yes"}).status_code == 303
    rows = session.exec(select(Consent).where(Consent.user_id == owner.id, Consent.purpose == "statistics")
                        .order_by(col(Consent.id))).all()
    assert [(r.purpose, r.text_version, r.withdrawn_at is None) for r in rows] == [
        ("statistics", "statistics-1", False), ("statistics", "statistics-1", True)]  # the history stays
    assert client.submit("/account/consents/service", {"on": ""}).status_code == 404  # only by deleting


def test_the_city_statistics_count_only_businesses_an_owner_of_which_consented(session):
    yes, no = make_owner(session, "yes@example.vn"), make_owner(session, "no@example.vn")
    counted, left_out = make_business(session, yes), make_business(session, no)
    consent.give(session=session, user=yes, purpose="statistics", language="vi")
    consent.give(session=session, user=no, purpose="statistics", language="vi")
    consent.withdraw(session=session, user_id=no.id, purpose="statistics")
    session.commit()
    assert set(session.exec(consent.STATISTICS_BUSINESSES).scalars()) == {counted.id}
    assert left_out.id not in set(session.exec(consent.STATISTICS_BUSINESSES).scalars())


def test_an_owner_downloads_all_their_data_as_json_and_csv(client, session):
    owner = make_owner(session)
    business = make_business(session, owner)
    copy = submitted(session, business)
    login(client)
    response = client.get("/account/data.json")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "attachment" in response.headers["content-disposition"]
    data = json.loads(response.content)
    assert data["account"]["email"] == "owner@example.vn"
    assert data["businesses"][0]["name"] == business.name and data["businesses"][0]["tax_code"] == business.tax_code
    (mine,) = data["assessments"]
    assert mine["id"] == copy.id and mine["status"] == "submitted" and len(mine["answers"]) > 0
    rows = list(csv.reader(io.StringIO(client.get("/account/data.csv").content.decode("utf-8-sig"))))
    assert rows[0] == ["section", "record", "field", "value"]
    assert ["account", "1", "email", "owner@example.vn"] in rows
    assert ["businesses", "1", "name", business.name] in rows
    requests = session.exec(select(DataRequest).order_by(col(DataRequest.id))).all()
    assert [(r.kind, r.detail, r.subject) for r in requests] == [("export", "json", str(owner.id)),
                                                                ("export", "csv", str(owner.id))]
    assert all(r.completed_at is not None and r.due_at == privacy.due(r.received_at) for r in requests)


def test_deleting_an_account_erases_the_person_and_the_identity_of_a_business_left_without_owner(client, session,
                                                                                                settings):
    owner = make_owner(session)
    owner_id = owner.id
    business = make_business(session, owner)
    copy = submitted(session, business)
    trainer = make_owner(session, "trainer@example.vn", role="trainer")
    cohort = cohorts.create(session=session, trainer=trainer, form={
        "name": "Course", "instrument": "quick-check", "starts_on": "2026-11-01", "ends_on": "2027-01-31",
        "co_trainers": ""})
    cohorts.join(session=session, cohort=cohort, business=business, by=owner, lang="en", now=utcnow())
    audit.record(session=session, actor=owner, action="account.list", object_type="user", object_id="*",
                 client="10.1.2.3")
    session.commit()
    login(client)
    wrong = client.submit("/account/delete", {"password": "not-my-password"})
    assert wrong.status_code == 422 and "The password is not right." in wrong.text
    assert session.get(User, owner_id) is not None
    done = client.submit("/account/delete", {"password": PASSWORD})
    assert done.status_code == 303 and done.headers["location"] == "/?erased=1"
    session.expire_all()
    assert session.get(User, owner_id) is None and session.exec(select(WebSession)).all() == []
    assert session.exec(select(MailMessage).where(MailMessage.to_address == "owner@example.vn")).all() == []
    gone = session.get(Business, business.id)
    assert (gone.name, gone.tax_code, gone.erased_at is not None) == ("", f"~{business.id}", True)
    kept = session.get(Assessment, copy.id)
    assert kept.status == "submitted" and kept.respondent_id is None  # counted in aggregates, nobody's
    (event,) = session.exec(select(AuditEvent).where(AuditEvent.action == "account.list")).all()
    assert event.actor.startswith("erased-") and event.client == ""  # a tombstone, no address
    assert {(e.kind, e.subject_id) for e in session.exec(select(Erasure))} == {
        ("user", owner_id), ("business", business.id)}
    (erasure,) = session.exec(select(DataRequest).where(DataRequest.kind == "erasure")).all()
    assert erasure.subject.startswith("erased-")
    assert client.get("/account").status_code == 303  # logged out


def test_a_business_with_another_owner_keeps_its_identity(client, session):
    owner = make_owner(session)
    business = make_business(session, owner)
    other = make_owner(session, "co@example.vn")
    session.add(BusinessMember(business_id=business.id, user_id=other.id, role="owner"))
    session.commit()
    privacy.erase_account(session=session, user=owner, password=PASSWORD)
    session.expire_all()
    assert session.get(Business, business.id).name != "" and session.get(Business, business.id).erased_at is None


def test_a_restore_of_an_older_backup_erases_again_only_the_rows_erased(session):
    owner = make_owner(session)
    owner_id = owner.id
    business = make_business(session, owner)
    saved = [(User, owner.model_dump()), (Business, business.model_dump())]
    privacy.erase_account(session=session, user=owner, password=PASSWORD)
    ledger = [Erasure(**e.model_dump()) for e in session.exec(select(Erasure))]
    session.delete(session.get(Business, business.id))
    session.commit()
    for model, values in saved:  # an older backup brings both back, as they were
        session.add(model(**values))
        session.commit()
    session.add(BusinessMember(business_id=business.id, user_id=owner_id, role="owner"))
    newcomer = make_owner(session, "newcomer@example.vn")
    session.commit()
    assert privacy.reapply(session, ledger) == 1  # the person, and with them the business they were last to own
    session.expire_all()
    assert session.get(User, owner_id) is None and session.get(Business, business.id).erased_at is not None
    assert session.get(User, newcomer.id) is not None  # not in the ledger: untouched
    assert privacy.reapply(session, ledger) == 0  # nothing left to erase
