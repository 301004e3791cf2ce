"""The shipped instruments, their export and the ``list``/``export`` commands."""

import json

import pytest
from typer.testing import CliRunner

from assessment.cli import app
from questionnaires import loader


def test_list_shows_every_instrument_with_its_version():
    result = CliRunner().invoke(app, ["questionnaire", "list"])
    assert result.exit_code == 0
    for instrument_id in ("mic-dbi", "dmat", "quick-check"):
        assert any(line.startswith(f"{instrument_id}\t1.0") for line in result.stdout.splitlines())


def test_export_has_the_contract_shape():
    result = CliRunner().invoke(app, ["questionnaire", "export", "mic-dbi"])
    data = json.loads(result.stdout)
    assert set(data) == {"id", "version", "dimensions", "questions", "levels", "threshold", "overall_level"}
    assert [d["weight"] for d in data["dimensions"]] == [65, 25, 80, 65, 50, 35]
    assert data["threshold"] == "above"
    assert [lv["min_score"] for lv in data["levels"]] == [0, 10, 20, 40, 60, 80]
    assert data["overall_level"]["rule"] == "gated"
    assert [(g["min_score"], g["min_dimensions"]) for g in data["overall_level"]["gates"]] == [
        (6.25, 4), (20, 4), (40, 4), (60, 5), (80, 6)]
    q = data["questions"][0]
    assert set(q) == {"id", "dimension", "weight", "type", "allow_na", "options"}
    assert set(q["options"][0]) == {"id", "score"}


def test_export_with_texts_and_unknown_id():
    data = json.loads(CliRunner().invoke(app, ["questionnaire", "export", "dmat", "--texts"]).stdout)
    assert data["title"]["vi"] and data["questions"][0]["text"]["en"]
    result = CliRunner().invoke(app, ["questionnaire", "export", "nope"])
    assert result.exit_code == 2 and "no instrument 'nope'" in result.stderr


def test_mic_dbi_follows_decision_1970():
    mic = loader.get("mic-dbi")
    assert len(mic.questions) >= 40
    points = {d.id: sum(q.weight for q in mic.questions_of(d.id)) for d in mic.dimensions}
    assert points == {d.id: d.weight for d in mic.dimensions}  # criteria points add up to the pillar max
    assert sum(points.values()) == 320


@pytest.mark.parametrize(("instrument_id", "at_least", "at_most"), [("dmat", 30, 999), ("quick-check", 1, 12)])
def test_question_counts(instrument_id, at_least, at_most):
    assert at_least <= len(loader.get(instrument_id).questions) <= at_most


def test_dmat_overall_is_the_mean_of_six_bands():
    dmat = loader.get("dmat")
    assert len(dmat.dimensions) == 6 and {d.weight for d in dmat.dimensions} == {1}
    assert [lv.min_score for lv in dmat.levels] == [0, 25, 50, 75] and dmat.threshold == "above"


@pytest.mark.parametrize("instrument", loader.catalogue(), ids=lambda i: i.id)
def test_every_text_is_translated_and_every_level_has_advice(instrument):
    for dimension in instrument.dimensions:
        assert set(dimension.recommendations) == {lv.id for lv in instrument.levels[:-1]}
    for question in instrument.questions:
        assert question.text.vi != question.text.en
