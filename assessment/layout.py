"""How a copy is laid out for one business: the questions asked of it, one page per dimension,
progress, what is missing, and which view a copy in a given state shows."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from questionnaires import loader
from questionnaires.schema import Dimension, Instrument, Question

View = Literal["page", "review", "results"]


@dataclass(frozen=True)
class Page:
    number: int
    dimension: Dimension
    questions: list[Question]


def applicable(instrument: Instrument, vsic_section: str, size_class: str) -> list[Question]:
    """The questions asked of a business of this sector and size, in the instrument's order."""
    return [q for q in instrument.questions if q.applies_to.applies(vsic_section, size_class)]


def pages(instrument: Instrument, vsic_section: str, size_class: str) -> list[Page]:
    """One page per dimension, with only the questions asked of this business."""
    asked = applicable(instrument, vsic_section, size_class)
    out: list[Page] = []
    for dimension in instrument.dimensions:
        questions = [q for q in asked if q.dimension == dimension.id]
        if questions:
            out.append(Page(len(out), dimension, questions))
    return out


def asked_ids(instrument: Instrument, vsic_section: str, size_class: str) -> list[str]:
    """The ids of the asked questions (every autosave counts them: cached per sector and size)."""
    return list(_asked_ids(instrument.id, instrument.version, vsic_section, size_class))


@cache
def _asked_ids(instrument_id: str, version: str, vsic_section: str, size_class: str) -> tuple[str, ...]:
    return tuple(q.id for q in applicable(loader.get(instrument_id, version), vsic_section, size_class))


def missing(instrument: Instrument, vsic_section: str, size_class: str, answers: dict[str, str]) -> list[Question]:
    return [q for q in applicable(instrument, vsic_section, size_class) if q.id not in answers]


def first_unanswered_page(instrument: Instrument, vsic_section: str, size_class: str,
                          answers: dict[str, str]) -> int | None:
    for page in pages(instrument, vsic_section, size_class):
        if any(q.id not in answers for q in page.questions):
            return page.number
    return None


def view_for(status: str, wanted: View) -> View:
    """The one rule for what a copy in a state shows: a submitted copy shows its results (its pages
    and review are gone), a draft shows its pages or review (it has no results yet)."""
    if status == "submitted":
        return "results"
    return "review" if wanted == "results" else wanted
