"""How a copy is laid out for one business: the questions asked of it, one page per dimension,
progress, what is missing, and which view a copy in a given state shows.

Answers are given per *column* (``Instrument.columns()``): an ordinary question, or one row of a
table (``<table>.<row>``). A page lists questions; a table is one block on it whose rows are the
columns asked of this business, and a table with no such row is not asked at all. Progress and
"missing" count columns, the unit an answer is saved and scored in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from questionnaires import loader
from questionnaires.schema import Column, Dimension, Instrument, Question, Row

View = Literal["page", "review", "results"]


@dataclass(frozen=True)
class Page:
    number: int
    dimension: Dimension
    questions: list[Question]
    #: a table's rows asked of this business, by the table's id
    rows: Mapping[str, tuple[Row, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> list[Column]:
        """The page's answerable columns in order: each question, or each asked row of a table."""
        out: list[Column] = []
        for q in self.questions:
            out += ([Column(f"{q.id}.{r.id}", q, r) for r in self.rows.get(q.id, ())] if q.type == "table"
                    else [Column(q.id, q)])
        return out


def asked_columns(instrument: Instrument, vsic_section: str | None, size_class: str | None) -> list[Column]:
    """The columns asked of a business of this sector and size, in the instrument's order."""
    return [c for c in instrument.columns() if c.applies(vsic_section, size_class)]


def asked_rows(question: Question, vsic_section: str | None, size_class: str | None) -> tuple[Row, ...]:
    """A table's rows asked of this business (none unless the table itself applies)."""
    if not question.applies_to.applies(vsic_section, size_class):
        return ()
    return tuple(r for r in question.rows if r.applies_to.applies(vsic_section, size_class))


def applicable(instrument: Instrument, vsic_section: str, size_class: str) -> list[Question]:
    """The questions asked of a business of this sector and size, in the instrument's order: a
    table only when at least one of its rows is."""
    return [q for q in instrument.questions if q.applies_to.applies(vsic_section, size_class)
            and (q.type != "table" or asked_rows(q, vsic_section, size_class))]


def pages(instrument: Instrument, vsic_section: str, size_class: str) -> list[Page]:
    """One page per dimension, with only the questions (and table rows) asked of this business."""
    asked = applicable(instrument, vsic_section, size_class)
    out: list[Page] = []
    for dimension in instrument.dimensions:
        questions = [q for q in asked if q.dimension == dimension.id]
        if questions:
            rows = {q.id: asked_rows(q, vsic_section, size_class) for q in questions if q.type == "table"}
            out.append(Page(len(out), dimension, questions, rows))
    return out


def asked_ids(instrument: Instrument, vsic_section: str, size_class: str) -> list[str]:
    """The ids of the asked columns (every autosave counts them: cached per sector and size)."""
    return list(_asked_ids(instrument.id, instrument.version, vsic_section, size_class))


@cache
def _asked_ids(instrument_id: str, version: str, vsic_section: str, size_class: str) -> tuple[str, ...]:
    return tuple(c.id for c in asked_columns(loader.get(instrument_id, version), vsic_section, size_class))


def missing(instrument: Instrument, vsic_section: str, size_class: str, answers: dict[str, str]) -> list[Column]:
    """The asked columns without an answer (a table row is missing on its own)."""
    return [c for c in asked_columns(instrument, vsic_section, size_class) if c.id not in answers]


def first_unanswered_page(instrument: Instrument, vsic_section: str, size_class: str,
                          answers: dict[str, str]) -> int | None:
    for page in pages(instrument, vsic_section, size_class):
        if any(c.id not in answers for c in page.columns):
            return page.number
    return None


def view_for(status: str, wanted: View) -> View:
    """The one rule for what a copy in a state shows: a submitted copy shows its results (its pages
    and review are gone), a draft shows its pages or review (it has no results yet)."""
    if status == "submitted":
        return "results"
    return "review" if wanted == "results" else wanted
