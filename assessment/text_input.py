"""The one rule for text people type, checked at the edge of the system, the same on both databases.

Every string a form, a URL, a CSV or XLSX import or a questionnaire upload brings in, and every string
written to a text column, passes through here:

* characters that cannot be stored or that would mislead a reader are refused: control characters
  (NUL breaks PostgreSQL, which refuses it, while SQLite stores it), other than tab and line breaks,
  and the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) with which
  "gpj.exe" can be made to read "exe.jpg", and Unicode noncharacters;
* a value that is not empty but has nothing visible (only zero-width or format characters and
  spaces) is refused, so a business or a person cannot be named by an invisible string;
* what is stored is NFC-normalised, so "Hà Nội" typed on a phone (decomposed) and on a desktop
  (precomposed) is one value, and lengths are counted as a person sees them;
* a stored value is at most as long as its column (SQLite does not enforce a VARCHAR's length,
  PostgreSQL refuses the longer value with an error).

``web.deps.check_text`` applies ``problem`` to every form field and query parameter before a route
runs; ``guard_writes`` applies all four to every string written through an ORM session, whatever path
it came by. A refusal is a ``FormErrors`` keyed by the field (the column's name), never a server error.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from typing import Any

from sqlalchemy import String, event
from sqlalchemy.orm import Session

from assessment.messages import N_, FormErrors, Message

ALLOWED_CONTROLS = frozenset("\t\n\r")
BIDI_CONTROLS = frozenset(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
UNSTORABLE = N_("This text holds characters that cannot be stored (control characters or direction overrides).")
INVISIBLE = N_("This text has nothing visible in it.")
TOO_LONG = N_("Use at most %(max)d characters.")


def _bad(char: str) -> bool:
    code = ord(char)
    if char in ALLOWED_CONTROLS:
        return False
    return (code < 0x20 or 0x7F <= code < 0xA0 or char in BIDI_CONTROLS or 0xD800 <= code < 0xE000
            or (code & 0xFFFE) == 0xFFFE or 0xFDD0 <= code <= 0xFDEF)


def problem(value: str) -> str | None:
    """Why ``value`` cannot be taken in (a message id), or None."""
    if any(_bad(c) for c in value):
        return UNSTORABLE
    if value and all(c.isspace() or unicodedata.category(c) in ("Cf", "Mn", "Zs") for c in value):
        return INVISIBLE
    return None


def clean(value: str, *, max_length: int | None = None, field: str = "text") -> str:
    """``value`` NFC-normalised, or ``FormErrors`` naming ``field`` when it breaks a rule above."""
    normal = unicodedata.normalize("NFC", value)
    reason = problem(normal)
    if reason is not None:
        raise FormErrors({field: reason})
    if max_length is not None and len(normal) > max_length:
        raise FormErrors({field: Message(TOO_LONG, max=max_length)})
    return normal


@cache
def _string_columns(mapper: Any) -> list[tuple[str, int | None]]:
    """A mapped class's text attributes and their columns' lengths (SQLModel's ``AutoString`` is a
    decorator around ``String``)."""
    found = []
    for attr in mapper.column_attrs:
        for column in attr.columns:
            kind = getattr(column.type, "impl", column.type)
            if isinstance(kind, String):
                found.append((attr.key, getattr(column.type, "length", None) or kind.length))
    return found


def _check_object(obj: Any) -> None:
    state = getattr(obj, "_sa_instance_state", None)
    if state is None:
        return
    for key, length in _string_columns(state.mapper):
        value = state.dict.get(key)
        if isinstance(value, str):
            cleaned = clean(value, max_length=length, field=key)
            if cleaned != value:
                setattr(obj, key, cleaned)


def guard_writes(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: every new or changed ORM object's strings obey the rule (normalised in place)."""
    for obj in [*session.new, *session.dirty]:
        _check_object(obj)


event.listen(Session, "before_flush", guard_writes)
