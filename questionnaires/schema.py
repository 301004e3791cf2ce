"""The questionnaire format: YAML files validated into frozen pydantic models.

An instrument is *data*: the centre can add a new national version (Decision 2158's seven pillars,
the 2025 criteria, ...) by dropping a YAML file into ``questionnaires/data/<id>/<version>.yaml``.
Everything the scoring engine needs is reached through :meth:`Instrument.export`, a plain dict, so
``scoring/`` never imports this package.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LANGUAGES = ("vi", "en")
Identifier = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=64)]
MAX_MULTI_OPTIONS = 12  # a multi-choice question is scored through a 2**k lookup table


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(Frozen):
    """A text in every language the product speaks; a missing one is a lint error."""

    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Option(Frozen):
    id: Identifier
    score: float = Field(ge=-1, le=1)
    text: Text


class Applicability(Frozen):
    """Who a question is asked of; an empty list means everyone."""

    sections: list[Annotated[str, Field(pattern=r"^[A-Z]$")]] = []
    sizes: list[Literal["micro", "small", "medium"]] = []

    def applies(self, section: str | None, size: str | None) -> bool:
        if self.sections and section not in self.sections:
            return False
        return not (self.sizes and size not in self.sizes)


class Question(Frozen):
    id: Identifier
    dimension: Identifier
    weight: float = Field(default=1.0, gt=0)
    type: Literal["single", "multi"] = "single"
    allow_na: bool = False
    applies_to: Applicability = Applicability()
    text: Text
    help: Text | None = None
    options: list[Option] = Field(min_length=1)

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

    @model_validator(mode="after")
    def _multi_size(self) -> Question:
        if self.type == "multi" and len(self.options) > MAX_MULTI_OPTIONS:
            raise ValueError(f"a multi-choice question may have at most {MAX_MULTI_OPTIONS} options")
        return self

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)


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

    # -- lookups -----------------------------------------------------------------------------
    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def questions_of(self, dimension_id: str) -> list[Question]:
        return [q for q in self.questions if q.dimension == dimension_id]

    def export(self, *, texts: bool = False) -> dict[str, Any]:
        """The normalised instrument: the contract between questionnaires and scoring."""

        def with_texts(base: dict[str, Any], **fields: Text | None) -> dict[str, Any]:
            if texts:
                base.update({k: v.model_dump() for k, v in fields.items() if v is not None})
            return base

        overall = self.overall_level.model_dump()
        return with_texts(
            {
                "id": self.id,
                "version": self.version,
                "dimensions": [
                    with_texts({"id": d.id, "weight": d.weight}, name=d.name) for d in self.dimensions
                ],
                "questions": [
                    with_texts(
                        {
                            "id": q.id,
                            "dimension": q.dimension,
                            "weight": q.weight,
                            "type": q.type,
                            "allow_na": q.allow_na,
                            "options": [
                                with_texts({"id": o.id, "score": o.score}, text=o.text) for o in q.options
                            ],
                        },
                        text=q.text,
                    )
                    for q in self.questions
                ],
                "levels": [
                    with_texts({"id": lv.id, "min_score": lv.min_score}, name=lv.name) for lv in self.levels
                ],
                "threshold": self.threshold,
                "overall_level": overall,
            },
            title=self.title,
        )
