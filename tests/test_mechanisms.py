"""Each mechanism on its own, on small hand-built tables (no model, no Mesa).

The market: two councils (A, B; not neighbours); council A's in-house unit has room, B's has
none; one national outsourcer and one mutual based in A; three contracts, two in A, one in B.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.core.bidders import passes_financial_check
from sim.core.budgets import rationing, spending_limit
from sim.core.delivery import (
    deliver_and_pay,
    handback_tolerance,
    headroom,
)
from sim.core.failure import end_administration, fail_provider, handbacks, insolvencies, leave_gaps
from sim.core.inhouse import refresh_inhouse_prices
from sim.core.neighbours import Neighbours
from sim.core.price_review import review_prices
from sim.core.shocks import apply_shock
from sim.core.spinouts import spin_outs
from sim.core.state import (
    KINDS,
    ContractBook,
    CouncilTable,
    Market,
    ProviderKind,
    ProviderTable,
    provider_values,
)
from sim.core.state import QuarterLedger as Ledger
from sim.core.tender_round import tender
from sim.core.tendering import social_value_scores
from sim.core.trust import trust_target, update_trust
from sim.scenario import Scenario, Shock

UNIT_A, UNIT_B, OUTSOURCER, MUTUAL = 0, 1, 2, 3
FIRM_COLUMNS = (
    "name",
    "kind",
    "home",
    "capacity",
    "cash",
    "credit_limit",
    "markup",
    "cost_factor",
    "quality",
    "social_value_score",
    "local_cost_share",
    "extraction",
)


def hand_built_market() -> Market:
    """The market above, before any contract is let."""
    p = ProviderTable()
    unit = {
        "kind": ProviderKind.INHOUSE,
        "cost_factor": 1.1,
        "quality": 0.6,
        "local_cost_share": 0.9,
    }
    p.add(name="A in-house", home=0, capacity=300.0, **unit)
    p.add(name="B in-house", home=1, capacity=0.0, **unit)
    firm = {"markup_min": 0.0, "markup_max": 0.3, "markup_step": 0.01}
    # name, kind, home, capacity, cash, credit limit, mark-up, cost factor, quality,
    # social value score, local cost share, profit extraction
    for row in [
        ("Outsourcer A", ProviderKind.OUTSOURCER, -1, 1000, 100, 50, 0.1, 0.9, 0.5, 0.3, 0.4, 0.5),
        ("A Mutual 1", ProviderKind.MUTUAL, 0, 200, 50, 20, 0.05, 1.0, 0.7, 0.8, 0.9, 0.0),
    ]:
        p.add(**dict(zip(FIRM_COLUMNS, row, strict=True)), **firm)
    p.takes_subcontracts[MUTUAL] = True  # the outsourcer subcontracts none (tests set it)
    ct = ContractBook()
    for council in (0, 0, 1):
        ct.add(council=council, reference=100.0, end=0)
    councils = CouncilTable(
        name=["A", "B"],
        budget=np.array([1600.0, 800.0]),
        near=Neighbours.from_edges(2, [], []),
        trust=np.full(2, 0.5),
        total=np.array([200.0, 100.0]),
        inhouse_unit=np.array([UNIT_A, UNIT_B]),
        inhouse_capacity=np.array([300.0, 0.0]),
    )
    return Market(
        providers=p,
        contracts=ct,
        councils=councils,
        ledger=Ledger(2),
        cost_level=np.ones(KINDS),
        demand_factor=np.ones(9),
        health_log=[headroom(p)],
        quarter=1,
    )


def scenario(**commissioning: float) -> Scenario:
    """Defaults with exact bids (no estimate error) and no subcontracting, unless overridden."""
    return Scenario.model_validate(
        {
            "commissioning": {"bid_error": 0.0, **commissioning},
            "outsourcers": {"subcontract_share": 0.0},
        }
    )


def test_the_best_score_wins_while_it_has_room():
    market = hand_built_market()
    market.providers.capacity[MUTUAL] = 100.0  # room for one contract
    weights = {"social_value_weight": 0.0, "local_preference": 0.0}
    params = scenario(price_weight=0.6, quality_weight=0.4, **weights)
    gaps = tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    # In A the mutual scores 0.6 x 99 / 105 + 0.4 x 0.7 = 0.846 against the outsourcer's
    # 0.6 x 1 + 0.4 x 0.5 = 0.8; it has room for one of A's two contracts only.
    ct = market.contracts
    assert gaps.size == 0
    assert sorted(ct.holder[:2].tolist()) == [OUTSOURCER, MUTUAL] and ct.holder[2] == OUTSOURCER
    holder, price = ct.view("holder"), ct.view("price")
    assert price[holder == MUTUAL] == pytest.approx([105.0])
    assert price[holder == OUTSOURCER] == pytest.approx([99.0, 99.0])


def test_a_price_led_tender_goes_to_the_cheapest_and_teaches_the_bidders():
    market = hand_built_market()
    params = scenario(price_weight=1.0, quality_weight=0.0)
    gaps = tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    ct, p = market.contracts, market.providers
    assert gaps.size == 0
    # The outsourcer bids 100 x 0.9 x 1.1 = 99 against the mutual's 105 (which reaches A only).
    assert ct.view("holder").tolist() == [OUTSOURCER] * 3
    assert ct.view("price") == pytest.approx([99.0] * 3)
    terms = ct.view("end") - ct.view("start")
    assert ((terms >= 4 * 2) & (terms <= 4 * 7) & (terms % 4 == 0)).all()
    # Won all it bid for: its mark-up rises a step; the mutual lost both: it cuts a step.
    assert p.markup[OUTSOURCER] == pytest.approx(0.11)
    assert p.markup[MUTUAL] == pytest.approx(0.04)


def test_a_social_value_led_tender_goes_to_the_local_mutual_where_it_reaches():
    market = hand_built_market()
    params = scenario(price_weight=0.0, quality_weight=0.0, social_value_weight=1.0)
    tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    assert market.contracts.view("holder").tolist() == [MUTUAL, MUTUAL, OUTSOURCER]


def test_a_bid_above_the_price_cap_is_not_taken():
    market = hand_built_market()
    market.councils.budget_factor[:] = 0.5  # cap 1.25 x 0.5 x 100 = 62.5: no bid fits
    gaps = tender(market, np.arange(3), scenario(), np.random.default_rng(0), allow_inhouse=False)
    assert gaps.tolist() == [0, 1, 2]
    assert (market.contracts.view("holder") == -1).all()


def let_contracts(market: Market) -> None:
    """Slot 0 in-house in A, slot 1 the outsourcer's with the mutual subcontracted, slot 2 the
    outsourcer's in B."""
    ct = market.contracts
    ct.place(0, UNIT_A, price=0.0, start=0, end=20, emergency=False)
    ct.place(1, OUTSOURCER, price=150.0, start=0, end=20, emergency=False)
    ct.place(2, OUTSOURCER, price=150.0, start=0, end=20, emergency=False)
    ct.subcontractor[1] = MUTUAL
    ct.subcontract_price[1] = 31.5  # the mutual's own price for 30%: 100 x 0.3 x 1.0 x 1.05


