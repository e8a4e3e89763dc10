"""No inert parameter: every parameter of `commsim params` moves some outcome.

Each numeric (and yes/no) parameter is set to the low and then the high end of its range in
three small markets (calm; stressed by a cost shock, a collapse, a budget cut and a demand
shock with little spare capacity; every lever on), on two seeds with common random numbers
(the same seed at both ends, so any difference is the parameter's). A parameter is alive when
its two ends give different run outcomes (every field of SUMMARY_FIELDS) or time series (every
reporter, every quarter) in some market on some seed; it is inert when they never do. The
scan stops at the first difference, so a live parameter costs two runs.

Ranges are clipped where an end cannot run or would only cost time: the reasons are in
``CLIPPED``. An exclusive lower bound (``gt``) is scanned at a tenth of the way to the default.
"""

from __future__ import annotations

import copy
import math
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from sim import CommissioningModel
from sim.core.outcomes import SUMMARY_FIELDS
from sim.scenario import (
    InputError,
    Scenario,
    Shock,
    known_keys,
    parameter_table,
    scenario_from_dict,
)

QUARTERS = 20
SEEDS = (1, 2)

#: Ranges clipped for the scan: name -> (low, high, why).
CLIPPED: dict[str, tuple[float, float, str]] = {
    "scenario.quarters": (
        14,
        24,
        "shorter runs would drop the markets' shocks; longer ones cost time",
    ),
    "scenario.warm_up_quarters": (0, 12, "a warm-up as long as the run leaves one quarter"),
    "network.councils": (2, 40, "the scan's markets are small; 10000 councils cost minutes"),
    "councils.lots": (1, 4, "20 lots a line multiply the contracts twentyfold: time only"),
    "outsourcers.count": (0, 16, "thousands of firms cost time and change nothing more"),
    "mutuals.count": (0, 40, "thousands of firms cost time and change nothing more"),
    "local_firms.count": (0, 60, "thousands of firms cost time and change nothing more"),
    **{
        f"{section}.closure_quarters": (0, 4, "a firm idle longer than the scan's run never closes")
        for section in ("outsourcers", "mutuals", "local_firms")
    },
    "shocks[].quarter": (0, QUARTERS - 1, "a shock must fall within the run"),
    "shocks[].magnitude": (
        0.0,
        0.9,
        "set on every shock at once: a budget cut of 1 or more leaves no budget (refused)",
    ),
}

#: Parameters that must keep an order: setting one end moves its neighbours with it.
ORDERED = [
    ("councils.contract_years_min", "councils.contract_years_max"),
    ("outsourcers.markup_min", "outsourcers.markup_initial", "outsourcers.markup_max"),
    ("mutuals.markup_min", "mutuals.markup_initial", "mutuals.markup_max"),
    ("local_firms.markup_min", "local_firms.markup_initial", "local_firms.markup_max"),
]
#: Shares of the score that together may not exceed 1.
SHARES_OF_ONE = ("commissioning.social_value_weight", "commissioning.local_preference")

SMALL = {
    "scenario": {"quarters": QUARTERS, "warm_up_quarters": 4},
    "network": {"councils": 20},
    "mutuals": {"count": 12},
    "local_firms": {"count": 30},
}

STRESS_SHOCKS = [
    {"kind": "cost_shock", "quarter": 4, "magnitude": 0.1},
    {"kind": "provider_collapse", "quarter": 8, "target": "largest_outsourcer"},
    {"kind": "budget_cut", "quarter": 10, "magnitude": 0.2},
    {"kind": "demand_shock", "quarter": 12, "magnitude": 0.1, "duration": 3},
]

