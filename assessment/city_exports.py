"""The department's tables for download: each dashboard table (``assessment.city_dashboard.TABLES``)
and the overview, as ``assessment.exports`` tables (CSV and XLSX written there), with the cells the
screen hides left empty and marked ``suppressed``, and metadata saying what the figures are.

Columns: the group's key (a code: ward code, VSIC section, size class, former district, area,
quarter) and, for wards and sections, its name; ``businesses`` (empty when suppressed),
``suppressed``, ``mean_overall``, one ``level_<id>`` count per level and one ``<dimension>_mean``
per dimension, ids made machine names (``kick-off`` → ``kick_off``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from assessment import exports
from assessment.city.aggregates import Cell, Filters, Share, Table
from assessment.city_dashboard import FILTER_KEYS, key_name
from assessment.models import CityTarget
from questionnaires.schema import Instrument

NAMED_KEYS = ("ward", "vsic_section")  # keys whose code is followed by a name column
SUPPRESSION_RULE = ("Cells based on fewer than {k} businesses are suppressed (businesses and figures left empty, "
                    "suppressed = true), with complementary cells so that no suppressed cell can be worked out "
                    "from the others, the totals or the other tables of the same filters; filters matching fewer "
                    "than {k} businesses, or leaving fewer than {k} out, are refused (docs/method.md section 11).")
UNIT = ("Participating businesses: each business's latest closed round of this questionnaire version in the "
        "period (closing time in Asia/Ho_Chi_Minh); counts are businesses.")


def machine_name(text: str) -> str:
    return re.sub(r"\W", "_", text, flags=re.ASCII).strip("_") or "x"


def _figure_columns(instrument: Instrument) -> list[exports.Column]:
    return [exports.Column("businesses", "number", "#,##0"), exports.Column("suppressed", "boolean"),
            exports.Column("mean_overall", "number", "0.0"),
            *(exports.Column(f"level_{machine_name(lv.id)}", "number", "#,##0") for lv in instrument.levels),
            *(exports.Column(f"{machine_name(d.id)}_mean", "number", "0.0") for d in instrument.dimensions)]


def _figures(cell: Cell, instrument: Instrument) -> list[exports.Value]:
    levels = cell.level_counts or {}
    dims = cell.dimension_means or {}
    return [cell.n, cell.suppressed, cell.mean_overall, *(levels.get(lv.id) for lv in instrument.levels),
            *(dims.get(d.id) for d in instrument.dimensions)]


def metadata(filters: Filters, k: int, now: datetime, *, table: str, refused: str | None) -> list[tuple[str, str]]:
    """What the figures are: the questionnaire version, the period, the filters, when, the rule."""
    instrument = filters.definition
    pairs = [("table", table), ("instrument", instrument.id), ("instrument_title", instrument.title.en),
             ("version", filters.version), ("period", filters.period),
             *((f"filter_{key}", getattr(filters, key) or "all") for key in FILTER_KEYS),
             ("generated_at", now.astimezone(exports.HANOI).replace(microsecond=0).isoformat()),
             ("unit", UNIT), ("min_cell", str(k)), ("suppression_rule", SUPPRESSION_RULE.format(k=k))]
    if refused is not None:
        pairs.append(("refused", refused % {"k": k}))
    return pairs


def grouped(table: Table, filters: Filters, *, name: str, now: datetime, lang: str = "vi") -> exports.Table:
    """One grouped table (rows in the table's key order, then the total as a row whose keys say ``total``)."""
    instrument = filters.definition
    key_columns: list[exports.Column] = []
    for key in table.group_by:
        key_columns.append(exports.Column(key))
        if key in NAMED_KEYS:
            key_columns.append(exports.Column(f"{key}_name"))

    def keys(values: dict[str, str]) -> list[exports.Value]:
        out: list[exports.Value] = []
        for key in table.group_by:
            out.append(values[key])
            if key in NAMED_KEYS:
                out.append(key_name(key, values[key], lang) if values[key] != "total" else "")
        return out

    rows: list[Sequence[exports.Value]] = [[*keys(r.keys), *_figures(r.cell, instrument)] for r in table.rows]
    rows.append([*keys(dict.fromkeys(table.group_by, "total")), *_figures(table.total, instrument)])
    return exports.Table([*key_columns, *_figure_columns(instrument)], rows,
                         metadata(filters, table.k, now, table=name, refused=table.refused))


def overview(table: Table, share: Share, level: str, target: CityTarget | None, filters: Filters, *,
             now: datetime) -> exports.Table:
    """The filters' businesses as a whole: the level distribution, the dimension means, the share at
    or above the level followed and the department's target for it."""
    instrument = filters.definition
    columns = [*_figure_columns(instrument), exports.Column("share_level"),
               exports.Column("share_at_or_above", "number", "0.0"), exports.Column("share_suppressed", "boolean"),
               exports.Column("target_share", "number", "0.0")]
    row = [*_figures(table.total, instrument), level, share.share, share.suppressed,
           target.target_share if target is not None and target.level == level else None]
    return exports.Table(columns, [row], metadata(filters, table.k, now, table="overview", refused=table.refused))
