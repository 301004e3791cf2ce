"""An instrument turned into the arrays the engine computes with.

The engine never sees YAML or pydantic models: :func:`compile_instrument` takes the plain, normalised
mapping that ``dxm questionnaire export`` prints, so ``scoring/`` depends on nothing but NumPy.

Columns, items, dimensions
--------------------------
A *column* is what one answer is given to: an ordinary question, or one row of a table (id
``<table>.<row>``). An *item* is what carries a weight in a dimension: an ordinary question (one
column) or a table (its rows' columns). Scores go columns -> items -> dimensions; an instrument
without tables has one item per column and skips the middle step (``item_matrix`` is None).
``question_ids`` and every per-question array below are per *column*, so that callers written
before tables keep working.

Answer codes
------------
Each answer is one integer per column (int64):

* single choice (and a table row): the index of the chosen option (0 .. k-1);
* multi choice: the bit mask of the ticked options (bit i = option i), 0 .. 2**k - 1, at most
  62 options (``MAX_MULTI_OPTIONS``); 0 is "nothing ticked", a valid answer unless ``min_select``;
* "not applicable": the code after the last one, ``na_codes[c]`` (k, or 2**k for multi choice).

A single-choice column's score is looked up in one flat table (``lookup``, already clipped to
[0, 1], NaN for "not applicable"); a multi-choice column's is computed from its bits:
``clip(bits @ option_scores, 0, 1)``, so the number of options costs time linearly, not 2**k memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

#: bits of an int64 code left for options: 62, plus the "not applicable" code 2**62
MAX_MULTI_OPTIONS = 62
#: the largest multi-choice question the legacy ``table`` property writes out (2**k entries)
LEGACY_TABLE_MAX_OPTIONS = 16


class InvalidAnswer(KeyError, ValueError):
    """An answer that cannot be encoded: an unknown option, an exclusive option ticked with another,
    fewer options than ``min_select``. A ``KeyError`` (what ``code_of`` always raised) and a
    ``ValueError``; ``str()`` is the plain message."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True, eq=False)