def test_a_providers_books_balance_after_a_quarter():
    market = hand_built_market()
    let_contracts(market)
    # A budget too wide to bind here: these prices are 1.5 x reference (budgets are tested below).
    market.providers.subcontract_share[OUTSOURCER] = 0.3
    params = Scenario.model_validate(
        {"councils": {"budget_headroom": 5.0, "idle_capacity_cost": 0.0}}
    )
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)
    cash_before = market.providers.view("cash").copy()
    deliver_and_pay(market, params)
    flows, accounts, money = market.ledger.flows, market.ledger.accounts, market.ledger.money
    # In-house work is paid at its cost: 100 x 1.1.
    assert market.contracts.price[0] == pytest.approx(110.0)
    # The outsourcer: 150 less the mutual's own price, plus 150; costs 70 x 0.9 + 100 x 0.9.
    assert accounts["revenue"][OUTSOURCER] == pytest.approx(150.0 - 31.5 + 150.0)
    assert accounts["cost"][OUTSOURCER] == pytest.approx(153.0)
    # The mutual is paid its own price (30 of work at cost 1.0, mark-up 5%), not 30% of 150.
    assert accounts["revenue"][MUTUAL] == pytest.approx(31.5)
    assert accounts["surplus"][MUTUAL] == pytest.approx(1.5)
    # Every pound paid is local or leaked; councils paid what providers received.
    assert flows.revenue == pytest.approx(flows.local + flows.leaked)
    assert money["paid"].sum() == pytest.approx(110.0 + 300.0)
    assert accounts["revenue"].sum() == pytest.approx(money["paid"].sum())
    # Cash moves by the surplus less dividends (50% of it) and interest (none: no debt).
    kept = accounts["surplus"] - accounts["dividends"] - accounts["interest"]
    assert market.providers.view("cash") - cash_before == pytest.approx(
        np.where(market.providers.view("kind") == ProviderKind.INHOUSE, 0.0, kept)
    )
    assert kept[OUTSOURCER] == pytest.approx(0.5 * 115.5)
    # The outsourcer's surplus leaves the area, with 60% of its costs.
    out = flows.provider == OUTSOURCER
    assert flows.leaked[out].sum() == pytest.approx(115.5 + 0.6 * 153.0)


