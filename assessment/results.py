"""What an owner sees after submitting: levels, prioritised advice, peers, what-if and history.

The rules for priorities and the what-if search are in docs/method.md (section 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import case, func
from sqlmodel import Session, select

from assessment.assessments import answers_of, encode, instrument_of, model_for, score_answers
from assessment.models import Assessment, Business, DimensionResult
from questionnaires.schema import Dimension, Instrument, Level, Question
from scoring import NO_LEVEL, Scores, score
from scoring.engine import levels_of, overall_levels, overall_scores


@dataclass(frozen=True)
class DimensionView:
    dimension: Dimension
    score: float | None
    level: Level | None
    next_level: Level | None


@dataclass(frozen=True)
class Recommendation:
    dimension: Dimension
    level: Level
    next_level: Level
    gap: float  # dimension points to the next level
    overall_gain: float  # overall points the step is worth
    lifts_overall_level: bool


@dataclass(frozen=True)
class Suggestion:
    question: Question
    current: str | None
    better: str  # option id(s) to choose
    overall_after: float
    level_after: Level


@dataclass
class ResultView:
    instrument: Instrument
    overall: float | None
    level: Level | None
    dimensions: list[DimensionView]
    recommendations: list[Recommendation] = field(default_factory=list)

    @property
    def scores(self) -> list[float]:
        return [d.score if d.score is not None else 0.0 for d in self.dimensions]


def _level(instrument: Instrument, index: int) -> Level | None:
    return None if index == NO_LEVEL else instrument.levels[index]


def view_of(instrument: Instrument, result: Scores, row: int = 0) -> ResultView:
    dims = []
    for d, dimension in enumerate(instrument.dimensions):
        value = float(result.dimension_scores[row, d])
        index = int(result.dimension_levels[row, d])
        nxt = instrument.levels[index + 1] if index != NO_LEVEL and index + 1 < len(instrument.levels) else None
        dims.append(DimensionView(dimension, None if np.isnan(value) else value, _level(instrument, index), nxt))
    overall = float(result.overall[row])
    view = ResultView(instrument, None if np.isnan(overall) else overall,
                      _level(instrument, int(result.overall_level[row])), dims)
    view.recommendations = recommendations(instrument, result, row)
    return view


def recommendations(instrument: Instrument, result: Scores, row: int = 0) -> list[Recommendation]:
    """Dimensions below the top level, ranked: first those whose step up lifts the overall level,
    then by the overall points the step is worth (weight share × points to the next level)."""
    model = model_for(instrument.id, instrument.version)
    dimension_scores = result.dimension_scores[row]
    has = ~np.isnan(dimension_scores)
    weights = model.dimension_weights * has
    out = []
    for d, dimension in enumerate(instrument.dimensions):
        index = int(result.dimension_levels[row, d])
        if index == NO_LEVEL or index + 1 >= len(instrument.levels):
            continue
        target = instrument.levels[index + 1].min_score + (1e-6 if model.above else 0.0)
        gap = max(target - dimension_scores[d], 0.0)
        stepped = dimension_scores.copy()
        stepped[d] = target
        stepped_overall = overall_scores(stepped[None, :], model.dimension_weights)
        stepped_levels = levels_of(stepped[None, :], model.level_mins, above=model.above)
        lifted = overall_levels(stepped_overall, stepped_levels, model)[0] > result.overall_level[row]
        out.append(Recommendation(dimension, instrument.levels[index], instrument.levels[index + 1],
                                  float(gap), float(weights[d] / weights.sum() * gap), bool(lifted)))
    return sorted(out, key=lambda r: (not r.lifts_overall_level, -r.overall_gain))


def result_of(*, session: Session, assessment: Assessment, business: Business) -> ResultView:
    instrument = instrument_of(assessment)
    return view_of(instrument, score_answers(instrument, business, answers_of(session=session, assessment=assessment)))


def what_if(
    instrument: Instrument, business: Business, answers: dict[str, str], *, steps: int = 3
) -> tuple[ResultView, list[Suggestion]]:
    """Score a sandbox set of answers and find the ``steps`` single-answer changes that raise the
    overall score most, greedily, each scored together with the earlier ones (one vectorised engine
    call per step over every candidate change)."""
    model = model_for(instrument.id, instrument.version)
    view = view_of(instrument, score_answers(instrument, business, answers))
    codes, mask = encode(instrument, business, answers)
    asked = [q for q, question in enumerate(instrument.questions)
             if question.applies_to.applies(business.vsic_section, business.size_class)]
    # the best single-option answer of each question: the candidate "better" answer
    best_code = {q: int(np.argmax(model.table[model.offsets[q]: model.offsets[q] + model.na_codes[q]]))
                 for q in asked}
    suggestions: list[Suggestion] = []
    current = score(codes, model, applicable=mask, validate=False)
    for _ in range(steps):
        candidates = [q for q in asked if codes[0, q] != best_code[q] and not any(
            s.question.id == instrument.questions[q].id for s in suggestions)]
        if not candidates:
            break
        trial = np.repeat(codes, len(candidates), axis=0)
        trial_mask = np.repeat(mask, len(candidates), axis=0)
        rows = np.arange(len(candidates))
        trial[rows, candidates] = [best_code[q] for q in candidates]
        trial_mask[rows, candidates] = True
        scored = score(trial, model, applicable=trial_mask, validate=False)
        gain = np.nan_to_num(scored.overall, nan=-1.0) - np.nan_to_num(current.overall[0], nan=0.0)
        best = int(np.lexsort((-gain, -scored.overall_level))[0])
        if gain[best] <= 1e-9:
            break
        q = candidates[best]
        question = instrument.questions[q]
        suggestions.append(Suggestion(
            question, answers.get(question.id), model.option_ids[q][best_code[q]] if not model.multi[q]
            else "|".join(o.id for i, o in enumerate(question.options) if best_code[q] >> i & 1),
            float(scored.overall[best]), instrument.levels[int(scored.overall_level[best])]))
        codes[0, q], mask[0, q] = best_code[q], True
        current = score(codes, model, applicable=mask, validate=False)
    return view, suggestions


def latest_peers_query(assessment: Assessment):
    latest = (select(func.max(Assessment.id))
              .where(Assessment.status == "submitted", Assessment.instrument_id == assessment.instrument_id)
              .group_by(Assessment.business_id))
    return select(Assessment).where(
        Assessment.id.in_(latest),  # type: ignore[union-attr]
        Assessment.vsic_section == assessment.vsic_section,
        Assessment.size_class == assessment.size_class,
        Assessment.business_id != assessment.business_id,
    )


def peer_percentile(*, session: Session, assessment: Assessment, minimum: int) -> tuple[int, float | None]:
    """(number of peers, percentile or None when fewer than ``minimum``). Peers: the latest submitted
    assessment of every other business with the same instrument, VSIC section and size class."""
    if assessment.status != "submitted" or assessment.overall_score is None:
        return 0, None
    peers = latest_peers_query(assessment).subquery()
    x = assessment.overall_score
    n, below, equal = session.exec(select(
        func.count(),
        func.coalesce(func.sum(case((peers.c.overall_score < x - 1e-9, 1), else_=0)), 0),
        func.coalesce(func.sum(case((func.abs(peers.c.overall_score - x) <= 1e-9, 1), else_=0)), 0),
    ).select_from(peers)).one()
    if n < minimum:
        return int(n), None
    return int(n), 100.0 * (below + 0.5 * equal) / n


@dataclass(frozen=True)
class HistoryPoint:
    assessment: Assessment
    overall: float
    dimensions: dict[str, float | None]
    change: dict[str, float | None]  # per dimension since the previous assessment


def history(*, session: Session, business: Business, instrument_id: str) -> list[HistoryPoint]:
    submitted = list(session.exec(select(Assessment).where(
        Assessment.business_id == business.id, Assessment.instrument_id == instrument_id,
        Assessment.status == "submitted").order_by(Assessment.submitted_at, Assessment.id)))
    if not submitted:
        return []
    rows = session.exec(select(DimensionResult).where(
        DimensionResult.assessment_id.in_([a.id for a in submitted])))  # type: ignore[attr-defined]
    by_assessment: dict[int, dict[str, float | None]] = {}
    for r in rows:
        by_assessment.setdefault(r.assessment_id, {})[r.dimension_id] = r.score
    points: list[HistoryPoint] = []
    for a in submitted:
        dims = by_assessment.get(a.id, {})
        prev = points[-1].dimensions if points else {}
        change = {d: (v - prev[d]) if v is not None and prev.get(d) is not None else None
                  for d, v in dims.items()}
        points.append(HistoryPoint(a, a.overall_score or 0.0, dims, change))
    return points
