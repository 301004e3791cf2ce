"""Questionnaires as spreadsheets: an XLSForm-like workbook <-> the YAML-shaped instrument mapping.

The centre's staff write questionnaires in Excel or LibreOffice, not in YAML. A workbook has one
sheet per kind of thing (``instrument``, ``dimensions``, ``questions``, ``rows``, ``options``,
``levels``, ``recommendations``, ``gates``), one row per thing and a text column per language
(``text_vi``, ``text_en``, ``text_fr``...); questions name a shared option list, as XLSForm's
``list_name`` does (docs/questionnaire-workbook.md explains every column).

Reading a workbook gives the same mapping a YAML file holds, plus where each value came from, so
that the YAML lint (the same schema and checks, :func:`loader.lint_report`) can report every
problem as "sheet, row, column". Nothing here touches files; the CLI opens and writes them.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import IllegalCharacterError  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from questionnaires.loader import lint_report
from questionnaires.schema import LANGUAGES, Instrument, Text

Severity = Literal["error", "warning"]

#: instrument-sheet keys besides the texts (``title_<lang>``, ``description_<lang>``, ``source_<lang>``)
INSTRUMENT_KEYS = ("id", "version", "threshold", "languages", "overall_rule")
INSTRUMENT_TEXTS = ("title", "description", "source")
#: every sheet's plain columns and its text columns (each ``<prefix>_<lang>``), in the order written
SHEETS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "instrument": (("key", "value"), ()),
    "dimensions": (("id", "weight"), ("name", "description")),
    "questions": (("id", "dimension", "type", "weight", "allow_na", "min_select", "scale", "options",
                   "applies_sections", "applies_sizes"), ("text", "help")),
    "rows": (("table", "id", "applies_sections", "applies_sizes"), ("text", "help")),
    "options": (("list", "id", "score", "exclusive"), ("text",)),
    "levels": (("id", "min_score"), ("name", "description")),
    "recommendations": (("dimension", "level"), ("text",)),
    "gates": (("level", "min_score", "min_dimensions"), ()),
}
REQUIRED_SHEETS = ("instrument", "dimensions", "questions", "options", "levels")
_LANG_COLUMN = re.compile(r"^([a-z]+)_([a-z]{2})$")
_SPLIT = re.compile(r"[,;\s]+")
_YES = {"yes", "y", "true", "1", "x", "có"}
_NO = {"no", "n", "false", "0", "không"}
#: columns written as text, so that Excel keeps "1.0" and "0-5" as typed
_TEXT_COLUMNS = {"id", "value", "version", "scale", "options", "list", "table", "dimension", "level"}


@dataclass(frozen=True)
class Cell:
    """Where a value came from: a sheet, its row (as Excel numbers it) and column, or for the
    ``instrument`` sheet the key of a row that is missing."""

    sheet: str
    row: int | None = None
    column: str | None = None
    key: str | None = None

    def __str__(self) -> str:
        parts = [self.sheet]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}" + (f" ({self.key})" if self.key and self.row else ""))
        if self.key and self.row is None:
            parts.append(f"key {self.key}")
        return ", ".join(parts)


@dataclass(frozen=True)
class WorkbookProblem:
    cell: Cell
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.cell}: {'warning: ' if self.severity == 'warning' else ''}{self.message}"


@dataclass(frozen=True)
class ParsedWorkbook:
    """A workbook read into the YAML-shaped mapping (not yet validated), the cell behind every
    path of it (paths as the lint writes them: ``questions[3].options[1].score``) and the
    problems found while reading cells."""

    data: dict[str, Any]
    cells: dict[str, Cell]
    problems: list[WorkbookProblem]


@dataclass(frozen=True)
class ImportResult:
    """The instrument (None when there is any error), the errors and the warnings."""

    instrument: Instrument | None
    errors: list[WorkbookProblem] = field(default_factory=list)
    warnings: list[WorkbookProblem] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# reading cells


@dataclass
class _Reader:
    """The state of one read: the cells behind each path and the problems so far."""

    cells: dict[str, Cell] = field(default_factory=dict)
    problems: list[WorkbookProblem] = field(default_factory=list)

    def problem(self, cell: Cell, message: str, severity: Severity = "error") -> None:
        self.problems.append(WorkbookProblem(cell, message, severity))

    def text(self, value: Any, cell: Cell) -> str:
        """A cell as text; numbers as Excel shows them (an id typed 1 is "1", not "1.0")."""
        if isinstance(value, str):
            return unicodedata.normalize("NFC", value.strip())
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dt.datetime | dt.date | dt.time):
            self.problem(cell, "the spreadsheet turned this into a date; type it as text (start it with ')")
            return str(value)
        return str(value)

    def number(self, value: Any, cell: Cell) -> Any:
        """A number; text such as "0,5" (a Vietnamese decimal comma) is read as 0.5."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            try:
                number = float(value.strip().replace(",", "."))
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
        self.problem(cell, f"{self.text(value, cell)!r} is not a number")
        return self.text(value, cell)

    def integer(self, value: Any, cell: Cell) -> Any:
        number = self.number(value, cell)
        if isinstance(number, float) and number.is_integer():
            return int(number)
        if isinstance(number, float):
            self.problem(cell, f"{number} is not a whole number")
        return number

    def flag(self, value: Any, cell: Cell) -> bool:
        word = self.text(value, cell).lower()
        if word in _YES:
            return True
        if word not in _NO:
            self.problem(cell, f"{word!r}: write yes or no (or leave the cell empty for no)")
        return False

    def words(self, value: Any, cell: Cell) -> list[str]:
        return [word for word in _SPLIT.split(self.text(value, cell)) if word]

    def texts(self, values: dict[str, Any], prefix: str, path: str, cell_of: Callable[[str], Cell],
              *, required: bool = True) -> dict[str, str] | None:
        """The ``<prefix>_<lang>`` cells of a row as a text mapping ({} when required and empty,
        None when optional and empty); registers the cell of every language (``cell_of(column)``),
        so that "missing translation (en)" points at the empty ``text_en`` cell."""
        out: dict[str, str] = {}
        langs = dict.fromkeys([*LANGUAGES, *(m[2] for c in values if (m := _LANG_COLUMN.match(c)) and m[1] == prefix)])
        for lang in langs:
            column = f"{prefix}_{lang}"
            cell = self.cells[f"{path}.{lang}"] = cell_of(column)
            if column in values:
                text = self.text(values[column], cell)
                if text:
                    out[lang] = text
        self.cells.setdefault(path, self.cells[f"{path}.{LANGUAGES[0]}"])
        return out if out or required else None


