"""Properties that hold for any valid scenario: money is conserved, shares add up, service is a
fraction, and no contract stays with a failed provider. Hypothesis draws the scenarios."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import CommissioningModel
from sim.agents import ProviderKind

PENNY = 0.005  # pounds


@st.composite
def scenarios(draw):
    """A random small scenario, shocks and levers included."""
    quarters = draw(st.integers(4, 20))
    sv = draw(st.floats(0.0, 0.6))
    local = draw(st.floats(0.0, 1.0 - sv))
    shocks = []
    for _ in range(draw(st.integers(0, 3))):
        shocks.append(
            {
                "kind": draw(
                    st.sampled_from(
                        ["provider_collapse", "cost_shock", "demand_shock", "budget_cut"]
                    )
                ),
                "quarter": draw(st.integers(0, quarters - 1)),
                "target": draw(st.sampled_from(["largest_outsourcer", "largest_mutual", "random"])),
                "magnitude": draw(st.floats(0.0, 0.5)),
                "duration": draw(st.integers(1, 6)),
            }
        )
    return {
        "scenario": {"quarters": quarters, "seed": draw(st.integers(0, 2**32))},
        "network": {"councils": draw(st.integers(2, 30)), "mean_degree": draw(st.floats(0.0, 8.0))},
        "councils": {
            "service_lines": draw(st.integers(1, 5)),
            "lots": draw(st.integers(1, 3)),
            "initial_inhouse_share": draw(st.floats(0.0, 1.0)),
            "inhouse_capacity_retained": draw(st.floats(0.0, 1.0)),
            "price_cap": draw(st.floats(0.8, 2.0)),
            "due_diligence_threshold": draw(st.floats(-0.2, 0.3)),
        },
        "commissioning": {
            "price_weight": draw(st.floats(0.0, 1.0)),
            "quality_weight": draw(st.floats(0.01, 1.0)),
            "social_value_weight": sv,
            "local_preference": local,
            "bid_error": draw(st.floats(0.0, 0.3)),
        },
        "outsourcers": {
            "count": draw(st.integers(0, 6)),
            "failure_hazard": draw(st.floats(0.0, 0.3)),
            "subcontract_share": draw(st.floats(0.0, 0.5)),
            "reserves": draw(st.floats(0.0, 0.2)),
        },
        "mutuals": {
            "count": draw(st.integers(0, 15)),
            "spin_out_rate": draw(st.floats(0.0, 0.5)),
            "support_programme": draw(st.booleans()),
        },
        "shocks": shocks,
    }


def check_quarter(model: CommissioningModel, cash_before: np.ndarray, n_before: int) -> None:
    """Every invariant, for the quarter the model has just simulated."""
    ledger = model.ledger
    flows, accounts, money = ledger.flows, ledger.accounts, ledger.money
    paid = flows.revenue.sum()
    # Every pound paid is local or leaked, to the penny, leg by leg and in total.
    assert np.all(np.abs(flows.revenue - flows.local - flows.leaked) < PENNY)
    assert abs(paid - money["local"].sum() - money["leaked"].sum()) < PENNY
    # What councils paid is what providers received.
    assert abs(money["paid"].sum() - accounts["revenue"].sum()) < PENNY
    # Provider accounts: revenue = costs + surplus, and cash moves by what is kept.
    assert np.all(np.abs(accounts["revenue"] - accounts["cost"] - accounts["surplus"]) < PENNY)
    p = model.providers
    untouched = (
        p.alive[:n_before]
        & (p.kind[:n_before] != ProviderKind.INHOUSE)
        & (ledger.contagion_loss == 0)
    )
    kept = accounts["surplus"] - accounts["dividends"] - accounts["interest"]
    delta = p.cash[:n_before] - cash_before
    assert np.all(np.abs((delta - kept[:n_before])[untouched]) < PENNY)

    m = model.metrics
    shares = m["share_outsourcer"] + m["share_mutual"] + m["share_inhouse"]
    held = (model.contracts.view("holder") >= 0).any()
    assert abs(shares - 1.0) < 1e-9 if held else shares == 0.0
    assert 0.0 <= m["service_delivered"] <= 1.0
    assert 0.0 <= m["local_share"] <= 1.0 + 1e-12
    # No live contract is held by, or subcontracted to, a failed provider.
    holder = model.contracts.view("holder")
    assert np.all(p.alive[holder[holder >= 0]])
    sub = model.contracts.view("subcontractor")
    assert np.all(p.alive[sub[sub >= 0]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold_every_quarter(data):
    model = CommissioningModel(data)
    while model.running:
        n_before = model.providers.n
        cash_before = model.providers.cash[:n_before].copy()
        model.step()
        check_quarter(model, cash_before, n_before)


def test_money_reconciles_over_a_baseline_run():
    """Over a whole default run, the reported £m add up: spend = local + leaked."""
    ts = CommissioningModel(**{"scenario.quarters": 40}).run().timeseries()
    assert np.allclose(ts["spend"], ts["local_reinvestment"] + ts["leaked"], atol=PENNY / 1e6)
    assert ts["spend"].gt(0).all()