class ScoringModel:
    instrument_id: str
    version: str
    question_ids: tuple[str, ...]  # (C,) column ids: question ids, "<table>.<row>" for table rows
    dimension_ids: tuple[str, ...]
    level_ids: tuple[str, ...]
    option_ids: tuple[tuple[str, ...], ...]
    #: option scores per column as written (before summing and clipping)
    option_scores: tuple[np.ndarray, ...]
    multi: np.ndarray  # (C,) bool
    allow_na: np.ndarray  # (C,) bool
    na_codes: np.ndarray  # (C,) int64
    exclusive_masks: np.ndarray  # (C,) int64: bits of the exclusive options (0: none)
    min_select: np.ndarray  # (C,) int64
    lookup_offsets: np.ndarray  # (C,) int64, start of each single-choice column's slice of `lookup`
    lookup: np.ndarray  # flat float64: clipped option scores then NaN, per single-choice column
    question_dimension: np.ndarray  # (C,) int index into dimension_ids
    item_ids: tuple[str, ...]  # (I,) question ids (a table is one item)
    column_item: np.ndarray  # (C,) int index into item_ids
    item_matrix: np.ndarray | None  # (C, I) 1 where a column belongs to an item; None: no tables
    membership: np.ndarray  # (I, D) item weight where the item belongs to the dimension
    dimension_weights: np.ndarray  # (D,)
    level_mins: np.ndarray  # (L,) ascending, 0-100
    above: bool  # True: a level needs score > min; False: score >= min
    gate_levels: np.ndarray | None  # (G,) level indices; None for the "score" rule
    gate_mins: np.ndarray | None  # (G,)
    gate_min_dimensions: np.ndarray | None  # (G,)

    @property
    def na_columns(self) -> np.ndarray:
        """Indices of the columns that allow "not applicable"."""
        return np.flatnonzero(self.allow_na)

    @cached_property
    def multi_columns(self) -> np.ndarray:
        return np.flatnonzero(self.multi)

    @cached_property
    def checked_multi_columns(self) -> np.ndarray:
        """The multi-choice columns with an exclusive option or a ``min_select``."""
        return np.flatnonzero(self.multi & ((self.exclusive_masks != 0) | (self.min_select > 0)))

    @cached_property
    def item_starts(self) -> np.ndarray:
        """(I,) the first column of each item (an item's columns are adjacent)."""
        return np.searchsorted(self.column_item, np.arange(self.n_items)).astype(np.intp)

    @property
    def n_questions(self) -> int:
        """The number of columns (questions, and table rows each on its own)."""
        return len(self.question_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_dimensions(self) -> int:
        return len(self.dimension_ids)

    def column(self, column_id: str) -> int:
        """The index of a column (a question id, or ``<table>.<row>``); ``KeyError`` if unknown."""
        try:
            return self.question_ids.index(column_id)
        except ValueError:
            raise KeyError(column_id) from None

    def code_of(self, question: int, answer: str | Sequence[str]) -> int:
        """Encode one answer to column ``question`` given as option id(s) or "na".

        Raises :class:`InvalidAnswer` (a ``KeyError``) naming what is wrong: an unknown option, two
        options for a single choice, an exclusive option ticked with another, or fewer ticks than
        the column's ``min_select``."""
        if isinstance(answer, str) and answer == "na":
            return int(self.na_codes[question])
        options = self.option_ids[question]
        chosen = [answer] if isinstance(answer, str) else list(answer)
        for option in chosen:
            if option not in options:
                raise InvalidAnswer(option)
        if not self.multi[question]:
            if len(chosen) != 1:
                raise InvalidAnswer("|".join(chosen))
            return options.index(chosen[0])
        code = sum(1 << options.index(option) for option in set(chosen))
        problem = self.answer_problem(question, code)
        if problem:
            raise InvalidAnswer(problem)
        return code

    def answer_problem(self, question: int, code: int) -> str:
        """Why a multi-choice code breaks its column's rules ("" when it does not)."""
        ticked = int(code).bit_count()
        exclusive = int(self.exclusive_masks[question]) & int(code)
        if exclusive and ticked > 1:
            option = self.option_ids[question][exclusive.bit_length() - 1]
            return f"{option!r} cannot be ticked together with another option of {self.question_ids[question]!r}"
        if ticked < self.min_select[question]:
            return (f"tick at least {int(self.min_select[question])} option(s) of {self.question_ids[question]!r}, "
                    f"got {ticked}")
        return ""

    def answer_ids(self, question: int, code: int) -> list[str]:
        """The option ids a code stands for (["na"] for "not applicable"): the inverse of ``code_of``."""
        if code == self.na_codes[question]:
            return ["na"]
        options = self.option_ids[question]
        if not self.multi[question]:
            return [options[code]]
        return [o for i, o in enumerate(options) if code >> i & 1]

    def column_score(self, question: int, code: int) -> float:
        """The score in [0, 1] of one answer code (NaN for "not applicable")."""
        if code == self.na_codes[question]:
            return float("nan")
        scores = self.option_scores[question]
        if not self.multi[question]:
            return float(self.lookup[self.lookup_offsets[question] + code])
        bits = (np.int64(code) >> np.arange(len(scores), dtype=np.int64)) & 1
        return float(np.clip(bits[None, :] @ scores, 0.0, 1.0)[0])

    def best_codes(self) -> np.ndarray:
        """(C,) the highest-scoring valid answer of each column: the best option of a single
        choice; for a multi choice every positive non-exclusive option (topped up with the best
        others to reach ``min_select``), or the best exclusive option if that scores more."""
        best = np.zeros(self.n_questions, dtype=np.int64)
        for c, scores in enumerate(self.option_scores):
            if not self.multi[c]:
                best[c] = int(np.argmax(self.lookup[self.lookup_offsets[c]: self.lookup_offsets[c] + len(scores)]))
                continue
            exclusive = np.array([bool(int(self.exclusive_masks[c]) >> i & 1) for i in range(len(scores))], dtype=bool)
            order = [int(i) for i in np.argsort(-scores, kind="stable") if not exclusive[i]]
            ticked = [i for i in order if scores[i] > 0]
            ticked += [i for i in order if i not in ticked][: max(int(self.min_select[c]) - len(ticked), 0)]
            code = sum(1 << i for i in ticked)
            candidates = [code] if int(code).bit_count() >= self.min_select[c] else []
            if self.min_select[c] <= 1:
                candidates += [1 << int(i) for i in np.flatnonzero(exclusive)]
            best[c] = max(candidates, key=lambda k: self.column_score(c, k)) if candidates else code
        return best

    # -- the layout before format v2, for callers that read it directly ----------------------
    @cached_property
    def _legacy(self) -> tuple[np.ndarray, np.ndarray]:
        tables = []
        for c, scores in enumerate(self.option_scores):
            if self.multi[c]:
                if len(scores) > LEGACY_TABLE_MAX_OPTIONS:
                    raise ValueError(
                        f"column {self.question_ids[c]!r} has {len(scores)} options: too many for a table of every "
                        "answer; use column_score() and best_codes()")
                masks = np.arange(1 << len(scores))
                values = ((masks[:, None] >> np.arange(len(scores))) & 1) @ scores
                tables.append(np.append(np.clip(values, 0.0, 1.0), np.nan))
            else:
                start = self.lookup_offsets[c]
                tables.append(self.lookup[start: start + len(scores) + 1])
        sizes = np.array([len(t) for t in tables], dtype=np.int64)
        return np.concatenate(tables), np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    @property
    def table(self) -> np.ndarray:
        """Every column's score for every code (NaN for "not applicable"), at ``offsets``: the lookup
        the engine used before format v2, built on first use. A multi-choice column takes 2**k
        entries, so a model with one over LEGACY_TABLE_MAX_OPTIONS options raises ``ValueError``
        (use :meth:`column_score` and :meth:`best_codes`)."""
        return self._legacy[0]

    @property
    def offsets(self) -> np.ndarray:
        """(C,) start of each column's slice of :attr:`table`."""
        return self._legacy[1]


def _lookup_slice(scores: np.ndarray, multi: bool) -> np.ndarray:
    """A single-choice column's scores, clipped, NaN last (the "not applicable" code); a
    multi-choice column keeps one NaN slot (its scores are computed from the bits)."""
    return np.array([np.nan]) if multi else np.append(np.clip(scores, 0.0, 1.0), np.nan)


def _columns(questions: list[Mapping[str, Any]]) -> list[tuple[str, int, Mapping[str, Any]]]:
    """(column id, item index, question) for every column: a table expands into its rows."""
    columns = []
    for item, q in enumerate(questions):
        if q["type"] == "table":
            columns += [(f"{q['id']}.{row['id']}", item, q) for row in q["rows"]]
        else:
            columns.append((q["id"], item, q))
    return columns


def compile_instrument(spec: Mapping[str, Any]) -> ScoringModel:
    """Build the arrays for one normalised instrument (the ``export`` mapping)."""
    dimensions = list(spec["dimensions"])
    questions = list(spec["questions"])
    levels = list(spec["levels"])
    dimension_index = {d["id"]: i for i, d in enumerate(dimensions)}
    level_index = {lv["id"]: i for i, lv in enumerate(levels)}
    columns = _columns(questions)
    for column_id, _, q in columns:
        if q["type"] == "multi" and len(q["options"]) > MAX_MULTI_OPTIONS:
            raise ValueError(f"{column_id!r}: a multi-choice question may have at most {MAX_MULTI_OPTIONS} options")

    option_scores = tuple(np.array([o["score"] for o in q["options"]], dtype=float) for _, _, q in columns)
    multi = np.array([q["type"] == "multi" for _, _, q in columns], dtype=bool)
    n_options = np.array([len(q["options"]) for _, _, q in columns], dtype=np.int64)
    slices = [_lookup_slice(s, m) for s, m in zip(option_scores, multi, strict=True)]
    sizes = np.array([len(t) for t in slices], dtype=np.int64)
    exclusive = np.array([sum(1 << i for i, o in enumerate(q["options"]) if o.get("exclusive")) if m else 0
                          for (_, _, q), m in zip(columns, multi, strict=True)], dtype=np.int64)

    column_item = np.array([item for _, item, _ in columns], dtype=np.int64)
    item_matrix = None
    if any(q["type"] == "table" for q in questions):
        item_matrix = np.zeros((len(columns), len(questions)))
        item_matrix[np.arange(len(columns)), column_item] = 1.0
    weights = np.array([float(q["weight"]) for q in questions])
    item_dimension = np.array([dimension_index[q["dimension"]] for q in questions], dtype=np.int64)
    membership = np.zeros((len(questions), len(dimensions)))
    membership[np.arange(len(questions)), item_dimension] = weights

    rule = spec.get("overall_level", {"rule": "score"})
    gates = rule.get("gates") if rule.get("rule") == "gated" else None
    return ScoringModel(
        instrument_id=spec["id"],
        version=str(spec["version"]),
        question_ids=tuple(column_id for column_id, _, _ in columns),
        dimension_ids=tuple(d["id"] for d in dimensions),
        level_ids=tuple(lv["id"] for lv in levels),
        option_ids=tuple(tuple(o["id"] for o in q["options"]) for _, _, q in columns),
        option_scores=option_scores,
        multi=multi,
        allow_na=np.array([bool(q.get("allow_na", False)) for _, _, q in columns], dtype=bool),
        na_codes=np.where(multi, np.left_shift(1, n_options), n_options).astype(np.int64),
        exclusive_masks=exclusive,
        min_select=np.array([int(q.get("min_select", 0)) for _, _, q in columns], dtype=np.int64),
        lookup_offsets=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        lookup=np.concatenate(slices),
        question_dimension=item_dimension[column_item],
        item_ids=tuple(q["id"] for q in questions),
        column_item=column_item,
        item_matrix=item_matrix,
        membership=membership,
        dimension_weights=np.array([float(d["weight"]) for d in dimensions]),
        level_mins=np.array([float(lv["min_score"]) for lv in levels]),
        above=spec.get("threshold", "at_least") == "above",
        gate_levels=None if gates is None else np.array([level_index[g["level"]] for g in gates]),
        gate_mins=None if gates is None else np.array([float(g["min_score"]) for g in gates]),
        gate_min_dimensions=None if gates is None else np.array([int(g["min_dimensions"]) for g in gates]),
    )
