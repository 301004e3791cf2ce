"""What a business sees of its scores: levels, prioritised advice, peers, what-if and history.

Frozen scores are read as stored (a submitted copy's, a closed round's); only the what-if sandbox
scores answers. The rules for priorities and the what-if search are in docs/method.md (section 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import bindparam, case, func
from sqlmodel import Session, col, select

from assessment import reference
from assessment.messages import N_
from assessment.models import Assessment, AssessmentRound, Business, DimensionResult, RoundResult
from assessment.scores import NOTHING_TICKED, encode, from_stored, model_for, score_answers
from questionnaires import loader
from questionnaires.schema import Dimension, Instrument, Level, Question, Row, Text
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
    """One answer to change: of a question, or of one row of a table (``row``)."""

    question: Question
    current: str | None
    better: str  # option id(s) to choose ("-": nothing ticked)
    overall_after: float
    level_after: Level
    row: Row | None = None

    @property
    def column_id(self) -> str:
        return self.question.id if self.row is None else f"{self.question.id}.{self.row.id}"

    @property
    def text(self) -> Text:
        return self.question.text if self.row is None else self.row.text


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


def copy_result(*, session: Session, copy: Assessment) -> ResultView:
    """A submitted copy's frozen scores."""
    instrument = loader.get(copy.instrument_id, copy.instrument_version)
    rows = session.exec(select(DimensionResult.dimension_id, DimensionResult.score).where(
        DimensionResult.assessment_id == copy.id)).all()
    return view_of(instrument, from_stored(instrument, dict(rows)))


@dataclass(frozen=True)
class Spread:
    respondents: int
    low: float | None
    high: float | None


def round_result(*, session: Session, round_: AssessmentRound) -> tuple[ResultView, dict[str, Spread]] | None:
    """A closed round's combined result and, per dimension, the spread between its respondents;
    None when it has none (closed with no submitted copy, or still open)."""
    if round_.status != "closed" or round_.respondents == 0:
        return None
    instrument = loader.get(round_.instrument_id, round_.instrument_version)
    rows = session.exec(select(RoundResult).where(RoundResult.round_id == round_.id)).all()
    view = view_of(instrument, from_stored(instrument, {r.dimension_id: r.score for r in rows}))
    return view, {r.dimension_id: Spread(r.respondents, r.low, r.high) for r in rows}


def what_if(
    instrument: Instrument, business: Business, answers: dict[str, str], *, steps: int = 3
) -> tuple[ResultView, list[Suggestion]]:
    """Score a sandbox set of answers and find the ``steps`` single-answer changes that raise the
    overall score most, greedily, each scored together with the earlier ones (one vectorised engine
    call per step over every candidate change)."""
    model = model_for(instrument.id, instrument.version)
    view = view_of(instrument, score_answers(instrument, business.vsic_section, business.size_class, answers))
    codes, mask = encode(instrument, business.vsic_section, business.size_class, answers)
    columns = instrument.columns()
    asked = [c for c, column in enumerate(columns) if column.applies(business.vsic_section, business.size_class)]
    # the best valid answer of each column (a table row on its own): the candidate "better" answer
    best = model.best_codes()
    suggestions: list[Suggestion] = []
    current = score(codes, model, applicable=mask, validate=False)
    for _ in range(steps):
        candidates = [c for c in asked if codes[0, c] != best[c] and not any(
            s.column_id == columns[c].id for s in suggestions)]
        if not candidates:
            break
        trial = np.repeat(codes, len(candidates), axis=0)
        trial_mask = np.repeat(mask, len(candidates), axis=0)
        rows = np.arange(len(candidates))
        trial[rows, candidates] = best[candidates]
        trial_mask[rows, candidates] = True
        scored = score(trial, model, applicable=trial_mask, validate=False)
        gain = np.nan_to_num(scored.overall, nan=-1.0) - np.nan_to_num(current.overall[0], nan=0.0)
        top = int(np.lexsort((-gain, -scored.overall_level))[0])
        if gain[top] <= 1e-9:
            break
        c = candidates[top]
        column = columns[c]
        better = "|".join(model.answer_ids(c, int(best[c]))) or NOTHING_TICKED
        suggestions.append(Suggestion(column.question, answers.get(column.id), better, float(scored.overall[top]),
                                      instrument.levels[int(scored.overall_level[top])], row=column.row))
        codes[0, c], mask[0, c] = best[c], True
        current = score(codes, model, applicable=mask, validate=False)
    return view, suggestions


#: the peer groups tried in turn, until one holds at least the minimum: (same section, same size)
PEER_GROUPS = (("sector_size", True, True), ("sector", True, False), ("size", False, True), ("city", False, False))


#: where a percentile places a round in its group, from the top (``Peers.position``)
POSITIONS = ((75.0, N_("in the top quarter")), (50.0, N_("in the upper middle, above half of them")),
             (25.0, N_("in the lower middle, below half of them")), (0.0, N_("in the bottom quarter")))


