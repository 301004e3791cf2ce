"""Saving answers, without HTTP: the progress the database counts, and a save that races a submit."""

import threading

import pytest
from sqlmodel import Session, select

from assessment import answers, layout, rounds
from assessment.messages import NotAllowed
from assessment.models import Answer, Assessment, DimensionResult
from assessment.settings import get_settings
from tests.factories import answer_all, make_business, make_owner, owner_of, start


@pytest.fixture
def draft(session):
    business = make_business(session, make_owner(session), vsic_section="C")  # manufacturing: every question
    assessment = start(session, business, owner_of(session, business), instrument_id="mic-dbi")
    return assessment, business


def save(session, assessment, business, question, chosen):
    return answers.save(session=session, draft=assessment, business=business,
                        question_id=question.id, chosen=chosen)


def test_each_save_reports_the_progress_counted_in_the_database(session, draft):
    assessment, business = draft
    asked = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)
    first, second = asked[0], asked[1]
    assert save(session, assessment, business, first, [first.options[0].id]) == answers.Progress(1, len(asked))
    assert save(session, assessment, business, first, [first.options[1].id]).done == 1  # changed, not added
    assert save(session, assessment, business, second, [second.options[0].id]).done == 2
    assert save(session, assessment, business, first, []).done == 1  # cleared
    assert answers.Progress(1, 4).percent == 25


def test_the_count_leaves_out_answers_to_questions_no_longer_asked(session, draft):
    """A manufacturer that answers a factory-only question and then registers as a shop."""
    assessment, business = draft
    instrument = rounds.instrument_of(assessment)
    factory_only = next(q for q in instrument.questions if q.applies_to.sections)
    save(session, assessment, business, factory_only, [factory_only.options[0].id])
    business.vsic_section = "G"
    session.add(business)
    session.commit()
    shop_question = layout.applicable(instrument, business.vsic_section, business.size_class)[0]
    progress = save(session, assessment, business, shop_question, [shop_question.options[0].id])
    asked = layout.applicable(instrument, business.vsic_section, business.size_class)
    assert progress == answers.Progress(1, len(asked))
    with pytest.raises(NotAllowed):  # and the factory question cannot be answered any more
        save(session, assessment, business, factory_only, [factory_only.options[1].id])


def test_a_save_that_loses_the_race_with_submit_changes_nothing(engine, session, draft):
    """The autosave read the assessment as a draft; before it writes, another request submits it.
    The guarded timestamp update finds no draft, so the answer is rolled back with it."""
    assessment, business = draft
    answer_all(session, assessment, business, pick=0)
    with Session(engine, expire_on_commit=False) as other:
        stale = other.get(Assessment, assessment.id)
        assert stale.status == "draft"
        assert rounds.submit(session=session, copy=assessment, business=business) == []
        question = layout.applicable(rounds.instrument_of(stale), business.vsic_section, business.size_class)[0]
        before = session.exec(select(Answer.value).where(Answer.question_id == question.id)).one()
        different = next(o.id for o in question.options if o.id != before)
        with pytest.raises(NotAllowed, match="submitted"):
            save(other, stale, business, question, [different])
    session.expire_all()
    assert session.exec(select(Answer.value).where(Answer.question_id == question.id)).one() == before
    assert session.get(Assessment, assessment.id).status == "submitted"
    assert len(session.exec(select(DimensionResult)).all()) == len(rounds.instrument_of(assessment).dimensions)


@pytest.mark.parametrize("through", ["save_answer", "autosave"])
def test_a_save_during_a_submission_waits_for_it_and_is_refused(engine, session, draft, monkeypatch, through):
    """The other order: the submission has claimed the draft and is scoring when an answer arrives
    (in a session, or as the web app's autosave on its own connection). The save waits for the
    submission's transaction, then finds no draft: the answers stored are the answers scored."""
    from assessment import accounts

    assessment, business = draft
    chosen = answer_all(session, assessment, business, pick=0)
    question = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]
    different = next(o.id for o in question.options if o.id != chosen[question.id])
    token = accounts.start_session(session=session, user=owner_of(session, business), days=1)
    outcome: list[object] = []

    def save_from_another_request() -> None:
        if through == "autosave":
            saved = answers.autosave(engine=engine, settings=get_settings(), token=token, copy_id=assessment.id,
                                         question_id=question.id, chosen=[different])
            outcome.append(saved.refusal or saved.progress)
            return
        with Session(engine, expire_on_commit=False) as other:
            stale = other.get(Assessment, assessment.id)  # read before the claim is committed: a draft
            try:
                outcome.append(save(other, stale, business, question, [different]))
            except NotAllowed as exc:
                outcome.append(str(exc))

    real_score = rounds.score_answers
    racer = threading.Thread(target=save_from_another_request)

    def score_while_a_save_arrives(*args):
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive(), "the save did not wait for the submission"
        return real_score(*args)

    monkeypatch.setattr(rounds, "score_answers", score_while_a_save_arrives)
    assert rounds.submit(session=session, copy=assessment, business=business) == []
    racer.join(timeout=30)
    assert outcome == [answers.SUBMITTED]
    session.expire_all()
    assert session.exec(select(Answer.value).where(Answer.question_id == question.id)).one() == chosen[question.id]
    assert session.get(Assessment, assessment.id).status == "submitted"


