"""NumPy's arithmetic where compiled code must match it to the last bit, and small helpers the
mechanisms' kernels share.

A kernel that totals an array as ``ndarray.sum`` does uses :func:`pairwise_sum` (NumPy's own
summation order); per-group totals add in row order, as ``np.bincount`` does.
"""

from __future__ import annotations

import numpy as np

from sim.core.jit import kernel

__all__ = ["clipped_ratio", "kept_where_based", "pairwise_sum", "used_capacity"]

INHOUSE = 2  # sim.core.state.ProviderKind.INHOUSE (an IntEnum is not a numba constant)
OUTSOURCER = 0
MUTUAL = 1
LOCAL_FIRM = 3
_BLOCK = 128  # NumPy's pairwise summation block


@kernel
def _block(a, lo, n):
    # One leaf of NumPy's pairwise_sum (numpy/_core/src/umath/loops_utils.h.src), term for
    # term: a plain loop under 8 terms, else 8 running sums over at most _BLOCK terms.
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@kernel
def pairwise_sum(a):
    """``a.sum()`` for a 1-D float64 array, in NumPy's order (so to the same last bit).

    NumPy halves a range longer than a block (rounding the half down to a multiple of 8) and
    adds the halves' sums; this walks the same tree with an explicit stack (numba's cache
    does not keep recursive functions)."""
    if a.size <= _BLOCK:
        return 0.0 + _block(a, 0, a.size)
    lo = np.empty(64, np.int64)
    size = np.empty(64, np.int64)
    phase = np.zeros(64, np.int64)
    sums = np.empty(64)
    top = 0  # frames on the stack
    done = 0  # sums on the stack
    lo[0], size[0], phase[0] = 0, a.size, 0
    top = 1
    while top > 0:
        f = top - 1
        n = size[f]
        if n <= _BLOCK:
            sums[done] = _block(a, lo[f], n)
            done += 1
            top -= 1
            continue
        half = n // 2
        half -= half % 8
        if phase[f] == 0:  # the left half first
            phase[f] = 1
            lo[top], size[top], phase[top] = lo[f], half, 0
            top += 1
        elif phase[f] == 1:  # then the right
            phase[f] = 2
            lo[top], size[top], phase[top] = lo[f] + half, n - half, 0
            top += 1
        else:  # then left + right
            sums[done - 2] = sums[done - 2] + sums[done - 1]
            done -= 1
            top -= 1
    return 0.0 + sums[0]


@kernel
def clipped_ratio(room, scale, lo, hi):
    """``np.clip(room / scale, lo, hi)``, element by element (NaN stays NaN)."""

    out = np.empty(room.size)
    for q in range(room.size):
        x = room[q] / scale
        if x < lo:
            x = lo
        elif x > hi:
            x = hi
        out[q] = x
    return out


@kernel
def used_capacity(holder, reference, n_providers):
    """Reference-cost value each provider delivers now, added in contract order."""
    used = np.zeros(n_providers)
    for i in range(holder.size):
        if holder[i] >= 0:
            used[holder[i]] += reference[i]
    return used


@kernel
def kept_where_based(extraction, owners_local_share):
    """The share of a provider's surplus that lands where it is based: what it retains
    (``1 - extraction``) plus the pay-out received by owners living there. Scalars or arrays;
    the one rule both the social value score (:func:`sim.core.tendering.reinvested_share`) and
    the local-money accounting (:func:`sim.core.delivery.local_and_leaked`) use."""
    return (1.0 - extraction) + extraction * owners_local_share