def test_a_handback_goes_to_the_in_house_unit_with_room():
    market = hand_built_market()
    let_contracts(market)
    market.contracts.loss_streak[1] = 6  # past any holder's patience (at most 1.5 x 4)
    handbacks(market, scenario(handback_notice_quarters=0), np.random.default_rng(0))
    ct, ledger = market.contracts, market.ledger
    assert (ledger.handbacks, ledger.contracts_disrupted) == (1, 1)
    assert ct.holder[1] == UNIT_A and ct.emergency[1]
    assert ct.subcontractor[1] == -1 and ct.loss_streak[1] == 0
    assert ct.holder[2] == OUTSOURCER  # untouched
    assert ledger.councils_hit.tolist() == [True, False]
    assert market.events == [{"quarter": 1, "event": "handback", "contracts": 1}]


def test_an_insolvency_fails_every_contract_and_leaves_a_gap_where_no_one_can_step_in():
    market = hand_built_market()
    let_contracts(market)
    market.providers.cash[OUTSOURCER] = -51.0  # below its credit limit of 50
    insolvencies(market, scenario(), np.random.default_rng(0))
    p, ct = market.providers, market.contracts
    assert not p.alive[OUTSOURCER] and p.failed_at[OUTSOURCER] == 1
    assert market.ledger.failures == 1 and market.ledger.contracts_disrupted == 2
    assert ct.holder[1] == UNIT_A  # A's unit has room
    # B's unit has none and the mutual does not reach B: a gap until the re-tender.
    assert ct.holder[2] == -1 and ct.end[2] == 1 + 2
    assert market.events[0]["cause"] == "insolvency" and market.events[0]["contracts"] == 2


def test_an_outsourcer_starts_with_its_net_debt():
    section = Scenario().outsourcers.model_copy(update={"reserves": 0.03, "debt": 0.04})
    values = provider_values(section, 1000.0, np.random.default_rng(0))
    # (reserves - debt) x a year's capacity: it starts borrowing 40.
    assert values["cash"] == pytest.approx((0.03 - 0.04) * 4 * 1000.0)


def thin_margin_outsourcer(market: Market, cash: float) -> None:
    """The outsourcer holds slots 1 and 2 at 3% over its cost (100 x 0.9 x 1.03 = 92.7),
    borrowing at 1.25% a quarter, with ``cash`` in hand (negative: net debt)."""
    for slot in (1, 2):
        market.contracts.place(slot, OUTSOURCER, price=92.7, start=0, end=20, emergency=False)
    market.providers.cash[OUTSOURCER] = cash
    market.providers.interest_rate[OUTSOURCER] = 0.0125


def run_quarters(market: Market, params: Scenario, quarters: int) -> None:
    """Deliver, pay and check solvency for ``quarters`` quarters."""
    for _ in range(quarters):
        market.ledger.open()
        deliver_and_pay(market, params)
        insolvencies(market, params, np.random.default_rng(0))
        market.ledger.closed = True
        market.quarter += 1


