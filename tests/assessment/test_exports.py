"""Downloadable tables (assessment/exports.py): CSV and XLSX read back, formula injection, metadata,
sheet titles, streaming. Plain unit tests, no database.

Every expected cell below is written out by hand (the Hanoi times worked out from the UTC ones,
UTC+7), never produced by the module's own formatting."""

import csv
import io
import zipfile
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from assessment.exports import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Column,
    Table,
    iter_csv,
    metadata_csv,
    safe_sheet_title,
    to_csv,
    to_xlsx,
)

BOM = b"\xef\xbb\xbf"

COLUMNS = [
    Column("tax_code"),
    Column("name"),
    Column("ward"),
    Column("employees", "number"),
    Column("t0_overall", "number", "0.0"),
    Column("joined_on", "date"),
    Column("submitted_at", "datetime"),
    Column("consented", "boolean"),
]
ROWS = [
    ["0101234567", "Công ty TNHH Gốm Bát Tràng", "Phường Hoàn Kiếm", 12, 2.75, date(2025, 3, 1),
     datetime(2025, 3, 1, 2, 5, tzinfo=UTC), True],
    # 18:30 UTC on 31 March is already 1 April in Hanoi; a comma and a quote force CSV quoting
    ["0109876543", 'Hợp tác xã "Rau sạch", Đông Anh', None, None, None, None,
     datetime(2025, 3, 31, 18, 30, 59, 999_999, tzinfo=UTC), False],
]
METADATA = [("instrument_version", "dx-sme 2025.1"), ("filters", "cohort=Nhóm Hoàn Kiếm 2025"),
            ("generated_at", "2025-04-02T10:00:00+07:00"), ("rule", "cohort of at least 5")]
TIME_NOTE = ("xlsx_times",
             "Dates and times are Hanoi local time (Asia/Ho_Chi_Minh, UTC+07:00): Excel cells carry no time zone")


def table(rows=ROWS, columns=COLUMNS, metadata=METADATA) -> Table:
    return Table(columns=columns, rows=rows, metadata=metadata)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def read_xlsx(data: bytes):
    return load_workbook(io.BytesIO(data))


# -- CSV ---------------------------------------------------------------------------------------------


def test_csv_round_trip():
    data = to_csv(table())
    assert read_csv(data) == [
        ["tax_code", "name", "ward", "employees", "t0_overall", "joined_on", "submitted_at", "consented"],
        ["0101234567", "Công ty TNHH Gốm Bát Tràng", "Phường Hoàn Kiếm", "12", "2.75", "2025-03-01",
         "2025-03-01T09:05:00+07:00", "true"],
        ["0109876543", 'Hợp tác xã "Rau sạch", Đông Anh', "", "", "", "", "2025-04-01T01:30:59+07:00", "false"],
    ]


def test_csv_bytes_are_bom_utf8_rfc4180():
    data = to_csv(table(rows=ROWS[1:2]))
    assert data == (
        BOM
        + b"tax_code,name,ward,employees,t0_overall,joined_on,submitted_at,consented\r\n"
        + '0109876543,"Hợp tác xã ""Rau sạch"", Đông Anh",,,,,2025-04-01T01:30:59+07:00,false\r\n'.encode()
    )


def test_csv_numbers_use_a_point_and_keep_their_value():
    rows = [[1.5], [-2.5], [0.1], [1234567.25], [0], [-7]]
    data = to_csv(Table([Column("x", "number", "0.0")], rows))
    assert [row[0] for row in read_csv(data)[1:]] == ["1.5", "-2.5", "0.1", "1234567.25", "0", "-7"]


def test_csv_datetime_in_another_zone_is_written_in_hanoi_time():
    paris = timezone(timedelta(hours=2))
    data = to_csv(Table([Column("at", "datetime")], [[datetime(2025, 6, 1, 20, 0, tzinfo=paris)]]))
    assert read_csv(data)[1] == ["2025-06-02T01:00:00+07:00"]


