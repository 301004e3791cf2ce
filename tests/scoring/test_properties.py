"""Property tests: scores stay in [0, 100]; raising one answer never lowers a score."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import loader
from scoring import compile_instrument, score

MODELS = {i: compile_instrument(loader.get(i).export()) for i in ("mic-dbi", "dmat", "quick-check")}


@st.composite
def responses(draw, model):
    row = [draw(st.integers(0, int(model.na_codes[q]) - (0 if model.allow_na[q] else 1)))
           for q in range(model.n_questions)]
    return model, np.array([row])


any_response = st.sampled_from(sorted(MODELS)).flatmap(lambda i: responses(MODELS[i]))


@settings(max_examples=150, deadline=None)
@given(any_response)
def test_scores_stay_between_0_and_100(case):
    model, codes = case
    result = score(codes, model)
    for values in (result.dimension_scores, result.overall):
        finite = values[~np.isnan(values)]
        assert ((finite >= 0) & (finite <= 100)).all()


@settings(max_examples=150, deadline=None)
@given(any_response, st.data())
def test_raising_one_answer_never_lowers_a_score(case, data):
    model, codes = case
    q = data.draw(st.integers(0, model.n_questions - 1))
    table = model.table[model.offsets[q] : model.offsets[q] + model.na_codes[q]]
    current = codes[0, q]
    if current == model.na_codes[q]:
        return  # a "na" answer has no score to raise
    better = np.flatnonzero(table >= table[current])
    raised = codes.copy()
    raised[0, q] = data.draw(st.sampled_from(better.tolist()))
    before, after = score(codes, model), score(raised, model)
    assert (np.round(after.dimension_scores, 9) >= np.round(before.dimension_scores, 9)).all()
    assert round(float(after.overall[0]), 9) >= round(float(before.overall[0]), 9)
    assert (after.dimension_levels >= before.dimension_levels).all()
    assert after.overall_level[0] >= before.overall_level[0]
