"""Hand-computed cases for the format v2 shapes in the engine: tables, many-option multi choice
with negative and exclusive options, ``min_select``; and that the instruments written before them
score bit for bit as they did."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from questionnaires import loader
from scoring import InvalidAnswer, compile_instrument, score
from scoring.engine import question_scores

YES_PARTLY_NO = [{"id": "yes", "score": 1}, {"id": "partly", "score": 0.5}, {"id": "no", "score": 0}]
TOOLS = [{"id": f"t{i:02d}", "score": 0.05} for i in range(28)] + [
    {"id": "paper", "score": -0.4}, {"id": "none", "score": 0, "exclusive": True}]


def spec(questions, dimensions=None):
    return {
        "id": "v2", "version": "1", "threshold": "at_least",
        "dimensions": dimensions or [{"id": "d", "weight": 1}],
        "questions": questions,
        "levels": [{"id": "low", "min_score": 0}, {"id": "high", "min_score": 50}],
    }


TABLE = {"id": "tab", "dimension": "d", "weight": 2, "type": "table", "allow_na": True, "options": YES_PARTLY_NO,
         "rows": [{"id": "r1"}, {"id": "r2"}, {"id": "r3"}, {"id": "r4"}]}
SINGLE = {"id": "one", "dimension": "d", "weight": 1, "type": "single", "allow_na": False,
          "options": [{"id": "low", "score": 0.2}, {"id": "high", "score": 0.8}]}
CHECKLIST = {"id": "tools", "dimension": "d", "weight": 1, "type": "multi", "allow_na": False, "min_select": 1,
             "options": TOOLS}


@pytest.fixture(scope="module")
def model():
    return compile_instrument(spec([TABLE, SINGLE, CHECKLIST]))


def row(model, answers):
    """Codes and mask of one response: columns left out are unanswered."""
    codes = np.array(model.na_codes, dtype=np.int64).reshape(1, -1)
    mask = np.zeros_like(codes, dtype=bool)
    for column_id, answer in answers.items():
        c = model.column(column_id)
        codes[0, c] = model.code_of(c, answer if answer == "na" else answer.split("|") if answer else [])
        mask[0, c] = True
    return codes, mask


def test_a_table_is_one_column_per_row_and_one_item(model):
    assert model.question_ids[:4] == ("tab.r1", "tab.r2", "tab.r3", "tab.r4")
    assert model.item_ids == ("tab", "one", "tools")
    assert model.column_item.tolist() == [0, 0, 0, 0, 1, 2]
    assert model.membership[:, 0].tolist() == [2, 1, 1]  # the table's weight once, not per row


def test_a_partly_answered_table_averages_its_answered_rows(model):
    # rows 1.0, 0.5, na, unanswered -> table (1 + 0.5) / 2 = 0.75, weighed as one question (2)
    # one = high 0.8; tools: 4 tools -> 0.2. D = 100 (2 * 0.75 + 0.8 + 0.2) / 4 = 62.5
    codes, mask = row(model, {"tab.r1": "yes", "tab.r2": "partly", "tab.r3": "na", "one": "high",
                              "tools": "t00|t01|t02|t03"})
    result = score(codes, model, applicable=mask)
    assert_allclose(result.dimension_scores[0, 0], 62.5)


def test_a_table_with_nothing_answered_drops_its_weight(model):
    # no row answered (one na, three unanswered): D = 100 (0.8 + 0.2) / 2 = 50
    codes, mask = row(model, {"tab.r3": "na", "one": "high", "tools": "t00|t01|t02|t03"})
    assert_allclose(score(codes, model, applicable=mask).dimension_scores[0, 0], 50.0)
    all_na, _ = row(model, {"tab.r1": "na", "tab.r2": "na", "tab.r3": "na", "tab.r4": "na", "one": "high",
                            "tools": "t00|t01|t02|t03"})
    assert_allclose(score(all_na, model).dimension_scores[0, 0], 50.0)  # without a mask: all na alike


def test_a_row_not_asked_of_a_business_counts_like_an_unanswered_one(model):
    codes, mask = row(model, {"tab.r1": "yes", "tab.r2": "no", "one": "low", "tools": "t00"})
    mask[0, model.column("tab.r2")] = False  # r2 not asked: table = 1.0 instead of 0.5
    # D = 100 (2 * 1 + 0.2 + 0.05) / 4 = 56.25
    assert_allclose(score(codes, model, applicable=mask).dimension_scores[0, 0], 56.25)


def test_a_30_option_checklist_with_a_negative_option_sums_and_clips(model):
    c = model.column("tools")
    assert len(model.option_ids[c]) == 30 and model.na_codes[c] == 1 << 30
    every_tool = "|".join(f"t{i:02d}" for i in range(28))
    cases = {
        every_tool: 1.0,  # 28 * 0.05 = 1.4 -> 1
        "t00|t01|paper": 0.0,  # 0.1 - 0.4 -> 0
        f"{every_tool}|paper": 1.0,  # 1.4 - 0.4 = 1.0
        "t00|t01|t02|t03|t04|t05|t06|t07|t08|t09|paper": 0.1,  # 0.5 - 0.4
        "t27": 0.05,
    }
    for answer, expected in cases.items():
        code = model.code_of(c, answer.split("|"))
        assert_allclose(model.column_score(c, code), expected, atol=1e-12)
        codes, mask = row(model, {"tools": answer})
        assert_allclose(question_scores(codes, model)[0, c], expected, atol=1e-12)
        assert_allclose(score(codes, model, applicable=mask).dimension_scores[0, 0], 100 * expected, atol=1e-9)
        assert model.answer_ids(c, code) == sorted(answer.split("|"), key=model.option_ids[c].index)


def test_a_wide_checklist_is_scored_per_byte_as_the_sum_of_its_ticks():
    rng = np.random.default_rng(3)
    for k in (9, 16, 23, 62):
        scores = rng.uniform(-0.2, 0.3, k)
        wide = compile_instrument(spec([{**CHECKLIST, "min_select": 0, "allow_na": True,
                                         "options": [{"id": f"o{i}", "score": s} for i, s in enumerate(scores)]}]))
        assert len(wide.byte_offsets[0]) == -(-k // 8)
        bits = rng.random((500, k)) < 0.4
        codes = (bits.astype(np.int64) << np.arange(k, dtype=np.int64)).sum(axis=1)
        codes[:5] = wide.na_codes[0]
        expected = np.clip(bits @ scores, 0, 1)
        expected[:5] = np.nan
        assert_allclose(question_scores(codes[:, None], wide)[:, 0], expected, atol=1e-12)
        assert_allclose(wide.column_score(0, int(codes[7])), expected[7], atol=1e-12)


def test_an_exclusive_option_ticked_with_another_is_rejected(model):
    c = model.column("tools")
    assert model.code_of(c, ["none"]) == 1 << 29
    with pytest.raises(InvalidAnswer, match="'none' cannot be ticked together with another option of 'tools'"):
        model.code_of(c, ["t03", "none"])
    with pytest.raises(KeyError):  # what callers that encode answers already catch
        model.code_of(c, ["none", "paper"])
    codes = np.array(model.best_codes()).reshape(1, -1)
    codes[0, c] = (1 << 29) | 1
    with pytest.raises(ValueError, match=r"'none' cannot be ticked together .* in row 0"):
        score(codes, model)


def test_nothing_ticked_scores_0_and_breaks_min_select(model):
    free = compile_instrument(spec([{**CHECKLIST, "min_select": 0}]))
    nothing = free.code_of(0, [])
    assert nothing == 0
    assert_allclose(score(np.array([[nothing]]), free).dimension_scores, [[0.0]])
    with pytest.raises(InvalidAnswer, match="tick at least 1 option"):
        model.code_of(model.column("tools"), [])
    codes = np.array(model.best_codes()).reshape(1, -1)
    codes[0, model.column("tools")] = 0
    with pytest.raises(ValueError, match="tick at least 1 option.* in row 0"):
        score(codes, model)
    mask = np.ones_like(codes, dtype=bool)
    mask[0, model.column("tools")] = False  # not asked: its rules do not apply
    score(codes, model, applicable=mask)


def test_min_select_of_two():
    two = compile_instrument(spec([{**CHECKLIST, "min_select": 2}]))
    with pytest.raises(InvalidAnswer, match="tick at least 2 option.*got 1"):
        two.code_of(0, ["t00"])
    assert_allclose(score(np.array([[two.code_of(0, ["t00", "t01"])]]), two).overall, [10.0])


def test_a_62_option_checklist_fits_an_int64_code_and_63_do_not():
    options = [{"id": f"o{i}", "score": 0.01} for i in range(62)]
    wide = compile_instrument(spec([{**CHECKLIST, "min_select": 0, "options": options}]))
    every = wide.code_of(0, [o["id"] for o in options])
    assert every == (1 << 62) - 1 and wide.na_codes[0] == 1 << 62
    assert_allclose(score(np.array([[every]], dtype=np.int64), wide).overall, [62.0])
    with pytest.raises(ValueError, match="use int64"):
        score(np.array([[1]], dtype=np.int32), wide)
    with pytest.raises(ValueError, match="at most 62 options"):
        compile_instrument(spec([{**CHECKLIST, "options": [*options, {"id": "o62", "score": 0}]}]))
    with pytest.raises(ValueError, match="too many for a table of every answer"):
        _ = wide.table  # the pre-v2 layout cannot hold 2**62 answers; column_score can


def test_vectorised_over_many_responses_matches_one_by_one(model):
    rng = np.random.default_rng(7)
    n = 3000
    codes = np.column_stack([rng.integers(0, 4, (n, 4)), rng.integers(0, 2, n),
                             rng.integers(1, 1 << 29, n)])  # masks without the exclusive bit
    mask = rng.random(codes.shape) < 0.8
    together = score(codes, model, applicable=mask)
    for i in (0, 1234, n - 1):
        alone = score(codes[i:i + 1], model, applicable=mask[i:i + 1])
        assert_allclose(alone.dimension_scores, together.dimension_scores[i:i + 1])
        scores = [model.column_score(c, int(codes[i, c])) for c in range(model.n_questions)]
        table = [s for s, m in zip(scores[:4], mask[i, :4], strict=True) if m and not np.isnan(s)]
        items = [(2, np.mean(table) if table else None), (1, scores[4] if mask[i, 4] else None),
                 (1, scores[5] if mask[i, 5] else None)]
        answered = [(w, s) for w, s in items if s is not None]
        expected = 100 * sum(w * s for w, s in answered) / sum(w for w, _ in answered) if answered else np.nan
        assert_allclose(together.dimension_scores[i, 0], expected)


def test_best_codes_and_answer_ids(model):
    best = model.best_codes()
    assert [model.answer_ids(c, int(best[c])) for c in range(4)] == [["yes"]] * 4
    assert model.answer_ids(4, int(best[4])) == ["high"]
    assert model.answer_ids(5, int(best[5])) == [f"t{i:02d}" for i in range(28)]  # every positive tool
    assert model.answer_ids(0, int(model.na_codes[0])) == ["na"]
    assert_allclose(score(best.reshape(1, -1), model).overall, [100 * (2 + 0.8 + 1) / 4])  # 95


@pytest.mark.parametrize("instrument_id", ["dmat", "quick-check"])
def test_existing_multi_choice_scores_are_bit_identical(instrument_id):
    """Every answer of every existing checklist scores exactly what the 2**k lookup table of the
    engine before format v2 held: bits @ option scores, clipped, over all masks at once."""
    model = compile_instrument(loader.get(instrument_id).export())
    assert model.item_matrix is None  # no table: the engine's fast path
    for c in np.flatnonzero(model.multi):
        k = len(model.option_scores[c])
        masks = np.arange(1 << k)
        before = np.append(np.clip(((masks[:, None] >> np.arange(k)) & 1) @ model.option_scores[c], 0.0, 1.0), np.nan)
        codes = np.tile(model.best_codes(), (len(masks) + 1, 1))
        codes[:, c] = np.append(masks, model.na_codes[c])
        order = np.random.default_rng(int(c)).permutation(len(codes))  # and in any order, any batch size
        assert np.array_equal(question_scores(codes[order], model)[:, c], before[order], equal_nan=True)
        assert np.array_equal(model.table[model.offsets[c]: model.offsets[c] + len(before)], before, equal_nan=True)