#: A calm market, a stressed one (shocks, and capacity so short that failures leave gaps)
#: and one with every lever on (tight finances and a financial check that binds, so the
#: check's lag and the firms' cash matter).
MARKETS: dict[str, dict[str, Any]] = {
    "calm": SMALL,
    "stressed": {
        **SMALL,
        # little room in-house: room for one contract (of 8 a council) insourced at once, so
        # most failed contracts leave gaps
        # and a strict financial check, so what its accounts' age shows matters
        "councils": {
            "inhouse_capacity_retained": 0.15,
            "lots": 2,
            "due_diligence_threshold": 0.1,
        },
        "outsourcers": {
            "count": 3,
            "capacity_share": 0.25,
            "reserves": 0.01,
            "subcontract_share": 0.3,
        },
        # spin-outs that start in debt, at their credit limit: a start-up grant decides
        # whether a loss makes one insolvent
        "mutuals": {
            "count": 12,
            "support_programme": True,
            "spin_out_rate": 0.3,
            "reserves": 0.0,
            "debt": 0.05,
        },
        "shocks": STRESS_SHOCKS,
    },
    "all_levers": {
        **SMALL,
        "councils": {"lots": 2, "due_diligence_threshold": 0.05, "inhouse_capacity_retained": 0.05},
        "commissioning": {
            "social_value_weight": 0.3,
            "local_preference": 0.1,
            "failure_regime": "administration",
            "fee_uplift": 0.5,
        },
        # a floor above the lowest pay, and an area short of staff: labour_share then moves cost
        "workforce": {"wage_floor": 1.0, "pool_ratio": 0.95},
        "outsourcers": {
            "count": 4,
            "subcontract_share": 0.3,
            "failure_hazard": 0.05,
            "reserves": 0.0,
            "credit_limit": 0.05,  # just above the default debt (0.04): leverage binds
        },
        # spin-outs often enough that the programme's grants meet a cost shock in 20 quarters
        "mutuals": {
            "count": 12,
            "support_programme": True,
            "spin_out_rate": 0.1,
            "failure_hazard": 0.05,
        },
        "shocks": [
            {"kind": "cost_shock", "quarter": 5, "magnitude": 0.1},
            {"kind": "provider_collapse", "quarter": 9, "target": "random"},
            {"kind": "demand_shock", "quarter": 11, "magnitude": 0.15, "duration": 4},
            {"kind": "budget_cut", "quarter": 13, "magnitude": 0.15},
        ],
    },
}


def _known(market: dict[str, Any]) -> dict[str, Any]:
    """The market without the levers this version's schema does not have (parameters that
    other work adds: the scan uses them once they exist)."""
    keys = set(known_keys())
    out = {}
    for section, values in market.items():
        if isinstance(values, dict):
            out[section] = {k: v for k, v in values.items() if f"{section}.{k}" in keys}
        else:
            out[section] = values
    return out


def _field(name: str) -> Any:
    section, key = name.split(".", 1)
    model = Shock if section == "shocks[]" else Scenario.model_fields[section].annotation
    return model.model_fields[key]


def scanned_parameters() -> Iterator[tuple[str, Any, Any, Any]]:
    """(name, default, low end, high end) of every numeric or yes/no parameter."""
    for row in parameter_table():
        name, default = row["name"], row["default"]
        if isinstance(default, bool):
            yield name, default, False, True
            continue
        if not isinstance(default, int | float):
            continue
        if name in CLIPPED:
            low, high, _ = CLIPPED[name]
        else:
            low = high = None
            exclusive = False
            for m in _field(name).metadata:
                if getattr(m, "ge", None) is not None:
                    low = m.ge
                if getattr(m, "gt", None) is not None:
                    low, exclusive = m.gt, True
                if getattr(m, "le", None) is not None:
                    high = m.le
            assert low is not None and high is not None, f"{name} has an open range: clip it"
            if exclusive:
                low = low + (default - low) / 10
        if isinstance(default, int):
            low, high = math.ceil(low), math.floor(high)
        yield name, default, low, high


