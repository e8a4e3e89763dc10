"""Small statistics over run outcomes shared by the analysis and its figures: the mean with
its confidence interval, and which outcome columns a table of runs holds."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "CONFIDENCE",
    "KEY_OUTCOMES",
    "Precision",
    "mean_ci",
    "outcome_columns",
    "parse_precision",
    "replications_needed",
    "sample_sd",
]

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


def _numbers(values: Any) -> np.ndarray:
    """The non-null values as floats (text and None dropped)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").dropna().to_numpy(dtype=float)


def mean_ci(values: Any, confidence: float = CONFIDENCE) -> tuple[float, float, float, int]:
    """Mean and two-sided Student t confidence interval of the non-null values.

    Returns:
        (mean, low, high, n); the interval is NaN with fewer than two values.
    """
    x = _numbers(values)
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
    from sim.core.outcome_table import SUMMARY_FIELDS

    return [c for c in SUMMARY_FIELDS if c in runs.columns]


@dataclass(frozen=True)
class Precision:
    """A target for a 95% CI's half-width: ``value`` itself (absolute) or ``value`` times the
    mean's magnitude (relative, ``value`` a fraction in (0, 1))."""

    value: float
    relative: bool

    def half_width(self, mean: float) -> float:
        """The target half-width for an outcome whose mean is ``mean`` (NaN when relative to a
        zero or undefined mean: no relative precision exists there)."""
        if not self.relative:
            return self.value
        if not math.isfinite(mean) or mean == 0:
            return math.nan
        return self.value * abs(mean)

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_precision(text: str) -> Precision:
    """Read ``--precision``: ``10%`` (relative to each mean, between 0% and 100% exclusive) or
    a positive number such as ``0.01`` (absolute, in the outcome's own unit).

    Raises:
        ValueError: one line saying what is wrong with ``text``.
    """
    raw = text.strip()
    relative = raw.endswith("%")
    number = raw[:-1].strip() if relative else raw
    # float() alone would take "nan", "inf" and "1_0": only plain decimal numbers are meant.
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", number):
        raise ValueError(f"{text!r} is not a number: give e.g. 10% (relative) or 0.01 (absolute)")
    value = float(number)
    if relative:
        if not 0 < value < 100:
            raise ValueError(f"{text!r}: a relative precision must be above 0% and below 100%")
        return Precision(value / 100, relative=True)
    if value <= 0:
        raise ValueError(f"{text!r}: an absolute precision must be above 0")
    return Precision(value, relative=False)


def replications_needed(
    sd: float, half_width: float, confidence: float = CONFIDENCE, cap: int = 10**9
) -> float:
    """Replications n for a two-sided Student t interval of half-width ``half_width`` around a
    mean whose runs have standard deviation ``sd``: the least n >= 2 with
    ``t(n - 1) * sd / sqrt(n) <= half_width`` (Law 2015, *Simulation Modeling and Analysis*,
    sec. 9.4.1, taking the observed sd as the true one).

    Starts from the normal approximation n = (z * sd / h)^2, a lower bound since t > z, and
    searches upwards (doubling, then bisection) for the least n that meets the target.
    Returns NaN when ``sd`` or ``half_width`` is undefined, 2 when ``sd`` is 0, and ``cap``
    at most.
    """
    if not (math.isfinite(sd) and math.isfinite(half_width)) or half_width <= 0:
        return math.nan
    if sd == 0:
        return 2.0
    q = 0.5 + confidence / 2

    def narrow_enough(n: int) -> bool:
        return stats.t.ppf(q, n - 1) * sd / math.sqrt(n) <= half_width

    low = max(2, math.ceil((stats.norm.ppf(q) * sd / half_width) ** 2))
    if low >= cap:
        return float(cap)
    if narrow_enough(low):
        return float(low)
    high = low
    while high < cap and not narrow_enough(high):  # then: low fails, high meets the target
        low, high = high, min(cap, 2 * high)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if narrow_enough(mid) else (mid, high)
    return float(high)


def sample_sd(values: Any) -> float:
    """The sample standard deviation (ddof 1) of the non-null values; NaN with fewer than two."""
    x = _numbers(values)
    return float(np.std(x, ddof=1)) if len(x) >= 2 else math.nan
