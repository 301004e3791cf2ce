"""The scoring engine: answer codes in, scores and levels out, for one response or a whole city.

The rules are stated, with a worked example, in docs/method.md; tests/scoring checks this code
against that example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoring.model import ScoringModel

#: rows scored at once; keeps the temporaries in cache and the peak memory flat (see benchmarks/)
CHUNK_ROWS = 8192
NO_LEVEL = -1  # the level index of a dimension (or overall) that has no score


@dataclass(frozen=True)
class Scores:
    """Scores of ``n`` responses.

    dimension_scores : array of shape (n, D), 0-100, NaN where a dimension has no score
    overall : array of shape (n,), 0-100, NaN when no dimension has a score
    dimension_levels : int array of shape (n, D), level index, ``NO_LEVEL`` without a score
    overall_level : int array of shape (n,)
    """

    dimension_scores: np.ndarray
    overall: np.ndarray
    dimension_levels: np.ndarray
    overall_level: np.ndarray


def _check_shape(codes: np.ndarray, model: ScoringModel, applicable: np.ndarray | None) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] != model.n_questions:
        raise ValueError(f"codes must have shape (n, {model.n_questions}), got {codes.shape}")
    if codes.size and not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"codes must be integers, got {codes.dtype}")
    if codes.size and model.n_questions and int(model.na_codes.max()) > np.iinfo(codes.dtype).max:
        raise ValueError(f"codes of {codes.dtype} cannot hold this instrument's multi-choice answers; use int64")
    if applicable is not None and applicable.shape != codes.shape:
        raise ValueError(f"applicable must have shape {codes.shape}, got {applicable.shape}")
    return codes


def _check_values(codes: np.ndarray, model: ScoringModel, applicable: np.ndarray | None, first_row: int = 0) -> None:
    # one pass: viewed as unsigned, a negative code is huge; "na" is the largest valid code only
    # where the question allows it (or, with a mask, where the question is not asked at all)
    highest = np.where(model.allow_na, model.na_codes, model.na_codes - 1)
    unsigned = codes.view(np.dtype(f"u{codes.dtype.itemsize}"))
    bad = unsigned > highest
    if applicable is not None:
        bad &= ~((codes == model.na_codes) & ~applicable)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        value = codes[row, col]
        name = "'not applicable' not allowed" if value == model.na_codes[col] else "unknown answer code"
        raise ValueError(f"{name} {value} for question {model.question_ids[col]!r} in row {first_row + row}")
    _check_multi_rules(codes, model, applicable, first_row)


def _check_multi_rules(codes: np.ndarray, model: ScoringModel, applicable: np.ndarray | None, first_row: int) -> None:
    """Exclusive options and ``min_select``, over the columns that have either (codes already in range)."""
    columns = model.checked_multi_columns
    if not columns.size:
        return
    part = codes[:, columns].astype(np.int64)
    ticked = np.bitwise_count(part)
    answer = part != model.na_codes[columns]
    if applicable is not None:
        answer &= applicable[:, columns]
    exclusive = (part & model.exclusive_masks[columns]) != 0
    bad = answer & ((exclusive & (ticked > 1)) | (ticked < model.min_select[columns]))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        problem = model.answer_problem(int(columns[col]), int(part[row, col]))
        raise ValueError(f"{problem} in row {first_row + row}")


def question_scores(codes: np.ndarray, model: ScoringModel) -> np.ndarray:
    """Column scores in [0, 1], shape (n, C); NaN where not applicable. One gather for every column
    but the checklists of more than 8 options, which add one gather per byte of their masks."""
    columns = model.wide_columns
    if not columns.size:
        scores: np.ndarray = model.lookup.take(codes + model.lookup_offsets)
        return scores
    index = codes + model.lookup_offsets
    index[:, columns] = model.lookup_offsets[columns]  # a placeholder, overwritten below
    scores = model.lookup.take(index)
    for c in columns:
        scores[:, c] = model.wide_scores(int(c), codes[:, c])
    return scores


def item_scores(s: np.ndarray, model: ScoringModel, applicable: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(item scores with 0 where an item has none, whether it has one), shape (n, I) each: a table
    scores the mean of its answered, applicable, non-na rows; an ordinary question its column."""
    answered = ~np.isnan(s)
    if applicable is not None:
        answered &= applicable
    np.copyto(s, 0.0, where=~answered)
    # an item's columns are adjacent: sums per item by reduceat, not a matrix product (BLAS threads
    # cost more than they save on a chunk this small)
    counts = np.add.reduceat(answered, model.item_starts, axis=1, dtype=np.float64)
    has = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        items = np.where(has, np.add.reduceat(s, model.item_starts, axis=1) / counts, 0.0)
    return items, has


