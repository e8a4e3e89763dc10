"""A market that lives (issue 21): firms learn the margins their bids earn, close when they
have no work, enter where margins or unmet need attract them; councils remember failures
and can bring work back in-house by choice. Unit tests on the hand-built market of
tests/test_mechanisms.py, then whole runs showing each mechanism acts."""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.delivery import deliver_and_pay
from sim.core.engine import Simulation
from sim.core.entry import closures, entries, entry_rates
from sim.core.inhouse import refresh_inhouse_prices
from sim.core.learning import learn_margins, remember_failures, weighed_price
from sim.core.state import ProviderKind
from sim.core.tender_round import tender
from sim.scenario import Scenario
from tests.test_mechanisms import (
    MUTUAL,
    OUTSOURCER,
    UNIT_A,
    hand_built_market,
    let_contracts,
    scenario,
)


def test_a_firm_learns_the_gap_between_its_mark_up_and_the_margin_its_books_show():
    market = hand_built_market()
    let_contracts(market)
    p = market.providers
    p.learning_rate[[OUTSOURCER, MUTUAL]] = 0.5
    params = Scenario.model_validate({"councils": {"budget_headroom": 5.0}})
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)
    deliver_and_pay(market, params)
    learn_margins(market)
    acc = market.ledger.accounts
    earned = acc["surplus"][OUTSOURCER] / acc["cost"][OUTSOURCER]
    # Half way from 0 to (mark-up 10% - the margin earned): here it earns more than it asks.
    assert p.margin_gap[OUTSOURCER] == pytest.approx(0.5 * (0.1 - earned))
    assert p.margin_gap[UNIT_A] == 0.0  # a council's own unit does not learn to bid


def test_a_firm_never_bids_below_its_target_margin_plus_what_bidding_loses_it():
    market = hand_built_market()
    p = market.providers
    p.markup[OUTSOURCER] = 0.0  # at its floor of 0 ...
    p.target_margin[OUTSOURCER] = 0.04
    p.margin_gap[OUTSOURCER] = 0.03  # ... but its books show bidding loses it 3 points
    params = Scenario.model_validate({"commissioning": {"bid_error": 0.0}})
    tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    assert p.markup[OUTSOURCER] >= 0.04 + 0.03


def test_a_council_remembers_the_share_of_its_value_it_saw_disrupted():
    market = hand_built_market()
    market.ledger.disrupted_value[:] = [50.0, 0.0]  # A saw a quarter of its 200 disrupted
    remember_failures(market, 0.1)
    # a quarter's quarter is a yearly share of 1: a tenth of the way there
    assert market.councils.failure_risk.tolist() == pytest.approx([0.1, 0.0])
    market.ledger.disrupted_value[:] = 0.0
    remember_failures(market, 0.1)
    assert market.councils.failure_risk.tolist() == pytest.approx([0.09, 0.0])


def test_a_council_that_remembers_failures_brings_a_service_back_by_choice():
    """The in-house unit (cost 1.1) loses A's contracts to the outsourcer (price 0.99 x 1.1)
    until the council counts the failure risk it remembers."""
    params = Scenario.model_validate(
        {"commissioning": {"bid_error": 0.0, "price_weight": 1.0, "quality_weight": 0.0,
                           "social_value_weight": 0.0, "local_preference": 0.0}}
    )  # fmt: skip
    calm = hand_built_market()
    calm.providers.capacity[MUTUAL] = 0.0
    tender(calm, np.array([1]), params, np.random.default_rng(0), allow_inhouse=True)
    assert calm.contracts.holder[1] == OUTSOURCER
    burnt = hand_built_market()
    burnt.providers.capacity[MUTUAL] = 0.0
    burnt.councils.failure_risk[0] = 0.2  # 1 + 1.5 x 0.2: the outsourcer's price counts 30% more
    tender(burnt, np.array([1]), params, np.random.default_rng(0), allow_inhouse=True)
    assert burnt.contracts.holder[1] == UNIT_A


def test_an_in_house_unit_with_no_room_bids_with_the_cost_of_rebuilding():
    params = Scenario.model_validate(
        {"commissioning": {"bid_error": 0.0, "price_weight": 1.0, "quality_weight": 0.0,
                           "social_value_weight": 0.0, "local_preference": 0.0},
         "councils": {"inhouse_rebuild_cost": 0.0}}
    )  # fmt: skip
    market = hand_built_market()
    p, ct = market.providers, market.contracts
    p.capacity[[OUTSOURCER, MUTUAL, UNIT_A]] = 0.0  # no one has room: A's unit rebuilds
    tender(market, np.array([0]), params, np.random.default_rng(0), allow_inhouse=True)
    assert ct.holder[0] == UNIT_A and ct.price[0] == pytest.approx(110.0)
    market = hand_built_market()
    market.providers.capacity[[OUTSOURCER, MUTUAL, UNIT_A]] = 0.0
    costly = params.model_copy(deep=True)
    costly.councils.inhouse_rebuild_cost = 0.1
    tender(market, np.array([0]), costly, np.random.default_rng(0), allow_inhouse=True)
    assert market.contracts.price[0] == pytest.approx(121.0)


def test_a_firm_with_no_work_for_its_closure_quarters_closes_and_no_sooner():
    market = hand_built_market()
    let_contracts(market)
    p, ct = market.providers, market.contracts
    p.closure_quarters[[OUTSOURCER, MUTUAL]] = 2
    ct.subcontractor[1] = -1  # the mutual has no work
    for quarter, alive in ((1, True), (2, True), (3, False)):
        market.quarter = quarter
        closures(market)
        assert bool(p.alive[MUTUAL]) is alive, quarter
    assert p.closed_at[MUTUAL] == 3 and p.failed_at[MUTUAL] == -1  # closed, not failed
    assert p.alive[OUTSOURCER] and market.ledger.closures == 1
    assert p.alive[UNIT_A]  # a council's unit never closes (no closure_quarters)