@pytest.mark.parametrize(("cash", "survives"), [(-30.0, False), (10.0, True)])
def test_a_cost_shock_sinks_a_leveraged_thin_margin_outsourcer_and_not_an_unleveraged_one(
    cash, survives
):
    market = hand_built_market()
    thin_margin_outsourcer(market, cash)
    params = scenario()
    run_quarters(market, params, 1)  # before the shock: a surplus of 5.4, half paid out
    assert market.providers.cash[OUTSOURCER] == pytest.approx(cash + 2.7 - 0.0125 * max(-cash, 0.0))
    market.cost_level[:] = 1.1  # costs 99 a contract against a fixed price of 92.7
    run_quarters(market, params, 4)
    # Losing 12.6 a quarter plus interest: from 30 in debt the credit limit of 50 is gone in
    # two quarters; from 10 in hand, four quarters leave it about 38 in debt, still trading.
    assert bool(market.providers.alive[OUTSOURCER]) is survives


def test_a_failed_providers_books_are_closed():
    market = hand_built_market()
    thin_margin_outsourcer(market, -60.0)  # a quarter's surplus leaves it below -50
    params = scenario()
    run_quarters(market, params, 1)
    assert not market.providers.alive[OUTSOURCER]
    cash = market.providers.cash[OUTSOURCER]
    run_quarters(market, params, 3)
    # No flows and no interest after failure: its debt stays what it was.
    assert market.providers.cash[OUTSOURCER] == cash
    assert market.ledger.accounts["interest"][OUTSOURCER] == 0.0


def test_the_financial_check_reads_lagged_accounts_and_turns_weak_bidders_away():
    healthy, weak = np.array([0.5, 0.5]), np.array([0.5, 0.01])
    log = [healthy, weak, weak]
    # Accounts two quarters old still show the second provider healthy; this quarter's do not.
    assert passes_financial_check(log, 3, lag=2, threshold=0.02).tolist() == [True] * 3
    assert passes_financial_check(log, 3, lag=0, threshold=0.02).tolist() == [True, False, True]
    market = hand_built_market()
    headroom_now = market.health_log[0].copy()
    headroom_now[OUTSOURCER] = 0.01  # below the default threshold of 0.02 years of revenue
    market.health_log = [headroom_now] * 5
    params = scenario(price_weight=1.0, quality_weight=0.0)
    assert params.councils.due_diligence_threshold == 0.02
    gaps = tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    # Without the outsourcer, A's contracts go to the mutual (room for two) and B's is a gap.
    assert market.contracts.view("holder").tolist() == [MUTUAL, MUTUAL, -1]
    assert gaps.tolist() == [2]
    assert market.ledger.bidders_excluded == 1


def test_an_administrator_keeps_a_failed_providers_contracts_delivered_while_they_are_relet():
    market = hand_built_market()
    let_contracts(market)
    params = scenario(
        failure_regime="administration", administration_quarters=4, administration_cost=0.1
    )
    # Budgets out of the way: this test is about who delivers, not what councils can afford.
    params.councils.budget_headroom = 5.0
    ct, p = market.contracts, market.providers
    fail_provider(market, OUTSOURCER, "collapse", params, np.random.default_rng(0))
    cash = p.cash[OUTSOURCER]
    # Re-let at once: A's contract to a bidder in A, starting after mobilisation (2 quarters);
    # no one can take B's (its unit has no room, the mutual does not reach B).
    assert ct.holder[1] in (UNIT_A, MUTUAL) and ct.start[1] == 1 + 2
    assert ct.holder[2] == -1
    assert market.ledger.contracts_disrupted == 2
    for quarter in (1, 2, 3, 4):
        market.quarter = quarter
        refresh_inhouse_prices(market, params.commissioning.emergency_premium)
        deliver_and_pay(market, params)
        money = market.ledger.money
        # Every contract is delivered: by the administrator, or the new holder once started.
        assert money["delivered"].sum() == pytest.approx(300.0)
        administered = 150.0 * 1.1 * (2 if quarter < 3 else 1)
        assert (market.ledger.flows.provider == OUTSOURCER).sum() == (2 if quarter < 3 else 1)
        assert market.ledger.flows.revenue[market.ledger.flows.provider == OUTSOURCER].sum() == (
            pytest.approx(administered)
        )
        # The administrator's cost is an emergency cost (with the transition costs).
        assert money["emergency_cost"] == pytest.approx(
            administered / 11 + market.ledger.transition_cost
        )
        assert p.cash[OUTSOURCER] == cash  # its books are closed
    # Administration ends: what it could not re-let falls to the council's answers (a gap).
    market.quarter = 5
    market.ledger.reset()
    end_administration(market, params, np.random.default_rng(0))
    assert ct.holder[2] == -1 and market.ledger.contracts_disrupted == 1
    deliver_and_pay(market, params)
    assert market.ledger.money["delivered"].tolist() == pytest.approx([200.0, 0.0])


