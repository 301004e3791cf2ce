"""Hand-computed cases for every rule of docs/method.md, and the edges."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from scoring import NO_LEVEL, compile_instrument, score
from scoring.engine import levels_of, overall_scores


def spec(*, threshold="at_least", overall=None, questions=None, dimensions=None):
    return {
        "id": "t", "version": "1", "threshold": threshold,
        "dimensions": dimensions or [{"id": "d1", "weight": 3}, {"id": "d2", "weight": 1}],
        "questions": questions or [
            {"id": "q1", "dimension": "d1", "weight": 1, "type": "single", "allow_na": True,
             "options": [{"id": "a", "score": 0}, {"id": "b", "score": 0.5}, {"id": "c", "score": 1},
                         {"id": "neg", "score": -0.5}]},
            {"id": "q2", "dimension": "d1", "weight": 3, "type": "single", "allow_na": False,
             "options": [{"id": "a", "score": 0}, {"id": "b", "score": 1}]},
            {"id": "q3", "dimension": "d2", "weight": 1, "type": "multi", "allow_na": True,
             "options": [{"id": "x", "score": 0.6}, {"id": "y", "score": 0.6}, {"id": "z", "score": -1}]},
        ],
        "levels": [{"id": "low", "min_score": 0}, {"id": "mid", "min_score": 50},
                   {"id": "top", "min_score": 80}],
        "overall_level": overall or {"rule": "score"},
    }


@pytest.fixture
def model():
    return compile_instrument(spec())


def test_single_choice_weights(model):
    # q1 = b (0.5, w1), q2 = b (1, w3): D1 = 100 (0.5 + 3) / 4 = 87.5
    result = score(np.array([[1, 1, 0]]), model)
    assert_allclose(result.dimension_scores[0, 0], 87.5)


def test_negative_single_option_is_clipped_to_zero(model):
    result = score(np.array([[3, 1, 0]]), model)  # q1 = neg -> 0; D1 = 100 * 3 / 4
    assert_allclose(result.dimension_scores[0, 0], 75.0)


def test_multi_choice_sum_is_capped_at_one(model):
    xy = model.code_of(2, ["x", "y"])  # 1.2 -> 1
    assert_allclose(score(np.array([[0, 0, xy]]), model).dimension_scores[0, 1], 100.0)


def test_multi_choice_negative_option_counts_against(model):
    xz = model.code_of(2, ["x", "z"])  # 0.6 - 1 -> clipped to 0
    assert_allclose(score(np.array([[0, 0, xz]]), model).dimension_scores[0, 1], 0.0)
    nothing = model.code_of(2, [])
    assert_allclose(score(np.array([[0, 0, nothing]]), model).dimension_scores[0, 1], 0.0)


def test_na_is_left_out_of_the_denominator(model):
    na = model.na_codes[0]
    result = score(np.array([[na, 1, 0]]), model)  # only q2 counts: D1 = 100
    assert_allclose(result.dimension_scores[0, 0], 100.0)


def test_all_na_dimension_has_no_score_and_leaves_the_overall(model):
    result = score(np.array([[1, 1, model.na_codes[2]]]), model)
    assert np.isnan(result.dimension_scores[0, 1])
    assert result.dimension_levels[0, 1] == NO_LEVEL
    assert_allclose(result.overall, result.dimension_scores[:, 0])  # only d1 is left


def test_overall_is_weighted_by_dimension_weights(model):
    # D1 = 87.5 (w3), D2 = 60 (w1): (262.5 + 60) / 4 = 80.625
    result = score(np.array([[1, 1, model.code_of(2, ["x"])]]), model)
    assert_allclose(result.overall, [80.625])
    assert model.level_ids[result.overall_level[0]] == "top"


def test_applicability_mask_acts_like_na(model):
    applicable = np.array([[False, True, True]])
    result = score(np.array([[0, 1, 0]]), model, applicable=applicable)
    assert_allclose(result.dimension_scores[0, 0], 100.0)


@pytest.mark.parametrize(
    ("value", "above", "expected"),
    [
        (50.0, False, "mid"), (50.0, True, "low"), (49.9999999, False, "mid"),  # rounds to 50.0
        (50.0000004, True, "low"), (50.000001, True, "mid"), (0.0, True, "low"),
        (80.0, False, "top"), (100.0, True, "top"), (79.99, False, "mid"),
    ],
)
def test_level_boundaries(model, value, above, expected):
    index = levels_of(np.array([value]), model.level_mins, above=above)
    assert model.level_ids[index[0]] == expected


def test_floating_point_boundary_is_exact_after_rounding():
    # floating point puts exact boundaries a hair off: 100 * (0.6 + 0.3) / 1.8 == 49.99999999999999
    below = 100 * (0.6 + 0.3) / 1.8
    above = (0.1 + 0.2) * 200 / 1.2  # 50.00000000000001
    assert below < 50.0 < above
    mins = np.array([0.0, 50.0])
    assert levels_of(np.array([below]), mins, above=False).tolist() == [1]  # at least 50
    assert levels_of(np.array([above]), mins, above=True).tolist() == [0]  # not above 50


def test_gated_rule_needs_score_and_enough_dimensions():
    gated = compile_instrument(spec(overall={"rule": "gated", "gates": [
        {"level": "mid", "min_score": 40, "min_dimensions": 2},
        {"level": "top", "min_score": 70, "min_dimensions": 1},
    ]}))
    # D1 = 100 (top), D2 = 0 (low): overall 75 -> "top" gate: > 70 and 1 dim at top: yes
    result = score(np.array([[2, 1, 0]]), gated)
    assert gated.level_ids[result.overall_level[0]] == "top"
    # D1 = 62.5 (mid), D2 = 0: overall 46.875 -> "mid" gate needs 2 dims at >= mid: no -> low
    result = score(np.array([[0, 1, 0]]), gated)
    assert_allclose(result.overall, [0.75 * 75.0])
    assert gated.level_ids[result.overall_level[0]] == "low"


def test_vectorised_over_many_responses_matches_one_by_one(model):
    rng = np.random.default_rng(1)
    codes = np.column_stack([rng.integers(0, 5, 500), rng.integers(0, 2, 500), rng.integers(0, 9, 500)])
    together = score(codes, model)
    for i in (0, 17, 499):
        alone = score(codes[i : i + 1], model)
        assert_allclose(alone.dimension_scores, together.dimension_scores[i : i + 1])
        assert alone.overall_level[0] == together.overall_level[i]


def test_at_limits_no_rows_and_one_question():
    one = compile_instrument(spec(
        dimensions=[{"id": "d", "weight": 1}],
        questions=[{"id": "q", "dimension": "d", "weight": 1, "type": "single", "allow_na": False,
                    "options": [{"id": "a", "score": 0.25}]}]))
    empty = score(np.zeros((0, 1), dtype=np.int64), one)
    assert empty.overall.shape == (0,)
    assert_allclose(score(np.array([[0]]), one).overall, [25.0])


def test_overall_of_nothing_is_nan():
    assert np.isnan(overall_scores(np.array([[np.nan, np.nan]]), np.array([1.0, 1.0]))[0])


@pytest.mark.parametrize(
    ("codes", "message"),
    [
        (np.array([[9, 0, 0]]), "unknown answer code 9 for question 'q1'"),
        (np.array([[0, 2, 0]]), "'not applicable' not allowed .* 'q2'"),
        (np.array([[0, -1, 0]]), "unknown answer code -1"),
        (np.array([0, 0, 0]), "shape"),
        (np.array([[0.5, 0, 0]]), "integers"),
    ],
)
def test_bad_codes_raise_a_clear_value_error(model, codes, message):
    with pytest.raises(ValueError, match=message):
        score(codes, model)


def test_code_of_rejects_unknown_options(model):
    with pytest.raises(KeyError):
        model.code_of(0, "nope")
    with pytest.raises(KeyError):
        model.code_of(0, ["a", "b"])  # two options for a single-choice question