def test_saves_of_one_assessment_at_once_take_turns(engine, session, draft):
    """Several answers of one assessment arriving at the same moment (two tabs open; one page sends
    its saves one at a time): each save locks the draft as strongly as it will need, so they take
    turns, none deadlocks, and every answer is stored. (A save that waited counts the answers as they
    were when it started, so its progress may leave out the saves it waited for.)"""
    from concurrent.futures import ThreadPoolExecutor

    assessment, business = draft
    questions = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[:24]
    start = threading.Barrier(8)

    def save_in_turn(batch: list) -> int:
        start.wait()
        with Session(engine, expire_on_commit=False) as own:
            return max(save(own, assessment, business, q, [q.options[-1].id]).done for q in batch)

    batches = [questions[i::8] for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(save_in_turn, batches))
    assert all(len(batch) <= n <= len(questions) for n, batch in zip(done, batches, strict=True))
    stored = dict(session.exec(select(Answer.question_id, Answer.value)).all())
    assert stored == {q.id: q.options[-1].id for q in questions}


def test_saving_the_same_answer_again_on_a_submitted_assessment_is_refused(session, draft):
    assessment, business = draft
    answer_all(session, assessment, business, pick=0)
    rounds.submit(session=session, copy=assessment, business=business)
    question = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]
    with pytest.raises(NotAllowed):
        save(session, assessment, business, question, [question.options[0].id])


def test_an_autosave_checks_the_login_and_the_owner_on_its_own_connection(engine, session, draft):
    """The autosave service answers who asked and whether it was theirs, so the web layer can send
    the login page, a 404 or a refusal without a query of its own."""
    from assessment import accounts

    assessment, business = draft
    owner = owner_of(session, business)
    question = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]
    stranger = make_owner(session, "stranger@example.vn")
    trainer = make_owner(session, "trainer@example.vn", role="trainer")
    tokens = {user.email: accounts.start_session(session=session, user=user, days=1)
              for user in (owner, stranger, trainer)}

    def autosave(token, assessment_id=assessment.id, chosen=(question.options[0].id,)):
        return answers.autosave(engine=engine, settings=get_settings(), token=token, copy_id=assessment_id,
                                    question_id=question.id, chosen=list(chosen))

    assert autosave(None).user is None and autosave("not-a-login").user is None
    assert autosave("x" * 500).user is None  # oversized tokens are not even looked up
    for somebody in (stranger, trainer):
        foreign = autosave(tokens[somebody.email])
        assert foreign.user == answers.Login(somebody.id, somebody.role, somebody.language)
        assert not foreign.found and foreign.progress is None
    missing = autosave(tokens[owner.email], assessment_id=assessment.id + 1000)
    assert missing.user.id == owner.id and not missing.found
    assert session.exec(select(Answer)).all() == []  # nothing written by any of them

    refused = autosave(tokens[owner.email], chosen=("no-such-option",))
    assert refused.found and refused.refusal == "Unknown answer." and refused.progress is None
    saved = autosave(tokens[owner.email])
    assert saved.found and saved.refusal is None and saved.progress.done == 1
    session.close()
    assert engine.pool.checkedout() == 0  # each autosave gave its connection back, refused or not
    assert session.exec(select(Answer.value)).all() == [question.options[0].id]


def test_an_autosave_hands_its_connection_back_as_the_pool_hands_them_out(database_url, session, draft):
    """On PostgreSQL the autosave runs in autocommit mode on the driver; whatever it came to (saved,
    refused, somebody else's), the connection it gives back must run in transactions again, or a later
    request's rollback would undo nothing."""
    from sqlalchemy import delete

    from assessment import accounts, db

    assessment, business = draft
    question = layout.applicable(rounds.instrument_of(assessment), business.vsic_section, business.size_class)[0]
    token = accounts.start_session(session=session, user=owner_of(session, business), days=1)
    one = db.make_engine(database_url, pool_size=1)
    try:
        for assessment_id, chosen in ((assessment.id, question.options[0].id), (assessment.id, "no-such-option"),
                                      (assessment.id + 1000, question.options[0].id)):
            answers.autosave(engine=one, settings=get_settings(), token=token, copy_id=assessment_id,
                             question_id=question.id, chosen=[chosen])
        with one.connect() as connection:  # the same pooled connection
            connection.execute(delete(Answer))
            connection.rollback()
    finally:
        one.dispose()
    session.expire_all()
    assert session.exec(select(Answer.value)).all() == [question.options[0].id]