def test_margins_above_target_and_unmet_need_draw_new_local_firms():
    market = hand_built_market()
    let_contracts(market)
    section = Scenario().local_firms.model_copy(update={"entry_rate": 1.0, "target_margin": 0.05})
    # The outsourcer's contracts earn 150 / (100 x 0.9) - 1 = 67%: 12.3 targets above in A
    # and B; no unmet need.
    rates = entry_rates(market, section)
    assert rates == pytest.approx([(0.6667 - 0.05) / 0.05] * 2, rel=1e-3)
    market.contracts.holder[2] = -1  # B's contract unmet: a tenth of B's value is 1 unit
    assert entry_rates(market, section)[1] == pytest.approx(100.0 / 100.0 / 0.1)
    before = market.providers.n
    rows = entries(market, section, np.random.default_rng(0))
    p = market.providers
    assert rows.size == p.n - before and rows.size > 0
    assert (p.kind[rows] == ProviderKind.LOCAL_FIRM).all() and (p.home[rows] >= 0).all()
    assert market.ledger.entries == rows.size
    # it starts in debt by its entry cost (years of its capacity)
    start = (section.reserves - section.debt - section.entry_cost) * 4 * p.capacity[rows]
    assert p.cash[rows] == pytest.approx(start)
    assert entries(market, section.model_copy(update={"entry_rate": 0.0}), None).size == 0


SMALL = {"network.councils": 20, "scenario.quarters": 32, "mutuals.count": 8,
         "local_firms.count": 40}  # fmt: skip


def _summary(seed: int, **overrides: float) -> dict:
    return Simulation(rng=seed, **SMALL, **overrides).run().summary()


def test_in_a_whole_run_firms_enter_and_close_and_margins_stay_above_the_floor():
    runs = [_summary(seed) for seed in range(3)]
    assert all(r["entries_total"] > 0 and r["closures_total"] > 0 for r in runs)
    # most trading firms make a surplus, and the median margin is positive
    assert np.mean([r["mean_share_in_profit"] for r in runs]) > 0.6
    assert np.mean([r["mean_median_margin"] for r in runs]) > 0.0
    still = [_summary(seed, **{"local_firms.entry_rate": 0.0}) for seed in range(3)]
    assert all(r["entries_total"] == 0 for r in still)


def test_in_a_whole_run_learning_margins_raises_them_above_no_learning():
    off = {f"{s}.learning_rate": 0.0 for s in ("outsourcers", "mutuals", "local_firms")}
    off |= {f"{s}.target_margin": 0.0 for s in ("outsourcers", "mutuals", "local_firms")}
    learnt = np.mean([_summary(s)["mean_median_margin"] for s in range(3)])
    naive = np.mean([_summary(s, **off)["mean_median_margin"] for s in range(3)])
    assert learnt > naive + 0.005


def test_in_a_whole_run_councils_that_remember_a_collapse_take_more_work_in_house():
    collapse = [{"kind": "provider_collapse", "quarter": 8, "target": "largest_outsourcer"}]
    shocked = {
        "shocks": collapse,
        "councils.inhouse_rebuild_cost": 0.0,
        "councils.inhouse_cost": 1.0,
    }
    learn = [Simulation(rng=s, **SMALL, **shocked).run().summary()["final_share_inhouse"]
             for s in range(3)]  # fmt: skip
    forget = [
        Simulation(rng=s, **SMALL, **shocked, **{"councils.failure_aversion": 0.0})
        .run()
        .summary()["final_share_inhouse"]
        for s in range(3)
    ]
    assert np.mean(learn) > np.mean(forget)


def test_a_council_that_remembers_failures_weighs_a_firm_by_the_share_it_would_hold():
    # The outsourcer already delivers council A's first contract; the second is on offer.
    weights = {"social_value_weight": 0.0, "local_preference": 0.0}
    params = scenario(price_weight=1.0, quality_weight=0.0, **weights)

    def winner(concentration: float) -> int:
        m = hand_built_market()
        m.contracts.place(0, OUTSOURCER, price=99.0, start=0, end=20, emergency=False)
        m.councils.failure_risk[0] = 0.2
        councils = params.councils.model_copy(update={"concentration_aversion": concentration})
        p = params.model_copy(update={"councils": councils})
        tender(m, np.array([1]), p, np.random.default_rng(0), allow_inhouse=False)
        return int(m.contracts.holder[1])

    # Bids 99 (outsourcer) against 105 (mutual). Weighing risk alike, the cheaper wins; the
    # outsourcer would then hold all of A's service (exposure 1) against the mutual's half:
    # 99 x (1 + 1.5 x 0.2 x (1 + 2 x 1)) = 188.1 > 105 x (1 + 1.5 x 0.2 x (1 + 2 x 0.5)) = 168.
    assert winner(0.0) == OUTSOURCER
    assert winner(2.0) == MUTUAL
    assert weighed_price(99.0, 1.5, 0.2, 2.0, 1.0) == pytest.approx(188.1)
    assert weighed_price(99.0, 1.5, 0.0, 2.0, 1.0) == 99.0  # no failure seen: the bid as it is


def test_in_a_whole_run_councils_that_fear_concentration_spread_work_after_a_collapse():
    collapse = [{"kind": "provider_collapse", "quarter": 8, "target": "largest_outsourcer"}]

    def hhi(aversion: float) -> float:
        over = {"shocks": collapse, "councils.concentration_aversion": aversion}
        return np.mean([_summary(s, **over)["final_hhi"] for s in range(3)])

    assert hhi(20.0) < hhi(0.0)
