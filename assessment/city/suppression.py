"""Small-cell protection of published counts (docs/method.md section 11): which cells of a table to hide.

Pure functions on NumPy arrays of counts (businesses); nothing here reads the database. A cell with
fewer than ``k`` businesses is hidden (*primary* suppression, an empty cell included); then further
cells are hidden (*complementary* suppression) until no hidden cell with businesses in it can be
worked out from what is published beside it: the table's margins (the one-way tables of the same
filters), the other two-way tables sharing those margins, and the grand total.

The test of "cannot be worked out" is constructive. Every hidden cell holding businesses must be
able to move by one business, up or down, while every published figure stays the same and no cell
goes below zero:

* in a **one-way table** (a line of cells summing to a published total) that needs a second hidden
  cell with businesses: one moves up, the other down;
* in a **two-way table** with its margins, the hidden cells with businesses, read as the edges of a
  graph between rows and columns, must lie on a cycle (moving +1, −1, +1 … around it leaves every
  row and column sum unchanged) or on a path between two rows (or two columns) whose margins are
  hidden (their totals then move by +1 and −1, as the one-way table allows). So that the same move
  exists in every two-way table sharing a margin, all rows with a hidden margin are joined by hidden
  cells in each table, and likewise the columns;
* in a **hierarchy** (wards inside districts) each published parent holds 0 or ≥ 2 hidden children
  with businesses, and a hidden parent holds at least one, so a district total never gives a ward
  away and a hidden district always has a hidden ward to move with it.

Cells with no business are hidden (0 < k) but are never counted on for protection: an empty cell
may be inferred to be empty, which reveals no business. Complements are chosen cheapest first (the
fewest businesses hidden).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]

TINY = 1e-9  # the cost of crossing a hidden cell: nothing, but scipy reads a zero as no edge


class CannotProtect(ValueError):
    """No choice of complementary cells protects the table (the caller refuses to publish it)."""


def one_way(counts: Sequence[int] | np.ndarray, k: int, *, total_known: bool = True,
            hidden: np.ndarray | None = None) -> np.ndarray:
    """Hidden cells of one line of counts that sums to a total (published when ``total_known``).

    Returns a bool array of the counts' shape: True where hidden. Cells below ``k`` are hidden; when
    exactly one hidden cell holds businesses and the total is published, the smallest published cell
    holding businesses is hidden beside it. ``hidden`` (optional) marks cells hidden already."""
    n = np.asarray(counts, dtype=np.int64)
    out = (n < k) if hidden is None else (np.asarray(hidden, dtype=bool) | (n < k))
    if total_known and int(np.sum(out & (n > 0))) == 1:
        candidates = np.flatnonzero(~out & (n > 0))
        if candidates.size == 0:
            raise CannotProtect("a single cell holds every business of the line")
        out[candidates[np.argmin(n[candidates])]] = True
    return out


def nested(child_counts: Sequence[int] | np.ndarray, parent_of: Sequence[int] | np.ndarray, n_parents: int,
           k: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden children and hidden parents of a two-level hierarchy (wards → districts) whose both
    levels are published as one-way tables, each summing to the same published total.

    ``parent_of[c]`` is child c's parent (0 … n_parents - 1). Returns (child_hidden, parent_hidden)."""
    children = np.asarray(child_counts, dtype=np.int64)
    parents = np.asarray(parent_of, dtype=np.int64)
    parent_counts = np.bincount(parents, weights=children, minlength=n_parents).astype(np.int64)
    parent_hidden = one_way(parent_counts, k)
    child_hidden, _ = _within(children, parents, parent_hidden, k)
    # the children's own line (summing to the total): guaranteed by the per-parent rules, checked
    return one_way(children, k, hidden=child_hidden), parent_hidden