def test_without_an_administrator_a_failed_providers_contracts_are_answered_at_once():
    market = hand_built_market()
    let_contracts(market)
    fail_provider(market, OUTSOURCER, "collapse", scenario(), np.random.default_rng(0))
    # A's unit insources at once; B is left with a gap.
    assert market.contracts.holder[1] == UNIT_A and market.contracts.holder[2] == -1
    deliver_and_pay(market, scenario())
    assert market.ledger.money["delivered"][1] == 0.0


def test_a_subcontract_is_priced_at_the_subcontractors_own_price_and_lost_with_its_prime():
    market = hand_built_market()
    ct, p = market.contracts, market.providers
    market.cost_level[:] = 1.2
    p.subcontract_share[OUTSOURCER] = 0.3
    params = Scenario.model_validate(
        {"commissioning": {"bid_error": 0.0, "price_weight": 1.0, "quality_weight": 0.0}}
    )
    tender(market, np.arange(3), params, np.random.default_rng(0), allow_inhouse=False)
    # The outsourcer wins all three; in A it subcontracts to the mutual based there (none is
    # near B), at the mutual's own price for 30 of work: its unit cost now (1.0 x 1.2) and
    # mark-up 5%.
    assert ct.view("holder").tolist() == [OUTSOURCER] * 3
    assert ct.view("subcontractor").tolist() == [MUTUAL, MUTUAL, -1]
    assert ct.subcontract_price[:2] == pytest.approx([30.0 * 1.2 * 1.05] * 2)
    ct.end[:2] = 9
    cash = p.cash[MUTUAL]
    fail_provider(market, OUTSOURCER, "collapse", scenario(), np.random.default_rng(0))
    # Its prime fails in quarter 1: each quarter's invoice is written off its cash, and the 8
    # quarters left of each contract are volume lost; both are contagion.
    assert p.cash[MUTUAL] == pytest.approx(cash - 2 * 37.8)
    assert market.ledger.contagion_loss == pytest.approx(2 * (37.8 + 37.8 * 8))
    assert (ct.view("subcontractor") == -1).all()


def test_a_firm_near_its_credit_limit_counts_smaller_losses_towards_a_handback():
    tolerance = handback_tolerance(np.array([-0.1, 0.0, 0.05, 0.1, 0.2, 1.0]), 0.05, 0.1)
    assert tolerance == pytest.approx([0.0, 0.0, 0.025, 0.05, 0.1, 0.1])
    streaks = []
    for cash in (100.0, -45.0):  # headroom (cash + 50) / (4 x 250): 0.15, then 0.005
        market = hand_built_market()
        market.contracts.place(1, OUTSOURCER, price=95.0, start=0, end=20, emergency=False)
        market.providers.cash[OUTSOURCER] = cash
        market.cost_level[:] = 1.1  # costs 99: a loss of 4.2% of the price
        deliver_and_pay(market, scenario())
        streaks.append(int(market.contracts.loss_streak[1]))
    # The healthy firm tolerates 7.5% and carries on; the one near its limit, 0.25%.
    assert streaks == [0, 1]


@pytest.mark.parametrize(("bar", "holder"), [(12, -1), (0, OUTSOURCER)])
def test_a_provider_that_handed_a_contract_back_is_not_awarded_it_again_for_a_while(bar, holder):
    market = hand_built_market()
    let_contracts(market)
    market.contracts.loss_streak[2] = 6  # past any holder's patience (at most 1.5 x 4)
    params = scenario(handback_bar_quarters=bar, handback_notice_quarters=0)
    handbacks(market, params, np.random.default_rng(0))
    ct = market.contracts
    # Only the outsourcer could take B's contract in an emergency (B's unit has no room, the
    # mutual does not reach B): barred, B is left with a gap.
    assert ct.holder[2] == holder
    market.quarter = 3
    tender(market, np.array([2]), params, np.random.default_rng(0), allow_inhouse=True)
    assert ct.holder[2] == holder  # nor can it win the re-tender while barred
    if bar:
        market.quarter = 1 + bar  # the bar has run out: it may win it again
        tender(market, np.array([2]), params, np.random.default_rng(0), allow_inhouse=True)
        assert ct.holder[2] == OUTSOURCER