def test_csv_carries_no_metadata_and_metadata_csv_does():
    data = to_csv(table())
    assert b"instrument_version" not in data
    assert read_csv(metadata_csv(table())) == [
        ["key", "value"],
        ["instrument_version", "dx-sme 2025.1"],
        ["filters", "cohort=Nhóm Hoàn Kiếm 2025"],
        ["generated_at", "2025-04-02T10:00:00+07:00"],
        ["rule", "cohort of at least 5"],
    ]


def test_media_types():
    assert CSV_MEDIA_TYPE == "text/csv; charset=utf-8"
    assert XLSX_MEDIA_TYPE == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- streaming CSV -----------------------------------------------------------------------------------


def many_rows(n: int, consumed: list[int] | None = None):
    for i in range(n):
        if consumed is not None:
            consumed.append(i)
        yield [f"{i:010d}", f"Công ty số {i}", "Phường Hoàn Kiếm", i, i / 4, date(2025, 1, 1) + timedelta(days=i % 365),
               datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=i), i % 2 == 0]


def test_streaming_csv_yields_the_same_bytes_as_to_csv():
    assert b"".join(iter_csv(table())) == to_csv(table())
    chunks = list(iter_csv(table(rows=many_rows(5000))))
    assert len(chunks) > 1
    assert chunks[0].startswith(BOM) and not any(chunk.startswith(BOM) for chunk in chunks[1:])
    assert b"".join(chunks) == to_csv(table(rows=list(many_rows(5000))))


def test_streaming_csv_reads_rows_as_it_goes():
    consumed: list[int] = []
    chunks = iter_csv(table(rows=many_rows(5_000, consumed)))
    first = next(chunks)
    assert first.startswith(BOM + b"tax_code,")
    assert 0 < len(consumed) < 5_000  # the first chunk left before the last row was read
    assert sum(1 for _ in chunks) > 0
    assert len(consumed) == 5_000


# -- XLSX --------------------------------------------------------------------------------------------


def test_xlsx_round_trip_typed_values_and_formats():
    book = read_xlsx(to_xlsx(table(), sheet_title="Nhóm Hoàn Kiếm"))
    assert book.sheetnames == ["Nhóm Hoàn Kiếm", "metadata"]
    sheet = book["Nhóm Hoàn Kiếm"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values == [
        ["tax_code", "name", "ward", "employees", "t0_overall", "joined_on", "submitted_at", "consented"],
        ["0101234567", "Công ty TNHH Gốm Bát Tràng", "Phường Hoàn Kiếm", 12, 2.75, datetime(2025, 3, 1),
         datetime(2025, 3, 1, 9, 5), True],
        ["0109876543", 'Hợp tác xã "Rau sạch", Đông Anh', None, None, None, None,
         datetime(2025, 4, 1, 1, 30, 59), False],
    ]
    first = sheet[2]
    assert [cell.data_type for cell in first] == ["s", "s", "s", "n", "n", "d", "d", "b"]
    assert isinstance(first[3].value, int) and isinstance(first[4].value, float)
    assert first[0].value == "0101234567"  # a tax code keeps its leading zero: it is text
    assert first[4].number_format == "0.0"
    assert first[5].number_format == "dd/mm/yyyy"
    assert first[6].number_format == "dd/mm/yyyy hh:mm"
    assert first[6].value.tzinfo is None  # Hanoi wall-clock time; the metadata sheet says so


def test_xlsx_header_is_bold_and_frozen_and_columns_are_sized():
    long_name = "Công ty Cổ phần Đầu tư Phát triển Công nghệ và Dịch vụ Thương mại Hà Nội Mới"  # 76 characters
    rows = [["0101234567", long_name, "Phường Hoàn Kiếm", 1, 1.0, None, None, None]]
    sheet = read_xlsx(to_xlsx(table(rows=rows), sheet_title="data")).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in sheet[1])
    assert not any(cell.font.b for cell in sheet[2])
    widths = {letter: dimension.width for letter, dimension in sheet.column_dimensions.items()}
    assert widths["A"] == 12  # "0101234567" and 2
    assert widths["B"] == 60  # capped
    assert widths["C"] == 18  # "Phường Hoàn Kiếm" and 2
    assert widths["F"] == 12  # the header "joined_on" (9) and 2, under a date's 10 + 2
    assert widths["G"] == 18  # "dd/mm/yyyy hh:mm" and 2
    assert widths["H"] == 11  # "consented" and 2


