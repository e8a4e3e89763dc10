"""The statistics behind docs/claims.md: a lever's effect at the other levers' defaults and
across their ranges, its dependence on assumed numbers, and the verdict sentence.

Pure functions over DataFrames of a Sobol sweep's runs, every input scaled to [0, 1] over its
range (0: its minimum, 1: its maximum). scripts/claims.py reads the sweep and writes the page.

Why two effects: a lever's effect can hang on another lever (social value weighting may do
much when councils do not also prefer local bidders, little when they do). Averaging over the
other levers' ranges then dilutes the claim as the article makes it, at today's settings; the
effect at the other levers' defaults does not. Both are reported; a claim holds or fails at
each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "Effect",
    "conditional_effects",
    "depends_on",
    "lever_effect",
    "num",
    "price_sentence",
    "scaled",
    "scaled_defaults",
    "sensitivity",
    "short_verdict",
    "status",
    "verdict",
]


class Effect(NamedTuple):
    """A lever's effect on an outcome from the bottom to the top of its range, with its 95% CI
    and the runs it was estimated from."""

    effect: float
    low: float
    high: float
    n: int

    @property
    def resolved(self) -> bool:
        """The CI excludes zero."""
        return bool(self.low > 0 or self.high < 0)


def scaled(runs: pd.DataFrame, problem: Mapping[str, Any]) -> pd.DataFrame:
    """Each varied parameter mapped to [0, 1] over its range (0: its min, 1: its max)."""
    out = {}
    for name, (low, high) in zip(problem["names"], problem["bounds"], strict=True):
        out[name] = (pd.to_numeric(runs[name]) - low) / (high - low)
    return pd.DataFrame(out, index=runs.index)


def scaled_defaults(
    base: Mapping[str, Any], problem: Mapping[str, Any], names: Sequence[str]
) -> dict[str, float]:
    """Where each of ``names`` sits in its range at the base scenario's value (``base`` is the
    sweep's resolved base scenario: ``{section: {field: value}}``).

    Raises:
        KeyError: a name the base scenario does not hold.
    """
    bounds = dict(zip(problem["names"], problem["bounds"], strict=True))
    out = {}
    for name in names:
        section, field = name.split(".", 1)
        low, high = bounds[name]
        out[name] = (float(base[section][field]) - low) / (high - low)
    return out


def _fit(
    x: pd.DataFrame, y: pd.Series, lever: str, block: pd.Series, at: Mapping[str, float] | None
) -> Effect:
    """Least squares of y on every input, the lever's square and (with ``at``) the lever times
    each input named in ``at``; the effect is the fitted change of y from lever 0 to lever 1
    with those inputs at ``at``. Cluster-robust CI over ``block`` (CR1, t with blocks - 1 dof).
    """
    keep = y.notna().to_numpy()
    xs = x[keep]
    lev = xs[lever].to_numpy(dtype=float)
    columns = [np.ones(keep.sum()), *(xs[c].to_numpy(dtype=float) for c in x.columns), lev**2]
    contrast = [0.0] * (1 + len(x.columns)) + [1.0]
    contrast[1 + list(x.columns).index(lever)] = 1.0
    for other, value in (at or {}).items():
        columns.append(lev * xs[other].to_numpy(dtype=float))
        contrast.append(float(value))
    a = np.column_stack(columns)
    b = y[keep].to_numpy(dtype=float)
    groups = block[keep].to_numpy()
    n, k = a.shape
    g = np.unique(groups).size
    if g <= k or n <= k:
        return Effect(np.nan, np.nan, np.nan, n)
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    resid = b - a @ coef
    bread = np.linalg.pinv(a.T @ a)
    scores = np.zeros((g, k))
    np.add.at(scores, np.unique(groups, return_inverse=True)[1], a * resid[:, None])
    meat = scores.T @ scores * (g / (g - 1)) * ((n - 1) / (n - k))
    c = np.asarray(contrast)
    value = float(c @ coef)
    half = stats.t.ppf(0.975, g - 1) * np.sqrt(max(float(c @ bread @ meat @ bread @ c), 0.0))
    return Effect(value, value - half, value + half, n)


def lever_effect(
    x: pd.DataFrame,
    y: pd.Series,
    lever: str,
    block: pd.Series,
    at: Mapping[str, float] | None = None,
) -> Effect:
    """The lever's effect on ``y`` over its whole range, with its 95% CI.

    Without ``at``: averaged over every other input's range (least squares on all runs, with
    the lever's square so that a curved response is measured end to end). With ``at`` (other
    levers' scaled values, e.g. their defaults): the effect with those levers held there,
    from a fit with the lever's interaction with each of them, the other inputs still averaged.

    The CI is cluster-robust over ``block``: the runs of one Saltelli block (a base sample, its
    one-column swaps and its partner, and their replications) share most inputs, so they are
    not independent; the blocks are.
    """
    return _fit(x, y, lever, block, at)


def conditional_effects(
    x: pd.DataFrame,
    y: pd.Series,
    lever: str,
    block: pd.Series,
    assumptions: Sequence[str],
    at: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The lever's effect (as :func:`lever_effect`) with each assumption held in the lower,
    then the upper, half of its range: one row per assumption."""
    rows = []
    for other in assumptions:
        row: dict[str, Any] = {"parameter": other}
        for half, mask in (("low", x[other] < 0.5), ("high", x[other] >= 0.5)):
            e = lever_effect(x[mask], y[mask], lever, block[mask], at)
            row.update({f"effect_{half}": e.effect, f"ci_low_{half}": e.low,
                        f"ci_high_{half}": e.high})  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def status(effect: Effect, sign: int) -> str:
    """``holds`` (CI excludes zero on the claimed side), ``opposite`` (on the other side),
    ``noise`` (CI straddles zero) or ``undefined`` (not estimable)."""
    if not np.isfinite(effect.effect):
        return "undefined"
    if not effect.resolved:
        return "noise"
    return "holds" if np.sign(effect.effect) == sign else "opposite"