def _in_row(sheet: str, number: int) -> Callable[[str], Cell]:
    return lambda column: Cell(sheet, number, column)


def _sheet_rows(ws: Worksheet, name: str, reader: _Reader) -> list[tuple[int, dict[str, Any]]]:
    """The non-empty rows of a sheet as (Excel row number, {column name: value}), the columns
    checked against the sheet's known ones (a typo such as ``wieght`` is an error, not ignored)."""
    plain, text_prefixes = SHEETS[name]
    rows = ws.iter_rows(values_only=True)
    header_row = next(rows, None) or ()
    headers: list[str | None] = []
    for i, value in enumerate(header_row, 1):
        header = reader.text(value, Cell(name, 1, get_column_letter(i))).lower() if value is not None else ""
        match = _LANG_COLUMN.match(header)
        if not header or header.startswith("#"):
            headers.append(None if not header else "#")
        elif header in plain or (match and match[1] in text_prefixes):
            if header in headers:
                reader.problem(Cell(name, 1, header), "this column appears twice")
            headers.append(header)
        else:
            known = ", ".join([*plain, *(f"{p}_vi, {p}_en" for p in text_prefixes)])
            reader.problem(Cell(name, 1, header), f"unknown column (this sheet has {known}; "
                                                  "a column whose name starts with # is a note)")
            headers.append("#")
    out = []
    for number, values in enumerate(rows, 2):
        row: dict[str, Any] = {}
        for i, value in enumerate(values):
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            column = headers[i] if i < len(headers) else None
            if column is None:
                reader.problem(Cell(name, number, get_column_letter(i + 1)), "a value in a column without a name")
            elif column != "#":
                row[column] = value
        if row:
            out.append((number, row))
    return out


