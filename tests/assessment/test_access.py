"""The access policy (assessment/access.py): the rule table role by role, the trainer's window, and
the one-query lookups the routes use.

Every expectation below is written by hand from the policy's description (who may do what), never
computed from ``allows`` itself."""

from datetime import UTC, date, datetime, timedelta

import pytest

from assessment import access, accounts, rounds
from assessment.access import Action, CohortSpan, Relation, allows, trainer_sees_round
from assessment.models import AssessmentRound, BusinessMember, Cohort, CohortMember, CohortTrainer
from tests.factories import PASSWORD, answer_all, make_business, make_owner, start

VB, MB, TC, VC, AN, RR, RC = (Action.VIEW_BUSINESS, Action.MANAGE_BUSINESS, Action.TAKE_COPY, Action.VIEW_COPY,
                              Action.ANSWER, Action.VIEW_ROUND_RESULT, Action.RUN_COHORT)
ALL_ACTIONS = (VB, MB, TC, VC, AN, RR, RC)
assert set(ALL_ACTIONS) == set(Action)  # a new action must get its column in the tables below

# -- the people ------------------------------------------------------------------------------------
# How each kind of account stands to the business of the object asked about.
PEOPLE = {
    "owner": {"account_role": "owner", "member_role": "owner"},
    "respondent": {"account_role": "owner", "member_role": "respondent"},
    "non-member": {"account_role": "owner", "member_role": None},
    "trainer granted": {"account_role": "trainer", "member_role": None, "trainer_sees": True},
    "trainer": {"account_role": "trainer", "member_role": None, "trainer_sees": False},
    "department": {"account_role": "department", "member_role": None},
    "admin": {"account_role": "admin", "member_role": None},
    # membership counts only for business accounts: staff listed as members gain nothing by it
    "trainer listed as owner": {"account_role": "trainer", "member_role": "owner"},
    "department listed as respondent": {"account_role": "department", "member_role": "respondent"},
    "admin listed as owner": {"account_role": "admin", "member_role": "owner"},
}

# -- a business (its profile, people, rounds) --------------------------------------------------------
BUSINESS_TABLE = {  # person -> (VIEW_BUSINESS, MANAGE_BUSINESS)
    "owner": (True, True),
    "respondent": (False, False),
    "non-member": (False, False),
    "trainer granted": (False, False),
    "trainer": (False, False),
    "department": (False, False),
    "admin": (False, False),
    "trainer listed as owner": (False, False),
    "department listed as respondent": (False, False),
    "admin listed as owner": (False, False),
}


@pytest.mark.parametrize("person", list(BUSINESS_TABLE))
def test_business_actions(person):
    relation = Relation(**PEOPLE[person])
    assert (allows(relation, VB), allows(relation, MB)) == BUSINESS_TABLE[person]


# -- a cohort (for RUN_COHORT, "trainer granted" is a trainer who runs the cohort) -----------------------
COHORT_TABLE = {
    "owner": False, "respondent": False, "non-member": False,
    "trainer granted": True,  # a trainer of this cohort
    "trainer": False,  # another trainer
    "department": False,
    "admin": True,  # admins see every cohort
    "trainer listed as owner": False, "department listed as respondent": False,
    "admin listed as owner": True,
}


@pytest.mark.parametrize("person", list(COHORT_TABLE))
def test_cohort_actions(person):
    assert allows(Relation(**PEOPLE[person]), RC) is COHORT_TABLE[person]


