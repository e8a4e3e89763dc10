"""Where the councils' money goes: losses are not local money, and transition costs are spend.

Hand-built arrays and the hand-built market of tests/test_mechanisms.py; no model.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.delivery import deliver_and_pay, quarter_flows
from sim.core.failure import insolvencies
from sim.core.inhouse import refresh_inhouse_prices
from sim.core.state import ProviderKind
from sim.scenario import Scenario
from tests.test_mechanisms import OUTSOURCER, hand_built_market, let_contracts

KINDS = np.array([ProviderKind.OUTSOURCER, ProviderKind.MUTUAL, ProviderKind.INHOUSE])
SHARE = np.array([0.4, 0.75, 0.8])


def legs(revenue: list[float], cost: list[float]):
    """One leg per provider type (outsourcer, mutual, in-house), paid by council 0."""
    n = len(revenue)
    return quarter_flows(
        np.arange(n),
        np.arange(n),
        np.zeros(n, dtype=int),
        np.array(revenue),
        np.array(cost),
        KINDS,
        SHARE,
    )


def test_a_profitable_leg_keeps_its_costs_local_in_share_and_its_surplus_by_ownership():
    flows = legs([100.0, 100.0], [90.0, 90.0])
    # Outsourcer: 40% of costs local, the surplus leaves; mutual: 75% of costs and the surplus.
    assert flows.local == pytest.approx([36.0, 67.5 + 10.0])
    assert flows.leaked == pytest.approx([54.0 + 10.0, 22.5])


def test_a_loss_making_leg_splits_only_the_councils_pounds():
    """A leg costing 120 on revenue 100 spends 20 of the provider's own cash: the council's 100
    is split in the cost shares, and no more of it counts as local than it paid."""
    flows = legs([100.0, 100.0], [120.0, 120.0])
    assert flows.local == pytest.approx([40.0, 75.0])
    assert flows.leaked == pytest.approx([60.0, 25.0])
    assert (flows.local >= 0).all() and (flows.leaked >= 0).all()
    # The local share of a loss-making leg is its local cost share, not more.
    assert flows.local / flows.revenue == pytest.approx(SHARE[:2])


def test_transition_costs_are_council_spend_split_local_and_leaked():
    market = hand_built_market()
    let_contracts(market)
    params = Scenario.model_validate(
        {
            "commissioning": {"transition_cost": 0.03, "transition_local_share": 0.5},
            "outsourcers": {"subcontract_share": 0.0},
        }
    )
    market.providers.cash[OUTSOURCER] = -51.0  # insolvent: both its contracts are disrupted
    insolvencies(market, params, np.random.default_rng(0))
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)
    deliver_and_pay(market, params)
    money, accounts = market.ledger.money, market.ledger.accounts
    # One contract of 100 a quarter in each council: 3% of 400 a year each.
    assert money["transition"] == pytest.approx([12.0, 12.0])
    assert money["paid"].sum() == pytest.approx(accounts["revenue"].sum() + 24.0)
    assert money["paid"] == pytest.approx(money["local"] + money["leaked"])
    flows = market.ledger.flows
    assert money["local"].sum() == pytest.approx(flows.local.sum() + 12.0)