def test_xlsx_metadata_sheet():
    sheet = read_xlsx(to_xlsx(table(), sheet_title="data"))["metadata"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["key", "value"],
        ["instrument_version", "dx-sme 2025.1"],
        ["filters", "cohort=Nhóm Hoàn Kiếm 2025"],
        ["generated_at", "2025-04-02T10:00:00+07:00"],
        ["rule", "cohort of at least 5"],
        list(TIME_NOTE),
    ]
    assert all(cell.font.b for cell in sheet[1])


def test_xlsx_streams_a_generator_of_many_rows():
    # more rows than the 200 sampled for the column widths: the sampled rows are written, then the rest
    book = read_xlsx(to_xlsx(table(rows=many_rows(1000)), sheet_title="data"))
    sheet = book.worksheets[0]
    assert sheet.max_row == 1001
    assert [cell.value for cell in sheet[201]] == ["0000000199", "Công ty số 199", "Phường Hoàn Kiếm", 199, 49.75,
                                                    datetime(2025, 7, 19), datetime(2025, 1, 1, 10, 19), False]
    assert [cell.value for cell in sheet[1001]] == ["0000000999", "Công ty số 999", "Phường Hoàn Kiếm", 999, 249.75,
                                                     datetime(2025, 9, 27), datetime(2025, 1, 1, 23, 39), False]


def test_xlsx_drops_control_characters_xml_cannot_hold():
    notes = Table([Column("note")], [["a\x01b\x1fc\td"], ["\x01=1+1"]])
    sheet = read_xlsx(to_xlsx(notes, sheet_title="x")).worksheets[0]
    assert sheet["A2"].value == "abc\td"
    assert sheet["A3"].value == "=1+1" and sheet["A3"].data_type == "s" and sheet["A3"].quotePrefix


# -- formula injection -------------------------------------------------------------------------------

HOSTILE = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\r=x", '=HYPERLINK("http://evil.example","Bấm")']
HOSTILE_TABLE = Table(
    [Column("text"), Column("number", "number", "0.0")],
    [[text, -2.5] for text in HOSTILE],
    metadata=[("filters", "=1+1"), ("rule", "-2+3")],
)


def test_csv_neutralises_formula_like_text_with_an_apostrophe():
    rows = read_csv(to_csv(HOSTILE_TABLE))
    assert rows[1:] == [
        ["'=1+1", "-2.5"],
        ["'+SUM(A1)", "-2.5"],
        ["'-2+3", "-2.5"],
        ["'@cmd", "-2.5"],
        ["'\t=x", "-2.5"],
        ["'\r=x", "-2.5"],
        ["'=HYPERLINK(\"http://evil.example\",\"Bấm\")", "-2.5"],
    ]
    assert read_csv(metadata_csv(HOSTILE_TABLE))[1:] == [["filters", "'=1+1"], ["rule", "'-2+3"]]


def test_csv_leaves_harmless_text_alone():
    rows = read_csv(to_csv(Table([Column("t")], [["a=1"], [" =1"], ["Phường 1+2"], ["2025-01-01"], [""]])))
    assert [row[0] for row in rows[1:]] == ["a=1", " =1", "Phường 1+2", "2025-01-01", ""]