# -- a copy ------------------------------------------------------------------------------------------
COPY_STATES = {  # own_copy, copy_draft, round_open
    "own draft, round open": (True, True, True),
    "own draft, round closed": (True, True, False),
    "own submitted, round open": (True, False, True),
    "own submitted, round closed": (True, False, False),
    "other's draft, round open": (False, True, True),
    "other's draft, round closed": (False, True, False),
    "other's submitted, round open": (False, False, True),
    "other's submitted, round closed": (False, False, False),
}
_NOTHING = {state: "" for state in COPY_STATES}
# person -> state -> the copy actions allowed: T = TAKE_COPY, V = VIEW_COPY, A = ANSWER
COPY_TABLE = {
    "owner": {
        "own draft, round open": "TVA",
        "own draft, round closed": "TV",  # a closed round's draft can be looked at, not answered
        "own submitted, round open": "TV",
        "own submitted, round closed": "TV",
        "other's draft, round open": "V",  # an owner sees every copy's results, answers none but theirs
        "other's draft, round closed": "V",
        "other's submitted, round open": "V",
        "other's submitted, round closed": "V",
    },
    "respondent": {
        "own draft, round open": "TVA",
        "own draft, round closed": "TV",
        "own submitted, round open": "TV",
        "own submitted, round closed": "TV",
        "other's draft, round open": "",
        "other's draft, round closed": "",
        "other's submitted, round open": "",
        "other's submitted, round closed": "",
    },
    # somebody who is not (or no longer) a member: not even a copy marked as theirs
    "non-member": _NOTHING,
    "trainer granted": _NOTHING,  # a trainer sees closed rounds' results, never a copy
    "trainer": _NOTHING,
    "department": _NOTHING,
    "admin": _NOTHING,
    "trainer listed as owner": _NOTHING,
    "department listed as respondent": _NOTHING,
    "admin listed as owner": _NOTHING,
}
_LETTER = {"T": TC, "V": VC, "A": AN}


@pytest.mark.parametrize(("person", "state"), [(p, s) for p in COPY_TABLE for s in COPY_STATES])
def test_copy_actions(person, state):
    own, draft, open_ = COPY_STATES[state]
    relation = Relation(**PEOPLE[person], own_copy=own, copy_draft=draft, round_open=open_)
    allowed = {_LETTER[c] for c in COPY_TABLE[person][state]}
    assert {a for a in (TC, VC, AN) if allows(relation, a)} == allowed


# -- a round -----------------------------------------------------------------------------------------
ROUND_STATES = {  # copy_in_round, round_open
    "open, with a copy of theirs": (True, True),
    "open, no copy of theirs": (False, True),
    "closed, with a copy of theirs": (True, False),
    "closed, no copy of theirs": (False, False),
}
# person -> state -> (MANAGE_BUSINESS: the owner's round page, VIEW_ROUND_RESULT)
_NO_ROUND = {state: (False, False) for state in ROUND_STATES}
ROUND_TABLE = {
    "owner": {
        "open, with a copy of theirs": (True, False),  # an open round has no result yet
        "open, no copy of theirs": (True, False),
        "closed, with a copy of theirs": (True, True),
        "closed, no copy of theirs": (True, True),  # an owner sees every closed round of theirs
    },
    "respondent": {
        "open, with a copy of theirs": (False, False),
        "open, no copy of theirs": (False, False),
        "closed, with a copy of theirs": (False, True),
        "closed, no copy of theirs": (False, False),  # a round they were not invited to
    },
    "non-member": _NO_ROUND,  # e.g. a former respondent: a copy left behind grants nothing
    "trainer granted": {
        "open, with a copy of theirs": (False, False),
        "open, no copy of theirs": (False, False),
        "closed, with a copy of theirs": (False, True),
        "closed, no copy of theirs": (False, True),
    },
    "trainer": _NO_ROUND,
    "department": _NO_ROUND,
    "admin": _NO_ROUND,
    "trainer listed as owner": _NO_ROUND,
    "department listed as respondent": _NO_ROUND,
    "admin listed as owner": _NO_ROUND,
}


@pytest.mark.parametrize(("person", "state"), [(p, s) for p in ROUND_TABLE for s in ROUND_STATES])
def test_round_actions(person, state):
    in_round, open_ = ROUND_STATES[state]
    relation = Relation(**PEOPLE[person], copy_in_round=in_round, round_open=open_)
    assert (allows(relation, MB), allows(relation, RR)) == ROUND_TABLE[person][state]


