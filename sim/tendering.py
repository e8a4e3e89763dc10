"""Bids, scores and awards: pure functions over arrays, no Mesa.

A tender round takes every contract being tendered this quarter (rows) against every
provider (columns) at once: the bid prices and scores are one vectorised computation, and the
awards are then made one contract at a time because each award uses up the winner's capacity.
"""

from __future__ import annotations

import numpy as np

__all__ = ["award", "bid_prices", "score_bids"]


def bid_prices(
    reference_cost: np.ndarray,
    unit_cost: np.ndarray,
    markup: np.ndarray,
    estimate_error: np.ndarray,
) -> np.ndarray:
    """Bid price of every provider for every contract, in pounds per quarter.

    Args:
        reference_cost: (n_contracts,) cost of the service at the reference unit cost.
        unit_cost: (n_providers,) provider cost relative to reference (scale economies, shocks).
        markup: (n_providers,) mark-up over estimated cost.
        estimate_error: (n_contracts, n_providers) log error of each cost estimate.

    Returns:
        (n_contracts, n_providers) prices. A bidder that underestimates bids low and, if it
        wins, delivers at a loss: the winner's curse.
    """
    true_cost = reference_cost[:, None] * unit_cost[None, :]
    return true_cost * np.exp(estimate_error) * (1.0 + markup[None, :])


def score_bids(
    price: np.ndarray,
    eligible: np.ndarray,
    quality: np.ndarray,
    social_value: np.ndarray,
    local: np.ndarray,
    weights: dict[str, float],
) -> np.ndarray:
    """Most-advantageous-tender score of every eligible bid; -inf where not eligible.

    The price score is the lowest eligible price divided by the bid's price (1 for the
    cheapest), the usual relative formula; quality and social value are scores in [0, 1];
    ``local`` is 1 where the bidder is based in or next to the council's area.
    """
    if price.shape[1] == 0:  # no provider can bid at all
        return np.full(price.shape, -np.inf)
    masked = np.where(eligible, price, np.inf)
    lowest = masked.min(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        price_score = np.where(eligible, lowest / masked, 0.0)
    score = (
        weights["price"] * price_score
        + weights["quality"] * quality[None, :]
        + weights["social_value"] * social_value[None, :]
        + weights["local"] * local
    )
    return np.where(eligible, score, -np.inf)


def award(
    score: np.ndarray,
    size: np.ndarray,
    spare: np.ndarray,
    order: np.ndarray,
    own_unit: np.ndarray | None = None,
    own_spare: np.ndarray | None = None,
) -> np.ndarray:
    """Award each contract, in ``order``, to its best-scoring bidder with room for it.

    Args:
        score: (n_contracts, n_columns) scores, -inf where a column cannot bid.
        size: (n_contracts,) capacity each contract takes.
        spare: (n_columns,) spare capacity of each column; updated in place.
        order: the order in which contracts are awarded (seeded, so no council always goes first).
        own_unit: if given, the last column is each council's own in-house unit: the row's unit
            is ``own_unit[row]``, with spare capacity ``own_spare[own_unit[row]]`` (updated in
            place; two contracts of one council share their unit's capacity).
        own_spare: see ``own_unit``.

    Returns:
        (n_contracts,) the winning column, or -1 where no bidder could take it.
    """
    winner = np.full(score.shape[0], -1, dtype=np.int64)
    if score.shape[1] == 0:
        return winner
    own_col = score.shape[1] - 1 if own_unit is not None else -1
    ranked = np.argsort(-score, axis=1, kind="stable")
    for i in order:
        for j in ranked[i]:
            if score[i, j] == -np.inf:
                break
            room = own_spare if j == own_col else spare
            k = own_unit[i] if j == own_col else j
            if room[k] >= size[i]:
                winner[i] = j
                room[k] -= size[i]
                break
    return winner
