"""Geography: which local areas neighbour which, and so which providers reach which councils."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np

__all__ = ["neighbour_matrix", "synthetic_geography"]


def synthetic_geography(
    councils: int, mean_degree: float, rng: np.random.Generator
) -> tuple[nx.Graph, dict[int, tuple[float, float]]]:
    """A seeded random geometric graph of local areas in the unit square.

    Areas near each other are neighbours, as on a map. The positions double as the layout
    of the Mesa ``Network`` space, so no (slow, unseeded) spring layout is ever run.

    Args:
        councils: number of areas.
        mean_degree: expected number of neighbours of an area (away from the edges).
        rng: the model's generator; every draw comes from it.

    Returns:
        The graph (nodes 0..councils-1) and each node's (x, y) position.
    """
    xy = rng.random((councils, 2))
    pos = {i: (float(x), float(y)) for i, (x, y) in enumerate(xy)}
    radius = math.sqrt(mean_degree / (math.pi * max(councils - 1, 1)))
    graph = nx.random_geometric_graph(councils, radius, pos=pos)
    for node in graph.nodes:
        del graph.nodes[node]["pos"]  # kept in ``pos``; GraphML cannot hold tuples
    return graph, pos


def neighbour_matrix(graph: nx.Graph, nodes: list) -> np.ndarray:
    """Boolean (n, n) matrix: True where two areas are the same or neighbours."""
    index = {node: i for i, node in enumerate(nodes)}
    near = np.eye(len(nodes), dtype=bool)
    for a, b in graph.edges:
        near[index[a], index[b]] = near[index[b], index[a]] = True
    return near
