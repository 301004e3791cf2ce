"""The one text rule, hand-checked: what is refused, what is normalised, and that every ORM write obeys it."""

from __future__ import annotations

import unicodedata

import pytest
from sqlmodel import select

from assessment import text_input
from assessment.messages import FormErrors
from assessment.models import User
from tests.factories import make_owner


@pytest.mark.parametrize(("value", "expected"), [
    ("Công ty TNHH Đồng Xuân", None),
    ("line one\nline two\ttabbed\r\n", None),  # tabs and line breaks are text
    ("", None),
    ("a\x00b", text_input.UNSTORABLE),  # NUL: PostgreSQL refuses it
    ("bell\x07", text_input.UNSTORABLE),
    ("\x85next line", text_input.UNSTORABLE),  # a C1 control
    ("invoice\u202egpj.exe", text_input.UNSTORABLE),  # right-to-left override
    ("\u2066isolate\u2069", text_input.UNSTORABLE),
    ("no\ufffe", text_input.UNSTORABLE),  # a noncharacter
    ("\u200b\u200b", text_input.INVISIBLE),  # zero-width spaces only
    (" \u200d\ufeff ", text_input.INVISIBLE),
    ("a\u200bb", None),  # a zero-width space inside a visible name is allowed
])
def test_problem(value, expected):
    assert text_input.problem(value) == expected


def test_clean_normalises_to_nfc_and_counts_what_a_person_sees():
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    assert len(decomposed) == 9 and text_input.clean(decomposed, max_length=6) == "Hà Nội"
    with pytest.raises(FormErrors) as long:
        text_input.clean("x" * 7, max_length=6, field="name")
    assert long.value.errors["name"].params == {"max": 6}


def test_every_orm_write_obeys_the_rule_on_both_databases(session):
    owner = make_owner(session)
    owner.display_name = unicodedata.normalize("NFD", "Nguyễn Thị Lan")
    session.add(owner)
    session.commit()
    session.expire_all()
    assert session.exec(select(User.display_name)).one() == "Nguyễn Thị Lan"  # stored precomposed
    for bad, message in (("x\x00y", text_input.UNSTORABLE), ("\u200b", text_input.INVISIBLE),
                         ("n" * 121, text_input.TOO_LONG)):
        owner.display_name = bad
        session.add(owner)
        with pytest.raises(FormErrors) as refused:
            session.commit()
        assert refused.value.errors["display_name"] == message
        session.rollback()
    session.expire_all()
    assert session.exec(select(User.display_name)).one() == "Nguyễn Thị Lan"  # nothing written
