"""A cohort's tables for download (CSV and XLSX through ``assessment.exports``): one row per member
business with its T0 and T1 rounds, and the before/after statistics."""

from __future__ import annotations

from datetime import datetime

from assessment import reference, taxcode
from assessment.before_after import BeforeAfter
from assessment.exports import Column, Table, Value
from assessment.models import AssessmentRound, Business, Cohort, RoundResult

SCORE = "0.0"


def _metadata(cohort: Cohort, result: BeforeAfter, now: datetime) -> list[tuple[str, str]]:
    pairing = result.pairing
    return [
        ("course", cohort.name), ("instrument", f"{cohort.instrument_id} {pairing.version}"),
        ("course_dates", f"{cohort.starts_on.isoformat()} – {cohort.ends_on.isoformat()}"),
        ("t0_window", f"{pairing.before.first.isoformat()} – {pairing.before.last.isoformat()} (Asia/Ho_Chi_Minh)"),
        ("t1_window", f"{pairing.after.first.isoformat()} – {pairing.after.last.isoformat()} (Asia/Ho_Chi_Minh)"),
        ("generated_at", now.isoformat(timespec="seconds")),
        ("method", "docs/method.md sections 8-10; a 12-digit (personal) tax code is masked"),
    ]


def members_table(cohort: Cohort, result: BeforeAfter, scores: dict[int, dict[str, float | None]],
                  now: datetime) -> Table:
    """``tax_code, business, ward, vsic_section, size_class, t0_submitted, t0_overall, t1_submitted,
    t1_overall``, then ``<dimension>_t0, <dimension>_t1`` per dimension; empty where missing.
    ``scores``: each listed round's combined scores by dimension (``round_scores``)."""
    dimensions = [d.id for d in result.instrument.dimensions]
    columns = [Column("tax_code"), Column("business"), Column("ward"), Column("vsic_section"),
               Column("size_class"), Column("t0_submitted", "datetime"), Column("t0_overall", "number", SCORE),
               Column("t1_submitted", "datetime"), Column("t1_overall", "number", SCORE)]
    for d in dimensions:
        columns += [Column(f"{d}_t0", "number", SCORE), Column(f"{d}_t1", "number", SCORE)]
    wards = reference.wards()
    members = [(p.business, p.t0, p.t1) for p in result.pairing.pairs] + [
        (e.business, e.t0, e.t1) for e in result.pairing.excluded]

    def row(business: Business, t0: AssessmentRound | None, t1: AssessmentRound | None) -> list[Value]:
        ward = wards.get(business.ward_code)
        values: list[Value] = [
            taxcode.masked(business.tax_code), business.name, ward.name_vi if ward else business.ward_code,
            business.vsic_section, business.size_class,
            t0.closed_at if t0 else None, t0.overall_score if t0 else None,
            t1.closed_at if t1 else None, t1.overall_score if t1 else None]
        for d in dimensions:
            values += [scores.get(t0.id, {}).get(d) if t0 else None,  # type: ignore[arg-type]
                       scores.get(t1.id, {}).get(d) if t1 else None]  # type: ignore[arg-type]
        return values

    rows = [row(b, t0, t1) for b, t0, t1 in sorted(members, key=lambda m: m[0].name)]
    return Table(columns, rows, _metadata(cohort, result, now))


def change_table(cohort: Cohort, result: BeforeAfter, now: datetime) -> Table:
    """``dimension, pairs, mean_change, ci_low, ci_high, p_value`` (the overall score last)."""
    columns = [Column("dimension"), Column("pairs", "number"), Column("mean_change", "number", "0.00"),
               Column("ci_low", "number", "0.00"), Column("ci_high", "number", "0.00"),
               Column("p_value", "number", "0.0000")]
    rows = [[row.dimension_id or "overall", row.change.n, row.change.mean, row.change.ci_low, row.change.ci_high,
             row.change.p_value] for row in result.rows]
    return Table(columns, rows, _metadata(cohort, result, now))


def round_ids(result: BeforeAfter) -> list[int]:
    found = [r for p in result.pairing.pairs for r in (p.t0, p.t1)]
    found += [r for e in result.pairing.excluded for r in (e.t0, e.t1) if r is not None]
    return [r.id for r in found if r.id is not None]


def round_scores(rows: list[RoundResult]) -> dict[int, dict[str, float | None]]:
    out: dict[int, dict[str, float | None]] = {}
    for r in rows:
        out.setdefault(r.round_id, {})[r.dimension_id] = r.score
    return out
