"""The worked examples of docs/method.md, computed by the engine."""

from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose

from questionnaires import loader
from questionnaires.loader import load_file
from scoring import NO_LEVEL, InvalidAnswer, compile_instrument, score
from scoring.engine import levels_of, overall_levels


def codes_for(model, answers: dict[str, str]) -> np.ndarray:
    row = [model.code_of(q, answers[qid].split("|")) if answers[qid] != "na" else model.na_codes[q]
           for q, qid in enumerate(model.question_ids)]
    return np.array([row])


def test_response_1(example):
    codes = codes_for(example, {"a1": "partly", "a2": "email|web|shop", "a3": "na", "b1": "partly", "c1": "na"})
    result = score(codes, example)
    assert_allclose(result.dimension_scores[0, :2], [200 / 3, 50.0])
    assert np.isnan(result.dimension_scores[0, 2])
    assert result.dimension_levels[0].tolist() == [2, 2, NO_LEVEL]
    assert_allclose(result.overall, [(2 * 200 / 3 + 50) / 3])
    assert round(float(result.overall[0]), 6) == 61.111111
    assert result.overall_level.tolist() == [2]


def test_response_2_negative_option(example):
    codes = codes_for(example, {"a1": "yes", "a2": "email|paper", "a3": "no", "b1": "no", "c1": "yes"})
    result = score(codes, example)
    assert_allclose(result.dimension_scores[0], [52.5, 0.0, 100.0])
    assert result.dimension_levels[0].tolist() == [2, 0, 3]
    assert_allclose(result.overall, [51.25])
    assert result.overall_level.tolist() == [2]


def test_decision_1970_example_39_of_65_is_forming():
    mic = compile_instrument(loader.get("mic-dbi").export())
    customer = mic.dimension_ids.index("customer")
    share = np.array([100 * 39 / 65])
    assert mic.level_ids[levels_of(share, mic.level_mins, above=mic.above)[0]] == "forming"
    # and through the engine: 13 criteria of 0-5 points, 39 points in all (7 x 5 + 2 x 2 + 4 x 0)
    points = [5] * 7 + [2] * 2 + [0] * 4
    row = np.zeros((1, mic.n_questions), dtype=np.int64)
    for q in np.flatnonzero(mic.question_dimension == customer):
        row[0, q] = points.pop()
    result = score(row, mic)
    assert_allclose(result.dimension_scores[0, customer], 60.0)
    assert mic.level_ids[result.dimension_levels[0, customer]] == "forming"


def test_gated_overall_level_example():
    mic = compile_instrument(loader.get("mic-dbi").export())
    forming, beginning = mic.level_ids.index("forming"), mic.level_ids.index("beginning")
    four = np.array([[forming] * 4 + [beginning] * 2])
    three = np.array([[forming] * 3 + [beginning] * 3])
    assert overall_levels(np.array([45.0]), four, mic).tolist() == [forming]
    assert overall_levels(np.array([45.0]), three, mic).tolist() == [beginning]


def test_a_round_of_two_copies(example):
    """docs/method.md section 8: responses 1 and 2 as two respondents' copies of one round."""
    from scoring import combine_respondents

    one = score(codes_for(example, {"a1": "partly", "a2": "email|web|shop", "a3": "na", "b1": "partly", "c1": "na"}),
                example)
    two = score(codes_for(example, {"a1": "yes", "a2": "email|paper", "a3": "no", "b1": "no", "c1": "yes"}), example)
    copies = np.vstack([one.dimension_scores, two.dimension_scores])
    round_ = combine_respondents(copies, example)
    assert_allclose(round_.dimension_scores[0], [(200 / 3 + 52.5) / 2, 25.0, 100.0])
    assert round(float(round_.dimension_scores[0, 0]), 6) == 59.583333
    assert round_.dimension_levels[0].tolist() == [2, 1, 3]
    assert round(float(round_.overall[0]), 6) == 61.041667
    assert round_.overall_level.tolist() == [2]
    assert round(float((one.overall[0] + two.overall[0]) / 2), 6) == 56.180556  # not the mean of the overalls
    nobody = combine_respondents(np.full((2, 3), np.nan), example)
    assert np.isnan(nobody.overall[0]) and nobody.overall_level.tolist() == [NO_LEVEL]


# -- format v2: docs/method.md section 6, "A table, a checklist and a scale" -----------------------
@pytest.fixture(scope="module")
def example_v2():
    return compile_instrument(load_file(Path(__file__).parent / "example_v2.yaml").export())


def v2_codes(model, answers: dict[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes and the applicability mask: a column not in ``answers`` is unanswered."""
    codes = np.array(model.na_codes, dtype=np.int64).reshape(1, -1)
    mask = np.zeros_like(codes, dtype=bool)
    for column_id, answer in answers.items():
        c = model.column(column_id)
        codes[0, c] = model.code_of(c, "na" if answer == "na" else answer.split("|"))
        mask[0, c] = True
    return codes, mask


def test_v2_response_a_table_checklist_and_scale(example_v2):
    codes, mask = v2_codes(example_v2, {"t1.r1": "yes", "t1.r2": "partly", "t1.r3": "na",  # r4 unanswered
                                        "t2": "web|paper", "t3": "3"})
    # table t1 = (1 + 0.5) / 2 = 0.75; t2 = 0.4 - 0.3 = 0.1; t3 = 3 / 5 = 0.6
    assert_allclose(example_v2.column_score(example_v2.column("t3"), 3), 0.6)
    result = score(codes, example_v2, applicable=mask)
    assert_allclose(result.dimension_scores[0], [100 * (2 * 0.75 + 0.1 + 0.6) / 4])  # 55
    assert_allclose(result.overall, [55.0])
    assert example_v2.level_ids[result.overall_level[0]] == "l2"


def test_v2_response_b_nothing_in_the_table_and_none_of_these(example_v2):
    codes, mask = v2_codes(example_v2, {"t1.r1": "na", "t1.r2": "na", "t2": "none", "t3": "2"})
    # no table row answered: t1's weight drops; t2 = 0 ("none of these"); t3 = 2 / 5 = 0.4
    result = score(codes, example_v2, applicable=mask)
    assert_allclose(result.dimension_scores[0], [100 * (0 + 0.4) / 2])  # 20
    assert example_v2.level_ids[result.overall_level[0]] == "l0"


def test_v2_invalid_answers(example_v2):
    t2 = example_v2.column("t2")
    with pytest.raises(InvalidAnswer, match="'none' cannot be ticked together"):
        example_v2.code_of(t2, ["web", "none"])
    with pytest.raises(InvalidAnswer, match="tick at least 1 option"):
        example_v2.code_of(t2, [])
