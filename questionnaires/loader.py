"""Load, lint and find instruments.

Bundled instruments live in ``questionnaires/data/<id>/<version>.yaml``; every version ever
published stays there, so a submitted assessment can always be re-read with the version it used.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from questionnaires.checks import advice_problems, language_problems, reference_problems
from questionnaires.schema import LANGUAGES, Instrument

DATA_DIR = Path(__file__).parent / "data"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser is ~7x faster
_LOAD_LOCK = threading.Lock()


@dataclass(frozen=True)
class LintProblem:
    file: str
    path: str
    message: str
    line: int | None = None
    #: a warning does not stop an instrument from loading (an error does)
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        kind = "warning: " if self.severity == "warning" else ""
        return f"{where}: {kind}{self.path or '(top)'}: {self.message}"


@dataclass(frozen=True)
class LintReport:
    """What linting one file found: the instrument (None when there are errors), the errors and
    the warnings."""

    instrument: Instrument | None
    errors: list[LintProblem] = field(default_factory=list)
    warnings: list[LintProblem] = field(default_factory=list)


class InstrumentError(ValueError):
    """An instrument file that does not pass the lint; carries every problem found."""

    def __init__(self, problems: list[LintProblem]):
        self.problems = problems
        super().__init__("\n".join(map(str, problems)))


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _plain(error: ErrorDetails) -> str:
    loc, kind = error["loc"], error["type"]
    if kind == "missing":
        if loc and loc[-1] in LANGUAGES:
            return f"missing translation ({loc[-1]})"
        return "missing"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"value {error.get('input')!r} out of range ({error['msg'].lower()})"
    message = error["msg"]
    return message.removeprefix("Value error, ")


MAX_EXPANDED_VALUES = 200_000  # a real instrument holds a few thousand values, its aliases expanded


def _alias_problem(root: yaml.Node) -> str | None:
    """Why the document's aliases cannot be read, or None: an alias inside the value it names (a
    cycle), or aliases of aliases that expand past ``MAX_EXPANDED_VALUES`` values (each alias is
    validated again where it is used, so a few lines could otherwise cost hours)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise RecursionError
        open_nodes.add(key)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [value for _, value in node.value]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_VALUES:
                break
        open_nodes.discard(key)
        sizes[key] = total
        return total

    try:
        if size(root) > MAX_EXPANDED_VALUES:
            return f"its aliases expand to more than {MAX_EXPANDED_VALUES:,} values"
    except RecursionError:
        return "an alias is used inside the value it names"
    return None


