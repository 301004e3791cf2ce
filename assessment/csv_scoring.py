"""Score a CSV file of responses in chunks: ``dxm score ID RESPONSES.csv``.

Rows are never held as Python objects: pandas reads a chunk of strings, each column is factorised
(a column has few distinct answers), every distinct answer is encoded once, and the engine scores
the chunk's code matrix. Only rows with a problem are looked at one by one, to report them.
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np
import pandas as pd

from scoring import NO_LEVEL, ScoringModel, score

CHUNK_ROWS = 65_536
INVALID = -1


class HeaderError(ValueError):
    """The file's header does not match the instrument; nothing can be scored."""


@dataclass
class ScoreReport:
    rows_read: int = 0
    rows_written: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_written


def _encode_value(model: ScoringModel, q: int, value: str) -> tuple[int, str]:
    """(code, "") for a valid cell, (INVALID, reason) otherwise."""
    value = value.strip()
    if value == "":
        return INVALID, "missing answer"
    if value == "na":
        if model.allow_na[q]:
            return int(model.na_codes[q]), ""
        return INVALID, "'na' is not allowed for this question"
    parts = [p.strip() for p in value.split("|")]
    if len(parts) > 1 and not model.multi[q]:
        return INVALID, f"several options {value!r} for a single-choice question"
    try:
        return model.code_of(q, parts), ""
    except KeyError as exc:
        return INVALID, f"unknown option {exc.args[0]!r}"


def encode_column(model: ScoringModel, q: int, values: np.ndarray) -> np.ndarray:
    """Codes for one column of strings, encoding each distinct value once; INVALID where bad."""
    inverse, uniques = pd.factorize(values)
    codes = np.array([_encode_value(model, q, str(u))[0] for u in uniques], dtype=np.int32)
    return codes[inverse]


def _columns(header: list[str], model: ScoringModel) -> list[str]:
    if not header or header[0] != "respondent":
        raise HeaderError("the first column must be 'respondent'")
    given = header[1:]
    duplicates = sorted({c for c in given if given.count(c) > 1})
    unknown = [c for c in given if c not in model.question_ids]
    missing = [q for q in model.question_ids if q not in given]
    messages = []
    if duplicates:
        messages.append(f"duplicate columns: {', '.join(duplicates)}")
    if unknown:
        messages.append(f"columns that are not questions of {model.instrument_id}: {', '.join(unknown)}")
    if missing:
        messages.append(f"missing question columns: {', '.join(missing)}")
    if messages:
        raise HeaderError("; ".join(messages))
    return given


def output_header(model: ScoringModel) -> list[str]:
    cols = ["respondent", "overall_score", "overall_level"]
    for d in model.dimension_ids:
        cols += [f"{d}_score", f"{d}_level"]
    return cols


def _format(values: np.ndarray) -> np.ndarray:
    """Scores as text with 6 decimals; an empty cell where there is no score."""
    text = np.char.mod("%.6f", np.nan_to_num(values))
    return np.where(np.isnan(values), "", text)


def _level_names(model: ScoringModel, index: np.ndarray) -> np.ndarray:
    names = np.array([*model.level_ids, ""], dtype=object)
    return names[np.where(index == NO_LEVEL, len(model.level_ids), index)]


def _write(model: ScoringModel, respondents: np.ndarray, codes: np.ndarray, out: TextIO) -> None:
    result = score(codes, model, validate=False)
    table = {"respondent": respondents, "overall_score": _format(result.overall),
             "overall_level": _level_names(model, result.overall_level)}
    for d, name in enumerate(model.dimension_ids):
        table[f"{name}_score"] = _format(result.dimension_scores[:, d])
        table[f"{name}_level"] = _level_names(model, result.dimension_levels[:, d])
    pd.DataFrame(table).to_csv(out, header=False, index=False, lineterminator="\n")


def score_csv(
    model: ScoringModel, source: TextIO, out: TextIO, *, chunk_rows: int = CHUNK_ROWS
) -> ScoreReport:
    """Stream ``source`` to ``out``; bad rows are reported in the result and left out.

    Raises HeaderError when the header does not name exactly the instrument's questions.
    """
    header = next(csv.reader([source.readline()]), [])
    columns = _columns([h.strip() for h in header], model)
    order = [columns.index(q) for q in model.question_ids]
    report = ScoreReport()
    out.write(",".join(output_header(model)) + "\n")
    with warnings.catch_warnings(record=True) as skipped:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        reader = pd.read_csv(
            source, header=None, names=["respondent", *columns], dtype=str,
            keep_default_na=False, na_filter=False, chunksize=chunk_rows, on_bad_lines="warn",
        )
        for chunk in reader:
            values = chunk.to_numpy()
            codes = np.empty((len(chunk), model.n_questions), dtype=np.int32)
            for q, column in enumerate(order):
                codes[:, q] = encode_column(model, q, values[:, column + 1])
            bad = (codes == INVALID).any(axis=1)
            for row in np.flatnonzero(bad):
                for q in np.flatnonzero(codes[row] == INVALID):
                    value = str(values[row, order[q] + 1]).strip()
                    reason = _encode_value(model, int(q), value)[1]
                    report.problems.append(
                        f"row {report.rows_read + row + 1} (respondent {values[row, 0]!r}): "
                        f"question {model.question_ids[q]}: {reason}"
                    )
            good = ~bad
            if good.any():
                _write(model, values[good, 0], codes[good], out)
            report.rows_read += len(chunk)
            report.rows_written += int(good.sum())
    for warning in skipped:
        report.problems.append(str(warning.message).strip().replace("Skipping", "skipped"))
    return report