def read_workbook(wb: Workbook) -> ParsedWorkbook:
    """Read a workbook into the YAML-shaped mapping, without validating it (:func:`validate`)."""
    reader = _Reader()
    sheets: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    names = {name.strip().lower(): name for name in wb.sheetnames}
    for name in SHEETS:
        if name in names:
            sheets[name] = _sheet_rows(wb[names[name]], name, reader)
        else:
            sheets[name] = []
            if name in REQUIRED_SHEETS:
                reader.problem(Cell(name), f"the workbook has no sheet {name!r}")
    data = _instrument(sheets, reader)
    return ParsedWorkbook(data, reader.cells, reader.problems)


def _instrument(sheets: dict[str, list[tuple[int, dict[str, Any]]]], reader: _Reader) -> dict[str, Any]:
    keys: dict[str, tuple[int, Any]] = {}
    rows_of: dict[str, int] = {}
    for number, values in sheets["instrument"]:
        key = reader.text(values.get("key", ""), Cell("instrument", number, "key")).lower()
        match = _LANG_COLUMN.match(key)
        if not key:
            reader.problem(Cell("instrument", number, "key"), "a value without a key")
        elif key in rows_of:
            reader.problem(Cell("instrument", number, "key"), f"the key {key!r} appears twice")
        elif key in INSTRUMENT_KEYS or (match and match[1] in INSTRUMENT_TEXTS):
            rows_of[key] = number
            if "value" in values:
                keys[key] = (number, values["value"])
        else:
            reader.problem(Cell("instrument", number, "key"), f"unknown key {key!r} (keys: "
                           f"{', '.join(INSTRUMENT_KEYS)}, title_vi, description_vi, source_vi, ... per language)")

    def cell(key: str) -> Cell:
        return Cell("instrument", rows_of.get(key), "value", key=key) if key in rows_of else Cell("instrument", key=key)

    data: dict[str, Any] = {}
    for key in ("id", "version", "threshold", "languages", "overall_rule"):
        reader.cells[key] = cell(key)
    if "id" in keys:
        data["id"] = reader.text(keys["id"][1], cell("id"))
    if "version" in keys:
        data["version"] = _version(keys["version"][1], cell("version"), reader)
    text_values = {key: value for key, (_, value) in keys.items() if _LANG_COLUMN.match(key)}
    for prefix in INSTRUMENT_TEXTS:
        texts = reader.texts(text_values, prefix, prefix, cell, required=prefix != "source")
        if texts is not None:
            data[prefix] = texts
    if "languages" in keys:
        data["languages"] = reader.words(keys["languages"][1], cell("languages"))
    if "threshold" in keys:
        data["threshold"] = reader.text(keys["threshold"][1], cell("threshold"))
    data["levels"] = _levels(sheets["levels"], reader)
    data["overall_level"] = _overall(keys.get("overall_rule"), cell("overall_rule"), sheets["gates"], reader)
    if not data["overall_level"]:
        del data["overall_level"]
    data["dimensions"] = _dimensions(sheets["dimensions"], sheets["recommendations"], reader)
    data["questions"] = _questions(sheets["questions"], sheets["rows"], sheets["options"], reader)
    return data


