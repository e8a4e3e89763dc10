"""The compiled quarter (sim/core/kernels/quarter.py) gives the NumPy reference's results exactly.

Each mechanism runs on two copies of the same mid-run market (and of the model's random
generator), once on each path; afterwards every table column, the ledger, the events and the
generator's state are equal, and so are the mechanism's outputs. Whole runs of shipped
scenarios on both paths give the same time series and summary.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from sim import CommissioningModel, load_scenario
from sim.core import jit
from sim.core.delivery import (
    deliver_and_pay,
    headroom,
    refresh_inhouse_prices,
    update_inhouse_capacity,
)
from sim.core.failure import end_administration, handbacks, insolvencies
from sim.core.outcomes import quarter_metrics
from sim.core.shocks import random_failures
from sim.core.spinouts import grow_mutuals, spin_outs
from sim.core.state import ProviderKind
from sim.core.trust import trust_target, update_trust

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

#: (scenario, quarters simulated before the mechanism runs): a calm market, one after a cost
#: shock, and one under administration after a collapse.
MARKETS = [("baseline", 6), ("living_wage_shock", 23), ("carillion_collapse", 41)]


def _model(name: str, seed: int = 1, **overrides) -> CommissioningModel:
    scenario = load_scenario(SCENARIOS / f"{name}.toml", {"scenario.seed": seed, **overrides})
    return CommissioningModel(scenario, rng=seed)


def _mid_run(name: str, quarters: int) -> CommissioningModel:
    model = _model(name, **{"scenario.quarters": quarters + 4})
    for _ in range(quarters):
        model.step()
    model.market.ledger.open()
    return model


def _stress(model: CommissioningModel) -> None:
    """Put every decision the quarter's mechanisms take in play: handbacks due, insolvent
    firms, hazards, subcontracted legs, extra demand, binding budgets, administration ending."""
    m = model.market
    ct, p, cn = m.contracts, m.providers, m.councils
    held = np.flatnonzero(ct.view("holder") >= 0)
    ct.loss_streak[held[::7]] = 9
    firms = np.flatnonzero(p.external())
    p.cash[firms[:2]] = -p.credit_limit[firms[:2]] - 1.0
    p.hazard[firms[::3]] = 0.3
    mutuals = np.flatnonzero(p.external() & (p.view("kind") == ProviderKind.MUTUAL))
    external = held[p.kind[ct.holder[held]] == ProviderKind.OUTSOURCER]
    subbed = external[::5]
    ct.subcontractor[subbed] = mutuals[np.arange(subbed.size) % mutuals.size]
    ct.subcontract_price[subbed] = 0.25 * ct.price[subbed]
    m.demand_factor[m.quarter] = 1.3
    cn.budget_factor[::4] = 0.6
    administered = np.flatnonzero(ct.view("administered_until") > m.quarter)
    ending = administered[::2]
    ct.administered_until[ending] = m.quarter
    ct.holder[ending[::2]] = -1  # not re-let: disrupted when administration ends


def _state(market, rng) -> dict:
    """Everything a mechanism can change, by name."""
    out = {"rng": rng.bit_generator.state, "events": market.events, "quarter": market.quarter}
    for table in ("providers", "contracts"):
        t = getattr(market, table)
        for column in t._columns:
            out[f"{table}.{column}"] = t.view(column)
    cn = market.councils
    for name in ("budget", "trust", "budget_factor", "total", "inhouse_unit", "inhouse_capacity"):
        out[f"councils.{name}"] = getattr(cn, name)
    ledger = market.ledger
    for name, value in vars(ledger).items():
        if name == "flows" and value is not None:
            value = vars(value)
        out[f"ledger.{name}"] = value
    out["cost_level"], out["demand_factor"] = market.cost_level, market.demand_factor
    out["health_log"] = market.health_log
    return out


def _assert_same(a, b, where: str = "") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), where
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{k}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, float) and math.isnan(a):
        assert isinstance(b, float) and math.isnan(b), where
    else:
        assert type(a) is type(b) and a == b, f"{where}: {a!r} != {b!r}"


def _both(model: CommissioningModel, mechanism):
    """Run ``mechanism(market, rng)`` on a copy of the model's market on each path; assert
    the markets end equal; return (reference output, compiled output, reference market)."""
    outputs, states, markets = [], [], []
    for compiled in (False, True):
        market, rng = copy.deepcopy((model.market, model.rng))
        with jit.use_compiled(compiled):
            outputs.append(mechanism(market, rng))
        states.append(_state(market, rng))
        markets.append(market)
    _assert_same(states[0], states[1], "market")
    _assert_same(outputs[0], outputs[1], "output")
    return outputs[0], outputs[1], markets[0]


@pytest.fixture(scope="module", params=MARKETS, ids=[name for name, _ in MARKETS])
def mid_run(request):
    return _mid_run(*request.param)


@pytest.fixture(params=[False, True], ids=["as-run", "stressed"])
def market_model(request, mid_run):
    model = copy.deepcopy(mid_run)
    if request.param:
        _stress(model)
    return model


def test_delivery_and_payment(market_model):
    params = market_model.params
    _, _, market = _both(market_model, lambda m, r: deliver_and_pay(m, params))
    assert market.ledger.flows.revenue.size > 0
    _both(market_model, lambda m, r: refresh_inhouse_prices(m, 0.2))
    _both(market_model, lambda m, r: update_inhouse_capacity(m, 0.3))
    _both(market_model, lambda m, r: headroom(m.providers))


def test_stressed_delivery_pays_every_kind_of_leg(mid_run):
    model = copy.deepcopy(mid_run)
    _stress(model)
    _, _, market = _both(model, lambda m, r: deliver_and_pay(m, model.params))
    flows, money = market.ledger.flows, market.ledger.money
    assert (flows.slot == -1).any()  # extra demand bought spot
    assert (money["bought"] < 1).any()  # a budget binds
    assert np.isin(flows.provider, market.contracts.view("subcontractor")).any()  # subcontracts
    if mid_run.params.commissioning.failure_regime == "administration":
        administered = np.flatnonzero(market.contracts.administered(market.quarter))
        assert np.isin(flows.slot, administered).any()  # the administrator is paid


def test_failure_decisions(market_model):
    params = market_model.params
    _both(market_model, lambda m, r: handbacks(m, params, r))
    _both(market_model, lambda m, r: insolvencies(m, params, r))
    _both(market_model, lambda m, r: end_administration(m, params, r))
    _both(market_model, lambda m, r: random_failures(m, params, r))


def test_stressed_failures_happen(mid_run):
    model = copy.deepcopy(mid_run)
    _stress(model)
    params = model.params
    _, _, market = _both(model, lambda m, r: handbacks(m, params, r))
    assert market.ledger.handbacks > 0
    _, _, market = _both(model, lambda m, r: insolvencies(m, params, r))
    assert any(e.get("cause") == "insolvency" for e in market.events)
    _, _, market = _both(model, lambda m, r: random_failures(m, params, r))
    assert any(e.get("cause") == "random" for e in market.events)
    if params.commissioning.failure_regime == "administration":
        before = model.market.ledger.contracts_disrupted
        _, _, market = _both(model, lambda m, r: end_administration(m, params, r))
        assert market.ledger.contracts_disrupted > before


def test_spin_outs_draw_the_same(market_model):
    section = market_model.params.mutuals.model_copy(update={"spin_out_rate": 0.6})
    new, _, market = _both(market_model, lambda m, r: spin_outs(m, section, r))
    assert len(new) > 0 and market.ledger.spin_outs == len(new)
    _, _, market = _both(market_model, lambda m, r: grow_mutuals(m, 0.1))
    grown = market.providers.view("capacity") != market_model.market.providers.view("capacity")
    assert grown.any()


def test_trust_and_outcomes(market_model):
    model = market_model
    params = model.params
    deliver_and_pay(model.market, params)  # this quarter's money, on the default path

    def trust(m, r):
        value = m.contracts.value_by_council_and_kind(m.providers.kind, m.councils.n)
        target = trust_target(m.ledger.money, value, params.trust)
        cn = m.councils
        return target, update_trust(
            cn.trust, target, m.ledger.disrupted_value, cn.total, params.trust
        )

    _both(model, trust)
    metrics, _, _ = _both(model, lambda m, r: quarter_metrics(m, params.councils.local_respend))
    assert metrics["spend"] > 0 and metrics["providers_active"] > 0


@pytest.mark.parametrize("n", [*range(0, 300, 7), 1000, 8193, 70001])
def test_pairwise_sum_is_numpys(n):
    from sim.core.kernels.quarter import pairwise_sum

    rng = np.random.default_rng(n)
    a = rng.lognormal(0, 3, n) * rng.choice([-1.0, 1.0], n)
    assert pairwise_sum(a) == a.sum()


#: Whole runs, short horizons that still include each scenario's shock.
RUNS = [
    ("baseline", {"scenario.quarters": 12}),
    ("carillion_collapse", {"scenario.quarters": 46, "network.councils": 40}),
    ("carillion_no_administrator", {"scenario.quarters": 44, "network.councils": 40}),
    ("budget_cuts", {"scenario.quarters": 18}),
    ("thin_margins", {"scenario.quarters": 14}),
    ("living_wage_shock", {"scenario.quarters": 26}),
]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("name,overrides", RUNS, ids=[name for name, _ in RUNS])
def test_whole_runs_match(name, overrides, seed):
    runs = []
    for compiled in (False, True):
        with jit.use_compiled(compiled):
            runs.append(_model(name, seed, **overrides).run())
    reference, fast = runs
    ts_ref, ts_fast = reference.timeseries(), fast.timeseries()
    assert list(ts_ref.columns) == list(ts_fast.columns)
    for column in ts_ref.columns:
        a, b = ts_ref[column].to_numpy(dtype=float), ts_fast[column].to_numpy(dtype=float)
        assert np.array_equal(a, b, equal_nan=True), column
    _assert_same(reference.summary(), fast.summary(), "summary")
    _assert_same(reference.events, fast.events, "events")
    assert reference.rng.bit_generator.state == fast.rng.bit_generator.state
