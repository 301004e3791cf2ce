"""An instrument turned into the arrays the engine computes with.

The engine never sees YAML or pydantic models: :func:`compile_instrument` takes the plain, normalised
mapping that ``dxm questionnaire export`` prints, so ``scoring/`` depends on nothing but NumPy.

Answer codes
------------
Each answer is one small integer per question:

* single choice: the index of the chosen option (0 .. k-1);
* multi choice: the bit mask of the chosen options (bit i = option i), 0 .. 2**k - 1;
* "not applicable": the last code of the question, ``na_codes[q]``.

Every question's codes index a slice of one flat lookup table that holds the question score for that
answer, already summed and clipped to [0, 1], and NaN for "not applicable". Scoring a response is then
one gather and two matrix products, whatever the answer types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, eq=False)
class ScoringModel:
    instrument_id: str
    version: str
    question_ids: tuple[str, ...]
    dimension_ids: tuple[str, ...]
    level_ids: tuple[str, ...]
    option_ids: tuple[tuple[str, ...], ...]
    #: option scores per question as written (before summing and clipping)
    option_scores: tuple[np.ndarray, ...]
    multi: np.ndarray  # (Q,) bool
    allow_na: np.ndarray  # (Q,) bool
    na_codes: np.ndarray  # (Q,) int
    offsets: np.ndarray  # (Q,) int, start of each question's slice of `table`
    table: np.ndarray  # flat float64: question score per (question, code); NaN = not applicable
    question_dimension: np.ndarray  # (Q,) int index into dimension_ids
    membership: np.ndarray  # (Q, D) question weight where the question belongs to the dimension
    dimension_weights: np.ndarray  # (D,)
    level_mins: np.ndarray  # (L,) ascending, 0-100
    above: bool  # True: a level needs score > min; False: score >= min
    gate_levels: np.ndarray | None  # (G,) level indices; None for the "score" rule
    gate_mins: np.ndarray | None  # (G,)
    gate_min_dimensions: np.ndarray | None  # (G,)

    @property
    def na_columns(self) -> np.ndarray:
        """Indices of the questions that allow "not applicable"."""
        return np.flatnonzero(self.allow_na)

    @property
    def n_questions(self) -> int:
        return len(self.question_ids)

    @property
    def n_dimensions(self) -> int:
        return len(self.dimension_ids)

    def code_of(self, question: int, answer: str | Sequence[str]) -> int:
        """Encode one answer given as option id(s) or "na"; ``KeyError`` names what is unknown."""
        if isinstance(answer, str) and answer == "na":
            return int(self.na_codes[question])
        options = self.option_ids[question]
        chosen = [answer] if isinstance(answer, str) else list(answer)
        for option in chosen:
            if option not in options:
                raise KeyError(option)
        if not self.multi[question]:
            if len(chosen) != 1:
                raise KeyError("|".join(chosen))
            return options.index(chosen[0])
        return sum(1 << options.index(option) for option in set(chosen))


def _question_table(scores: np.ndarray, multi: bool) -> np.ndarray:
    """Scores for every code of one question, NaN last (the "not applicable" code)."""
    if multi:
        masks = np.arange(1 << len(scores))
        bits = (masks[:, None] >> np.arange(len(scores))) & 1
        values = bits @ scores
    else:
        values = scores
    return np.append(np.clip(values, 0.0, 1.0), np.nan)


def compile_instrument(spec: Mapping[str, Any]) -> ScoringModel:
    """Build the arrays for one normalised instrument (the ``export`` mapping)."""
    dimensions = list(spec["dimensions"])
    questions = list(spec["questions"])
    levels = list(spec["levels"])
    dimension_index = {d["id"]: i for i, d in enumerate(dimensions)}
    level_index = {lv["id"]: i for i, lv in enumerate(levels)}

    option_scores = tuple(np.array([o["score"] for o in q["options"]], dtype=float) for q in questions)
    multi = np.array([q["type"] == "multi" for q in questions], dtype=bool)
    tables = [_question_table(s, m) for s, m in zip(option_scores, multi, strict=True)]
    sizes = np.array([len(t) for t in tables])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    weights = np.array([float(q["weight"]) for q in questions])
    question_dimension = np.array([dimension_index[q["dimension"]] for q in questions], dtype=np.int64)
    membership = np.zeros((len(questions), len(dimensions)))
    membership[np.arange(len(questions)), question_dimension] = weights

    rule = spec.get("overall_level", {"rule": "score"})
    gates = rule.get("gates") if rule.get("rule") == "gated" else None
    return ScoringModel(
        instrument_id=spec["id"],
        version=str(spec["version"]),
        question_ids=tuple(q["id"] for q in questions),
        dimension_ids=tuple(d["id"] for d in dimensions),
        level_ids=tuple(lv["id"] for lv in levels),
        option_ids=tuple(tuple(o["id"] for o in q["options"]) for q in questions),
        option_scores=option_scores,
        multi=multi,
        allow_na=np.array([bool(q.get("allow_na", False)) for q in questions]),
        na_codes=sizes - 1,
        offsets=offsets,
        table=np.concatenate(tables),
        question_dimension=question_dimension,
        membership=membership,
        dimension_weights=np.array([float(d["weight"]) for d in dimensions]),
        level_mins=np.array([float(lv["min_score"]) for lv in levels]),
        above=spec.get("threshold", "at_least") == "above",
        gate_levels=None if gates is None else np.array([level_index[g["level"]] for g in gates]),
        gate_mins=None if gates is None else np.array([float(g["min_score"]) for g in gates]),
        gate_min_dimensions=None if gates is None else np.array([int(g["min_dimensions"]) for g in gates]),
    )
