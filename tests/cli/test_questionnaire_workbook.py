"""``dxm questionnaire export --xlsx`` and ``dxm questionnaire import``: files in, files out, and
nothing written when the workbook has an error."""

import io
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from assessment.cli import app
from questionnaires import loader

TOOLS_2025 = Path(__file__).parents[2] / "questionnaires" / "data" / "tools-2025" / "1.0.yaml"
EXAMPLE = Path(__file__).parents[1] / "scoring" / "example.yaml"


def run(*args: str):
    return CliRunner().invoke(app, ["questionnaire", *map(str, args)])


def test_export_then_import_writes_the_same_instrument(tmp_path):
    workbook, out = tmp_path / "dmat.xlsx", tmp_path / "dmat.yaml"
    result = run("export", "dmat", "--version", "1.0", "--xlsx", workbook)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and f"{workbook}: dmat 1.0, 36 questions" in result.stderr
    assert load_workbook(workbook).sheetnames == ["instrument", "dimensions", "questions", "rows", "options",
                                                  "levels", "recommendations", "gates"]
    result = run("import", workbook, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"{out}: dmat 1.0, 36 questions" in result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Imported from dmat.xlsx by dxm questionnaire import.\nid: dmat\nversion: '1.0'\n")
    assert loader.load_file(out, strict=True) == loader.get("dmat", "1.0")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dmat.xlsx", "dmat.yaml"]


def test_a_draft_file_exports_and_imports_to_standard_output(tmp_path):
    workbook = tmp_path / "tools.xlsx"
    assert run("export", TOOLS_2025, "--xlsx", workbook).exit_code == 0
    result = run("import", workbook)
    assert result.exit_code == 0, result.output
    assert "id: tools-2025\n" in result.stdout and "scale: 0-4\n" in result.stdout
    out = tmp_path / "tools.yaml"
    out.write_text(result.stdout, encoding="utf-8")
    assert loader.load_file(out) == loader.load_file(TOOLS_2025)


def test_errors_name_the_cell_exit_1_and_write_nothing(tmp_path):
    workbook, out = tmp_path / "qc.xlsx", tmp_path / "qc.yaml"
    run("export", "quick-check", "--xlsx", workbook)
    wb = load_workbook(workbook)
    wb["questions"]["D7"] = 0  # ops02's weight
    wb["levels"]["B4"] = 20  # below the level before
    wb.save(workbook)
    out.write_text("old contents", encoding="utf-8")
    result = run("import", workbook, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{workbook}: questions, row 7, column weight: value 0 out of range (input should be greater than 0)",
        f"{workbook}: levels, row 4, column min_score: thresholds not ascending: 20 after 30",
        f"{workbook}: 2 errors; nothing written",
    ]
    assert out.read_text(encoding="utf-8") == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["qc.xlsx", "qc.yaml"]  # no temporary file left


def test_strict_counts_warnings(tmp_path):
    workbook = tmp_path / "qc.xlsx"
    run("export", "quick-check", "--xlsx", workbook)
    wb = load_workbook(workbook)
    wb["recommendations"].delete_rows(2)
    wb.save(workbook)
    result = run("import", workbook)
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        f"{workbook}: dimensions, row 2, column id: warning: no advice for reaching the level after 'starter'"]
    result = run("import", workbook, "--strict")
    assert result.exit_code == 1 and result.stdout == ""
    assert (f"{workbook}: dimensions, row 2, column id: no advice for reaching the level after 'starter'"
            in result.stderr)


def damaged(path: Path) -> bytes:
    """The workbook at ``path`` with the questions sheet cut in half."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, data[: len(data) // 2] if name == "xl/worksheets/sheet3.xml" else data)
    return buffer.getvalue()


def test_a_file_that_is_not_a_workbook(tmp_path):
    good = tmp_path / "good.xlsx"
    run("export", "quick-check", "--xlsx", good)
    for name, content in [("missing.xlsx", None), ("text.xlsx", b"id: quick-check\n"), ("q.yaml", b"id: x\n"),
                          ("damaged.xlsx", damaged(good))]:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = run("import", path)
        assert result.exit_code == 1 and f"{path}: cannot read the workbook" in result.stderr, result.output
        assert "Traceback" not in result.output


def test_export_of_an_unknown_instrument_or_version(tmp_path):
    result = run("export", "nope", "--xlsx", tmp_path / "x.xlsx")
    assert result.exit_code == 2 and "no instrument 'nope'" in result.stderr
    result = run("export", "dmat", "--version", "9.9", "--xlsx", tmp_path / "x.xlsx")
    assert result.exit_code == 2 and "no instrument 'dmat' (version 9.9)" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_missing_folder(tmp_path):
    result = run("export", "dmat", "--xlsx", tmp_path / "no" / "x.xlsx")
    assert result.exit_code == 1 and "cannot write the file" in result.stderr and "Traceback" not in result.output


def test_a_text_a_workbook_cannot_hold(tmp_path):
    source = tmp_path / "odd.yaml"
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "title: {vi: Ví dụ, en: Example}" in text
    source.write_text(text.replace("title: {vi: Ví dụ, en: Example}", 'title: {vi: Ví dụ, en: "Ex\\vample"}'),
                      encoding="utf-8")
    result = run("export", source, "--xlsx", tmp_path / "odd.xlsx")
    assert result.exit_code == 1, result.output
    assert "instrument, row 5, column value: a control character" in result.stderr
    assert not (tmp_path / "odd.xlsx").exists() and "Traceback" not in result.output