def test_the_tables_cover_every_person_and_an_unknown_action_is_an_error():
    assert set(BUSINESS_TABLE) == set(COPY_TABLE) == set(ROUND_TABLE) == set(PEOPLE)
    assert all(set(states) == set(COPY_STATES) for states in COPY_TABLE.values())
    assert all(set(states) == set(ROUND_STATES) for states in ROUND_TABLE.values())
    with pytest.raises(ValueError, match="unknown action"):
        allows(Relation(account_role="owner", member_role="owner"), "delete everything")  # type: ignore[arg-type]


# -- the trainer's window, in Asia/Ho_Chi_Minh ------------------------------------------------------
HANOI = access.HANOI
STARTS = date(2026, 3, 1)  # the course starts on 1 March 2026; 365 days before is 1 March 2025


def hanoi(*args: int) -> datetime:
    return datetime(*args, tzinfo=HANOI)


def span(instrument: str = "quick-check", starts_on: date = STARTS, left_at: datetime | None = None) -> CohortSpan:
    return CohortSpan(instrument_id=instrument, starts_on=starts_on, left_at=left_at)


@pytest.mark.parametrize(
    ("closed_at", "seen"),
    [
        (hanoi(2025, 3, 1, 0, 0), True),  # exactly 365 days before the start, first minute in Hanoi
        (datetime(2025, 2, 28, 17, 0, tzinfo=UTC), True),  # the same moment in UTC: still 28 Feb there
        (datetime(2025, 2, 28, 17, 30, tzinfo=UTC), True),  # 00:30 on 1 March in Hanoi
        (hanoi(2025, 2, 28, 23, 59), False),  # 366 days before, last minute in Hanoi
        (datetime(2025, 2, 28, 16, 59, tzinfo=UTC), False),  # the same moment in UTC
        (datetime(2025, 2, 28, 10, 0, tzinfo=UTC), False),  # 366 days before in both zones
        (hanoi(2026, 3, 15, 9, 0), True),  # during the course
        (hanoi(2027, 6, 1, 9, 0), True),  # long after: the business never left
    ],
)
def test_the_lookback_is_counted_in_hanoi_days(closed_at, seen):
    assert trainer_sees_round("quick-check", closed_at, [span()]) is seen


def test_a_round_closed_after_the_business_left_is_not_seen():
    left = hanoi(2026, 4, 1, 12, 0)
    assert trainer_sees_round("quick-check", hanoi(2026, 3, 20, 12, 0), [span(left_at=left)]) is True
    assert trainer_sees_round("quick-check", left, [span(left_at=left)]) is True  # at the moment it left
    assert trainer_sees_round("quick-check", left + timedelta(seconds=1), [span(left_at=left)]) is False
    assert trainer_sees_round("quick-check", hanoi(2026, 5, 1, 12, 0), [span(left_at=left)]) is False


def test_another_instrument_an_open_round_and_no_cohort_are_not_seen():
    closed = hanoi(2026, 3, 20, 12, 0)
    assert trainer_sees_round("dmat", closed, [span("quick-check")]) is False
    assert trainer_sees_round("quick-check", None, [span()]) is False  # still open (closed_at None)
    assert trainer_sees_round("quick-check", closed, []) is False


def test_any_one_granting_cohort_is_enough():
    closed = hanoi(2026, 3, 20, 12, 0)
    spans = [span("dmat"), span(left_at=hanoi(2026, 3, 1, 0, 0)), span(starts_on=date(2028, 1, 1))]
    assert trainer_sees_round("quick-check", closed, spans) is False  # none of these grants it
    assert trainer_sees_round("quick-check", closed, [*spans, span(starts_on=date(2027, 1, 1))]) is True


# -- the lookups, against the database --------------------------------------------------------------
CLOSED_AT = datetime(2026, 2, 10, 3, 0, tzinfo=UTC)  # 10 Feb 2026, 10:00 in Hanoi


def account(session, email: str, role: str = "owner"):
    return accounts.create_user(session=session, email=email, password=PASSWORD, role=role, language="en")


