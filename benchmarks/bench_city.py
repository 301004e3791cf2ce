"""The department's figures over a synthetic city, against the bare GROUP BY of the same run.

    python benchmarks/bench_city.py [--businesses 500000] [--growth 50000] [--database sqlite|postgresql|both]
                                    [--database-url URL] [--repeat 5]

Builds a city with ``assessment.city.synthetic`` (``dxm demo city``: about two assessments per
business, so 500,000 businesses make 10^6 assessments) in a temporary database migrated with Alembic
(SQLite: a temporary file; PostgreSQL: a throwaway cluster from ``tests.harness.Cluster``, or
``--database-url`` of an empty database), and reports the build time. Then, for the five filter sets
below (no filter, one, two and three filters), each data fragment the dashboard reads
(``assessment.city_dashboard.TABLES`` and the share at or above the default level) is timed:

* cold: the first request of the filter set (the database cache emptied first): the GROUP BY, the
  suppression, and storing the result in ``city_cache``;
* warm: the same request again (a cache hit: one indexed read of ``city_cache``), the median of
  ``--repeat``;
* floor: the bare GROUP BY the fragment needs over ``city_unit`` (``aggregates._fetch``), median of
  ``--repeat``.

Each figure is the median over the five filter sets, in ms, beside the targets (cold ≤ 150 ms, warm
≤ 20 ms). ``--growth N`` builds a second city of N businesses first and prints both, to show how the
times grow from 10^5 to 10^6 assessments. Run the full size at most once: it takes minutes.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the app's packages, and tests.harness

from sqlalchemy import delete, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from assessment import migrate  # noqa: E402
from assessment.city import aggregates, synthetic  # noqa: E402
from assessment.city.aggregates import Filters  # noqa: E402
from assessment.db import make_engine  # noqa: E402
from assessment.models import CityCache  # noqa: E402
from questionnaires import loader  # noqa: E402
from tests.harness import Cluster  # noqa: E402

K = 5
INSTRUMENT = "quick-check"
TARGET_COLD_MS, TARGET_WARM_MS = 150.0, 20.0
FILTER_SETS: list[dict[str, str]] = [
    {}, {"vsic_section": "G"}, {"size_class": "micro"}, {"vsic_section": "G", "size_class": "micro"},
    {"vsic_section": "G", "size_class": "micro", "district": "Quận Đống Đa"},
]
FRAGMENTS: dict[str, tuple[str, ...]] = {
    "sections (+ heatmap)": ("vsic_section",), "sizes": ("size_class",), "wards": ("ward",),
    "districts": ("district",), "areas": ("area",), "trend": ("quarter",), "share at or above": (),
}


def _call(name: str, session: Session, filters: Filters) -> Any:
    if name == "trend":
        return aggregates.trend(session, filters, K)
    if name == "share at or above":
        return aggregates.share_at_or_above(session, filters, aggregates.default_level(filters.definition), K)
    return aggregates.aggregate(session, filters, FRAGMENTS[name], K)


def _floor(name: str, session: Session, filters: Filters) -> Any:
    group = FRAGMENTS[name]
    sql_keys = ("ward",) if set(group) & set(aggregates.GEOGRAPHY) else tuple(group)
    if name == "trend":
        return aggregates._fetch(session, filters, ("quarter",), by_quarter=True)
    return aggregates._fetch(session, filters, sql_keys, by_quarter=False)


def _ms(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def measure(engine: Any, period: str, repeat: int) -> dict[str, tuple[float, float, float]]:
    """Fragment → (cold, warm, floor) medians over the filter sets, in ms."""
    version = loader.latest(INSTRUMENT).version
    out: dict[str, list[tuple[float, float, float]]] = {name: [] for name in FRAGMENTS}
    with Session(engine) as session:
        for values in FILTER_SETS:
            filters = Filters(INSTRUMENT, version, period, **values)
            session.execute(delete(CityCache))
            session.commit()
            for name in FRAGMENTS:
                cold = _ms(lambda n=name, f=filters: _call(n, session, f))
                warm = statistics.median(_ms(lambda n=name, f=filters: _call(n, session, f)) for _ in range(repeat))
                floor = statistics.median(_ms(lambda n=name, f=filters: _floor(n, session, f)) for _ in range(repeat))
                out[name].append((cold, warm, floor))
    return {name: tuple(statistics.median(x[i] for x in rows) for i in range(3))  # type: ignore[misc]
            for name, rows in out.items()}


def run(url: str, businesses: int, repeat: int) -> tuple[float, dict[str, tuple[float, float, float]], str]:
    engine = make_engine(url)
    try:
        migrate.upgrade_engine(engine)
        started = time.perf_counter()
        built = synthetic.build(engine, businesses=businesses, seed=2026)
        seconds = time.perf_counter() - started
        with engine.connect() as connection:
            period = connection.execute(text(
                "SELECT max(period) FROM city_unit WHERE period >= 10000")).scalar()
        label = f"{built.businesses} businesses, {built.copies} assessments, {built.answers} answers"
        quarter = f"{int(period) // 10}-Q{int(period) % 10}"
        return seconds, measure(engine, quarter, repeat), label
    finally:
        engine.dispose()


def report(database: str, label: str, seconds: float, times: dict[str, tuple[float, float, float]]) -> None:
    print(f"\n{database}: {label}; built in {seconds:.0f} s")
    print(f"  {'fragment':<22} {'cold ms':>9} {'warm ms':>9} {'floor ms':>9}")
    for name, (cold, warm, floor) in times.items():
        flags = ("" if cold <= TARGET_COLD_MS else " cold>150") + ("" if warm <= TARGET_WARM_MS else " warm>20")
        print(f"  {name:<22} {cold:9.1f} {warm:9.1f} {floor:9.1f}{flags}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--businesses", type=int, default=500_000)
    parser.add_argument("--growth", type=int, default=50_000, help="a smaller city first (0: none)")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--database-url", default="", help="an empty PostgreSQL database instead of a cluster")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    sizes = [n for n in (args.growth, args.businesses) if n]
    if args.database in ("sqlite", "both"):
        for n in sizes:
            with tempfile.TemporaryDirectory() as directory:
                seconds, times, label = run(f"sqlite:///{directory}/city.db", n, args.repeat)
                report("SQLite", label, seconds, times)
    if args.database in ("postgresql", "both"):
        for n in sizes:
            if args.database_url:
                engine = make_engine(args.database_url)
                with engine.begin() as connection:
                    connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
                engine.dispose()
                seconds, times, label = run(args.database_url, n, args.repeat)
            else:
                with Cluster() as url:
                    seconds, times, label = run(url, n, args.repeat)
            report("PostgreSQL", label, seconds, times)


if __name__ == "__main__":
    main()
