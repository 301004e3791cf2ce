"""The test suite's own layout: its folders are not packages, so pytest imports each test module,
and each conftest below the top one, by its file name alone, and two files of one name in different
folders stop the whole run at collection (what a run of single files never shows)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

ROOT = Path(__file__).parent


def _outside_packages(pattern: str) -> list[Path]:
    return [p for p in [*ROOT.rglob(pattern), *(ROOT.parent / "scoring").rglob(pattern)]
            if not (p.parent / "__init__.py").exists() and "__pycache__" not in p.parts]


def test_no_two_test_modules_share_a_name():
    names = Counter(p.name for p in _outside_packages("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []


def test_at_most_one_conftest_below_the_top_one():
    assert len([p for p in _outside_packages("conftest.py") if p != ROOT / "conftest.py"]) <= 1
