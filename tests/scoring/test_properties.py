"""Property tests: scores stay in [0, 100]; raising one answer never lowers a score; ticking one
more non-negative, non-exclusive option never lowers a score. Over the bundled instruments and
format v2 ones (the tools-2025 draft; a table, and a 30-option checklist with negative options)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from questionnaires import loader
from scoring import compile_instrument, score

V2 = {
    "id": "v2", "version": "1", "threshold": "above",
    "dimensions": [{"id": "d1", "weight": 2}, {"id": "d2", "weight": 1}],
    "questions": [
        {"id": "tab", "dimension": "d1", "weight": 3, "type": "table", "allow_na": True,
         "options": [{"id": "a", "score": 1}, {"id": "b", "score": 0.3}, {"id": "c", "score": 0},
                     {"id": "neg", "score": -0.5}],
         "rows": [{"id": f"r{i}"} for i in range(5)]},
        {"id": "many", "dimension": "d1", "weight": 1, "type": "multi", "allow_na": True, "min_select": 1,
         "options": [{"id": f"o{i}", "score": s} for i, s in enumerate([0.07] * 24 + [-0.3, -1, 0.5, 0, 0.2])]
         + [{"id": "none", "score": 0, "exclusive": True}]},
        {"id": "one", "dimension": "d2", "weight": 1, "type": "single", "allow_na": False,
         "options": [{"id": "x", "score": 0.1}, {"id": "y", "score": 0.9}, {"id": "z", "score": 0.4}]},
    ],
    "levels": [{"id": "l0", "min_score": 0}, {"id": "l1", "min_score": 30}, {"id": "l2", "min_score": 60}],
}
MODELS = {i: compile_instrument(loader.get(i).export()) for i in ("mic-dbi", "dmat", "quick-check")}
MODELS["tools-2025"] = compile_instrument(loader.load_file(loader.DATA_DIR / "tools-2025" / "1.0.yaml").export())
MODELS["v2"] = compile_instrument(V2)


def exclusive_bits(model, q):
    return [i for i in range(len(model.option_ids[q])) if int(model.exclusive_masks[q]) >> i & 1]


@st.composite
def multi_code(draw, model, q):
    k = len(model.option_ids[q])
    exclusive = exclusive_bits(model, q)
    if exclusive and draw(st.integers(0, 9)) == 0:
        return 1 << draw(st.sampled_from(exclusive))
    free = [i for i in range(k) if i not in exclusive]
    ticked = draw(st.lists(st.sampled_from(free), min_size=int(model.min_select[q]), unique=True))
    return sum(1 << i for i in ticked)


@st.composite
def responses(draw, model):
    row = []
    for q in range(model.n_questions):
        if model.allow_na[q] and draw(st.integers(0, 9)) == 0:
            row.append(int(model.na_codes[q]))
        elif model.multi[q]:
            row.append(draw(multi_code(model, q)))
        else:
            row.append(draw(st.integers(0, len(model.option_ids[q]) - 1)))
    mask = np.array([draw(st.lists(st.booleans(), min_size=model.n_questions, max_size=model.n_questions))])
    masked = draw(st.booleans())  # with an applicability mask (unanswered, not asked) or without
    return model, np.array([row], dtype=np.int64), (mask if masked else None)


any_response = st.sampled_from(sorted(MODELS)).flatmap(lambda i: responses(MODELS[i]))
with_checklists = st.sampled_from(sorted(i for i, m in MODELS.items() if m.multi.any())).flatmap(
    lambda i: responses(MODELS[i]))


def never_lower(model, codes, raised, mask):
    before = score(codes, model, applicable=mask)
    after = score(raised, model, applicable=mask)
    assert (np.nan_to_num(np.round(after.dimension_scores, 9), nan=-1)
            >= np.nan_to_num(np.round(before.dimension_scores, 9), nan=-1)).all()
    assert round(float(np.nan_to_num(after.overall[0], nan=-1)), 9) >= round(float(np.nan_to_num(before.overall[0],
                                                                                               nan=-1)), 9)
    assert (after.dimension_levels >= before.dimension_levels).all()
    assert after.overall_level[0] >= before.overall_level[0]


@settings(max_examples=200, deadline=None)
@given(any_response)
def test_scores_stay_between_0_and_100(case):
    model, codes, mask = case
    result = score(codes, model, applicable=mask)
    for values in (result.dimension_scores, result.overall):
        finite = values[~np.isnan(values)]
        assert ((finite >= 0) & (finite <= 100)).all()


@settings(max_examples=200, deadline=None)
@given(any_response, st.data())
def test_a_higher_scored_single_answer_never_lowers_a_score(case, data):
    model, codes, mask = case
    singles = np.flatnonzero(~model.multi)
    q = int(data.draw(st.sampled_from(singles.tolist())))
    current = int(codes[0, q])
    if current == model.na_codes[q]:
        return  # a "na" answer has no score to raise
    scores = [model.column_score(q, c) for c in range(len(model.option_ids[q]))]
    better = [c for c, s in enumerate(scores) if s >= scores[current]]
    raised = codes.copy()
    raised[0, q] = data.draw(st.sampled_from(better))
    never_lower(model, codes, raised, mask)


@settings(max_examples=200, deadline=None)
@given(with_checklists, st.data())
def test_ticking_one_more_non_negative_option_never_lowers_a_score(case, data):
    model, codes, mask = case
    q = int(data.draw(st.sampled_from(np.flatnonzero(model.multi).tolist())))
    current = int(codes[0, q])
    if current == model.na_codes[q] or current & int(model.exclusive_masks[q]):
        return  # nothing to add to "na", nor to "none of these"
    exclusive = exclusive_bits(model, q)
    more = [i for i, s in enumerate(model.option_scores[q])
            if s >= 0 and i not in exclusive and not current >> i & 1]
    if not more:
        return
    raised = codes.copy()
    raised[0, q] = current | 1 << data.draw(st.sampled_from(more))
    never_lower(model, codes, raised, mask)
