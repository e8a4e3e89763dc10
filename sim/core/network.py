"""Geography: which local areas neighbour which, and so which providers reach which councils.

The geography is either synthetic (seeded from the model's generator) or a user's own: a CSV
of councils and, optionally, a graph file (docs/scenarios.md, "Bring your own councils").
The loaders are pure functions; every bad file ends in a one-line :class:`InputError`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.core.neighbours import Neighbours
from sim.inputs import InputError, clip, csv_records, quote, read_text_file

if TYPE_CHECKING:  # loaded by the loaders that need them: a run on the synthetic map never does
    import networkx as nx
    import pandas as pd

__all__ = [
    "GRAPH_FORMATS",
    "geometric_edges",
    "load_councils",
    "load_graph",
    "neighbours",
    "own_geography",
    "read_councils",
    "synthetic_geography",
]

MAX_COUNCILS = 10000  # as network.councils
MAX_BUDGET = 1e5  # GBP m / year, as councils.budget_mean
GRAPH_FORMATS = {".graphml": "GraphML", ".csv": "edge list", ".txt": "edge list"}

#: The cells a cell's points are compared with: itself and the four cells after it (the other
#: four see it as one of theirs), so every pair of points in touching cells is seen once.
_FORWARD_CELLS = ((0, 0), (0, 1), (1, -1), (1, 0), (1, 1))


def geometric_edges(xy: np.ndarray, radius: float) -> np.ndarray:
    """Every pair of points at most ``radius`` apart, as networkx's ``random_geometric_graph``
    finds them: an (m, 2) int64 array of ``(i, j)`` with ``i < j``, sorted.

    Points are binned into square cells of side ``radius`` (a hair more, so that rounding in
    the division never puts two points that close more than one cell apart), and each point
    is compared with the points of its own cell and of its neighbouring cells only: the work
    and memory grow with the number of points and pairs, not with its square.

    Args:
        xy: (n, 2) coordinates in the unit square.
        radius: the largest distance between neighbours.
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    if n < 2 or radius <= 0:
        return np.empty((0, 2), dtype=np.int64)
    xy0 = xy - xy.min(axis=0)
    span = float(xy0.max())
    # Cells no smaller than the radius, and no more of them than about 4 per point (a tiny
    # radius would otherwise ask for a huge, empty grid).
    side = max(radius * (1.0 + 1e-9), span / (2 * math.isqrt(n) + 2))
    cells = int(span // side) + 1  # per axis
    cx = np.minimum((xy0[:, 0] // side).astype(np.int64), cells - 1)
    cy = np.minimum((xy0[:, 1] // side).astype(np.int64), cells - 1)
    # Points sorted by cell: the points of cell c are order[first[c]:first[c + 1]].
    cell = cx * cells + cy
    order = np.argsort(cell, kind="stable")
    count = np.bincount(cell, minlength=cells * cells)
    first = np.zeros(cells * cells + 1, dtype=np.int64)
    np.cumsum(count, out=first[1:])
    # Each point (in sorted order) against each of the five cells, all at once.
    dx, dy = np.array(_FORWARD_CELLS).T
    tx, ty = cx[order] + dx[:, None], cy[order] + dy[:, None]  # (5, n)
    target = np.clip(tx, 0, cells - 1) * cells + np.clip(ty, 0, cells - 1)
    start, stop = first[target], first[target + 1]
    start[0] = np.arange(1, n + 1)  # its own cell: only the points after it, so each pair once
    inside = (tx >= 0) & (tx < cells) & (ty >= 0) & (ty < cells)
    k = np.where(inside, np.maximum(stop - start, 0), 0).ravel()
    a = np.repeat(np.tile(np.arange(n), len(_FORWARD_CELLS)), k)
    # b runs over start..stop-1 for each a
    b = np.repeat(start.ravel() - np.cumsum(k) + k, k) + np.arange(int(k.sum()), dtype=np.int64)
    i, j = order[a], order[b]
    d = xy[i] - xy[j]
    close = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] <= radius * radius
    i, j = i[close], j[close]
    edges = np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1)
    return edges[np.lexsort((edges[:, 1], edges[:, 0]))]


def synthetic_geography(
    councils: int, mean_degree: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random geometric graph of local areas in the unit square.

    Areas near each other are neighbours, as on a map: those within radius
    sqrt(mean_degree / (pi (councils - 1))), the same edges as networkx's
    ``random_geometric_graph`` on the same positions. The positions double as the layout of
    the Mesa ``Network`` space, so no (slow, unseeded) spring layout is ever run.

    Args:
        councils: number of areas.
        mean_degree: expected number of neighbours of an area (away from the edges).
        rng: the model's generator; every draw comes from it (one: the positions).

    Returns:
        Each area's (x, y) position, (councils, 2), and the borders as (m, 2) pairs of area
        indices (see :func:`geometric_edges`).
    """
    xy = rng.random((councils, 2))
    radius = math.sqrt(mean_degree / (math.pi * max(councils - 1, 1)))
    return xy, geometric_edges(xy, radius)


def neighbours(councils: int, edges: np.ndarray) -> Neighbours:
    """Which of ``councils`` areas are the same or neighbours, sparse, from (m, 2) borders."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    return Neighbours.from_edges(councils, edges[:, 0], edges[:, 1])


# ----------------------------------------------------------------------------- a user's own


def _did_you_mean(word: str, known: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {quote(match[0])}?)" if match else ""


def _number(text: str, where: str, column: str, unit: str) -> float:
    """A CSV field as a number, or a one-line error naming the column and its unit."""
    try:
        return float(text)
    except ValueError:
        raise InputError(f"{where}: {column} {quote(text)} is not a number ({unit})") from None


def _positive(text: str, where: str, column: str, unit: str, high: float = math.inf) -> float:
    """A positive, finite number from a CSV field; an empty field is NaN."""
    if not text:
        return math.nan
    value = _number(text, where, column, unit)
    if not (math.isfinite(value) and 0 < value <= high):
        limit = "" if math.isinf(high) else f" and at most {high:g}"
        raise InputError(f"{where}: {column} must be above 0{limit} ({unit}), got {quote(text)}")
    return value


def load_councils(path: str | Path) -> pd.DataFrame:
    """Read a CSV of councils (:func:`read_councils`) as a table.

    Returns:
        One row per council in file order: ``name``, ``budget`` (GBP m / year),
        ``population`` and ``inhouse_share`` (NaN where not given).

    Raises:
        InputError: one line naming the file, the line and what is wrong.
    """
    import pandas as pd

    names, budgets, populations, shares = read_councils(path)
    return pd.DataFrame(
        {"name": names, "budget": budgets, "population": populations, "inhouse_share": shares}
    )


def read_councils(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Read a CSV of councils: a header line, then one council a line.

    Columns (in any order, names case-insensitive; other columns are ignored): ``name``
    (unique, non-empty), ``budget`` (GBP m per year, above 0) and, optionally,
    ``population`` (above 0; may be left empty) and ``inhouse_share`` (the share of the
    council's service delivered in-house at the start, 0 to 1; may be left empty, and then
    ``councils.initial_inhouse_share`` applies).

    Args:
        path: the CSV file.

    Returns:
        In file order: the councils' names, budgets (GBP m / year), populations and in-house
        shares (NaN where not given).

    Raises:
        InputError: one line naming the file, the line and what is wrong.
    """
    path = Path(path)
    records = csv_records(read_text_file(path, "councils CSV"), path)
    if not records:
        raise InputError(f"{path}: is empty; expected a header line 'name,budget,population'")
    (header_line, header), body = records[0], records[1:]
    header = [h.lower() for h in header]
    for column in ("name", "budget", "population"):
        if header.count(column) > 1:  # one of the two would be read, the other ignored
            raise InputError(f"{path}: line {header_line}: the '{column}' column appears twice")
    for column in ("name", "budget"):
        if column not in header:
            raise InputError(
                f"{path}: line {header_line}: no '{column}' column{_did_you_mean(column, header)}"
                f" (the header has {len(header)} column(s), "
                f"{', '.join(quote(h, 12) for h in header[:4])}{', ...' * (len(header) > 4)}; "
                "expected name,budget[,population])"
            )
    if not body:
        raise InputError(f"{path}: no councils: there is only the header line")
    if len(body) > MAX_COUNCILS:
        raise InputError(f"{path}: {len(body)} councils; at most {MAX_COUNCILS} are allowed")
    first_seen: dict[str, int] = {}
    budgets, populations, shares = [], [], []
    for line, fields in body:
        where = f"{path}: line {line}"
        if len(fields) > len(header):
            raise InputError(f"{where}: {len(fields)} fields, but the header has {len(header)}")
        row = dict(zip(header, fields, strict=False))
        name = row.get("name", "")
        if not name:
            raise InputError(f"{where}: the council name is empty")
        if name in first_seen:
            raise InputError(
                f"{where}: council {quote(name)} is named twice (first on line {first_seen[name]})"
            )
        first_seen[name] = line
        budget = _positive(row.get("budget", ""), where, "budget", "GBP m per year", MAX_BUDGET)
        if math.isnan(budget):
            raise InputError(f"{where}: budget is empty (GBP m per year)")
        budgets.append(budget)
        populations.append(_positive(row.get("population", ""), where, "population", "people"))
        shares.append(_share(row.get("inhouse_share", ""), where))
    if len(budgets) < 2:
        raise InputError(f"{path}: only one council; at least 2 are needed")
    return (
        list(first_seen),
        np.array(budgets, dtype=float),
        np.array(populations, dtype=float),
        np.array(shares, dtype=float),
    )


def _share(text: str, where: str) -> float:
    """A council's starting in-house share from a CSV field, 0 to 1; an empty field is NaN."""
    if not text:
        return math.nan
    value = _number(text, where, "inhouse_share", "0 to 1")
    if not 0 <= value <= 1:
        raise InputError(f"{where}: inhouse_share must be from 0 to 1, got {quote(text)}")
    return value


def _council(name: str, known: dict[str, None], where: str) -> str:
    """``name`` if it is a council of the councils file, else a one-line error."""
    if not name:
        raise InputError(f"{where}: a council name is empty")
    if name not in known:
        raise InputError(
            f"{where}: {quote(name)} is not a council of the councils file"
            f"{_did_you_mean(name, known)}"
        )
    return name


def _add_graphml(graph: nx.Graph, path: Path, text: str, known: dict[str, None]) -> None:
    """Add the edges of a GraphML document; nodes are councils by their ``name`` or id."""
    import networkx as nx

    try:
        graphs = list(nx.readwrite.graphml.GraphMLReader()(string=text))
        # networkx's own fallback for a <graphml> element without its namespace
        source = graphs[0] if graphs else nx.parse_graphml(text)
    except Exception as err:  # ElementTree and networkx raise many kinds
        reason = clip(str(err).splitlines()[0], 60) if str(err) else type(err).__name__
        raise InputError(f"{path}: not valid GraphML ({reason})") from None
    if len(graphs) > 1:  # networkx would keep the first and drop the others unsaid
        raise InputError(f"{path}: holds {len(graphs)} <graph> elements; a graph file holds one")
    council_of: dict[str, str] = {}  # node id -> council
    node_of: dict[str, str] = {}  # council -> node id
    for node, data in source.nodes(data=True):
        where = f"{path}: node {quote(node)}"
        name = _council(str(data.get("name", node)).strip(), known, where)
        if name in node_of:
            raise InputError(
                f"{where}: council {quote(name)} has two nodes ({quote(node_of[name])} too)"
            )
        council_of[node], node_of[name] = name, node
        for axis in ("x", "y"):
            if axis in data:
                graph.nodes[name][axis] = _coordinate(data[axis], where, axis)
    graph.add_edges_from((council_of[a], council_of[b]) for a, b in source.edges())


def _coordinate(value: object, where: str, axis: str) -> float:
    """A node's finite coordinate."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise InputError(f"{where}: {axis} {quote(value)} is not a finite number")
    return number


def _add_edge_list(graph: nx.Graph, path: Path, text: str, known: dict[str, None]) -> None:
    """Add the edges of a comma-separated edge list: two council names a line."""
    for k, (line, fields) in enumerate(csv_records(text, path)):
        if k == 0 and [f.lower() for f in fields] == ["source", "target"]:
            continue  # an optional header
        where = f"{path}: line {line}"
        if len(fields) != 2:
            raise InputError(
                f"{where}: expected two council names separated by a comma, got {len(fields)} field(s)"
            )
        graph.add_edge(*(_council(name, known, where) for name in fields))


def load_graph(path: str | Path, names: Sequence[str]) -> nx.Graph:
    """Read which councils neighbour which, from GraphML or an edge list.

    GraphML (``.graphml``): a node is the council its ``name`` attribute names, or else its
    id; numeric ``x`` and ``y`` attributes, if every node has them, place it on the map.
    Edge list (``.csv`` or ``.txt``): two council names a line, comma-separated, with an
    optional header ``source,target``. Either way edges are undirected, self-loops are
    dropped, and a council with no edge is fine.

    Args:
        path: the graph file.
        names: the councils' names, as :func:`load_councils` read them.

    Returns:
        An undirected graph whose nodes are ``names``, in that order.

    Raises:
        InputError: one line naming the file, the line or node, and what is wrong.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise InputError(
            f"{path}: unknown graph file type '{suffix or '(none)'}'; "
            "use .graphml (GraphML) or .csv/.txt (edge list)"
        )
    import networkx as nx

    text = read_text_file(path, f"{GRAPH_FORMATS[suffix]} file")
    known = dict.fromkeys(names)
    graph = nx.Graph()
    graph.add_nodes_from(known)
    if suffix == ".graphml":
        _add_graphml(graph, path, text, known)
    else:
        _add_edge_list(graph, path, text, known)
    graph.remove_edges_from(list(nx.selfloop_edges(graph)))
    return graph


def own_geography(graph: nx.Graph, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A user's graph as the model's geography: area ``i`` is the graph's ``i``-th node.

    Positions come from the nodes' ``x``/``y`` if every node has both (rescaled into the unit
    square), else they are drawn from ``rng``: never an unseeded or slow spring layout.

    Args:
        graph: as :func:`load_graph` returns it.
        rng: the model's generator.

    Returns:
        Each area's (x, y) position, (n, 2), and the borders as (m, 2) pairs of area indices
        in the graph's edge order.
    """
    index = {name: i for i, name in enumerate(graph.nodes)}
    edges = np.array([(index[a], index[b]) for a, b in graph.edges], dtype=np.int64)
    edges = edges.reshape(-1, 2)
    data = list(graph.nodes.values())
    if not all("x" in d and "y" in d for d in data):
        return rng.random((len(index), 2)), edges
    xy = np.array([(d["x"], d["y"]) for d in data], dtype=float)
    with np.errstate(over="ignore"):
        if not np.isfinite(np.ptp(xy, axis=0)).all():  # near +-1e308 the spread overflows
            xy = xy / np.abs(xy).max()
    xy = (xy - xy.min(axis=0)) / max(float(np.ptp(xy, axis=0).max()), 1e-12)
    return xy, edges
