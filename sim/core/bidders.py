"""Who may bid for which contract, and what a tender round knows about the market.

A provider may bid for a contract if it trades (alive, not an in-house unit), passes the
council's financial check (:func:`passes_financial_check`) and reaches the contract's council:
national firms reach every council, a provider based in an area reaches that area and its
neighbours (:class:`sim.core.neighbours.Neighbours`, compressed rows). Bids are stored by cell: row
``i`` (a contract on offer) has cells ``ptr[i]:ptr[i + 1]``, one per provider that may bid, in
provider order; a round's work grows with its contracts and their bidders, not with the number
of providers in the market.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel
from sim.core.numeric import INHOUSE, used_capacity

__all__ = [
    "accounts_seen",
    "bids",
    "by_home",
    "financial_check",
    "national",
    "near_count",
    "near_fill",
    "passes_financial_check",
    "sort_range",
    "spare_capacity",
]


def passes_financial_check(
    health_log: list[np.ndarray], n_providers: int, lag: int, threshold: float
) -> np.ndarray:
    """Which providers pass a council's financial check: their headroom (in years of revenue)
    as reported ``lag`` quarters ago is at least ``threshold`` (:func:`financial_check` on the
    accounts of that quarter)."""
    return financial_check(accounts_seen(health_log, lag), n_providers, threshold)


def accounts_seen(health_log: list[np.ndarray], lag: int) -> np.ndarray:
    """The headroom a council reads: the accounts published ``lag`` quarters ago (the first
    ones if the run is younger)."""
    return np.asarray(health_log[max(len(health_log) - 1 - lag, 0)], dtype=float)


@kernel
def financial_check(seen, n_providers, threshold):
    """Which of ``n_providers`` pass: headroom ``seen`` at least ``threshold``. A provider newer
    than the accounts read has nothing to see, and passes (Carillion passed such checks)."""
    out = np.empty(n_providers, np.bool_)
    for k in range(n_providers):
        out[k] = k >= seen.size or seen[k] >= threshold
    return out


@kernel
def sort_range(a, lo, hi):
    """Sort ``a[lo:hi]`` in place (an insertion sort: a row's few bidders, mostly in order
    already; numba's general sort takes a second or two to compile)."""
    for i in range(lo + 1, hi):
        v = a[i]
        j = i - 1
        while j >= lo and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@kernel
def by_home(p_n, home, member, n_areas):
    """Providers in ``member`` based in an area, grouped by area in provider order:
    (rows, start), the providers of area ``a`` being ``rows[start[a]:start[a + 1]]``
    ."""
    start = np.zeros(n_areas + 1, np.int64)
    for k in range(p_n):
        if member[k] and home[k] >= 0:
            start[home[k] + 1] += 1
    for a in range(n_areas):
        start[a + 1] += start[a]
    rows = np.empty(start[n_areas], np.int64)
    fill = start[:n_areas].copy()
    for k in range(p_n):
        if member[k] and home[k] >= 0:
            rows[fill[home[k]]] = k
            fill[home[k]] += 1
    return rows, start


@kernel
def near_count(c, indptr, indices, start):
    """How many grouped providers are based in or next to area ``c``."""
    count = 0
    for q in range(indptr[c], indptr[c + 1]):
        a = indices[q]
        count += start[a + 1] - start[a]
    return count


@kernel
def near_fill(c, indptr, indices, rows, start, out, at):
    """Write the grouped providers based in or next to area ``c`` into ``out`` from ``at``;
    returns the next free position."""
    for q in range(indptr[c], indptr[c + 1]):
        a = indices[q]
        for r in range(start[a], start[a + 1]):
            out[at] = rows[r]
            at += 1
    return at


@kernel
def national(p_n, home, member):
    """The providers in ``member`` based nowhere in particular (national firms), in order."""
    n = 0
    for k in range(p_n):
        n += member[k] and home[k] < 0
    out = np.empty(n, np.int64)
    j = 0
    for k in range(p_n):
        if member[k] and home[k] < 0:
            out[j] = k
            j += 1
    return out


@kernel
def spare_capacity(ct_n, holder, reference, p_n, capacity):
    """Each provider's capacity less what it delivers now (:func:`sim.core.numeric.used_capacity`
    of the first ``ct_n`` contracts)."""
    spare = used_capacity(holder[:ct_n], reference[:ct_n], p_n)
    for k in range(p_n):
        spare[k] = capacity[k] - spare[k]
    return spare


@kernel
def bids(rng, slots, ct, p, cn, seen, run):
    """Who bids for contract ``slots`` and each bid's estimate error: (ptr, prov, error,
    excluded). A row's cells are the national firms and the providers based in or next to its
    council that pass the financial check on the accounts ``seen``, in provider order; one
    estimate error each, row by row. ``ct``, ``p``, ``cn``: the contracts', providers' and
    councils' columns; ``run``: the run's parameters (:mod:`sim.core.run_params`)."""
    council, kind, home, alive = ct.council, p.kind, p.home, p.alive
    p_n, indptr, indices = kind.size, cn.near_indptr, cn.near_indices
    threshold, bid_error = run.due_diligence_threshold, run.bid_error
    passed = financial_check(seen, p_n, threshold)
    ok = np.zeros(p_n, np.bool_)
    excluded = 0
    for k in range(p_n):
        if alive[k] and kind[k] != INHOUSE:
            ok[k] = passed[k]
            excluded += not passed[k]
    nationals = national(p_n, home, ok)
    n_national = nationals.size
    rows, start = by_home(p_n, home, ok, indptr.size - 1)
    n = slots.size
    ptr = np.zeros(n + 1, np.int64)
    for i in range(n):
        ptr[i + 1] = ptr[i] + n_national + near_count(council[slots[i]], indptr, indices, start)
    prov = np.empty(ptr[n], np.int64)
    for i in range(n):
        prov[ptr[i] : ptr[i] + n_national] = nationals
        near_fill(council[slots[i]], indptr, indices, rows, start, prov, ptr[i] + n_national)
        sort_range(prov, ptr[i], ptr[i + 1])
    error = np.empty(ptr[n])
    for q in range(ptr[n]):
        error[q] = rng.normal(0.0, bid_error)
    return ptr, prov, error, excluded