def sensitivity(effect: float, conditional: pd.DataFrame, sign: int) -> pd.DataFrame:
    """Which assumptions the lever's effect leans on, one row per assumption of
    ``conditional``, sorted by ``shift`` (largest first).

    Columns: ``shift`` (|upper-half effect - lower-half effect|); ``beyond_noise`` (the halves
    differ by more than z standard errors of the difference, z two-sided at 5% Bonferroni-
    corrected for the number of assumptions: with twenty of them one would otherwise pass by
    chance in most claims); ``depends`` (beyond noise, and the claim's status differs between
    the halves or the shift is at least the size of ``effect``); ``only_if`` (``low`` or
    ``high``: the half in which alone the claim holds, beyond noise; else None).
    """
    z = stats.norm.ppf(1 - 0.025 / max(len(conditional), 1))
    rows = []
    for row in conditional.itertuples():
        low = Effect(row.effect_low, row.ci_low_low, row.ci_high_low, 0)
        high = Effect(row.effect_high, row.ci_low_high, row.ci_high_high, 0)
        se = np.hypot((low.high - low.low) / (2 * z), (high.high - high.low) / (2 * z))
        shift = abs(high.effect - low.effect)
        beyond = bool(shift > z * se)
        st_low, st_high = status(low, sign), status(high, sign)
        only = None
        if beyond and (st_low == "holds") != (st_high == "holds"):
            only = "low" if st_low == "holds" else "high"
        rows.append(
            {
                "parameter": row.parameter,
                "effect_low": low.effect,
                "effect_high": high.effect,
                "status_low": st_low,
                "status_high": st_high,
                "shift": shift,
                "beyond_noise": beyond,
                "depends": beyond and (st_low != st_high or shift >= abs(effect)),
                "only_if": only,
            }
        )
    out = pd.DataFrame(rows)
    return out.sort_values("shift", ascending=False, kind="stable").reset_index(drop=True)


def depends_on(effect: float, conditional: pd.DataFrame, sign: int) -> list[str]:
    """The assumptions the claim depends on (:func:`sensitivity`'s ``depends``), largest shift
    first."""
    table = sensitivity(effect, conditional, sign)
    return table.loc[table["depends"], "parameter"].tolist()


def num(value: float) -> str:
    """A signed number as the page prints it: three significant figures, whole numbers with
    thousands separators from 1,000 up (GBP m of spend), never in exponent form."""
    if np.isfinite(value) and abs(value) >= 1000:
        return f"{value:+,.0f}"
    return f"{value:+.3g}"


def _ci(e: Effect) -> str:
    return f"{num(e.effect)} (95% CI {num(e.low)} to {num(e.high)})"


_WHY = {
    "noise": "cannot be told from noise",
    "opposite": "the opposite of the claim",
    "undefined": "not estimable",
}


def _said(e: Effect, sign: int) -> str:
    st = status(e, sign)
    return f"{_ci(e)}" + ("" if st == "holds" else f": {_WHY[st]}")


def _half(name: str, half: str, bounds: Mapping[str, tuple[float, float]]) -> str:
    low, high = bounds[name]
    mid = (low + high) / 2
    lo, hi = (low, mid) if half == "low" else (mid, high)
    return f"`{name}` is in the {'lower' if half == 'low' else 'upper'} half of its range ({lo:g} to {hi:g})"


