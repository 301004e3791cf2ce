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

A column's score is looked up in one flat table (``lookup``, already clipped to [0, 1], NaN for "not
applicable"): a single choice's option scores, and for a checklist of at most 8 options
(``BYTE``) the score of each of its 2**k masks, ``clip(bits @ option_scores, 0, 1)``, at most 256
entries. A wider checklist is scored per byte of its mask: each byte indexes a 256-entry table of
the partial sums of its 8 options (``byte_lookup``); the partial sums are added, then clipped. So
memory grows linearly with the options (256 entries per 8), time by one gather per 8 options, and
every answer is one gather in the common case.
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
#: options per byte of a checklist's mask: up to this many, its masks are looked up whole
BYTE = 8


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
    lookup_offsets: np.ndarray  # (C,) int64, start of each column's slice of `lookup`
    lookup: np.ndarray  # flat float64: per column its clipped score per code, then NaN (one NaN: wide checklist)
    byte_offsets: tuple[tuple[int, ...], ...]  # per column: start of each mask byte's table (wide checklists)
    byte_lookup: np.ndarray  # flat float64: 256 partial sums per byte of a wide checklist's mask
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
    def wide_columns(self) -> np.ndarray:
        """The checklists of more than ``BYTE`` options (scored per byte of the mask)."""
        return np.flatnonzero([bool(offsets) for offsets in self.byte_offsets])

    def wide_scores(self, question: int, codes: np.ndarray) -> np.ndarray:
        """Scores of a wide checklist's codes, shape (n,): the partial sums of the mask's bytes
        added, clipped to [0, 1]; NaN for "not applicable"."""
        codes = np.asarray(codes, dtype=np.int64)
        total = np.zeros(codes.shape)
        for b, start in enumerate(self.byte_offsets[question]):
            total += self.byte_lookup.take(((codes >> (BYTE * b)) & 255) + start)
        values: np.ndarray = np.clip(total, 0.0, 1.0)
        values[codes == self.na_codes[question]] = np.nan
        return values

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
        if self.byte_offsets[question]:
            return float(self.wide_scores(question, np.array([code]))[0])
        return float(self.lookup[self.lookup_offsets[question] + code])

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
            if self.byte_offsets[c]:
                if len(scores) > LEGACY_TABLE_MAX_OPTIONS:
                    raise ValueError(
                        f"column {self.question_ids[c]!r} has {len(scores)} options: too many for a table of every "
                        "answer; use column_score() and best_codes()")
                tables.append(self.wide_scores(c, np.arange((1 << len(scores)) + 1)))  # the last: "na"
            else:
                start = self.lookup_offsets[c]
                tables.append(self.lookup[start: self.na_codes[c] + start + 1])
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


def _mask_sums(scores: np.ndarray) -> np.ndarray:
    """bits @ scores for every mask of len(scores) options (as the engine before format v2 did)."""
    masks = np.arange(1 << len(scores))
    values: np.ndarray = ((masks[:, None] >> np.arange(len(scores))) & 1) @ scores
    return values


def _lookup_slice(scores: np.ndarray, multi: bool) -> np.ndarray:
    """A column's score per code, clipped, NaN last (the "not applicable" code): a single
    choice's options, a narrow checklist's masks; a wide checklist keeps one NaN slot (it is
    scored per byte)."""
    if multi and len(scores) > BYTE:
        return np.array([np.nan])
    return np.append(np.clip(_mask_sums(scores) if multi else scores, 0.0, 1.0), np.nan)


def _byte_tables(scores: np.ndarray) -> list[np.ndarray]:
    """A wide checklist's partial sums: per 8 options, 256 entries (the mask byte's options)."""
    tables = []
    for start in range(0, len(scores), BYTE):
        part = _mask_sums(scores[start: start + BYTE])
        tables.append(np.append(part, np.zeros(256 - len(part))))  # a byte of the "na" code lands past the masks
    return tables


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
    byte_tables: list[np.ndarray] = []
    byte_offsets: list[tuple[int, ...]] = []
    for scores, is_multi in zip(option_scores, multi, strict=True):
        tables = _byte_tables(scores) if is_multi and len(scores) > BYTE else []
        byte_offsets.append(tuple(256 * (len(byte_tables) + i) for i in range(len(tables))))
        byte_tables += tables
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
        byte_offsets=tuple(byte_offsets),
        byte_lookup=np.concatenate(byte_tables) if byte_tables else np.zeros(0),
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
