"""The questionnaire format: YAML files validated into frozen pydantic models.

An instrument is *data*: the centre can add a new national version (Decision 2158's seven pillars,
the 2025 criteria, ...) by dropping a YAML file into ``questionnaires/data/<id>/<version>.yaml``.
Everything the scoring engine needs is reached through :meth:`Instrument.export`, a plain dict, so
``scoring/`` never imports this package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: the languages every text must have; an instrument may add more (``languages``)
LANGUAGES = ("vi", "en")
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
#: a multi-choice answer is stored by the engine as a bit mask in one int64 (bit i = option i, and
#: the code after the last mask means "not applicable"), hence at most 62 options
MAX_MULTI_OPTIONS = 62
#: ``scale: A-B``: integer points A..B, 0 <= A < B <= MAX_SCALE
MAX_SCALE = 10
_SCALE = re.compile(r"^(\d+)-(\d+)$")
_LANGUAGE_KEY = re.compile(r"^[a-z]{2}$")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(Frozen):
    """A text in vi and en (a missing one is a lint error) and optionally in further languages,
    each under its two-letter code (``fr: ...``), so an imported instrument can carry its own
    translations without a schema change."""

    model_config = ConfigDict(frozen=True, extra="allow")
    __pydantic_extra__: dict[str, str] = Field(init=False)

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    @model_validator(mode="after")
    def _two_letter_languages(self) -> Text:
        for key, value in (self.model_extra or {}).items():
            if not _LANGUAGE_KEY.match(key):
                raise ValueError(f"{key!r} is not a language: a text takes two-letter language codes (vi, en, fr, ...)")
            if not value:
                raise ValueError(f"the {key!r} text is empty")
        return self

    @property
    def languages(self) -> tuple[str, ...]:
        return (*LANGUAGES, *(self.model_extra or {}))

    def get(self, lang: str) -> str:
        """The text in ``lang``; Vietnamese when the text has no such language."""
        if lang == "en":
            return self.en
        return (self.model_extra or {}).get(lang) or self.vi


class Option(Frozen):
    id: Identifier
    score: float = Field(ge=-1, le=1)
    text: Text
    #: multi choice only: an answer that ticks this option may tick no other ("none of these")
    exclusive: bool = False


class Applicability(Frozen):
    """Who a question is asked of; an empty list means everyone."""

    sections: list[Annotated[str, Field(pattern=r"^[A-Z]$")]] = []
    sizes: list[Literal["micro", "small", "medium"]] = []

    def applies(self, section: str | None, size: str | None) -> bool:
        if self.sections and section not in self.sections:
            return False
        return not (self.sizes and size not in self.sizes)


class Row(Frozen):
    """One row of a table: its own text and applicability; the table's options, weight and
    dimension. Its answer is stored under ``<table>.<row>``."""

    id: Identifier
    text: Text
    help: Text | None = None
    applies_to: Applicability = Applicability()


def parse_scale(scale: str) -> tuple[int, int]:
    """``"0-5"`` -> (0, 5); ``ValueError`` unless 0 <= A < B <= MAX_SCALE."""
    match = _SCALE.match(scale)
    low, high = (int(match[1]), int(match[2])) if match else (-1, -1)
    if not (0 <= low < high <= MAX_SCALE):
        raise ValueError(f"scale {scale!r} must be A-B with whole numbers 0 <= A < B <= {MAX_SCALE}, e.g. 0-5")
    return low, high


def _scale_options(data: Any) -> Any:
    """Write ``scale: A-B`` out as the options it stands for: ids "A".."B", option i scoring i/B,
    texts from ``scale_labels`` or else the number itself."""
    if not isinstance(data, dict) or "scale" not in data:
        return data
    if "options" in data:
        raise ValueError("give either a scale or options, not both")
    scale = data["scale"]
    if not isinstance(scale, str):
        raise ValueError(f"scale {scale!r} must be written A-B, e.g. 0-5")
    low, high = parse_scale(scale)
    labels = data.get("scale_labels") or {}
    if not isinstance(labels, dict):
        raise ValueError("scale_labels must map scale points to texts")
    points = [str(i) for i in range(low, high + 1)]
    unknown = [str(k) for k in labels if str(k) not in points]
    if unknown:
        raise ValueError(f"scale_labels {', '.join(map(repr, unknown))} not on the scale {scale}")
    labels = {str(k): v for k, v in labels.items()}  # YAML reads an unquoted 3: as a number
    options = [{"id": p, "score": int(p) / high, "text": labels.get(p, {"vi": p, "en": p})} for p in points]
    return {**data, "options": options, **({"scale_labels": labels} if "scale_labels" in data else {})}


class Question(Frozen):
    """A question: single choice, multi choice (a checklist) or a table of rows that share one
    stem, weight, dimension and answer scale."""

    id: Identifier
    dimension: Identifier
    weight: float = Field(default=1.0, gt=0)
    type: Literal["single", "multi", "table"] = "single"
    allow_na: bool = False
    applies_to: Applicability = Applicability()
    text: Text
    help: Text | None = None
    options: list[Option] = Field(min_length=1)
    #: ``A-B``: the options were generated from it (kept so an export can write it back)
    scale: str | None = None
    scale_labels: dict[str, Text] | None = None
    #: multi choice: an answer must tick at least this many options (0: "nothing ticked" is valid)
    min_select: int = Field(default=0, ge=0)
    rows: list[Row] = []

    @model_validator(mode="before")
    @classmethod
    def _expand_scale(cls, data: Any) -> Any:
        return _scale_options(data)

    @field_validator("options")
    @classmethod
    def _unique_options(cls, options: list[Option]) -> list[Option]:
        seen: set[str] = set()
        for option in options:
            if option.id in seen:
                raise ValueError(f"duplicate option id {option.id!r}")
            if option.id == "na":
                raise ValueError("'na' is reserved for 'not applicable'; use allow_na instead")
            seen.add(option.id)
        return options

    @field_validator("rows")
    @classmethod
    def _unique_rows(cls, rows: list[Row]) -> list[Row]:
        ids = [row.id for row in rows]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate row id {duplicates[0]!r}")
        return rows

    @model_validator(mode="after")
    def _shape(self) -> Question:
        if self.type == "multi" and len(self.options) > MAX_MULTI_OPTIONS:
            raise ValueError(f"a multi-choice question may have at most {MAX_MULTI_OPTIONS} options")
        if self.type != "multi":
            if self.min_select:
                raise ValueError("min_select is for multi-choice questions")
            if any(o.exclusive for o in self.options):
                raise ValueError("exclusive is for the options of a multi-choice question")
        elif self.min_select > len(self.options):
            raise ValueError(f"min_select {self.min_select} is more than the {len(self.options)} options")
        if self.type == "multi" and self.scale is not None:
            raise ValueError("a scale is for single-choice questions and tables")
        if self.scale_labels is not None and self.scale is None:
            raise ValueError("scale_labels need a scale")
        if self.type == "table" and not self.rows:
            raise ValueError("a table needs rows")
        if self.type != "table" and self.rows:
            raise ValueError("rows are for type: table")
        return self

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def row(self, row_id: str) -> Row | None:
        return next((r for r in self.rows if r.id == row_id), None)

    def export(self, *, texts: bool = False) -> dict[str, Any]:
        """This question in the engine's normalised form; the format v2 fields appear only where
        they are used, so an instrument without them exports (and hashes) as before."""
        options = []
        for o in self.options:
            option: dict[str, Any] = {"id": o.id, "score": o.score}
            if o.exclusive:
                option["exclusive"] = True
            if texts:
                option["text"] = o.text.model_dump()
            options.append(option)
        out: dict[str, Any] = {"id": self.id, "dimension": self.dimension, "weight": self.weight, "type": self.type,
                               "allow_na": self.allow_na, "options": options}
        if self.min_select:
            out["min_select"] = self.min_select
        if self.rows:
            out["rows"] = [{"id": r.id, **({"text": r.text.model_dump()} if texts else {})} for r in self.rows]
        if texts:
            out["text"] = self.text.model_dump()
        return out


@dataclass(frozen=True)
class Column:
    """One answerable unit: an ordinary question, or one row of a table (``id`` ``<table>.<row>``).
    Answers are stored, encoded and scored per column; the engine's compiled model has one column
    for each, in this order."""

    id: str
    question: Question
    row: Row | None = None

    @property
    def text(self) -> Text:
        return self.row.text if self.row is not None else self.question.text

    def applies(self, section: str | None, size: str | None) -> bool:
        """Asked of this business: the question applies, and the row too."""
        return self.question.applies_to.applies(section, size) and (
            self.row is None or self.row.applies_to.applies(section, size))


class Level(Frozen):
    id: Identifier
    min_score: float = Field(ge=0, le=100)
    name: Text
    description: Text


class Dimension(Frozen):
    id: Identifier
    weight: float = Field(gt=0)
    name: Text
    description: Text
    #: level id -> advice "to reach the next level"; the top level needs none.
    recommendations: dict[str, Text] = {}


class Gate(Frozen):
    level: Identifier
    min_score: float = Field(ge=0, le=100)
    min_dimensions: int = Field(ge=0)


class ScoreRule(Frozen):
    rule: Literal["score"] = "score"


class GatedRule(Frozen):
    rule: Literal["gated"]
    gates: list[Gate] = Field(min_length=1)


class Instrument(Frozen):
    id: Identifier
    version: Annotated[str, Field(pattern=r"^\d+(\.\d+)*$")]
    title: Text
    description: Text
    source: Text | None = None
    threshold: Literal["at_least", "above"] = "at_least"
    levels: list[Level] = Field(min_length=1)
    overall_level: Annotated[ScoreRule | GatedRule, Field(discriminator="rule")] = ScoreRule()
    dimensions: list[Dimension] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)
    #: the languages of the texts: vi and en, and any further ones the texts carry
    languages: list[LanguageCode] | None = None

    @field_validator("languages")
    @classmethod
    def _vi_and_en(cls, languages: list[str] | None) -> list[str] | None:
        if languages is not None:
            if not set(LANGUAGES) <= set(languages):
                raise ValueError("languages must include vi and en")
            if len(set(languages)) != len(languages):
                raise ValueError("a language is listed twice")
        return languages

    # -- lookups -----------------------------------------------------------------------------
    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(self.languages) if self.languages is not None else LANGUAGES

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def questions_of(self, dimension_id: str) -> list[Question]:
        return [q for q in self.questions if q.dimension == dimension_id]

    def columns(self) -> list[Column]:
        """Every answerable column in the engine's order: a question, or each row of a table."""
        columns: list[Column] = []
        for q in self.questions:
            columns += [Column(f"{q.id}.{r.id}", q, r) for r in q.rows] if q.type == "table" else [Column(q.id, q)]
        return columns

    def column(self, column_id: str) -> Column | None:
        return next((c for c in self.columns() if c.id == column_id), None)

    def authoring_dump(self) -> dict[str, Any]:
        """The instrument as its YAML file would say it: defaults left out, and a question written
        with ``scale`` without the options it expands to (``scale`` with ``options`` is refused on
        reading), so a dump loads back as the same instrument."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        for question in data["questions"]:
            if "scale" in question:
                del question["options"]
        return data

    def export(self, *, texts: bool = False) -> dict[str, Any]:
        """The normalised instrument: the contract between questionnaires and scoring."""

        def with_texts(base: dict[str, Any], **fields: Text | None) -> dict[str, Any]:
            if texts:
                base.update({k: v.model_dump() for k, v in fields.items() if v is not None})
            return base

        overall = self.overall_level.model_dump()
        languages = {"languages": list(self.language_codes)} if texts and self.languages is not None else {}
        return with_texts(
            {
                **languages,
                "id": self.id,
                "version": self.version,
                "dimensions": [
                    with_texts({"id": d.id, "weight": d.weight}, name=d.name) for d in self.dimensions
                ],
                "questions": [q.export(texts=texts) for q in self.questions],
                "levels": [
                    with_texts({"id": lv.id, "min_score": lv.min_score}, name=lv.name) for lv in self.levels
                ],
                "threshold": self.threshold,
                "overall_level": overall,
            },
            title=self.title,
        )