def test_xlsx_stores_formula_like_text_as_quoted_strings_never_formulas():
    data = to_xlsx(HOSTILE_TABLE, sheet_title="data")
    book = read_xlsx(data)
    cells = [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    sheet = book["data"]
    # the text itself, unprefixed (a carriage return comes back as a line feed: XML reads every line end as one)
    assert [sheet.cell(row=i, column=1).value for i in range(2, 9)] == [
        "=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=x", "\n=x", '=HYPERLINK("http://evil.example","Bấm")']
    assert all(sheet.cell(row=i, column=1).quotePrefix for i in range(2, 9))
    assert all(sheet.cell(row=i, column=1).data_type == "s" for i in range(2, 9))
    assert [sheet.cell(row=i, column=2).value for i in range(2, 9)] == [-2.5] * 7
    assert all(sheet.cell(row=i, column=2).data_type == "n" for i in range(2, 9))
    assert not sheet["B2"].quotePrefix
    meta = book["metadata"]
    assert [meta["B2"].value, meta["B3"].value] == ["=1+1", "-2+3"]
    assert meta["B2"].quotePrefix and meta["B2"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:  # no formula element anywhere in the file
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(name) and b"<f " not in archive.read(name)


# -- sheet titles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Nhóm Hoàn Kiếm", "Nhóm Hoàn Kiếm"),
        ("Lớp [A]: 2025/Q1 *?\\", "Lớp -A-- 2025-Q1 ---"),
        ("Cohort: Công ty TNHH Gốm Bát Tràng 2025", "Cohort- Công ty TNHH Gốm Bát Tr"),  # 31 characters
        ("Nho\u0301m", "Nhóm"),  # decomposed accents are composed (NFC) first
        ("'quoted'", "quoted"),
        ("", "data"),
        ("  ''  ", "data"),
        ("metadata", "metadata 1"),
        ("History", "History 1"),
        ("a\tb\nc", "abc"),
    ],
)
def test_safe_sheet_title(title, expected):
    assert safe_sheet_title(title) == expected
    assert len(expected) <= 31


def test_to_xlsx_uses_the_safe_title():
    book = read_xlsx(to_xlsx(table(), sheet_title="Lớp [A]: 2025/Q1 — trainers' cohort export"))
    assert book.sheetnames == ["Lớp -A-- 2025-Q1 — trainers' co", "metadata"]
    assert read_xlsx(to_xlsx(table(), sheet_title="Metadata")).sheetnames == ["Metadata 1", "metadata"]


# -- values checked against their columns ------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "error"),
    [
        (Column("n", "number"), "-2.5", TypeError),  # a string would escape neutralisation
        (Column("n", "number"), True, TypeError),
        (Column("n", "number"), float("nan"), ValueError),
        (Column("t"), 5, TypeError),
        (Column("d", "date"), datetime(2025, 1, 1, tzinfo=UTC), TypeError),
        (Column("at", "datetime"), date(2025, 1, 1), TypeError),
        (Column("at", "datetime"), datetime(2025, 1, 1), ValueError),  # naive
        (Column("b", "boolean"), 1, TypeError),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(column, value, error):
    with pytest.raises(error):
        to_csv(Table([column], [[value]]))
    with pytest.raises(error):
        to_xlsx(Table([column], [[value]]), sheet_title="x")


def test_rows_must_match_the_columns():
    with pytest.raises(ValueError, match="row 2 has 1 values for 2 columns"):
        to_csv(Table([Column("a"), Column("b")], [["x", "y"], ["z"]]))


@pytest.mark.parametrize("name", ["", "tax code", "=cmd", "1st", "t0-overall"])
def test_column_names_are_machine_names(name):
    with pytest.raises(ValueError):
        Column(name)


def test_bad_columns_are_refused():
    with pytest.raises(ValueError):
        Column("x", "money")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Column("x", "text", "0.0")
    with pytest.raises(ValueError):
        Table([Column("a"), Column("a")], [])
    with pytest.raises(ValueError):
        Table([], [])
