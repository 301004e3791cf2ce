"""Rules that span several parts of an instrument (references, ordering, uniqueness).

They run on the raw mapping, tolerant of missing keys, so that ``dxm questionnaire lint`` can report
them *together with* structural errors instead of stopping at the first kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from questionnaires.schema import Instrument, Text

Problem = tuple[str, str]  # (path, plain message)


def _items(data: Any, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _duplicates(kind: str, key: str, items: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    counts = Counter(item.get("id") for _, item in items)
    return [
        (f"{key}[{i}].id", f"duplicate {kind} id {item.get('id')!r}")
        for i, item in items
        if item.get("id") is not None and counts[item.get("id")] > 1
    ]


def reference_problems(data: Any) -> list[Problem]:
    """Every cross-reference problem of a raw instrument mapping, with its path."""
    levels = _items(data, "levels")
    dimensions = _items(data, "dimensions")
    questions = _items(data, "questions")
    problems = (
        _duplicates("level", "levels", levels)
        + _duplicates("dimension", "dimensions", dimensions)
        + _duplicates("question", "questions", questions)
    )

    mins = [lv.get("min_score") for _, lv in levels]
    for (i, _), previous, current in zip(levels[1:], mins, mins[1:], strict=False):
        if isinstance(previous, int | float) and isinstance(current, int | float) and current <= previous:
            problems.append(
                (f"levels[{i}].min_score", f"thresholds not ascending: {current} after {previous}")
            )

    level_ids = [lv.get("id") for _, lv in levels]
    dimension_ids = {d.get("id") for _, d in dimensions}
    used = {q.get("dimension") for _, q in questions}
    for i, question in questions:
        if question.get("dimension") not in dimension_ids:
            problems.append((f"questions[{i}].dimension", f"unknown dimension {question.get('dimension')!r}"))
    problems += _column_clashes(questions)
    for i, dimension in dimensions:
        if dimension.get("id") not in used:
            problems.append((f"dimensions[{i}]", f"dimension {dimension.get('id')!r} has no questions"))
        recommendations = dimension.get("recommendations") or {}
        if isinstance(recommendations, dict):
            for level_id in recommendations:
                if level_id not in level_ids:
                    problems.append(
                        (f"dimensions[{i}].recommendations.{level_id}", f"unknown level {level_id!r}")
                    )

    overall = data.get("overall_level") if isinstance(data, dict) else None
    if isinstance(overall, dict) and overall.get("rule") == "gated":
        gate_levels = []
        for i, gate in _items(overall, "gates"):
            if gate.get("level") not in level_ids:
                problems.append((f"overall_level.gates[{i}].level", f"unknown level {gate.get('level')!r}"))
            else:
                gate_levels.append(level_ids.index(gate.get("level")))
            needed = gate.get("min_dimensions")
            if isinstance(needed, int) and needed > len(dimensions):
                problems.append(
                    (
                        f"overall_level.gates[{i}].min_dimensions",
                        f"needs {needed} dimensions but the instrument has {len(dimensions)}",
                    )
                )
        if gate_levels != sorted(set(gate_levels)):
            problems.append(("overall_level.gates", "gates must follow the order of the levels, once each"))
    return problems


def _column_clashes(questions: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """A table row is answered under ``<table>.<row>``: no question may have that id too."""
    question_ids = {q.get("id") for _, q in questions}
    problems = []
    for i, question in questions:
        for j, row in _items(question, "rows"):
            column = f"{question.get('id')}.{row.get('id')}"
            if column in question_ids:
                problems.append((f"questions[{i}].rows[{j}].id",
                                 f"row {column!r} has the id of a question; rename one of them"))
    return problems


def advice_problems(data: Any) -> list[Problem]:
    """Levels without advice "to reach the next level". An imported instrument may lack some (its
    results page then shows none for that step): a warning; the bundled instruments must have all
    of them (the loader reads those strictly)."""
    level_ids = [lv.get("id") for _, lv in _items(data, "levels")]
    problems = []
    for i, dimension in _items(data, "dimensions"):
        recommendations = dimension.get("recommendations") or {}
        if isinstance(recommendations, dict):
            problems += [(f"dimensions[{i}].recommendations", f"no advice for reaching the level after {level_id!r}")
                         for level_id in level_ids[:-1] if level_id not in recommendations]
    return problems


def language_problems(instrument: Instrument) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of the texts' languages: a text in a language the instrument does not
    list is an error (a typo such as ``fn:`` would otherwise pass silently); a listed language
    missing from a text is a warning (that text is shown in Vietnamese)."""
    declared = instrument.language_codes
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for path, text in _texts(instrument, ""):
        for lang in text.languages:
            if lang not in declared:
                errors.append((f"{path}.{lang}", f"text in {lang!r}, which the instrument's languages do not list"))
        for lang in declared:
            if lang not in text.languages:
                warnings.append((path, f"no {lang!r} text; the Vietnamese one is shown"))
    return errors, warnings


def _texts(node: Any, path: str) -> Iterator[tuple[str, Text]]:
    if isinstance(node, Text):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _texts(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _texts(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, item in node.items():
            yield from _texts(item, f"{path}.{key}")
