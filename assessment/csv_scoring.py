"""Score a CSV file of responses in bounded memory: ``dxm score ID RESPONSES.csv``.

Apache Arrow's streaming CSV reader reads the file in blocks and dictionary-encodes every answer
column in C++: a block arrives as small integer indices plus the few distinct answers. Each distinct
answer is encoded once (``encode_value``), one ``take`` maps the block to answer codes, the engine
scores it, and the scores are formatted and written by Arrow too. No row ever becomes a Python object;
only rows with a problem are looked at one by one, to report them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pacsv

from assessment.scores import NOTHING_TICKED
from scoring import NO_LEVEL, ScoringModel, score

BLOCK_BYTES = 8 << 20  # ~40,000 rows of a 60-question instrument per block
INVALID = -1
ANSWER = pa.dictionary(pa.int32(), pa.string())


class HeaderError(ValueError):
    """The file cannot be read as responses to this instrument; nothing was scored."""


@dataclass
class ScoreReport:
    rows_read: int = 0
    rows_written: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def rows_rejected(self) -> int:
        return self.rows_read - self.rows_written


def encode_value(model: ScoringModel, q: int, value: str) -> tuple[int, str]:
    """(code, "") for a valid cell, (INVALID, reason) otherwise. An empty cell is a missing answer;
    "-" is a checklist with nothing ticked (valid unless the question has a ``min_select``), the
    value the web app stores for it."""
    value = value.strip()
    if value == "":
        return INVALID, "missing answer"
    if value == "na":
        if model.allow_na[q]:
            return int(model.na_codes[q]), ""
        return INVALID, "'na' is not allowed for this question"
    if value == NOTHING_TICKED and not model.multi[q]:
        return INVALID, "'-' (nothing ticked) is only an answer to a multi-choice question"
    parts = [] if value == NOTHING_TICKED else [p.strip() for p in value.split("|")]
    if len(parts) > 1 and not model.multi[q]:
        return INVALID, f"several options {value!r} for a single-choice question"
    unknown = [p for p in parts if p not in model.option_ids[q]]
    if unknown:
        return INVALID, f"unknown option {unknown[0]!r}"
    try:
        return model.code_of(q, parts), ""
    except KeyError as exc:  # scoring.InvalidAnswer: an exclusive option with another, too few ticks
        return INVALID, str(exc)


def _check_header(header: list[str], model: ScoringModel) -> None:
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


def output_header(model: ScoringModel) -> list[str]:
    cols = ["respondent", "overall_score", "overall_level"]
    for d in model.dimension_ids:
        cols += [f"{d}_score", f"{d}_level"]
    return cols


def _read_header(source: Path | BinaryIO) -> list[str]:
    """The header row, parsed by Arrow itself so quoting rules match the body."""
    if isinstance(source, Path):
        with source.open("rb") as f:
            first = f.readline()
    else:
        position = source.tell()
        first = source.readline()
        source.seek(position)
    try:
        table = pacsv.read_csv(pa.py_buffer(first), read_options=pacsv.ReadOptions(autogenerate_column_names=True))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise HeaderError(f"cannot read the header: {exc}") from None
    return [str(table.column(i)[0]).strip() if table.num_rows else "" for i in range(table.num_columns)]


def _format_scores(values: np.ndarray) -> pa.Array:
    """Scores with exactly 6 decimals, formatted in C++ (integer millionths, then a dot)."""
    missing = np.isnan(values)
    millionths = np.round(np.where(missing, 0.0, values) * 1_000_000).astype(np.int64)
    whole = pc.cast(pa.array(millionths // 1_000_000), pa.string())
    fraction = pc.utf8_lpad(pc.cast(pa.array(millionths % 1_000_000), pa.string()), 6, "0")
    return pc.if_else(pa.array(missing), "", pc.binary_join_element_wise(whole, fraction, "."))


def _level_names(model: ScoringModel, index: np.ndarray) -> pa.Array:
    names = pa.array([*model.level_ids, ""])
    positions = np.where(index == NO_LEVEL, len(model.level_ids), index).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(positions), names).cast(pa.string())


def _write(model: ScoringModel, respondents: pa.Array, codes: np.ndarray, out: TextIO) -> None:
    result = score(codes, model, validate=False)
    columns = [respondents, _format_scores(result.overall), _level_names(model, result.overall_level)]
    for d in range(model.n_dimensions):
        columns += [_format_scores(result.dimension_scores[:, d]), _level_names(model, result.dimension_levels[:, d])]
    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_arrays(columns, names=output_header(model)), sink,
                    write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    out.write(sink.getvalue().to_pybytes().decode("utf-8"))


def _batch_codes(model: ScoringModel, batch: pa.RecordBatch, report: ScoreReport) -> np.ndarray:
    """The block's answer codes; reports every bad cell; INVALID marks them."""
    codes = np.empty((batch.num_rows, model.n_questions), dtype=np.int32)
    respondents = batch.column("respondent")
    for q, question in enumerate(model.question_ids):
        column = batch.column(question)
        dictionary = column.dictionary.to_pylist()
        encoded = [encode_value(model, q, value) for value in dictionary]
        lookup = np.array([code for code, _ in encoded], dtype=np.int32)
        indices = column.indices.to_numpy(zero_copy_only=False)
        codes[:, q] = lookup[indices]
        for row in np.flatnonzero(codes[:, q] == INVALID):
            report.problems.append(
                f"row {report.rows_read + row + 1} (respondent {respondents[row].as_py()!r}): "
                f"question {question}: {encoded[indices[row]][1]}")
    return codes


def score_csv(
    model: ScoringModel, source: Path | BinaryIO, out: TextIO, *, block_bytes: int = BLOCK_BYTES
) -> ScoreReport:
    """Stream ``source`` to ``out``; bad rows are reported in the result and left out.

    Raises HeaderError when the header does not name exactly the instrument's questions.
    """
    header = _read_header(source)
    _check_header(header, model)
    report = ScoreReport()
    skipped: list[str] = []

    def skip_row(row: pacsv.InvalidRow) -> str:
        where = f"line {row.number}" if row.number is not None else "a line"
        skipped.append(f"{where}: expected {row.expected_columns} fields, saw {row.actual_columns}; left out")
        return "skip"

    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_bytes, use_threads=False),
        parse_options=pacsv.ParseOptions(invalid_row_handler=skip_row, newlines_in_values=False),
        convert_options=pacsv.ConvertOptions(
            column_types={"respondent": pa.string(), **dict.fromkeys(model.question_ids, ANSWER)},
            strings_can_be_null=False, quoted_strings_can_be_null=False),
    )
    out.write(",".join(output_header(model)) + "\n")
    for batch in reader:
        codes = _batch_codes(model, batch, report)
        good = ~(codes == INVALID).any(axis=1)
        if good.any():
            _write(model, batch.column("respondent").filter(pa.array(good)), codes[good], out)
        report.rows_read += batch.num_rows
        report.rows_written += int(good.sum())
    report.problems += skipped
    return report