def _version(value: Any, cell: Cell, reader: _Reader) -> str:
    """Excel turns a typed 1.0 into the number 1: such a version is read as "1.0" (a warning)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        version = f"{value:.1f}" if float(value).is_integer() else str(value)
        reader.problem(cell, f"the version is a number in the workbook; read as {version!r} "
                       "(type it as text, starting with ', to be sure)", "warning")
        return version
    return reader.text(value, cell)


def _fields(values: dict[str, Any], number: int, sheet: str, path: str, reader: _Reader,
            columns: dict[str, str]) -> tuple[dict[str, Any], dict[str, Cell]]:
    """The plain cells of a row by kind (``columns``: column -> text|number|integer|flag|words),
    each registered under ``<path>.<column>``; empty cells are left out (the schema's default)."""
    out: dict[str, Any] = {}
    cells = {}
    for column, kind in columns.items():
        cell = Cell(sheet, number, column)
        cells[column] = reader.cells[f"{path}.{column}"] = cell
        if column in values:
            out[column] = getattr(reader, kind)(values[column], cell)
    return out, cells


def _levels(rows: list[tuple[int, dict[str, Any]]], reader: _Reader) -> list[dict[str, Any]]:
    levels = []
    for i, (number, values) in enumerate(rows):
        path = f"levels[{i}]"
        level, cells = _fields(values, number, "levels", path, reader, {"id": "text", "min_score": "number"})
        reader.cells[path] = cells["id"]
        in_row = _in_row("levels", number)
        level["name"] = reader.texts(values, "name", f"{path}.name", in_row)
        level["description"] = reader.texts(values, "description", f"{path}.description", in_row)
        levels.append(level)
    return levels


def _overall(rule: tuple[int, Any] | None, cell: Cell, gates: list[tuple[int, dict[str, Any]]],
             reader: _Reader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    reader.cells["overall_level"] = reader.cells["overall_level.rule"] = cell
    reader.cells["overall_level.gates"] = Cell("gates")
    if rule is not None:
        out["rule"] = reader.text(rule[1], cell)
    if gates:
        reader.cells["overall_level.gates"] = Cell("gates", gates[0][0])
        if out.get("rule") != "gated":
            reader.problem(Cell("gates", gates[0][0]), "gates are for the overall rule gated "
                           f"(the instrument's overall_rule is {out.get('rule', 'score')!r})")
        out["gates"] = []
        for i, (number, values) in enumerate(gates):
            path = f"overall_level.gates[{i}]"
            gate, cells = _fields(values, number, "gates", path, reader,
                                  {"level": "text", "min_score": "number", "min_dimensions": "integer"})
            reader.cells[path] = cells["level"]
            out["gates"].append(gate)
    return out


def _dimensions(rows: list[tuple[int, dict[str, Any]]], advice: list[tuple[int, dict[str, Any]]],
                reader: _Reader) -> list[dict[str, Any]]:
    dimensions = []
    index: dict[str, int] = {}
    for i, (number, values) in enumerate(rows):
        path = f"dimensions[{i}]"
        dimension, cells = _fields(values, number, "dimensions", path, reader, {"id": "text", "weight": "number"})
        reader.cells[path] = reader.cells[f"{path}.recommendations"] = cells["id"]
        in_row = _in_row("dimensions", number)
        dimension["name"] = reader.texts(values, "name", f"{path}.name", in_row)
        dimension["description"] = reader.texts(values, "description", f"{path}.description", in_row)
        index.setdefault(str(dimension.get("id")), i)
        dimensions.append(dimension)
    for number, values in advice:
        dimension_id = reader.text(values.get("dimension", ""), Cell("recommendations", number, "dimension"))
        level_id = reader.text(values.get("level", ""), Cell("recommendations", number, "level"))
        if dimension_id not in index:
            reader.problem(Cell("recommendations", number, "dimension"),
                           f"unknown dimension {dimension_id!r}" if dimension_id else "missing")
            continue
        if not level_id:
            reader.problem(Cell("recommendations", number, "level"), "missing")
            continue
        i = index[dimension_id]
        recommendations = dimensions[i].setdefault("recommendations", {})
        if level_id in recommendations:
            reader.problem(Cell("recommendations", number, "level"),
                           f"a second text for dimension {dimension_id!r} at level {level_id!r}")
            continue
        path = f"dimensions[{i}].recommendations.{level_id}"
        recommendations[level_id] = reader.texts(values, "text", path, _in_row("recommendations", number))
        reader.cells[path] = Cell("recommendations", number, "level")
    return dimensions


def _option_lists(rows: list[tuple[int, dict[str, Any]]],
                  reader: _Reader) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    lists: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for number, values in rows:
        name = reader.text(values.get("list", ""), Cell("options", number, "list"))
        if not name:
            reader.problem(Cell("options", number, "list"), "an option without a list name")
        else:
            lists.setdefault(name, []).append((number, values))
    return lists


def _options(rows: list[tuple[int, dict[str, Any]]], path: str, reader: _Reader) -> list[dict[str, Any]]:
    options = []
    for j, (number, values) in enumerate(rows):
        option_path = f"{path}.options[{j}]"
        option, cells = _fields(values, number, "options", option_path, reader,
                                {"id": "text", "score": "number", "exclusive": "flag"})
        reader.cells[option_path] = cells["id"]
        if not option.get("exclusive", True):
            del option["exclusive"]
        option["text"] = reader.texts(values, "text", f"{option_path}.text", _in_row("options", number))
        options.append(option)
    return options


def _scale_labels(rows: list[tuple[int, dict[str, Any]]], path: str, scale: Any,
                  reader: _Reader) -> dict[str, dict[str, str]]:
    """A scale question's option list holds its labels: point ids, texts, no scores."""
    labels: dict[str, dict[str, str]] = {}
    points = _points(scale)
    for number, values in rows:
        point = reader.text(values.get("id", ""), Cell("options", number, "id"))
        if "score" in values or "exclusive" in values:
            column = "score" if "score" in values else "exclusive"
            reader.problem(Cell("options", number, column),
                           f"the labels of a scale take no {column}: point i of a scale A-B scores i/B")
        label_path = f"{path}.scale_labels.{point}"
        reader.cells[label_path] = Cell("options", number, "id")
        labels[point] = reader.texts(values, "text", label_path, _in_row("options", number)) or {}
        if point in points:  # the schema writes the scale out as options: point k is option k - A
            option_path = f"{path}.options[{points.index(point)}]"
            reader.cells[option_path] = Cell("options", number, "id")
            for lang in labels[point]:
                reader.cells[f"{option_path}.text.{lang}"] = reader.cells[f"{label_path}.{lang}"]
    return labels


def _points(scale: Any) -> list[str]:
    match = re.match(r"^(\d+)-(\d+)$", scale) if isinstance(scale, str) else None
    return [str(p) for p in range(int(match[1]), int(match[2]) + 1)] if match else []


def _applies(question: dict[str, Any]) -> None:
    applies = {key: question.pop(f"applies_{key}") for key in ("sections", "sizes") if f"applies_{key}" in question}
    if applies:
        question["applies_to"] = applies


def _questions(rows: list[tuple[int, dict[str, Any]]], table_rows: list[tuple[int, dict[str, Any]]],
               option_rows: list[tuple[int, dict[str, Any]]], reader: _Reader) -> list[dict[str, Any]]:
    lists = _option_lists(option_rows, reader)
    used: set[str] = set()
    questions = []
    index: dict[str, int] = {}
    for i, (number, values) in enumerate(rows):
        path = f"questions[{i}]"
        question, cells = _fields(values, number, "questions", path, reader, {
            "id": "text", "dimension": "text", "type": "text", "weight": "number", "allow_na": "flag",
            "min_select": "integer", "scale": "text", "options": "text", "applies_sections": "words",
            "applies_sizes": "words"})
        reader.cells[path] = cells["id"]
        for key in ("sections", "sizes"):
            reader.cells[f"{path}.applies_to.{key}"] = cells[f"applies_{key}"]
        reader.cells[f"{path}.applies_to"] = cells["applies_sections"]
        reader.cells[f"{path}.scale_labels"] = cells["options"]
        reader.cells[f"{path}.rows"] = cells["type"]
        if "type" in question:
            question["type"] = question["type"].lower()
        if "scale" in question:
            question["scale"] = re.sub(r"\s+", "", question["scale"])  # "0 - 5" is 0-5
        if not question.get("allow_na", True):
            del question["allow_na"]
        _applies(question)
        question["text"] = reader.texts(values, "text", f"{path}.text", _in_row("questions", number))
        help_text = reader.texts(values, "help", f"{path}.help", _in_row("questions", number), required=False)
        if help_text is not None:
            question["help"] = help_text
        list_name = question.pop("options", None)
        if list_name is not None:
            used.add(list_name)
            if list_name not in lists:
                reader.problem(cells["options"], f"no option list {list_name!r} in the sheet options")
            elif "scale" in question:
                question["scale_labels"] = _scale_labels(lists[list_name], path, question["scale"], reader)
            else:
                question["options"] = _options(lists[list_name], path, reader)
        index.setdefault(str(question.get("id")), i)
        questions.append(question)
    for name, option_list in lists.items():
        if name not in used:
            reader.problem(Cell("options", option_list[0][0], "list"),
                           f"no question uses the option list {name!r}", "warning")
    _rows(table_rows, questions, index, reader)
    return questions


def _rows(rows: list[tuple[int, dict[str, Any]]], questions: list[dict[str, Any]], index: dict[str, int],
          reader: _Reader) -> None:
    for number, values in rows:
        table = reader.text(values.get("table", ""), Cell("rows", number, "table"))
        if table not in index:
            reader.problem(Cell("rows", number, "table"), f"no question {table!r} in the sheet questions"
                           if table else "missing: the id of the table (a question of type table)")
            continue
        i = index[table]
        table_rows = questions[i].setdefault("rows", [])
        path = f"questions[{i}].rows[{len(table_rows)}]"
        row, cells = _fields(values, number, "rows", path, reader,
                             {"id": "text", "applies_sections": "words", "applies_sizes": "words"})
        reader.cells[path] = cells["id"]
        for key in ("sections", "sizes"):
            reader.cells[f"{path}.applies_to.{key}"] = cells[f"applies_{key}"]
        reader.cells[f"{path}.applies_to"] = cells["applies_sections"]
        _applies(row)
        row["text"] = reader.texts(values, "text", f"{path}.text", _in_row("rows", number))
        help_text = reader.texts(values, "help", f"{path}.help", _in_row("rows", number), required=False)
        if help_text is not None:
            row["help"] = help_text
        table_rows.append(row)


# ---------------------------------------------------------------------------------------------
# validating


#: a problem of a whole question (a model rule) -> the column to point at, by a word of its message
_QUESTION_RULES = (("min_select", "min_select"), ("scale", "scale"), ("exclusive", "options"),
                   ("option", "options"), ("rows", "type"), ("table", "type"))


def locate(path: str, message: str, cells: dict[str, Cell]) -> Cell:
    """The cell behind a lint path: the path itself, else its nearest registered parent."""
    path = re.sub(r"^overall_level\.(score|gated)\b", "overall_level", path)  # pydantic names the union's tag
    if re.fullmatch(r"questions\[\d+\]", path):
        label = re.match(r"scale_labels '([^']*)'", message)  # a label off the scale: the label's row
        if label and f"{path}.scale_labels.{label[1]}" in cells:
            return cells[f"{path}.scale_labels.{label[1]}"]
        for word, column in _QUESTION_RULES:
            if word in message and f"{path}.{column}" in cells:
                return cells[f"{path}.{column}"]
    probe = path
    while probe:
        if probe in cells:
            return cells[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return Cell("instrument")


def validate(parsed: ParsedWorkbook, file: str, *, strict: bool = False) -> ImportResult:
    """Check the mapping with exactly the schema and lint a YAML file gets, each problem placed
    at its cell. A cell that could not be read is reported once, not again by the schema."""
    report = lint_report(yaml.safe_dump(parsed.data, allow_unicode=True, sort_keys=False), file, strict=strict)
    read_errors = {p.cell for p in parsed.problems if p.severity == "error"}
    seen: set[tuple[Cell, str]] = set()
    errors: list[WorkbookProblem] = []
    warnings: list[WorkbookProblem] = []
    found = [*parsed.problems, *(WorkbookProblem(locate(p.path, p.message, parsed.cells), p.message, p.severity)
                                 for p in [*report.errors, *report.warnings])]
    for index, problem in enumerate(found):
        from_schema = index >= len(parsed.problems)
        if (from_schema and problem.cell in read_errors) or (problem.cell, problem.message) in seen:
            continue
        seen.add((problem.cell, problem.message))
        severity: Severity = "error" if strict else problem.severity
        (errors if severity == "error" else warnings).append(WorkbookProblem(problem.cell, problem.message, severity))
    instrument = report.instrument if not errors else None
    return ImportResult(instrument, errors, warnings)


def import_workbook(wb: Workbook, file: str, *, strict: bool = False) -> ImportResult:
    """Read and validate a workbook (``strict``: warnings count as errors, as for a bundled file)."""
    return validate(read_workbook(wb), file, strict=strict)


# ---------------------------------------------------------------------------------------------
# writing


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _text_data(text: Text) -> dict[str, str]:
    return dict(text.model_dump())


def instrument_data(instrument: Instrument) -> dict[str, Any]:
    """An instrument as the YAML-shaped mapping, in a stable key order, defaults left out and a
    scale written as its shorthand: what ``import`` writes and what ``export --xlsx`` reads."""
    out: dict[str, Any] = {"id": instrument.id, "version": instrument.version,
                           "title": _text_data(instrument.title), "description": _text_data(instrument.description)}
    if instrument.source is not None:
        out["source"] = _text_data(instrument.source)
    if instrument.languages is not None:
        out["languages"] = list(instrument.languages)
    out["threshold"] = instrument.threshold
    overall: dict[str, Any] = {"rule": instrument.overall_level.rule}
    if instrument.overall_level.rule == "gated":
        overall["gates"] = [{"level": g.level, "min_score": _number(g.min_score), "min_dimensions": g.min_dimensions}
                            for g in instrument.overall_level.gates]
    out["overall_level"] = overall
    out["levels"] = [{"id": lv.id, "min_score": _number(lv.min_score), "name": _text_data(lv.name),
                      "description": _text_data(lv.description)} for lv in instrument.levels]
    out["dimensions"] = []
    for d in instrument.dimensions:
        dimension: dict[str, Any] = {"id": d.id, "weight": _number(d.weight), "name": _text_data(d.name),
                                     "description": _text_data(d.description)}
        if d.recommendations:
            dimension["recommendations"] = {level: _text_data(t) for level, t in d.recommendations.items()}
        out["dimensions"].append(dimension)
    out["questions"] = [_question_data(q) for q in instrument.questions]
    return out


def _applies_data(applies: Any) -> dict[str, list[str]]:
    return {key: list(getattr(applies, key)) for key in ("sections", "sizes") if getattr(applies, key)}


def _question_data(q: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"id": q.id, "dimension": q.dimension}
    if q.type != "single":
        out["type"] = q.type
    if q.weight != 1:
        out["weight"] = _number(q.weight)
    if q.allow_na:
        out["allow_na"] = True
    if q.min_select:
        out["min_select"] = q.min_select
    if applies := _applies_data(q.applies_to):
        out["applies_to"] = applies
    out["text"] = _text_data(q.text)
    if q.help is not None:
        out["help"] = _text_data(q.help)
    if q.scale is not None:
        out["scale"] = q.scale
        if q.scale_labels is not None:
            out["scale_labels"] = {point: _text_data(t) for point, t in q.scale_labels.items()}
    else:
        out["options"] = [{"id": o.id, "score": _number(o.score), **({"exclusive": True} if o.exclusive else {}),
                           "text": _text_data(o.text)} for o in q.options]
    if q.rows:
        out["rows"] = []
        for r in q.rows:
            row: dict[str, Any] = {"id": r.id}
            if applies := _applies_data(r.applies_to):
                row["applies_to"] = applies
            row["text"] = _text_data(r.text)
            if r.help is not None:
                row["help"] = _text_data(r.help)
            out["rows"].append(row)
    return out


def to_yaml(data: dict[str, Any], *, comment: str = "") -> str:
    """The mapping as YAML: UTF-8 text in NFC, keys in the order given."""
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=110)
    return unicodedata.normalize("NFC", header + body)


def _languages(data: dict[str, Any]) -> list[str]:
    """The languages the text columns are written for: the declared ones and any a text carries."""
    found = dict.fromkeys([*LANGUAGES, *(data.get("languages") or [])])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "vi" in node and "en" in node and all(isinstance(v, str) for v in node.values()):
                found.update(dict.fromkeys(node))
            else:
                for value in node.values():
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(data)
    return list(found)


def _list_key(options: Any) -> str:
    return json.dumps(options, sort_keys=True, ensure_ascii=False)


def to_workbook(data: dict[str, Any]) -> Workbook:
    """Write the YAML-shaped mapping (as :func:`instrument_data` gives it) as a workbook: questions
    with the same options share one option list, named after the first question that uses it.
    ``ValueError`` for a text a workbook cannot hold (a control character)."""
    langs = _languages(data)
    wb = Workbook()
    wb.remove(wb.active)
    sheets = {name: _new_sheet(wb, name, langs) for name in SHEETS}

    def texts(prefix: str, text: dict[str, str] | None) -> dict[str, str]:
        return {f"{prefix}_{lang}": value for lang, value in (text or {}).items()}

    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SHEETS}
    instrument = rows["instrument"]
    instrument += [{"key": "id", "value": data["id"]}, {"key": "version", "value": data["version"]}]
    for prefix in INSTRUMENT_TEXTS:
        instrument += [{"key": f"{prefix}_{lang}", "value": value} for lang, value in (data.get(prefix) or {}).items()]
    if data.get("languages") is not None:
        instrument.append({"key": "languages", "value": ", ".join(data["languages"])})
    overall = data.get("overall_level") or {"rule": "score"}
    instrument += [{"key": "threshold", "value": data.get("threshold", "at_least")},
                   {"key": "overall_rule", "value": overall["rule"]}]
    rows["gates"] = list(overall.get("gates", []))
    for level in data["levels"]:
        rows["levels"].append({"id": level["id"], "min_score": level["min_score"], **texts("name", level["name"]),
                               **texts("description", level["description"])})
    for d in data["dimensions"]:
        rows["dimensions"].append({"id": d["id"], "weight": d["weight"], **texts("name", d["name"]),
                                   **texts("description", d["description"])})
        rows["recommendations"] += [{"dimension": d["id"], "level": level, **texts("text", text)}
                                    for level, text in (d.get("recommendations") or {}).items()]
    lists: dict[str, str] = {}
    for q in data["questions"]:
        choices = q.get("scale_labels") if "scale" in q else q.get("options")
        list_name = None
        if choices is not None:
            key = _list_key(["labels", choices] if "scale" in q else choices)
            list_name = lists.get(key)
            if list_name is None:
                list_name = lists[key] = q["id"]
                if "scale" in q:
                    rows["options"] += [{"list": list_name, "id": point, **texts("text", text)}
                                        for point, text in choices.items()]
                else:
                    rows["options"] += [{"list": list_name, "id": o["id"], "score": o["score"],
                                         "exclusive": "yes" if o.get("exclusive") else None, **texts("text", o["text"])}
                                        for o in choices]
        applies = q.get("applies_to") or {}
        rows["questions"].append({
            "id": q["id"], "dimension": q["dimension"], "type": q.get("type", "single"), "weight": q.get("weight", 1),
            "allow_na": "yes" if q.get("allow_na") else None, "min_select": q.get("min_select") or None,
            "scale": q.get("scale"), "options": list_name,
            "applies_sections": ", ".join(applies.get("sections", [])) or None,
            "applies_sizes": ", ".join(applies.get("sizes", [])) or None,
            **texts("text", q["text"]), **texts("help", q.get("help"))})
        for r in q.get("rows", []):
            applies = r.get("applies_to") or {}
            rows["rows"].append({"table": q["id"], "id": r["id"],
                                 "applies_sections": ", ".join(applies.get("sections", [])) or None,
                                 "applies_sizes": ", ".join(applies.get("sizes", [])) or None,
                                 **texts("text", r["text"]), **texts("help", r.get("help"))})
    for name, ws in sheets.items():
        _fill(ws, rows[name])
    return wb


def _columns(name: str, langs: Iterable[str]) -> list[str]:
    plain, prefixes = SHEETS[name]
    return [*plain, *(f"{prefix}_{lang}" for prefix in prefixes for lang in langs)]


def _new_sheet(wb: Workbook, name: str, langs: list[str]) -> Worksheet:
    ws = wb.create_sheet(name)
    for i, column in enumerate(_columns(name, langs), 1):
        cell = ws.cell(1, i, column)
        cell.font = Font(bold=True)
        text_column = _LANG_COLUMN.match(column) or column == "value"
        ws.column_dimensions[get_column_letter(i)].width = 60 if text_column else max(10, len(column) + 2)
    ws.freeze_panes = "A2"
    choices = {"type": '"single,multi,table"', "allow_na": '"yes,no"', "exclusive": '"yes,no"'}
    for i, column in enumerate(_columns(name, langs), 1):
        if column in choices:
            validation = DataValidation(type="list", formula1=choices[column], allow_blank=True)
            ws.add_data_validation(validation)
            validation.add(f"{get_column_letter(i)}2:{get_column_letter(i)}1000")
    return ws


def _fill(ws: Worksheet, rows: list[dict[str, Any]]) -> None:
    headers = [str(c.value) for c in ws[1]]
    for number, row in enumerate(rows, 2):
        for i, column in enumerate(headers, 1):
            value = row.get(column)
            if value is None:
                continue
            try:
                cell = ws.cell(number, i, value)
            except IllegalCharacterError:
                raise ValueError(f"{Cell(ws.title, number, column)}: a control character, which a workbook "
                                 f"cannot hold, in {value!r}") from None
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # openpyxl makes any str beginning with "=" a formula
            if column in _TEXT_COLUMNS and isinstance(value, str):
                cell.number_format = "@"
            if _LANG_COLUMN.match(column) or column == "value":
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def cell_values(wb: Workbook) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Every sheet's values, row by row: what "the same workbook" means to a test."""
    for ws in wb.worksheets:
        yield ws.title, [tuple(row) for row in ws.iter_rows(values_only=True)]