def _line_index(root: yaml.Node) -> dict[str, int]:
    """Map every path in the YAML document to its 1-based line, for messages people can act on. A
    value an alias repeats is mapped where it is written (each node is walked once)."""
    lines: dict[str, int] = {}
    seen: set[int] = set()

    def walk(node: yaml.Node, path: str) -> None:
        lines[path] = node.start_mark.line + 1
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, f"{path}.{key.value}" if path else str(key.value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    walk(root, "")
    return lines


def _nearest_line(lines: dict[str, int], path: str) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return lines.get("")


def lint_report(text: str, file: str, *, strict: bool = False) -> LintReport:
    """Parse and validate one instrument: it (if it has no errors), its errors and its warnings.
    ``strict`` (the bundled instruments) counts every warning as an error."""
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
        aliases = None if root is None else _alias_problem(root)
        data = None if root is None or aliases else yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(exc, "problem", None) or str(exc)
        return LintReport(None, [LintProblem(file, "", f"not valid YAML: {reason}", line)])
    if aliases:
        return LintReport(None, [LintProblem(file, "", f"not a questionnaire's YAML: {aliases}", 1)])
    if not isinstance(data, dict):
        return LintReport(None, [LintProblem(file, "", "an instrument must be a YAML mapping", 1)])
    assert root is not None  # data is a mapping
    lines = _line_index(root)

    def problem(path: str, message: str, warning: bool = False) -> LintProblem:
        severity: Literal["error", "warning"] = "warning" if warning and not strict else "error"
        return LintProblem(file, path, message, _nearest_line(lines, path), severity)

    found: list[LintProblem] = []
    instrument = None
    try:
        instrument = Instrument.model_validate(data)
    except ValidationError as exc:
        found += [problem(_path(error["loc"]), _plain(error)) for error in exc.errors()]
    found += [problem(path, message) for path, message in reference_problems(data)]
    found += [problem(path, message, warning=True) for path, message in advice_problems(data)]
    if instrument is not None:
        language_errors, language_warnings = language_problems(instrument)
        found += [problem(path, message) for path, message in language_errors]
        found += [problem(path, message, warning=True) for path, message in language_warnings]
    errors = [p for p in found if p.severity == "error"]
    return LintReport(instrument if not errors else None, errors, [p for p in found if p.severity == "warning"])


def lint_text(text: str, file: str) -> tuple[Instrument | None, list[LintProblem]]:
    """Parse and validate one instrument; return it (if valid) and every error found (warnings:
    :func:`lint_report`)."""
    report = lint_report(text, file)
    return report.instrument, report.errors


def load_file(path: Path, *, strict: bool = False) -> Instrument:
    """Read and check one instrument file (``strict``: warnings count as errors);
    ``InstrumentError`` with every problem when it does not pass."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstrumentError([LintProblem(str(path), "", f"cannot read the file: {exc}")]) from exc
    report = lint_report(text, str(path), strict=strict)
    if report.errors or report.instrument is None:
        raise InstrumentError(report.errors)
    return report.instrument


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


def bundled() -> dict[str, dict[str, Instrument]]:
    """Every bundled instrument: ``{id: {version: Instrument}}``, loaded and checked once per
    process (a lock, so that threads starting together do not each parse every file)."""
    with _LOAD_LOCK:
        return _load_bundled()


@cache
def _load_bundled() -> dict[str, dict[str, Instrument]]:
    found: dict[str, dict[str, Instrument]] = {}
    for file in sorted(DATA_DIR.glob("*/*.yaml")):
        instrument = load_file(file, strict=True)  # shipped instruments: every warning is an error
        found.setdefault(instrument.id, {})[instrument.version] = instrument
    return found


def latest(instrument_id: str) -> Instrument:
    """The newest version of an instrument; ``KeyError`` when there is no such instrument."""
    versions = bundled()[instrument_id]
    return versions[max(versions, key=version_key)]


def get(instrument_id: str, version: str | None = None) -> Instrument:
    if version is None:
        return latest(instrument_id)
    return bundled()[instrument_id][version]


def catalogue() -> list[Instrument]:
    """The latest version of every instrument, in a stable order (shortest first)."""
    return sorted((latest(i) for i in bundled()), key=lambda ins: (len(ins.questions), ins.id))


def content_hash(instrument: Instrument) -> str:
    """SHA-256 of what decides an instrument's scores: its normalised export (the engine's input)
    and which questions are asked of whom. Frozen on every closed round; a test pins the hash of
    each published version, so a published version can never change under existing assessments."""
    return _content_hash(instrument.id, instrument.version) if _is_bundled(instrument) else _digest(instrument)


def _is_bundled(instrument: Instrument) -> bool:
    return bundled().get(instrument.id, {}).get(instrument.version) is instrument


@cache
def _content_hash(instrument_id: str, version: str) -> str:
    return _digest(get(instrument_id, version))


def _digest(instrument: Instrument) -> str:
    applies_to = {q.id: q.applies_to.model_dump() for q in instrument.questions}
    # a table's rows have their own rules (none of the instruments before tables has a row)
    applies_to.update({f"{q.id}.{r.id}": r.applies_to.model_dump() for q in instrument.questions for r in q.rows})
    definition = {"export": instrument.export(), "applies_to": applies_to}
    return hashlib.sha256(json.dumps(definition, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