def test_a_handback_with_notice_is_delivered_then_retendered_without_disruption():
    market = hand_built_market()
    let_contracts(market)
    ct, ledger = market.contracts, market.ledger
    ct.loss_streak[1] = 6
    params = scenario(handback_notice_quarters=1)
    handbacks(market, params, np.random.default_rng(0))
    # Handed back: still delivered by its holder until the notice ends, nothing disrupted.
    assert ledger.handbacks == 1 and ledger.contracts_disrupted == 0
    assert ct.holder[1] == OUTSOURCER and ct.notice[1] and ct.end[1] == 1 + 1
    handbacks(market, params, np.random.default_rng(0))  # not handed back twice
    assert ledger.handbacks == 1
    # At the notice's end it is re-tendered: the mutual (A's only other bidder) takes it
    # over at once; the barred outsourcer is not extended.
    market.quarter = 2
    gaps = tender(market, np.array([1]), params, np.random.default_rng(0), allow_inhouse=False)
    assert gaps.size == 0 and ct.holder[1] == MUTUAL and not ct.notice[1]
    assert ledger.contracts_disrupted == 0


def test_a_handback_with_notice_no_one_takes_is_a_disruption_then():
    market = hand_built_market()
    let_contracts(market)
    ct, ledger = market.contracts, market.ledger
    ct.loss_streak[2] = 6  # B's contract: only the outsourcer reaches B
    params = scenario(handback_notice_quarters=1)
    handbacks(market, params, np.random.default_rng(0))
    market.quarter = 2
    gaps = tender(market, np.array([2]), params, np.random.default_rng(0), allow_inhouse=False)
    assert gaps.tolist() == [2] and ct.holder[2] == OUTSOURCER  # not extended ...
    leave_gaps(market, gaps, params, np.random.default_rng(0))
    assert ct.holder[2] == -1 and ledger.contracts_disrupted == 1  # ... but dropped now


def test_a_gap_is_rebuilt_in_house_after_its_time():
    market = hand_built_market()
    ct = market.contracts
    ct.disrupted_at[2] = 1
    market.quarter = 1 + 4  # inhouse_rebuild_quarters later
    leave_gaps(market, np.array([2]), scenario(), np.random.default_rng(0))
    assert ct.holder[2] == UNIT_B and ct.emergency[2]


def test_a_spin_out_takes_its_service_to_a_new_mutual():
    market = hand_built_market()
    let_contracts(market)
    params = Scenario.model_validate({"mutuals": {"spin_out_rate": 1.0}})
    new = spin_outs(market, params.mutuals, np.random.default_rng(0))
    p, ct = market.providers, market.contracts
    assert new == [4] and p.n == 5
    assert p.name[4] == "A Mutual 5" and p.kind[4] == ProviderKind.MUTUAL and p.home[4] == 0
    assert ct.holder[0] == 4 and not ct.emergency[0]
    m = params.mutuals
    assert ct.price[0] == pytest.approx(100.0 * m.cost_factor * (1 + m.markup_initial))
    assert ct.end[0] - ct.start[0] == 4 * m.spin_out_contract_years
    assert market.ledger.spin_outs == 1


def test_trust_moves_towards_what_commissioning_delivers_and_drops_with_disruption():
    tp = Scenario().trust
    money = {
        "required": np.array([100.0, 100.0]),
        "delivered": np.array([100.0, 50.0]),
        "paid": np.array([100.0, 100.0]),
        "local": np.array([80.0, 20.0]),
    }
    target = trust_target(money, tp)
    w = tp.weight_continuity + tp.weight_local
    assert target[0] == pytest.approx((tp.weight_continuity + 0.8 * tp.weight_local) / w)
    assert target[1] == pytest.approx((0.5 * tp.weight_continuity + 0.2 * tp.weight_local) / w)
    trust = np.array([0.5, 0.5])
    calm = update_trust(trust, target, np.zeros(2), np.array([100.0, 100.0]), tp)
    assert calm == pytest.approx(0.5 + tp.adjustment * (target - 0.5))
    hit = update_trust(trust, target, np.array([0.0, 50.0]), np.array([100.0, 100.0]), tp)
    assert hit[1] == pytest.approx(calm[1] - tp.failure_penalty * 0.5)


