"""Where the councils' money goes: losses are not local money, and transition costs are spend.

Hand-built arrays and the hand-built market of tests/test_mechanisms.py; no model.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.delivery import Flows, deliver_and_pay, local_and_leaked
from sim.core.failure import insolvencies
from sim.core.inhouse import refresh_inhouse_prices
from sim.scenario import Scenario
from tests.test_mechanisms import OUTSOURCER, hand_built_market, let_contracts

# Three providers: a national firm paying out 80% of a surplus to owners elsewhere, a firm
# based in council 0 paying out nothing, and one based in council 1 paying out half to owners
# living there.
HOME = np.array([-1, 0, 1])
EXTRACTION = np.array([0.8, 0.0, 0.5])
OWNERS_LOCAL = np.array([0.0, 1.0, 1.0])
SHARE = np.array([0.4, 0.75, 0.8])


def legs(revenue: list[float], cost: list[float], council: list[int] | None = None) -> Flows:
    """One leg per provider above, paid by council 0 (or by ``council``, leg by leg)."""
    n = len(revenue)
    paying = np.zeros(n, dtype=np.int64) if council is None else np.array(council)
    revenue_, cost_ = np.array(revenue), np.array(cost)
    provider = np.arange(n)
    local, leaked = local_and_leaked(
        provider, paying, revenue_, cost_, HOME, EXTRACTION, OWNERS_LOCAL, SHARE
    )
    return Flows(provider, provider, paying, revenue_, cost_, local, leaked)


def test_a_profitable_leg_keeps_its_costs_local_in_share_and_its_surplus_where_it_lands():
    flows = legs([100.0, 100.0, 100.0], [90.0, 90.0, 90.0])
    # National firm: 40% of costs local, the surplus leaves. Firm based in council 0: 75% of
    # costs and its whole surplus (retained there). Firm based next door: 80% of its costs
    # (its staff work here) but its surplus lands where it is based, not here.
    assert flows.local == pytest.approx([36.0, 67.5 + 10.0, 72.0])
    assert flows.leaked == pytest.approx([54.0 + 10.0, 22.5, 18.0 + 10.0])


def test_a_surplus_lands_at_home_in_the_share_kept_there():
    flows = legs([100.0], [90.0], council=[0])
    assert flows.local[0] == pytest.approx(36.0)  # based nowhere: all of the surplus leaves
    # The firm based in council 1, paid by council 1, pays out half to owners living there:
    # all of its surplus stays (retained 5, paid out 5 to local owners).
    local, _ = local_and_leaked(
        np.array([2]), np.array([1]), np.array([100.0]), np.array([90.0]),
        HOME, EXTRACTION, np.array([0.0, 1.0, 0.4]), SHARE,
    )  # fmt: skip
    assert local[0] == pytest.approx(72.0 + 5.0 + 0.4 * 5.0)


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
            "councils": {"idle_capacity_cost": 0.0},
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