def with_value(market: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    """The market with parameter ``name`` at ``value`` (every shock's, for ``shocks[].x``) and
    its ordered neighbours moved so that the scenario stays valid."""
    data = copy.deepcopy(market)
    section, key = name.split(".", 1)
    if section == "shocks[]":
        for shock in data.get("shocks", []):
            shock[key] = value
        return data
    defaults = Scenario().model_dump()

    def get(dotted: str) -> Any:
        s, k = dotted.split(".", 1)
        return data.get(s, {}).get(k, defaults[s][k])

    def put(dotted: str, v: Any) -> None:
        s, k = dotted.split(".", 1)
        data.setdefault(s, {})[k] = v

    for group in ORDERED:
        if name in group:
            at = group.index(name)
            for other in group[:at]:
                put(other, min(get(other), value))
            for other in group[at + 1 :]:
                put(other, max(get(other), value))
    if name in SHARES_OF_ONE:
        other = SHARES_OF_ONE[1 - SHARES_OF_ONE.index(name)]
        put(other, min(get(other), 1.0 - value))
    put(name, value)
    return data


def outcomes(data: dict[str, Any], seed: int) -> tuple[list[Any], np.ndarray]:
    """A run's summary outcomes (in SUMMARY_FIELDS order) and its time series, on ``seed``
    (unless the data sets ``scenario.seed`` itself: the scan of that parameter)."""
    data = copy.deepcopy(data)
    meta = data.setdefault("scenario", {})
    meta.setdefault("seed", seed)
    model = CommissioningModel(data, rng=meta["seed"]).run()  # as `commsim run` seeds it
    summary = model.summary()
    return [summary[k] for k in SUMMARY_FIELDS], model.timeseries().to_numpy(dtype=float)


def differ(a: tuple[list[Any], np.ndarray], b: tuple[list[Any], np.ndarray]) -> bool:
    """Whether two runs' outcomes differ beyond rounding."""
    if a[1].shape != b[1].shape or not np.allclose(a[1], b[1], rtol=1e-9, atol=1e-12):
        return True
    for x, y in zip(a[0], b[0], strict=True):
        if (x is None) != (y is None):
            return True
        if x is not None and not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12):
            return True
    return False


def scan() -> tuple[list[str], list[str]]:
    """Scan every parameter. Returns (inert parameters, markets or parameter ends that are not
    valid scenarios)."""
    inert, broken = [], []
    markets = {}
    for label, market in MARKETS.items():
        try:  # a market other work made invalid is named once, not under every parameter
            scenario_from_dict(_known(market), origin=f"the {label} market")
            markets[label] = _known(market)
        except InputError as err:
            broken.append(str(err))
    for name, _, low, high in scanned_parameters():
        moved = False
        for market in markets.values():
            if name.startswith("shocks[]") and not market.get("shocks"):
                continue
            try:
                ends = [with_value(market, name, v) for v in (low, high)]
                for seed in SEEDS:
                    if differ(*(outcomes(d, seed) for d in ends)):
                        moved = True
                        break
            except InputError as err:
                broken.append(f"{name} ({err})")
                moved = True
            if moved:
                break
        if not moved:
            inert.append(f"{name} [{low} vs {high}]")
    return inert, broken


@pytest.mark.slow
def test_no_parameter_is_inert():
    inert, broken = scan()
    message = []
    if inert:
        message.append(
            f"{len(inert)} parameter(s) move no outcome in any market (calm, stressed, "
            "all levers) at either end of their range: wire or remove them:\n  "
            + "\n  ".join(inert)
        )
    if broken:
        message.append(
            "markets or parameter ends that are not valid scenarios (fix the market, or add "
            "the parameter to ORDERED or CLIPPED):\n  " + "\n  ".join(broken)
        )
    assert not message, "\n".join(message)


def test_the_scan_tells_equal_runs_from_different_ones():
    """Common random numbers: the same market on the same seed gives the same outcomes, so a
    difference the scan sees is the parameter's; a parameter that matters shows up."""
    market = _known(MARKETS["calm"])
    same = with_value(market, "commissioning.bid_error", 0.03)
    assert not differ(outcomes(market, 1), outcomes(same, 1))
    assert differ(outcomes(market, 1), outcomes(with_value(market, "councils.price_cap", 0.5), 1))


def test_ordered_parameters_move_their_neighbours():
    data = with_value({}, "outsourcers.markup_min", 2.0)
    Scenario.model_validate(data)
    assert data["outsourcers"]["markup_max"] == 2.0
    data = with_value({}, "commissioning.local_preference", 1.0)
    assert data["commissioning"]["social_value_weight"] == 0.0


def test_the_scan_names_a_parameter_that_moves_nothing(monkeypatch):
    """A parameter whose two ends are the same value moves nothing: the scan names it."""
    one = [("councils.price_cap", 1.25, 1.25, 1.25), ("councils.market_test_rate", 0.5, 0.0, 1.0)]
    monkeypatch.setattr(sys.modules[__name__], "scanned_parameters", lambda: iter(one))
    inert, broken = scan()
    assert inert == ["councils.price_cap [1.25 vs 1.25]"] and not broken
