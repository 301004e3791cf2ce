"""Between stored answers and the scoring engine: encoding answers as codes, scoring them (the
what-if sandbox and submission), and reading frozen scores back as the engine's ``Scores``."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

import numpy as np

from questionnaires import loader
from questionnaires.schema import Instrument
from scoring import Scores, ScoringModel, compile_instrument, from_dimension_scores, score

#: the stored answer of a checklist with nothing ticked (valid unless the question has a min_select);
#: an empty CSV cell is a missing answer, "-" this one
NOTHING_TICKED = "-"


@cache
def model_for(instrument_id: str, version: str) -> ScoringModel:
    return compile_instrument(loader.get(instrument_id, version).export())


def encode(
    instrument: Instrument, vsic_section: str | None, size_class: str | None, answers: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (1, C) and the applicability mask (1, C) for one set of answers, one per column
    (``Instrument.columns()``: a question, or a table row under ``<table>.<row>``).

    Unanswered columns are coded "not applicable" with the mask off, so a partial set of answers
    (the what-if sandbox, a partly answered table) scores what has been answered. ``vsic_section``
    None: every column asked. A checklist's "nothing ticked" is stored as ``NOTHING_TICKED``.
    """
    model = model_for(instrument.id, instrument.version)
    codes = np.array(model.na_codes, dtype=np.int64).reshape(1, -1)
    mask = np.zeros((1, model.n_questions), dtype=bool)
    for c, column in enumerate(instrument.columns()):
        value = answers.get(column.id)
        asked = vsic_section is None or column.applies(vsic_section, size_class)
        if value is None or not asked:
            continue
        codes[0, c] = model.code_of(c, value if value == "na" else stored_options(value))
        mask[0, c] = True
    return codes, mask


def stored_options(value: str) -> list[str]:
    """The option ids of a stored answer: "a|b" -> ["a", "b"], "-" (nothing ticked) -> []."""
    return [] if value == NOTHING_TICKED else value.split("|")


def score_answers(instrument: Instrument, vsic_section: str | None, size_class: str | None,
                  answers: dict[str, str]) -> Scores:
    codes, mask = encode(instrument, vsic_section, size_class, answers)
    return score(codes, model_for(instrument.id, instrument.version), applicable=mask, validate=False)


def from_stored(instrument: Instrument, dimension_scores: dict[str, float | None]) -> Scores:
    """Frozen dimension scores (by dimension id; missing or None: no score) as one row of ``Scores``,
    with the overall score and the levels the instrument's rules give them."""
    return from_dimension_scores(stored_matrix(instrument, [dimension_scores]),
                                 model_for(instrument.id, instrument.version))


def stored_matrix(instrument: Instrument, rows: Iterable[dict[str, float | None]]) -> np.ndarray:
    """Dimension scores by id as an array of shape (n, D), NaN where there is none."""
    return np.array([[np.nan if (v := row.get(d.id)) is None else v for d in instrument.dimensions] for row in rows],
                    dtype=np.float64).reshape(-1, len(instrument.dimensions))
