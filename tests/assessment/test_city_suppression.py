"""Small-cell protection (assessment/city/suppression.py) on hand-computed tables, and an independent
check by linear programming that no hidden cell with businesses in it can be worked out from what is
published: its smallest and largest values consistent with every published figure differ."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog  # type: ignore[import-untyped]

from assessment.city import suppression

K = 5


# -- hand-computed ------------------------------------------------------------------------------
def test_four_hidden_five_shown():
    assert suppression.one_way([4, 3, 5, 10], K).tolist() == [True, True, False, False]


def test_a_lone_hidden_cell_gets_the_smallest_published_one_beside_it():
    # 4 alone would be the total (19) minus the rest (15): 5, the smallest other cell, is hidden with it
    assert suppression.one_way([4, 5, 10], K).tolist() == [True, True, False]


def test_empty_cells_are_hidden_but_protect_nothing():
    # 0 < k is hidden; but "0 or 4" would still be pinned by the total, so a complement is needed
    assert suppression.one_way([0, 4, 6, 9], K).tolist() == [True, True, True, False]


def test_no_hidden_cell_no_complement():
    assert suppression.one_way([5, 6, 7], K).tolist() == [False, False, False]


def test_two_way_hides_a_cycle_at_the_least_cost():
    """G: micro 6, small 2, medium 7; C: micro 8, small 6, medium 1 (margins all published). The 2
    and the 1 are primary; the cheapest cells closing a cycle through both are G-medium (7) and
    C-small (6), 13 businesses, rather than through the micro column (6 + 8)."""
    cells = np.array([[6, 2, 7], [8, 6, 1]])
    hidden = suppression.two_way(cells, [False, False], [False, False, False], K)
    assert hidden.tolist() == [[False, True, True], [False, True, True]]


def test_two_way_joins_the_hidden_margins():
    """Sizes micro 10 (7 developing, 3 established) and small 10 (all developing): the total's levels
    (17, 3) are both hidden (the 3, and the 17 beside it). Inside, the 3 is hidden; joining the two
    hidden level columns takes micro's 7 too; small's 10 stays published, its empty cell hidden."""
    levels = np.array([[7, 3], [10, 0]])
    total = suppression.one_way(levels.sum(axis=0), K)
    assert total.tolist() == [True, True]
    hidden = suppression.two_way(levels, [False, False], total, K)
    assert hidden.tolist() == [[True, True], [False, True]]


def test_hierarchy_a_district_never_gives_its_one_hidden_ward_away():
    # wards 3 and 6 in district 0 (9, published), 12 in district 1: the 6 is hidden beside the 3
    wards, districts = suppression.nested([3, 6, 12], [0, 0, 1], 2, K)
    assert wards.tolist() == [True, True, False] and districts.tolist() == [False, False]


def test_hierarchy_a_hidden_district_hides_a_ward_with_it():
    # district 0 (3 + 1 = 4) is hidden, district 2 (7) beside it, and so is its ward 7
    wards, districts = suppression.nested([3, 1, 12, 7], [0, 0, 1, 2], 3, K)
    assert districts.tolist() == [True, False, True]
    assert wards.tolist() == [True, True, False, True]


# -- the independent check ----------------------------------------------------------------------
class System:
    """Unknowns (hidden cells) and linear equalities among published figures, x ≥ 0."""

    def __init__(self) -> None:
        self.names: dict[object, int] = {}
        self.values: list[int] = []
        self.equations: list[tuple[dict[int, float], float]] = []

    def term(self, name: object, value: int, hidden: bool) -> tuple[int | None, int]:
        if not hidden:
            return None, value
        if name not in self.names:
            self.names[name] = len(self.values)
            self.values.append(value)
        return self.names[name], value

    def equal(self, left: list[tuple[object, int, bool]], right: list[tuple[object, int, bool]]) -> None:
        coefficients: dict[int, float] = {}
        constant = 0.0
        for sign, side in ((1, left), (-1, right)):
            for name, value, hidden in side:
                index, v = self.term(name, value, hidden)
                if index is None:
                    constant -= sign * v
                else:
                    coefficients[index] = coefficients.get(index, 0) + sign
        self.equations.append((coefficients, constant))

    def pinned(self) -> list[object]:
        """Hidden cells with businesses whose value the published figures fix."""
        n = len(self.values)
        if n == 0:
            return []
        a = np.zeros((len(self.equations), n))
        b = np.zeros(len(self.equations))
        for row, (coefficients, constant) in enumerate(self.equations):
            for index, c in coefficients.items():
                a[row, index] = c
            b[row] = constant
        out = []
        for name, index in self.names.items():
            if self.values[index] == 0:
                continue
            objective = np.zeros(n)
            objective[index] = 1
            low = linprog(objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
            high = linprog(-objective, A_eq=a, b_eq=b, bounds=(0, None), method="highs")
            assert low.status == 0 and high.status == 0
            if -high.fun - low.fun < 1 - 1e-6:
                out.append(name)
        return out


def _add_table(system: System, tag: str, cells: np.ndarray, hidden: np.ndarray, rows_hidden: np.ndarray,
               cols_hidden: np.ndarray, total: int) -> None:
    r, c = cells.shape
    for i in range(r):
        system.equal([((tag, i, j), int(cells[i, j]), bool(hidden[i, j])) for j in range(c)],
                     [(("row", i), int(cells[i].sum()), bool(rows_hidden[i]))])
    for j in range(c):
        system.equal([((tag, i, j), int(cells[i, j]), bool(hidden[i, j])) for i in range(r)],
                     [((tag, "col", j), int(cells[:, j].sum()), bool(cols_hidden[j]))])
    system.equal([(("row", i), int(cells[i].sum()), bool(rows_hidden[i])) for i in range(r)], [("T", total, False)])
    system.equal([((tag, "col", j), int(cells[:, j].sum()), bool(cols_hidden[j])) for j in range(c)],
                 [("T", total, False)])


tables = st.integers(2, 4).flatmap(lambda r: st.tuples(
    st.lists(st.lists(st.integers(0, 12), min_size=3, max_size=3), min_size=r, max_size=r),
    st.lists(st.floats(0, 1), min_size=r, max_size=r)))


@settings(max_examples=60, deadline=None)
@given(tables)
def test_linked_two_way_tables_reveal_no_hidden_cell(pair):
    """Two two-way tables sharing their row margin (ward × section, ward × size), each protected
    against the shared one-way tables: together they pin no hidden cell with businesses."""
    a = np.array(pair[0])
    rows = a.sum(axis=1)  # the second table splits the same rows' businesses in two columns
    b = np.array([[r - round(r * f), round(r * f)] for r, f in zip(rows, pair[1], strict=True)])
    total = int(a.sum())
    if total < K:
        return
    row_hidden = suppression.one_way(rows, K)
    system = System()
    for tag, cells in (("a", a), ("b", b)):
        cols_hidden = suppression.one_way(cells.sum(axis=0), K)
        try:
            hidden = suppression.two_way(cells, row_hidden, cols_hidden, K)
        except suppression.CannotProtect:
            return
        assert np.all(hidden[cells < K])
        _add_table(system, tag, cells, hidden, row_hidden, cols_hidden, total)
    assert system.pinned() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=3, max_size=8), st.data())
def test_wards_districts_and_areas_reveal_no_hidden_ward(wards, data):
    districts = data.draw(st.lists(st.integers(0, 2), min_size=len(wards), max_size=len(wards)))
    areas = data.draw(st.lists(st.integers(0, 1), min_size=len(wards), max_size=len(wards)))
    total = sum(wards)
    if total < K:
        return
    try:
        ward_h, district_h, area_h = suppression.cross_nested(wards, districts, 3, areas, 2, K)
    except suppression.CannotProtect:
        return
    assert all(ward_h[i] for i, n in enumerate(wards) if n < K)
    system = System()
    for tag, parents, hidden, count in (("d", districts, district_h, 3), ("a", areas, area_h, 2)):
        for p in range(count):
            members = [i for i, q in enumerate(parents) if q == p]
            system.equal([(("w", i), wards[i], bool(ward_h[i])) for i in members],
                         [((tag, p), sum(wards[i] for i in members), bool(hidden[p]))])
        system.equal([((tag, p), sum(wards[i] for i, q in enumerate(parents) if q == p), bool(hidden[p]))
                      for p in range(count)], [("T", total, False)])
    system.equal([(("w", i), n, bool(ward_h[i])) for i, n in enumerate(wards)], [("T", total, False)])
    assert system.pinned() == []


def test_the_check_finds_what_primary_suppression_alone_reveals():
    cells = np.array([[6, 2, 7], [8, 6, 1]])
    system = System()
    _add_table(system, "a", cells, cells < K, np.zeros(2, dtype=bool), np.zeros(3, dtype=bool), int(cells.sum()))
    assert sorted(system.pinned()) == [("a", 0, 1), ("a", 1, 2)]


def test_an_unprotectable_line_is_refused():
    with pytest.raises(suppression.CannotProtect):
        suppression.one_way([3], K)