def _dimension_chunk(s: np.ndarray, model: ScoringModel, applicable: np.ndarray | None) -> np.ndarray:
    if model.item_matrix is not None:
        items, has = item_scores(s, model, applicable)
        numerator = items @ model.membership
        denominator = has.astype(np.float64) @ model.membership
    elif applicable is None:
        # only questions that allow "na" can hold NaN: mask those columns alone and subtract their
        # weights from the full denominators, instead of masking all Q columns
        columns = model.na_columns
        part = s[:, columns]
        missing = np.isnan(part)
        part[missing] = 0.0
        s[:, columns] = part
        numerator = s @ model.membership
        denominator = model.membership.sum(axis=0) - missing.astype(np.float64) @ model.membership[columns]
    else:
        answered = ~np.isnan(s) & applicable
        np.copyto(s, 0.0, where=~answered)
        numerator = s @ model.membership
        denominator = answered.astype(np.float64) @ model.membership
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 1e-12, 100.0 * numerator / denominator, np.nan)


def overall_scores(dimension: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ W_d D_d / Σ W_d over the dimensions that have a score; NaN if none has."""
    has = ~np.isnan(dimension)
    numerator = np.where(has, dimension, 0.0) @ weights
    denominator = has.astype(np.float64) @ weights
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def passes(scores: np.ndarray, thresholds: np.ndarray, *, above: bool) -> np.ndarray:
    """Whether each score passes each threshold, compared at 6 decimals (broadcasting)."""
    rounded = np.round(scores, 6)
    return rounded > thresholds if above else rounded >= thresholds


def levels_of(scores: np.ndarray, mins: np.ndarray, *, above: bool) -> np.ndarray:
    """The highest level whose threshold a score passes, the lowest otherwise; NO_LEVEL for NaN."""
    index = np.searchsorted(mins, np.round(scores, 6), side="left" if above else "right") - 1
    np.maximum(index, 0, out=index)
    index[np.isnan(scores)] = NO_LEVEL
    return index


def overall_levels(overall: np.ndarray, dimension_levels: np.ndarray, model: ScoringModel) -> np.ndarray:
    """The overall level by the instrument's rule ("score" or "gated")."""
    if model.gate_levels is None:
        return levels_of(overall, model.level_mins, above=model.above)
    assert model.gate_mins is not None and model.gate_min_dimensions is not None  # set with gate_levels
    # "at least k dimensions at level L or higher" <=> the k-th highest dimension level is >= L
    ranked = np.sort(dimension_levels, axis=1)[:, ::-1]
    kth = np.where(model.gate_min_dimensions > 0,
                   ranked[:, np.maximum(model.gate_min_dimensions - 1, 0)], np.iinfo(np.int64).max)
    ok = passes(overall[:, None], model.gate_mins[None, :], above=model.above) & (kth >= model.gate_levels)
    best: np.ndarray = np.where(ok, model.gate_levels, 0).max(axis=1, initial=0)
    best[np.isnan(overall)] = NO_LEVEL
    return best


def from_dimension_scores(dimension: np.ndarray, model: ScoringModel) -> Scores:
    """Overall scores and every level from dimension scores of shape (n, D) (NaN: no score), by the
    instrument's rules: what a response's dimension scores, or a round's combined ones, come to."""
    overall = overall_scores(dimension, model.dimension_weights)
    levels = levels_of(dimension, model.level_mins, above=model.above)
    return Scores(dimension, overall, levels, overall_levels(overall, levels, model))


def combine_respondents(dimension: np.ndarray, model: ScoringModel) -> Scores:
    """One round's result from its respondents' dimension scores, shape (R, D): per dimension the mean
    of the respondents who have a score for it (NaN when none has), then the overall score and the
    levels from those means (docs/method.md section 8). Returns one row."""
    dimension = np.asarray(dimension, dtype=np.float64).reshape(-1, model.n_dimensions)
    has = ~np.isnan(dimension)
    counts = has.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, np.where(has, dimension, 0.0).sum(axis=0) / counts, np.nan)
    return from_dimension_scores(means[None, :].astype(np.float64), model)