def cross_nested(child_counts: Sequence[int] | np.ndarray, parent_a: Sequence[int] | np.ndarray, n_a: int,
                 parent_b: Sequence[int] | np.ndarray, n_b: int, k: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hidden children, hidden parents of kind a and of kind b, when children (wards) are published
    with two groupings of them (district, and ward vs commune), all three one-way tables summing to
    the same published total.

    The children fall into the cells of an (n_a, n_b) table of the two parents, which is not
    published but whose margins are: its hidden cells are chosen as for a two-way table (so each
    parent's move exists), then within each such cell the children follow ``nested``'s rules (a
    hidden cell holds a hidden child with businesses; a pinned one 0 or ≥ 2 of them)."""
    children = np.asarray(child_counts, dtype=np.int64)
    a, b = np.asarray(parent_a, dtype=np.int64), np.asarray(parent_b, dtype=np.int64)
    joint = np.zeros((n_a, n_b), dtype=np.int64)
    np.add.at(joint, (a, b), children)
    a_hidden, b_hidden = one_way(joint.sum(axis=1), k), one_way(joint.sum(axis=0), k)
    holds = np.zeros((n_a, n_b), dtype=bool)
    holds[a, b] = True
    joint_hidden = two_way(joint, a_hidden, b_hidden, k, structural=~holds)
    cell_of = a * n_b + b
    child_hidden, _ = _within(children, cell_of, joint_hidden.ravel(), k)
    return one_way(children, k, hidden=child_hidden), a_hidden, b_hidden


def _within(children: np.ndarray, parents: np.ndarray, parent_hidden: np.ndarray, k: int
            ) -> tuple[np.ndarray, np.ndarray]:
    """``nested``'s rule for the children of each parent, given which parents are hidden."""
    child_hidden = children < k
    for p in np.unique(parents):
        members = np.flatnonzero(parents == p)
        positive_hidden = members[child_hidden[members] & (children[members] > 0)]
        published = members[~child_hidden[members] & (children[members] > 0)]
        want = 1 if parent_hidden[p] else 2
        if 0 < positive_hidden.size < want or (parent_hidden[p] and positive_hidden.size == 0
                                                and published.size > 0):
            if published.size == 0:
                raise CannotProtect("a parent's only businesses sit in one child")
            child_hidden[published[np.argmin(children[published])]] = True
    return child_hidden, parent_hidden


def two_way(cells: np.ndarray, row_hidden: Sequence[bool] | np.ndarray, col_hidden: Sequence[bool] | np.ndarray,
            k: int, *, hidden: np.ndarray | None = None, structural: np.ndarray | None = None) -> np.ndarray:
    """Hidden interior cells of an (R, C) table of counts whose margins are published as one-way
    tables, hidden where ``row_hidden`` / ``col_hidden`` say (those tables decide; this never hides a
    margin). ``hidden`` (optional) marks interior cells to hide whatever their counts; ``structural``
    those that cannot hold a business at all (no ward of that district is a commune), which an
    empty hidden cell's move may not use.

    Raises ``CannotProtect`` when no set of complementary cells works."""
    counts = np.asarray(cells, dtype=np.int64)
    rows, cols = counts.shape
    out = counts < k if hidden is None else (np.asarray(hidden, dtype=bool) | (counts < k))
    row_sum, col_sum = counts.sum(axis=1), counts.sum(axis=0)
    row_group = np.flatnonzero(np.asarray(row_hidden, dtype=bool) & (row_sum > 0))
    col_group = np.flatnonzero(np.asarray(col_hidden, dtype=bool) & (col_sum > 0))
    searchable = out if structural is None else out & ~np.asarray(structural, dtype=bool)
    settled: set[tuple[int, int, int | None]] = set()  # checks passed; they stay passed as more is hidden
    for _ in range(rows * cols + 2):  # every round hides at least one more cell
        repair = _first_repair(counts, out, searchable, row_group, col_group, settled)
        if repair is None:
            return out
        for r, c in repair:
            out[r, c] = searchable[r, c] = True
    raise CannotProtect("complementary suppression did not settle")  # pragma: no cover - bounded above


# -- the graph of hidden cells: nodes 0..R-1 are rows, R..R+C-1 columns, then two hubs ---------------
def _edges(hidden_positive: np.ndarray) -> list[tuple[int, int]]:
    rows = hidden_positive.shape[0]
    r, c = np.nonzero(hidden_positive)
    return [(int(a), rows + int(b)) for a, b in zip(r, c, strict=True)]


def _components(n_nodes: int, edges: list[tuple[int, int]]) -> np.ndarray:
    parent = list(range(n_nodes))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        parent[find(a)] = find(b)
    return np.array([find(x) for x in range(n_nodes)])


def _bridges(n_nodes: int, edges: list[tuple[int, int]]) -> list[int]:
    """Indexes of the edges on no cycle (Tarjan's bridges, iterative; parallel edges allowed)."""
    adjacency: list[list[tuple[int, int]]] = [[] for _ in range(n_nodes)]
    for e, (a, b) in enumerate(edges):
        adjacency[a].append((b, e))
        adjacency[b].append((a, e))
    order, low = [-1] * n_nodes, [0] * n_nodes
    found: list[int] = []
    counter = 0
    for root in range(n_nodes):
        if order[root] != -1 or not adjacency[root]:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack: list[tuple[int, int, int]] = [(root, -1, 0)]  # node, edge it was reached by, next neighbour
        while stack:
            node, via, i = stack[-1]
            if i < len(adjacency[node]):
                stack[-1] = (node, via, i + 1)
                nxt, e = adjacency[node][i]
                if e == via:
                    continue
                if order[nxt] == -1:
                    order[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append((nxt, e, 0))
                else:
                    low[node] = min(low[node], order[nxt])
            else:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[node])
                    if low[node] > order[parent]:
                        found.append(via)
    return found


def _first_repair(counts: np.ndarray, hidden: np.ndarray, searchable: np.ndarray, row_group: np.ndarray,
                  col_group: np.ndarray,
                  settled: set[tuple[int, int, int | None]]) -> list[tuple[int, int]] | None:
    """The published cells to hide next, or None when the table is protected.

    Cells with businesses that are hidden form the graph; a cell passes at once when it is on a cycle
    of them (or a path between two hidden margins). Otherwise it may still move through hidden empty
    cells, each of which can only grow: the search in ``_cheapest_path`` allows that. When no move
    exists yet, the cheapest published cells that make one are returned."""
    rows, cols = counts.shape
    hidden_positive = hidden & (counts > 0)
    interior = _edges(hidden_positive)
    # 1. every margin group joined inside the table (the same move must exist in every table)
    comp = _components(rows + cols, interior)
    for group in (row_group, col_group + rows):
        for node in group[1:]:
            check: tuple[int, int, int | None] = (int(group[0]), int(node), None)
            if comp[node] == comp[group[0]] or check in settled:
                continue
            path = _cheapest_path(counts, searchable, int(group[0]), int(node), None, row_group, col_group, False)
            if path is None:
                raise CannotProtect("no complementary cells join the hidden margins")
            if path:
                return path
            settled.add(check)
    # 2. every hidden interior cell on a cycle, the hubs joining the hidden margins
    hub_r, hub_c = rows + cols, rows + cols + 1
    extended = interior + [(hub_r, int(r)) for r in row_group] + [(hub_c, int(c) + rows) for c in col_group]
    for e in _bridges(rows + cols + 2, extended):
        if e >= len(interior):
            continue
        a, b = interior[e]
        check = (a, b, -1)
        if check in settled:
            continue
        path = _cheapest_path(counts, searchable, a, b, (a, b - rows), row_group, col_group, True)
        if path is None:
            raise CannotProtect("no complementary cells protect this table")
        if path:
            return path
        settled.add(check)
    return None


def _cheapest_path(counts: np.ndarray, hidden: np.ndarray, start: int, goal: int, banned: tuple[int, int] | None,
                   row_group: np.ndarray, col_group: np.ndarray, use_hubs: bool) -> list[tuple[int, int]] | None:
    """The published cells (row, column) to hide so that a move from ``start`` to ``goal`` exists
    without the cell ``banned``: Dijkstra (SciPy's, over a graph built with NumPy), a hidden cell
    costing nothing, a published one its count.

    The move adds 1 to the cells it crosses from a row to a column and takes 1 from those it crosses
    from a column to a row (or the reverse, the same move backwards). A hidden empty cell can only
    gain, so all the empty cells of one path must be crossed the same way: the search runs over
    (node, way) states, the way being none yet, row to column, or column to row. None when no path
    exists."""
    rows, cols = counts.shape
    nodes = rows + cols + 2
    hub_r, hub_c = rows + cols, rows + cols + 1
    usable = np.ones_like(counts, dtype=bool)
    if banned is not None:
        usable[banned] = False
    r, c = np.nonzero(usable & (counts > 0))
    cost = np.where(hidden[r, c], TINY, counts[r, c].astype(float))
    src: list[np.ndarray] = []
    dst: list[np.ndarray] = []
    weight: list[np.ndarray] = []

    def edges(a: np.ndarray, b: np.ndarray, w: np.ndarray, ways_from: Sequence[int], way_to: int | None) -> None:
        for way in ways_from:
            target = way if way_to is None else way_to
            src.append(way * nodes + a)
            dst.append(target * nodes + b)
            weight.append(w)

    col_node = rows + c
    edges(r, col_node, cost, (0, 1, 2), None)  # cells with businesses: either way, any state
    edges(col_node, r, cost, (0, 1, 2), None)
    zr, zc = np.nonzero(usable & (counts == 0) & hidden)
    tiny = np.full(zr.size, TINY)
    edges(zr, rows + zc, tiny, (0, 1), 1)  # empty hidden cells: row to column ...
    edges(rows + zc, zr, tiny, (0, 2), 2)  # ... or column to row, never both in one path
    if use_hubs:
        for hub, group in ((hub_r, row_group), (hub_c, col_group + rows)):
            hubs = np.full(group.size, hub)
            small = np.full(group.size, TINY)
            edges(hubs, group, small, (0, 1, 2), None)
            edges(group, hubs, small, (0, 1, 2), None)
    if not src:
        return None
    graph = csr_matrix((np.concatenate(weight), (np.concatenate(src), np.concatenate(dst))),
                       shape=(3 * nodes, 3 * nodes))
    distance, previous = dijkstra(graph, directed=True, indices=start, return_predecessors=True)
    ends = [way * nodes + goal for way in range(3)]
    end = min(ends, key=lambda e: distance[e])
    if not np.isfinite(distance[end]):
        return None
    path: list[tuple[int, int]] = []
    state = end
    while state != start:
        before = int(previous[state])
        a, b = before % nodes, state % nodes
        if a < rows <= b < rows + cols:
            cell = (a, b - rows)
        elif b < rows <= a < rows + cols:
            cell = (b, a - rows)
        else:
            cell = None
        if cell is not None and not hidden[cell]:
            path.append(cell)
        state = before
    return path
