"""Tables for download, as CSV or XLSX: the one place every export (trainers' cohorts now, the
department's later) writes its files, so that encoding, number and date formats, time zone and
formula-injection defence are decided once.

A ``Table`` is typed columns, rows of plain Python values and metadata (instrument version, filters,
generation time, rule, ...):

* ``to_csv`` / ``iter_csv``: data only, machine-readable. The metadata is not put in leading
  comment lines (every CSV reader would have to be told to skip them); ``metadata_csv`` writes it as
  a separate two-column file for whoever needs it beside the data. The one exception is a file
  meant to travel alone, the city's record-level export for statisticians, whose
  ``iter_csv(..., metadata_lines=True)`` starts with ``# key: value`` lines (pandas
  ``comment="#"``, R ``comment.char="#"``): a file that is downloaded days after it was asked for
  must say what it holds and under which rule.
* ``to_xlsx``: the data sheet plus a sheet named ``metadata`` with the key/value pairs.

Formula injection (OWASP "CSV Injection"): a text cell beginning with = + - @, a tab or a carriage
return would be run as a formula by a spreadsheet. In CSV such a cell gets a leading apostrophe
(OWASP's recommendation; spreadsheets show the text, and a reader of the data can strip it). In XLSX
it is stored as a string cell with Excel's "quote prefix" flag, which is what Excel itself stores
when someone types '=1+1: shown as text, never evaluated, and still text after editing. Only text
columns hold strings (values are checked against their column's kind), so a negative number is
always a number and is never prefixed.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Literal

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

HANOI = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh has kept UTC+7 without DST since 1975

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Kind = Literal["text", "number", "date", "datetime", "boolean"]
KINDS: tuple[Kind, ...] = ("text", "number", "date", "datetime", "boolean")
Value = str | int | float | bool | date | datetime | None

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list of leading characters
DATE_FORMAT = "dd/mm/yyyy"  # how Vietnamese write dates
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
METADATA_SHEET = "metadata"
XLSX_TIME_NOTE = (
    "xlsx_times",
    "Dates and times are Hanoi local time (Asia/Ho_Chi_Minh, UTC+07:00): Excel cells carry no time zone",
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # as openpyxl's ILLEGAL_CHARACTERS_RE
_ONE_LINE = re.compile(r"[\r\n]+")  # a metadata line stays one line
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
_CSV_CHUNK = 64 * 1024  # characters buffered before iter_csv yields
_WIDTH_SAMPLE = 200  # rows looked at to size the XLSX columns
_MIN_WIDTH, _MAX_WIDTH = 8, 60


@dataclass(frozen=True)
class Column:
    """One column: ``name`` is a machine name (``tax_code``, ``t0_overall``; letters, digits, ``_``),
    written as the header in both formats, so the header never needs neutralising and scripts can
    rely on it. ``number_format`` is an Excel display format (``"0.0"``) for number columns; it
    changes nothing in CSV, which keeps the full value."""

    name: str
    kind: Kind = "text"
    number_format: str | None = None

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"column name {self.name!r} is not a machine name ([A-Za-z_][A-Za-z0-9_]*)")
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name}: kind {self.kind!r} is not one of {KINDS}")
        if self.number_format is not None and self.kind != "number":
            raise ValueError(f"column {self.name}: number_format is for number columns")


@dataclass(frozen=True)
class Table:
    """Columns, rows and metadata. ``rows`` may be any iterable (a generator for a large
    record-level export): the writers read it once, row by row."""

    columns: Sequence[Column]
    rows: Iterable[Sequence[Value]]
    metadata: Sequence[tuple[str, str]] = ()

    def __post_init__(self) -> None:
        names = [column.name for column in self.columns]
        if not names:
            raise ValueError("a table needs at least one column")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate column names in {names}")


_METADATA_COLUMNS = (Column("key"), Column("value"))


# -- values ------------------------------------------------------------------------------------------


def _checked(column: Column, value: object) -> Value:
    """The value if it fits its column's kind (numbers made plain ``int``/``float``, e.g. from
    numpy), else TypeError: a string in a number column would otherwise escape neutralisation, and a
    naive datetime has no defined Hanoi time."""
    if value is None:
        return None
    kind = column.kind
    if kind == "text" and isinstance(value, str):
        return value
    if kind == "number" and isinstance(value, numbers.Real) and not isinstance(value, bool):
        number: int | float = int(value) if isinstance(value, numbers.Integral) else float(value)
        if isinstance(number, float) and not math.isfinite(number):
            raise ValueError(f"column {column.name}: {number} is not a finite number")
        return number
    if kind == "date" and isinstance(value, date) and not isinstance(value, datetime):
        return value
    if kind == "datetime" and isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"column {column.name}: naive datetime {value!r}; give it a time zone (UTC)")
        return value
    if kind == "boolean" and isinstance(value, bool):
        return value
    raise TypeError(f"column {column.name} ({kind}): {value!r} is a {type(value).__name__}")


def _cells(columns: Sequence[Column], row: Sequence[object], number: int) -> list[Value]:
    if len(row) != len(columns):
        raise ValueError(f"row {number} has {len(row)} values for {len(columns)} columns")
    return [_checked(column, value) for column, value in zip(columns, row, strict=True)]


def _hanoi(value: datetime) -> datetime:
    """Hanoi wall-clock time to the second (microseconds mean nothing to a reader of an export)."""
    return value.astimezone(HANOI).replace(microsecond=0)


def _is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


# -- CSV ---------------------------------------------------------------------------------------------


def _csv_text(value: Value) -> str:
    """A value as CSV text: "." decimals (``repr`` of a float, never the locale's), ISO 8601 dates,
    datetimes in Hanoi time with their offset, ``true``/``false``, an empty cell for None, and a
    leading apostrophe on text a spreadsheet would read as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return _hanoi(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + value if _is_formula_like(value) else value
    return repr(value)


def iter_csv(table: Table, *, metadata_lines: bool = False) -> Iterator[bytes]:
    """The CSV of ``to_csv`` in chunks of about 64 KiB, reading ``table.rows`` as it goes: constant
    memory for a record-level export of any size (a ``StreamingResponse`` body). With
    ``metadata_lines`` the metadata comes first as ``# key: value`` lines (module docstring)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the byte-order mark (see to_csv)
    if metadata_lines:
        for key, value in table.metadata:
            buffer.write(f"# {key}: {_ONE_LINE.sub(' ', value)}\r\n")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, fields quoted when needed
    writer.writerow([column.name for column in table.columns])
    for number, row in enumerate(table.rows, start=1):
        writer.writerow([_csv_text(value) for value in _cells(table.columns, row, number)])
        if buffer.tell() >= _CSV_CHUNK:
            yield _take(buffer)
    yield _take(buffer)


def _take(buffer: io.StringIO) -> bytes:
    """The buffer's text as UTF-8, and the buffer emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode("utf-8")


def to_csv(table: Table) -> bytes:
    """The table as CSV (RFC 4180, CRLF line ends), UTF-8 with a byte-order mark: without the BOM,
    Excel on Windows opens a CSV in the ANSI code page and Vietnamese text ("Gốm Bát Tràng") comes
    out garbled; with it, Excel reads UTF-8, and Python (``utf-8-sig``), pandas and R read it too.

    The header row holds the column names; there is no metadata in the file (``metadata_csv``)."""
    return b"".join(iter_csv(table))


def metadata_csv(table: Table) -> bytes:
    """The metadata as its own CSV (header ``key,value``, same encoding and neutralisation as
    ``to_csv``), for an export that ships data and metadata as two files."""
    return to_csv(Table(_METADATA_COLUMNS, table.metadata))


# -- XLSX --------------------------------------------------------------------------------------------


def safe_sheet_title(title: str) -> str:
    """A title Excel accepts: NFC (so a Vietnamese letter is one character, not a letter and its
    marks), none of []:*?/\\ (each becomes "-"), no apostrophe at either end, at most 31 characters,
    not empty, and neither "History" (reserved by Excel) nor the metadata sheet's name."""
    text = _BAD_TITLE.sub("-", unicodedata.normalize("NFC", title))
    text = "".join(ch for ch in text if ch.isprintable()).strip().strip("'").strip()[:31].rstrip().rstrip("'")
    if not text:
        return "data"
    if text.casefold() in {"history", METADATA_SHEET}:
        return text[:29] + " 1"
    return text


def _xlsx_value(value: Value) -> Value:
    """What openpyxl is given: Hanoi-local naive datetimes (Excel has no time zones; the metadata
    sheet says so), text without the control characters XML cannot hold."""
    if isinstance(value, datetime):
        return _hanoi(value).replace(tzinfo=None)
    if isinstance(value, str):
        return _XML_ILLEGAL.sub("", value)
    return value


_FIXED_WIDTH = {"date": len("dd/mm/yyyy"), "datetime": len("dd/mm/yyyy hh:mm"), "boolean": len("FALSE")}


def _display_width(column: Column, value: Value) -> int:
    """Roughly how many characters Excel shows for the value (dates and booleans: always the same,
    so that a column empty in the first rows is still wide enough for later ones)."""
    if column.kind in _FIXED_WIDTH:
        return _FIXED_WIDTH[column.kind]
    if value is None:
        return 0
    if isinstance(value, str):
        return max(len(line) for line in value.splitlines() or [""])
    return len(f"{value:.2f}") if isinstance(value, float) else len(str(value))


def _column_width(column: Column, sample: Iterable[Value]) -> int:
    """The header's or the widest sampled value's width, and 2, within 8 to 60 characters."""
    widest = max([len(column.name), _display_width(column, None), *(_display_width(column, v) for v in sample)])
    return min(max(widest + 2, _MIN_WIDTH), _MAX_WIDTH)


def _cell(sheet: object, value: Value, number_format: str | None = None, *, bold: bool = False) -> WriteOnlyCell:
    stored = _xlsx_value(value)
    cell = WriteOnlyCell(sheet, value=stored)
    if isinstance(stored, str):
        cell.data_type = "s"  # openpyxl makes any str beginning with "=" a formula
        if _is_formula_like(stored):
            cell.quotePrefix = True  # Excel's own mark of '=1+1: text, and still text once edited
    if number_format is not None:
        cell.number_format = number_format
    if bold:
        cell.font = Font(bold=True)
    return cell


def _cell_format(column: Column) -> str | None:
    return {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT}.get(column.kind, column.number_format)


def to_xlsx(table: Table, *, sheet_title: str) -> bytes:
    """The table as an Excel workbook: the data sheet (title made safe by ``safe_sheet_title``),
    with a bold header row frozen at the top, columns sized from the header and the first rows, and
    typed cells (numbers with their column's format, dates ``dd/mm/yyyy``, datetimes as Hanoi local
    time ``dd/mm/yyyy hh:mm``, booleans, text as text); then the sheet ``metadata`` with a bold
    ``key``/``value`` header, the table's metadata and a note that times are Hanoi time.

    openpyxl's write-only mode streams rows to a temporary file, so memory does not grow with the
    row count; only the finished file is held (returned as bytes)."""
    columns = table.columns
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(safe_sheet_title(sheet_title))
    rows = iter(table.rows)
    head = [_cells(columns, row, number) for number, row in enumerate(itertools.islice(rows, _WIDTH_SAMPLE), 1)]
    for index, column in enumerate(columns):  # widths and panes must be set before the first row
        sample = [row[index] for row in head]
        sheet.column_dimensions[get_column_letter(index + 1)].width = _column_width(column, sample)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, column.name, bold=True) for column in columns])
    formats = [_cell_format(column) for column in columns]
    rest = (_cells(columns, row, number) for number, row in enumerate(rows, start=len(head) + 1))
    for cells in itertools.chain(head, rest):
        sheet.append([_cell(sheet, value, fmt) for value, fmt in zip(cells, formats, strict=True)])

    meta = workbook.create_sheet(METADATA_SHEET)
    pairs = [*table.metadata, XLSX_TIME_NOTE]
    meta.column_dimensions["A"].width = _column_width(Column("key"), [key for key, _ in pairs])
    meta.column_dimensions["B"].width = 80
    meta.append([_cell(meta, "key", bold=True), _cell(meta, "value", bold=True)])
    for number, pair in enumerate(pairs, start=1):
        meta.append([_cell(meta, value) for value in _cells(_METADATA_COLUMNS, pair, number)])

    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