@dataclass(frozen=True)
class Peers:
    """Where a round stands among its peers, and which peers: ``group`` names the group compared
    with (a key of ``PEER_GROUPS``: same sector and size class, same sector, same size class, the
    city), None when not even the city held the minimum; ``count`` is that group's businesses (the
    city's when none). ``vsic_section`` and ``size_class`` are the round's own (frozen at close), so
    a page can say which group was too small."""

    count: int  # peers found in the group used (the city's when no group was large enough)
    percentile: float | None  # None when fewer than the minimum
    group: str | None = None
    vsic_section: str | None = None
    size_class: str | None = None

    @property
    def position(self) -> str | None:
        """The quarter of the group the round is in, as words say it (a position encourages where "higher
        than 0 % of 8" discourages): top (75 and above), upper middle (50 to 75), lower middle (25 to 50),
        bottom (below 25)."""
        if self.percentile is None:
            return None
        for floor, words in POSITIONS:
            if self.percentile >= floor:
                return words
        return POSITIONS[-1][1]

    @property
    def sector(self) -> reference.Section | None:
        """The round's VSIC section (its names in both languages), for the sentence naming the group."""
        return reference.sections().get(self.vsic_section) if self.vsic_section else None


@cache
def _peer_counts(same_section: bool, same_size: bool) -> Any:
    """How many of a group are below and equal to a score: the latest closed round of every other
    business of the instrument version (with its sector and size class when asked). The first is
    covered by index ix_round_peers, the others read a prefix of it."""
    where: list[Any] = [AssessmentRound.is_latest, AssessmentRound.instrument_id == bindparam("instrument_id"),
             AssessmentRound.instrument_version == bindparam("version"),
             AssessmentRound.business_id != bindparam("business_id"), col(AssessmentRound.overall_score).is_not(None)]
    if same_section:
        where.append(AssessmentRound.vsic_section == bindparam("section"))
    if same_size:
        where.append(AssessmentRound.size_class == bindparam("size"))
    return select(
        func.count(),
        func.coalesce(func.sum(case((AssessmentRound.overall_score < bindparam("x") - 1e-9, 1), else_=0)), 0),
        func.coalesce(func.sum(case((func.abs(AssessmentRound.overall_score - bindparam("x")) <= 1e-9, 1),
                                    else_=0)), 0),
    ).where(*where)


def peers(*, session: Session, round_: AssessmentRound | None, minimum: int) -> Peers:
    """Where a closed round stands among its peers: the latest closed round of every other business
    with the same instrument version and, if at least ``minimum`` (``DXM_MIN_CELL``) of them, the same
    VSIC section and size class (frozen at close); failing that the same section, then the same size
    class, then the whole city. The percentile counts ties as half (docs/method.md section 7)."""
    if round_ is None or round_.status != "closed" or round_.overall_score is None:
        return Peers(0, None)
    params = {"x": round_.overall_score, "instrument_id": round_.instrument_id, "version": round_.instrument_version,
              "section": round_.vsic_section, "size": round_.size_class, "business_id": round_.business_id}
    n = 0
    for group, same_section, same_size in PEER_GROUPS:
        n, below, equal = session.exec(_peer_counts(same_section, same_size), params=params).one()
        if n >= minimum:
            return Peers(int(n), 100.0 * (below + 0.5 * equal) / n, group, round_.vsic_section, round_.size_class)
    return Peers(int(n), None, None, round_.vsic_section, round_.size_class)


@dataclass(frozen=True)
class HistoryPoint:
    round: AssessmentRound
    overall: float
    dimensions: dict[str, float | None]
    change: dict[str, float | None]  # per dimension since the previous round of this version


@dataclass(frozen=True)
class VersionHistory:
    instrument: Instrument  # the version these points were scored with (its own dimensions)
    points: list[HistoryPoint]


def history(*, session: Session, business: Business, instrument_id: str) -> list[VersionHistory]:
    """The business's closed rounds of an instrument with a result, oldest first, grouped by version
    (newest version first): scores of different versions are not compared."""
    rounds = list(session.exec(select(AssessmentRound).where(
        AssessmentRound.business_id == business.id, AssessmentRound.instrument_id == instrument_id,
        AssessmentRound.status == "closed", AssessmentRound.respondents > 0)
        .order_by(col(AssessmentRound.closed_at), col(AssessmentRound.id))))
    if not rounds:
        return []
    rows = session.exec(select(RoundResult).where(col(RoundResult.round_id).in_([r.id for r in rounds])))
    by_round: dict[int, dict[str, float | None]] = {}
    for r in rows:
        by_round.setdefault(r.round_id, {})[r.dimension_id] = r.score
    groups: dict[str, list[HistoryPoint]] = {}
    for round_ in rounds:
        points = groups.setdefault(round_.instrument_version, [])
        dims = by_round.get(round_.id, {})  # type: ignore[arg-type]
        prev = points[-1].dimensions if points else {}
        change = {d: (v - p) if v is not None and (p := prev.get(d)) is not None else None for d, v in dims.items()}
        points.append(HistoryPoint(round_, round_.overall_score or 0.0, dims, change))
    versions = sorted(groups, key=loader.version_key, reverse=True)
    return [VersionHistory(loader.get(instrument_id, v), groups[v]) for v in versions]
