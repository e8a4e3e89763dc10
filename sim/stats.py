"""Small statistics over run outcomes shared by the analysis and its figures: the mean with
its confidence interval, and which outcome columns a table of runs holds."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from scipy import stats

__all__ = ["CONFIDENCE", "KEY_OUTCOMES", "mean_ci", "outcome_columns"]

#: Outcomes shown in sensitivity charts and comparison figures (when present and varying).
KEY_OUTCOMES = (
    "resilience",
    "min_service_delivered",
    "service_quarters_lost",
    "total_emergency_cost",
    "mean_local_share",
    "final_share_outsourcer",
    "final_share_mutual",
    "final_hhi",
    "final_trust",
)
CONFIDENCE = 0.95


def mean_ci(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """Mean and two-sided Student t confidence interval of the non-null values.

    Returns:
        (mean, low, high, n); the interval is NaN with fewer than two values.
    """
    x = pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    if n < 2:
        return (mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return (mean, mean - half, mean + half, n)


def outcome_columns(runs: pd.DataFrame) -> list[str]:
    """The run outcomes present in ``runs`` (summary fields, in their documented order)."""
    from sim.outcomes import SUMMARY_FIELDS

    return [c for c in SUMMARY_FIELDS if c in runs.columns]