@pytest.fixture
def world(session):
    """A business with an owner and an invited respondent; a closed round (both copies, only the
    respondent's submitted) and an open one (the owner's draft); a trainer whose cohort has the
    business; strangers of every kind."""
    owner = make_owner(session)
    business = make_business(session, owner)
    respondent = account(session, "respondent@example.vn")
    closed_copy = start(session, business, owner)
    closed_round = session.get(AssessmentRound, closed_copy.round_id)
    token = rounds.invite(session=session, round_=closed_round, by=owner)
    their_copy = rounds.accept(session=session, token=token, user=respondent)
    answer_all(session, their_copy, business, pick=1)
    assert rounds.submit(session=session, copy=their_copy, business=business) == []
    rounds.close(session=session, round_=closed_round, business=business, now=CLOSED_AT)
    open_copy = start(session, business, owner)
    open_round = session.get(AssessmentRound, open_copy.round_id)
    trainer = account(session, "trainer@example.vn", "trainer")
    cohort = Cohort(name="Spring course", instrument_id="quick-check", starts_on=date(2026, 3, 1),
                    ends_on=date(2026, 5, 31), join_code="SPRING26")
    session.add(cohort)
    session.flush()
    session.add(CohortTrainer(cohort_id=cohort.id, user_id=trainer.id))
    session.add(CohortMember(cohort_id=cohort.id, business_id=business.id))
    session.commit()
    other_owner = make_owner(session, "other@example.vn")
    other_business = make_business(session, other_owner, name="Other")
    return {
        "owner": owner, "business": business, "respondent": respondent, "trainer": trainer, "cohort": cohort,
        "closed_round": closed_round, "open_round": open_round, "owner_closed_copy": closed_copy,
        "their_copy": their_copy, "open_copy": open_copy, "other_owner": other_owner,
        "other_business": other_business, "stranger": account(session, "stranger@example.vn"),
        "other_trainer": account(session, "other-trainer@example.vn", "trainer"),
        "department": account(session, "dept@example.vn", "department"),
        "admin": account(session, "admin@example.vn", "admin"),
    }


MISSING = 999_999


def test_business_for(session, world):
    business = world["business"]
    for action in (VB, MB):
        found = access.business_for(session, world["owner"], business.id, action)
        assert found is not None and found.id == business.id
        assert access.business_for(session, world["owner"], MISSING, action) is None
        assert access.business_for(session, world["owner"], world["other_business"].id, action) is None
        for who in ("respondent", "stranger", "other_owner", "trainer", "department", "admin"):
            assert access.business_for(session, world[who], business.id, action) is None, who


def _copy_id(result):
    return None if result is None else (result[0].id, result[1].id)


def test_copy_for(session, world):
    w = world
    business_id = w["business"].id
    copies = {"their": w["their_copy"], "own_open": w["open_copy"], "own_closed": w["owner_closed_copy"]}
    expected = {
        # (person, copy, action): allowed
        ("owner", "own_open", TC): True, ("owner", "own_open", VC): True, ("owner", "own_open", AN): True,
        ("owner", "own_closed", TC): True, ("owner", "own_closed", AN): False,  # its round is closed
        ("owner", "their", VC): True, ("owner", "their", TC): False, ("owner", "their", AN): False,
        ("respondent", "their", TC): True, ("respondent", "their", VC): True,
        ("respondent", "their", AN): False,  # submitted, and its round closed
        ("respondent", "own_open", VC): False, ("respondent", "own_open", TC): False,
        ("respondent", "own_closed", VC): False,
        ("stranger", "their", VC): False, ("stranger", "own_open", TC): False, ("other_owner", "their", VC): False,
        ("trainer", "their", VC): False, ("trainer", "own_closed", VC): False,
        ("department", "their", VC): False, ("admin", "their", VC): False, ("admin", "own_open", AN): False,
    }
    for (who, name, action), allowed in expected.items():
        copy = copies[name]
        assert _copy_id(access.copy_for(session, w[who], copy.id, action)) == (
            (copy.id, business_id) if allowed else None), (who, copy.id, action)
    for who in ("owner", "respondent", "stranger", "trainer", "admin"):
        assert access.copy_for(session, w[who], MISSING, VC) is None


