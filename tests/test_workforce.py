"""The workforce (sim.core.workforce): hiring from each area's pool, vacancies as unmet need,
and the wage floor."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.delivery import deliver_and_pay
from sim.core.engine import Simulation
from sim.core.shocks import apply_shock
from sim.core.state import ProviderTable
from sim.core.workforce import hire, pay_wage_floor, vacancy_rate
from sim.scenario import Shock
from tests.helpers import small
from tests.test_mechanisms import MUTUAL, OUTSOURCER, hand_built_market, let_contracts, scenario

NO_FAILURE = {
    "outsourcers.failure_hazard": 0.0,
    "mutuals.failure_hazard": 0.0,
    "local_firms.failure_hazard": 0.0,
}


def hired(vacant, pool, turnover=0.0, holder=(0, 1, 2, -1), pay=(1.0, 0.9, 0.9, 0.0)):
    """Vacant posts after :func:`hire` on four contracts of 100 in one council."""
    holder, pay = np.array(holder), np.array(pay)
    council = np.zeros(4, np.int64)
    order = np.lexsort((-pay, council))
    return hire(
        order, council, np.full(4, 100.0), holder, np.array(vacant, float), pay,
        np.array([pool], float), turnover,
    )  # fmt: skip


def test_the_best_payer_fills_its_vacancies_first_and_equal_pay_shares():
    # 180 workers employed of a pool of 240: 60 free. The best payer's 40 vacancies fill
    # first; the other two share the 20 left pro rata (10 of 40 each); a gap's posts are vacant.
    assert hired([40.0, 40.0, 40.0, 100.0], 240.0) == pytest.approx([0.0, 30.0, 30.0, 100.0])
    # Enough workers: every post is filled.
    assert hired([40.0, 40.0, 40.0, 0.0], 1000.0) == pytest.approx([0.0, 0.0, 0.0, 100.0])


def test_leavers_are_not_free_until_the_next_quarter():
    # Fully staffed, pool exactly the staff: a tenth leave, and none can be hired back now.
    out = hired([0.0, 0.0, 0.0, 100.0], 300.0, turnover=0.1)
    assert out == pytest.approx([10.0, 10.0, 10.0, 100.0])
    # The gap's staff left it: they are free for the held contracts (best payer first).
    out = hired([0.0, 0.0, 0.0, 0.0], 400.0, turnover=0.1)
    assert out == pytest.approx([0.0, 0.0, 0.0, 100.0])
    assert vacancy_rate(np.array([0, 1, 2, -1]), np.full(4, 100.0), out) == 0.0


def test_a_wage_floor_lifts_low_pay_and_the_cost_that_goes_with_it():
    p = ProviderTable()
    p.extend(3, cost_factor=np.array([0.9, 1.0, 1.2]))
    pay_wage_floor(p, slice(0, 3), 1.0, 0.7)
    assert p.view("wage") == pytest.approx([1.0, 1.0, 1.2])
    # A 0.9 payer lifted to 1.0 pays 11% more on the 70% of its cost that is pay.
    assert p.view("cost_factor") == pytest.approx([0.9 * (1 + 0.7 * (1 / 0.9 - 1)), 1.0, 1.2])
    pay_wage_floor(p, slice(0, 3), 1.0, 0.7)  # set once: a second call changes nothing
    assert p.view("cost_factor")[0] == pytest.approx(0.97)


def test_vacant_posts_are_service_not_delivered():
    market = hand_built_market()
    let_contracts(market)
    market.contracts.vacant[2] = 25.0  # a quarter of the outsourcer's contract in B
    deliver_and_pay(market, scenario())
    money = market.ledger.money
    assert money["unstaffed"] == pytest.approx([0.0, 25.0])
    assert money["delivered"][1] == pytest.approx(75.0)
    # Paid for what it delivers; its costs follow the work (100 x 0.9 x 0.75).
    assert market.ledger.accounts["cost"][OUTSOURCER] == pytest.approx(90.0 + 67.5)


def test_a_tight_labour_pool_leaves_need_unmet_without_any_failure():
    runs = {}
    for ratio in (1.1, 0.9):
        sim = Simulation(**small(**NO_FAILURE, **{"workforce.pool_ratio": ratio}), rng=3).run()
        runs[ratio] = sim.series()
    loose, tight = runs[1.1], runs[0.9]
    assert loose["unmet_need_staff"].sum() == 0 and loose["vacancy_rate"].max() == 0
    assert tight["unmet_need_staff"][4:].min() > 0
    # At steady state the vacancies are what turnover leaves a short pool: 1 - 0.9 / (1 + q).
    q = 1 - 0.72**0.25
    assert tight["vacancy_rate"][-1] == pytest.approx(1 - 0.9 / (1 + q), abs=0.02)
    assert tight["failures"].sum() == 0
    assert tight["service_delivered"][-1] < loose["service_delivered"][-1]


def test_a_wage_floor_raises_cost_and_fills_the_low_payers_posts():
    def lowest_payers(floor: float, seed: int) -> tuple[float, float]:
        """Mean cost factor of the providers paying least (below 0.95 of the going wage
        before any floor), and the share of their contracts' posts vacant at the end, in a
        tight pool."""
        overrides = {"workforce.pool_ratio": 0.95, "workforce.wage_floor": floor}
        sim = Simulation(**small(**NO_FAILURE, **overrides), rng=seed).run()
        p, ct = sim.providers, sim.contracts
        cost, wage = p.view("cost_factor"), p.view("wage")
        # the pay each started on: a lifted provider's cost factor less the floor's rise
        share = sim.params.workforce.labour_share
        before = np.where(wage > cost, (cost - share * wage) / (1 - share), cost)
        low = np.flatnonzero((before < 0.95) & p.view("alive"))
        held = np.isin(ct.view("holder"), low)
        vacant = ct.view("vacant")[held].sum() / ct.view("reference")[held].sum()
        return float(cost[low].mean()), float(vacant)

    # A floor of 0.98 lifts them above nobody but level with the next lowest payers: they
    # pay more, cost more, and fill vacancies they left to others before (paired seeds).
    for seed in (5, 6, 7):
        cost_none, vacant_none = lowest_payers(0.0, seed)
        cost_floor, vacant_floor = lowest_payers(0.98, seed)
        assert cost_floor > cost_none
        assert vacant_floor < vacant_none


def test_a_wage_floor_shock_lifts_low_pay_and_passes_the_uplift_share_into_fees():
    market = hand_built_market()
    let_contracts(market)
    p = market.providers
    pay_wage_floor(p, slice(0, p.n), 0.0, 0.7)  # as the model starts: pay = cost factor
    shock = Shock(kind="wage_floor", quarter=1, magnitude=1.0)
    apply_shock(market, shock, scenario(fee_uplift=0.5), np.random.default_rng(0))
    # The outsourcer (cost factor 0.9) is lifted to the going wage: its cost rises by 0.7 of
    # the 11% pay rise; the mutual (1.0) and the in-house units (1.1) are not touched.
    rise = 0.7 * (1 / 0.9 - 1)
    assert p.view("wage").tolist() == pytest.approx([1.1, 1.1, 1.0, 1.0])
    assert p.cost_factor[OUTSOURCER] == pytest.approx(0.9 * (1 + rise))
    assert p.cost_factor[MUTUAL] == 1.0 and market.wage_floor == 1.0
    # Its running contracts' fees rise by the fee uplift's share of its cost rise.
    assert market.contracts.view("price")[1:] == pytest.approx([150 * (1 + 0.5 * rise)] * 2)
    # A lower floor later changes nothing.
    apply_shock(market, shock.model_copy(update={"magnitude": 0.5}), scenario(), None)
    assert market.wage_floor == 1.0 and p.cost_factor[OUTSOURCER] == pytest.approx(0.97)


def test_providers_entering_after_a_wage_floor_shock_pay_at_least_the_floor():
    shocks = [{"kind": "wage_floor", "quarter": 2, "magnitude": 1.0}]
    sim = Simulation(**small(**{"local_firms.entry_rate": 2.0}), shocks=shocks, rng=4).run()
    p = sim.providers
    assert sim.series()["entries"][3:].sum() > 0  # firms entered after the shock
    assert sim.market.wage_floor == 1.0
    assert p.view("wage").min() >= 1.0
    assert (p.view("cost_factor") > 0.97).all()  # the cheapest (0.92) were lifted