def verdict(
    sign: int,
    at_defaults: Effect,
    across: Effect,
    leaning: pd.DataFrame,
    bounds: Mapping[str, tuple[float, float]],
) -> str:
    """The claim's verdict in plain sentences.

    A claim that holds only in one half of an assumption's range says that first ("Holds only
    if ..."); then whether it holds at the other levers' defaults and across their ranges, a
    failure starting with "Fails"; then any assumption whose range moves its size by as much
    as the effect. ``leaning`` is :func:`sensitivity`'s table (at the other levers'
    defaults); ``bounds`` each assumption's (min, max).
    """
    out = []
    only = leaning[leaning["only_if"].notna()]
    if len(only):
        conditions = []
        for row in only.itertuples():
            other = "high" if row.only_if == "low" else "low"
            e_other = row.effect_high if other == "high" else row.effect_low
            st_other = row.status_high if other == "high" else row.status_low
            conditions.append(
                f"{_half(row.parameter, row.only_if, bounds)} (in the other half: "
                f"{e_other:+.3g}, {_WHY.get(st_other, st_other)})"
            )
        if len(conditions) == 1:
            out.append(f"Holds only if {conditions[0]}.")
        else:
            out.append("Holds only under assumed numbers, each on its own: if "
                       + "; if ".join(conditions) + ".")  # fmt: skip
    d, a = status(at_defaults, sign), status(across, sign)
    if "undefined" in (d, a):
        return (
            "Not estimable: the sweep has too few Saltelli blocks for its inputs (raise samples)."
        )
    lead = "Over every assumption's whole range it" if len(only) else "It"
    if d == "holds" and a == "holds":
        head = "Holds" if not len(only) else f"{lead} holds"
        rest = "" if len(only) else ", over every assumption's range"
        out.append(
            f"{head} at the other levers' defaults, {_ci(at_defaults)}, and across their "
            f"ranges, {_ci(across)}{rest}."
        )
    elif d == "holds":
        out.append(
            f"{'Holds' if not len(only) else lead + ' holds'} at the other levers' defaults, "
            f"{_ci(at_defaults)}, but fails across their ranges: {_said(across, sign)}."
        )
    elif a == "holds":
        out.append(
            f"Fails at the other levers' defaults: {_said(at_defaults, sign)}; it holds only "
            f"across their ranges, {_ci(across)}, where other levers move away from their "
            "defaults."
        )
    else:
        out.append(
            f"Fails: at the other levers' defaults {_said(at_defaults, sign)}; across their "
            f"ranges {_said(across, sign)}."
        )
    size = leaning[leaning["depends"] & leaning["only_if"].isna()]
    if len(size):
        names = "; ".join(
            f"`{r.parameter}` ({r.effect_low:+.3g} in its lower half, {r.effect_high:+.3g} in "
            "its upper)"
            for r in size.itertuples()
        )
        out.append(f"Its size leans on {names}.")
    return " ".join(out)


def price_sentence(spend: Effect, per_service: Effect, mean_spend: float) -> str:
    """What the lever costs: its effect on total spend (GBP m and % of the mean) and on cost
    per unit of service delivered, each with its CI."""
    pct = 100 * spend.effect / mean_spend if mean_spend else np.nan
    return (
        f"total spend {num(spend.effect)} GBP m (95% CI {num(spend.low)} to {num(spend.high)}; "
        f"{pct:+.2g}% of the mean run's spend), cost per GBP of reference-cost service "
        f"{_ci(per_service)}"
    )


def short_verdict(sign: int, at_defaults: Effect, across: Effect, leaning: pd.DataFrame) -> str:
    """The verdict in a few words, for a summary table: ``fails``, ``holds``, ``holds at the
    defaults, fails across`` or ``fails at the defaults, holds across``, preceded by ``holds
    only if <assumption> low|high`` for each half the claim holds in alone (``not
    estimable`` when an effect is not)."""
    if "undefined" in (status(at_defaults, sign), status(across, sign)):
        return "not estimable"
    d, a = status(at_defaults, sign) == "holds", status(across, sign) == "holds"
    words = {
        (True, True): "holds",
        (True, False): "holds at the defaults, fails across",
        (False, True): "fails at the defaults, holds across",
        (False, False): "fails",
    }[(d, a)]
    only = leaning[leaning["only_if"].notna()]
    if not len(only):
        return words
    conditions = " or ".join(f"`{r.parameter}` {r.only_if}" for r in only.itertuples())
    return f"holds only if {conditions}; over the whole ranges it {words}"