def test_a_council_over_its_budget_buys_less_of_every_contract():
    assert rationing(np.array([100.0, 300.0, 0.0]), np.array([200.0, 150.0, 10.0])) == (
        pytest.approx([1.0, 0.5, 1.0])
    )
    market = hand_built_market()
    let_contracts(market)  # A commissions 110 (in-house) + 150, B 150, on budgets of 200 and 100
    market.contracts.subcontractor[1] = -1  # no subcontract: the outsourcer's books stay simple
    params = Scenario.model_validate(
        {"councils": {"budget_headroom": 0.1, "idle_capacity_cost": 0.0}}
    )
    assert spending_limit(market.councils, 0.1) == pytest.approx([220.0, 110.0])
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)
    deliver_and_pay(market, params)
    money, accounts = market.ledger.money, market.ledger.accounts
    # Each council pays exactly its limit, buying the same share of each of its contracts.
    a, b = 220.0 / 260.0, 110.0 / 150.0
    assert money["bought"] == pytest.approx([a, b])
    assert money["paid"] == pytest.approx([220.0, 110.0])
    assert money["delivered"] == pytest.approx([200.0 * a, 100.0 * b])
    assert money["required"] == pytest.approx([200.0, 100.0])  # need does not fall
    # The outsourcer loses the revenue and the costs of the work not bought.
    assert accounts["revenue"][OUTSOURCER] == pytest.approx(150.0 * (a + b))
    assert accounts["cost"][OUTSOURCER] == pytest.approx(90.0 * (a + b))
    assert accounts["revenue"][UNIT_A] == pytest.approx(110.0 * a)
    # A budget cut lowers the limit with it; within the limit nothing is rationed.
    market.councils.budget_factor[:] = [2.0, 0.5]
    deliver_and_pay(market, params)
    assert market.ledger.money["bought"] == pytest.approx([1.0, 55.0 / 150.0])


def test_a_fee_uplift_passes_a_share_of_a_cost_shock_into_running_contracts():
    for uplift, expected in ((0.0, 150.0), (0.5, 165.0), (1.0, 180.0)):
        market = hand_built_market()
        let_contracts(market)
        market.contracts.place(0, MUTUAL, price=105.0, start=0, end=20, emergency=False)
        params = scenario(fee_uplift=uplift)
        shock = Shock(
            kind="cost_shock", quarter=1, magnitude=0.2, provider_types=["outsourcer", "inhouse"]
        )
        apply_shock(market, shock, params, np.random.default_rng(0))
        ct = market.contracts
        # The outsourcer's two contracts rise by the uplift's share of its 20% cost rise ...
        assert ct.view("price")[1:] == pytest.approx([expected, expected])
        # ... the mutual's cost did not rise, so neither does its price.
        assert ct.price[0] == pytest.approx(105.0)
        assert market.cost_level.tolist() == pytest.approx([1.2, 1.0, 1.2, 1.0])