def test_copy_for_a_respondents_draft_of_an_open_round(session, world):
    w = world
    token = rounds.invite(session=session, round_=w["open_round"], by=w["owner"])
    draft = rounds.accept(session=session, token=token, user=w["respondent"])
    for action in (TC, VC, AN):
        assert _copy_id(access.copy_for(session, w["respondent"], draft.id, action)) == (draft.id, w["business"].id)
    assert access.copy_for(session, w["owner"], draft.id, AN) is None  # the owner does not answer it
    assert _copy_id(access.copy_for(session, w["owner"], draft.id, VC)) == (draft.id, w["business"].id)


def _round_id(result):
    return None if result is None else (result[0].id, result[1].id)


def test_round_for(session, world):
    w = world
    round_of = {"closed": w["closed_round"], "open": w["open_round"]}
    business_id = w["business"].id
    expected = {
        ("owner", "closed", MB): True, ("owner", "closed", RR): True,
        ("owner", "open", MB): True, ("owner", "open", RR): False,
        ("respondent", "closed", RR): True, ("respondent", "closed", MB): False,
        ("respondent", "open", RR): False,  # not invited to it (and it is open)
        ("trainer", "closed", RR): True,  # closed 19 days before the course starts
        ("trainer", "closed", MB): False, ("trainer", "open", RR): False,
        ("other_trainer", "closed", RR): False,  # not a trainer of that cohort
        ("stranger", "closed", RR): False, ("other_owner", "closed", RR): False, ("other_owner", "closed", MB): False,
        ("department", "closed", RR): False, ("admin", "closed", RR): False, ("admin", "open", MB): False,
    }
    for (who, name, action), allowed in expected.items():
        round_ = round_of[name]
        assert _round_id(access.round_for(session, w[who], round_.id, action)) == (
            (round_.id, business_id) if allowed else None), (who, round_.id, action)
    for who in ("owner", "respondent", "trainer", "admin"):
        assert access.round_for(session, w[who], MISSING, RR) is None


def test_round_for_a_trainer_follows_the_cohort(session, world):
    w = world
    closed, trainer = w["closed_round"], w["trainer"]
    member = session.get(CohortMember, (w["cohort"].id, w["business"].id))
    member.left_at = CLOSED_AT - timedelta(minutes=1)  # the business left just before the round closed
    session.add(member)
    session.commit()
    assert access.round_for(session, trainer, closed.id, RR) is None
    member.left_at = CLOSED_AT  # left at that very moment: still seen
    session.add(member)
    session.commit()
    assert _round_id(access.round_for(session, trainer, closed.id, RR)) == (closed.id, w["business"].id)
    cohort = w["cohort"]
    cohort.starts_on = (CLOSED_AT.astimezone(HANOI) + timedelta(days=366)).date()  # 366 days after the close
    session.add(cohort)
    session.commit()
    assert access.round_for(session, trainer, closed.id, RR) is None
    cohort.starts_on = (CLOSED_AT.astimezone(HANOI) + timedelta(days=365)).date()
    session.add(cohort)
    session.commit()
    assert _round_id(access.round_for(session, trainer, closed.id, RR)) == (closed.id, w["business"].id)
    cohort.instrument_id = "dmat"
    session.add(cohort)
    session.commit()
    assert access.round_for(session, trainer, closed.id, RR) is None


def test_a_former_respondent_sees_nothing(session, world):
    w = world
    session.delete(session.get(BusinessMember, (w["business"].id, w["respondent"].id)))
    session.commit()
    assert access.round_for(session, w["respondent"], w["closed_round"].id, RR) is None
    assert access.copy_for(session, w["respondent"], w["their_copy"].id, VC) is None
    assert access.copy_for(session, w["respondent"], w["their_copy"].id, TC) is None


def test_the_lists(session, world):
    w = world
    assert [b.id for b in access.businesses_of(session, w["owner"])] == [w["business"].id]
    assert access.businesses_of(session, w["respondent"]) == []
    assert access.businesses_of(session, w["trainer"]) == []
    assert [a.id for a, _r, _b in access.own_copies(session, w["respondent"])] == [w["their_copy"].id]
    assert access.own_copies(session, w["owner"]) == []  # an owner's copies are on the business page
    assert access.own_copies(session, w["admin"]) == []