def _score_chunk(codes: np.ndarray, model: ScoringModel, applicable: np.ndarray | None) -> Scores:
    return from_dimension_scores(_dimension_chunk(question_scores(codes, model), model, applicable), model)


def score(
    codes: np.ndarray,
    model: ScoringModel,
    *,
    applicable: np.ndarray | None = None,
    validate: bool = True,
) -> Scores:
    """Score ``n`` responses of one instrument.

    The rows are scored in chunks of ``CHUNK_ROWS`` so that every temporary array stays in the CPU
    cache and the peak memory does not grow with ``n`` beyond the inputs and outputs.

    Parameters
    ----------
    codes : int array of shape (n, C)
        Answer codes, one per column: a question, or a row of a table (see :mod:`scoring.model`;
        int64 when a checklist has more than 30 options).
    model : ScoringModel
    applicable : bool array of shape (n, C), optional
        False where a column is not asked of that respondent (sector/size rules) or not answered;
        such answers are left out like "not applicable".
    validate : bool
        Check the codes first (``ValueError`` naming the first bad one: an unknown code, a "na"
        not allowed, an exclusive option ticked with another, fewer ticks than ``min_select``).
        Callers that encoded the codes themselves from checked input may skip it.

    Examples
    --------
    >>> from scoring.model import compile_instrument
    >>> spec = {"id": "x", "version": "1", "threshold": "at_least",
    ...         "dimensions": [{"id": "d", "weight": 1}],
    ...         "questions": [{"id": "q", "dimension": "d", "weight": 1, "type": "single",
    ...                        "allow_na": False, "options": [{"id": "no", "score": 0},
    ...                                                       {"id": "yes", "score": 1}]}],
    ...         "levels": [{"id": "low", "min_score": 0}, {"id": "high", "min_score": 50}]}
    >>> result = score(np.array([[1], [0]]), compile_instrument(spec))
    >>> result.overall.tolist(), result.overall_level.tolist()
    ([100.0, 0.0], [1, 0])
    """
    if validate:
        codes = _check_shape(codes, model, applicable)
    n = codes.shape[0]
    out = Scores(
        dimension_scores=np.empty((n, model.n_dimensions)),
        overall=np.empty(n),
        dimension_levels=np.empty((n, model.n_dimensions), dtype=np.int64),
        overall_level=np.empty(n, dtype=np.int64),
    )
    for start in range(0, n, CHUNK_ROWS):
        rows = slice(start, start + CHUNK_ROWS)
        part = None if applicable is None else applicable[rows]
        if validate:
            _check_values(codes[rows], model, part, start)
        chunk = _score_chunk(codes[rows], model, part)
        out.dimension_scores[rows] = chunk.dimension_scores
        out.overall[rows] = chunk.overall
        out.dimension_levels[rows] = chunk.dimension_levels
        out.overall_level[rows] = chunk.overall_level
    return out