def test_a_price_review_moves_prices_towards_the_award_price_indexed_to_cost():
    def reviewed(share: float, quarter: int = 4, uplift: float = 0.0) -> list[float]:
        market = hand_built_market()
        ct = market.contracts
        # Slot 0 in-house (priced at cost, never reviewed); slot 1 the outsourcer's from
        # quarter 0 at 99 = 100 x its unit cost 0.9 x 1.1; slot 2 the mutual's from quarter 2.
        ct.place(0, UNIT_A, price=0.0, start=0, end=20, emergency=False)
        ct.place(1, OUTSOURCER, price=99.0, start=0, end=20, emergency=False, unit_cost=0.9)
        ct.place(2, MUTUAL, price=105.0, start=2, end=20, emergency=False, unit_cost=1.0)
        shock = Shock(kind="cost_shock", quarter=1, magnitude=0.2)  # every type's cost +20%
        apply_shock(market, shock, scenario(fee_uplift=uplift), np.random.default_rng(0))
        market.quarter = quarter
        review_prices(market, share)
        return ct.view("price").tolist()

    # At its first anniversary the outsourcer's price moves towards 99 x 1.2 = 118.8; the
    # mutual's contract is half a year old and keeps its price; the in-house one is not reviewed.
    assert reviewed(0.0) == pytest.approx([0.0, 99.0, 105.0])
    assert reviewed(0.5) == pytest.approx([0.0, 99.0 + 0.5 * 19.8, 105.0])
    assert reviewed(1.0) == pytest.approx([0.0, 118.8, 105.0])
    assert reviewed(1.0, quarter=6) == pytest.approx([0.0, 99.0, 126.0])
    assert reviewed(1.0, quarter=5) == pytest.approx([0.0, 99.0, 105.0])  # no anniversary
    # A fee uplift at the shock moves prices to the same target: a review closes only the rest.
    assert reviewed(0.0, uplift=0.5) == pytest.approx([0.0, 108.9, 115.5])
    assert reviewed(1.0, uplift=0.5) == pytest.approx([0.0, 118.8, 115.5])
    assert reviewed(0.5, uplift=0.5) == pytest.approx([0.0, 113.85, 115.5])


def test_social_value_follows_from_what_a_provider_does():
    c = Scenario().commissioning
    # A national firm paying out 80%, a firm based in a council paying out nothing, one based
    # in a council paying half out to owners living there.
    home, extraction, owners = np.array([-1, 0, 3]), np.array([0.8, 0.0, 0.5]), np.zeros(3)
    owners[2] = 1.0
    local, commitments = np.array([0.4, 0.7, 0.7]), np.array([0.5, 0.5, 0.5])
    scores = social_value_scores(home, extraction, owners, local, commitments, c)
    # (local cost share + surplus kept where it is based + commitments) / 3, equal weights.
    assert scores == pytest.approx([(0.4 + 0 + 0.5) / 3, (0.7 + 1 + 0.5) / 3, (0.7 + 1 + 0.5) / 3])
    # Paying out to owners elsewhere lowers the reinvestment part in proportion.
    away = social_value_scores(home[1:2], np.array([0.5]), np.array([0.0]), local[1:2],
                               commitments[1:2], c)  # fmt: skip
    assert away[0] == pytest.approx((0.7 + 0.5 + 0.5) / 3)
    only_local = c.model_copy(
        update={"social_value_reinvestment_weight": 0.0, "social_value_commitments_weight": 0.0}
    )
    assert social_value_scores(home, extraction, owners, local, np.ones(3), only_local) == (
        pytest.approx(local)
    )


def test_idle_retained_capacity_is_paid_for_at_its_share_of_cost():
    market = hand_built_market()
    let_contracts(market)  # A's unit (capacity 300) delivers one contract of 100
    params = Scenario.model_validate(
        {"councils": {"budget_headroom": 5.0, "idle_capacity_cost": 0.25}}
    )
    refresh_inhouse_prices(market, params.commissioning.emergency_premium)
    deliver_and_pay(market, params)
    money, accounts = market.ledger.money, market.ledger.accounts
    # 200 of idle capacity at the unit's cost (1.1) times the quarter share 0.25; B has none.
    assert money["idle"] == pytest.approx([55.0, 0.0])
    assert accounts["revenue"][UNIT_A] == pytest.approx(110.0 + 55.0)
    assert money["paid"] == pytest.approx(money["local"] + money["leaked"])


def test_handback_patience_differs_by_provider_headroom():
    from sim.core.failure import handback_patience

    # At the reference headroom a firm waits handback_quarters; near its credit limit half as
    # long, comfortable firms up to one and a half times; never less than one quarter.
    patience = handback_patience(np.array([0.0, 0.05, 0.1, 0.3]), 4, 0.1)
    assert patience.tolist() == [2, 2, 4, 6]
    assert handback_patience(np.array([0.0]), 1, 0.1).tolist() == [1]
    assert handback_patience(np.array([0.0, 1.0]), 4, 0.0).tolist() == [4, 4]
