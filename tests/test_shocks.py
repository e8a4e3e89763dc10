"""Each shock and contagion does what it says, shown on its mechanism."""

from __future__ import annotations

import numpy as np
import pytest

from sim import CommissioningModel
from sim.abm.agents import ProviderKind
from sim.core.failure import fail_provider
from sim.core.shocks import collapse_provider, resolve_target
from sim.scenario import Shock
from tests.helpers import small


def advance(model: CommissioningModel, quarters: int) -> CommissioningModel:
    """Step a model a number of quarters."""
    for _ in range(quarters):
        model.step()
    return model


def live_contracts_of(model: CommissioningModel, provider: int) -> np.ndarray:
    return np.flatnonzero(model.contracts.view("holder") == provider)


def collapse(model: CommissioningModel, target: str) -> int | None:
    """Collapse ``target`` now, as a scenario's shock would; returns the provider's row."""
    return collapse_provider(model.market, target, model.params, model.rng)


def largest_outsourcer(model: CommissioningModel) -> int | None:
    return resolve_target(model.market, "largest_outsourcer", model.rng)


def test_collapse_disrupts_exactly_the_failed_providers_contracts():
    model = advance(CommissioningModel(**small(**{"scenario.quarters": 20})), 8)
    target = largest_outsourcer(model)
    held = live_contracts_of(model, target)
    others = {
        int(s): int(model.contracts.holder[s])
        for s in np.flatnonzero(model.contracts.view("holder") >= 0)
    }
    assert held.size > 0
    model.ledger.reset()
    assert collapse(model, "largest_outsourcer") == target
    assert not model.providers.alive[target]
    assert model.ledger.contracts_disrupted == held.size
    assert live_contracts_of(model, target).size == 0
    # Only the failed firm's contracts changed hands.
    after = model.contracts.view("holder")
    changed = {s for s, h in others.items() if after[s] != h}
    assert changed == set(held.tolist())
    assert model.ledger.councils_hit.sum() == np.unique(model.contracts.council[held]).size


def test_scheduled_collapse_reports_its_damage():
    model = CommissioningModel(
        **small(**{"scenario.quarters": 20, "councils.inhouse_capacity_retained": 0.0}),
        shocks=[{"kind": "provider_collapse", "quarter": 10, "target": "largest_outsourcer"}],
    )
    advance(model, 10)
    held = live_contracts_of(model, largest_outsourcer(model)).size
    model.run()
    summary, ts = model.summary(), model.timeseries()
    assert summary["first_shock_quarter"] == 10
    assert summary["shock_contracts_disrupted"] >= held > 0
    assert summary["shock_councils_touched"] > 0
    assert ts["service_delivered"][10] < ts["service_delivered"][9]
    assert summary["recovery_quarters"] is not None and summary["recovery_quarters"] >= 1
    assert ts["emergency_cost"][10] > 0


def test_collapse_by_name_and_of_nobody():
    model = CommissioningModel(**small())
    assert collapse(model, "Outsourcer C") == model.providers.index_of("Outsourcer C")
    assert collapse(model, "Outsourcer C") is None  # already gone
    assert collapse(model, "No Such Firm Ltd") is None


def test_cost_shock_is_borne_by_fixed_price_holders_without_a_fee_uplift():
    fixed = {
        "outsourcers.subcontract_share": 0.0,
        "commissioning.fee_uplift": 0.0,
        "commissioning.price_review": 0.0,
    }
    model = advance(CommissioningModel(**small(**fixed)), 4)
    prices = model.contracts.view("price").copy()
    model.step()
    margin_before = model.ledger.accounts["surplus"][
        model.providers.view("kind") == ProviderKind.OUTSOURCER
    ].sum()
    model.apply_shock(
        Shock(
            kind="cost_shock", quarter=model.quarter, magnitude=0.2, provider_types=["outsourcer"]
        )
    )
    assert model.market.cost_level[ProviderKind.OUTSOURCER] == pytest.approx(1.2)
    assert model.market.cost_level[ProviderKind.MUTUAL] == 1.0
    model.step()
    surplus = model.ledger.accounts["surplus"][
        model.providers.view("kind") == ProviderKind.OUTSOURCER
    ].sum()
    assert surplus < margin_before - 0.1 * abs(margin_before)
    # Contracts not re-let keep their price: the shock cannot be passed on.
    ct = model.contracts
    kept = (ct.view("holder") >= 0) & (
        model.providers.kind[ct.view("holder")] == ProviderKind.OUTSOURCER
    )
    kept &= ct.view("end") > model.quarter + 1
    assert np.any(kept)
    unchanged = np.isclose(ct.view("price")[kept], prices[kept])
    assert unchanged.mean() > 0.5


def test_cost_shock_leads_to_handbacks():
    # without yearly price reviews, which let holders recover (tested below)
    base = small(
        **{"scenario.quarters": 24, "network.councils": 40, "commissioning.price_review": 0.0}
    )
    calm = CommissioningModel(**base).run().summary()["handbacks_total"]
    shock = [{"kind": "cost_shock", "quarter": 4, "magnitude": 0.15}]
    shocked = CommissioningModel(**base, shocks=shock).run().summary()["handbacks_total"]
    assert shocked > calm


def test_a_fee_uplift_softens_a_cost_shock():
    base = small(**{"scenario.quarters": 24, "network.councils": 40})
    shock = [{"kind": "cost_shock", "quarter": 4, "magnitude": 0.1}]
    handbacks, service = [], []
    for uplift in (0.0, 1.0):
        for seed in (1, 2):
            model = CommissioningModel(
                **base,
                shocks=shock,
                rng=seed,
                **{"commissioning.fee_uplift": uplift, "commissioning.price_review": 0.0},
            ).run()
            ts = model.timeseries()
            handbacks.append(ts["handbacks"][4:].sum())
            service.append(ts["service_delivered"][4:].min())
    # Paid its cost rise in full, no holder is pushed over the handback line by the shock.
    assert sum(handbacks[2:]) < sum(handbacks[:2])
    assert min(service[2:]) >= min(service[:2])


def test_a_yearly_price_review_lets_holders_recover_from_a_cost_shock():
    # A wage rise with no fee uplift: fixed-price holders lose money until re-tender; with a
    # full review each contract's price catches up at its next anniversary.
    base = small(**{"scenario.quarters": 28, "network.councils": 40})
    shock = [{"kind": "cost_shock", "quarter": 4, "magnitude": 0.1}]
    handbacks = {}
    for review in (0.0, 1.0):
        handbacks[review] = [
            CommissioningModel(
                **base,
                shocks=shock,
                rng=seed,
                **{"commissioning.fee_uplift": 0.0, "commissioning.price_review": review},
            )
            .run()
            .timeseries()["handbacks"][4:]
            .sum()
            for seed in (1, 2, 3)
        ]
    assert sum(handbacks[1.0]) < sum(handbacks[0.0])
    assert all(r <= f for r, f in zip(handbacks[1.0], handbacks[0.0], strict=True))


def test_budget_cuts_cut_spend_and_leave_need_unmet():
    spend, unmet = [], []
    for cut in (0.0, 0.2, 0.4):
        shock = [{"kind": "budget_cut", "quarter": 4, "magnitude": cut}]
        runs = [
            CommissioningModel(**small(**{"scenario.quarters": 20}), shocks=shock, rng=s)
            .run()
            .timeseries()
            .iloc[8:]
            for s in (1, 2)
        ]
        spend.append(sum(ts["spend"].mean() for ts in runs))
        unmet.append(sum(ts["unmet_need"].mean() for ts in runs))
    # Each deeper cut spends less and leaves more need unmet, a year after it.
    assert spend[0] > spend[1] > spend[2]
    assert unmet[0] < unmet[1] < unmet[2]


def test_demand_shock_raises_need_for_its_duration():
    shock = [{"kind": "demand_shock", "quarter": 5, "magnitude": 0.3, "duration": 3}]
    model = CommissioningModel(
        **small(**{"councils.inhouse_capacity_retained": 0.0}), shocks=shock
    ).run()
    ts = model.timeseries()
    assert (ts["service_delivered"][5:8] < 0.8).all()
    assert ts["service_delivered"][8] > 0.9
    assert ts["service_delivered"][4] > 0.9


def test_budget_cut_lowers_the_price_councils_accept():
    shock = [{"kind": "budget_cut", "quarter": 2, "magnitude": 0.3}]
    model = advance(CommissioningModel(**small(), shocks=shock), 3)
    assert np.allclose(model.council_table.budget_factor, 0.7)
    advance(model, 8)
    ct = model.contracts
    new = (ct.view("start") >= 3) & (ct.view("holder") >= 0) & ~ct.view("emergency")
    kind = model.providers.kind[ct.view("holder")[new]]
    external = kind != ProviderKind.INHOUSE
    cap = model.params.councils.price_cap * 0.7 * ct.view("reference")[new][external]
    assert np.all(ct.view("price")[new][external] <= cap + 1e-6)


def test_random_failures_follow_the_hazard():
    model = CommissioningModel(
        **small(**{"outsourcers.failure_hazard": 1.0, "mutuals.failure_hazard": 0.0})
    )
    model.step()
    p = model.providers
    assert not p.view("alive")[p.view("kind") == ProviderKind.OUTSOURCER].any()
    assert p.view("alive")[p.view("kind") == ProviderKind.MUTUAL].all()
    assert model.metrics["failures"] == model.params.outsourcers.count


def test_contagion_subcontractors_lose_income_when_their_outsourcer_fails():
    model = advance(CommissioningModel(**small(**{"outsourcers.subcontract_share": 0.3})), 7)
    ct = model.contracts
    subbed = np.flatnonzero((ct.view("subcontractor") >= 0) & (ct.view("holder") >= 0))
    assert subbed.size > 0
    failing = int(ct.holder[subbed[0]])
    slots = subbed[ct.holder[subbed] == failing]
    subs = ct.subcontractor[slots]
    owed = np.zeros(model.providers.n)
    np.add.at(owed, subs, ct.subcontract_price[slots])
    # The volume lost: each subcontract's price for the quarters left of the prime's contract.
    lost = (ct.subcontract_price[slots] * (ct.end[slots] - model.quarter)).sum()
    assert lost > 0
    cash_before = model.providers.cash.copy()
    model.ledger.reset()
    fail_provider(model.market, failing, "collapse", model.params, model.rng)
    victims = np.unique(subs)
    # The quarter's unpaid invoices are lost at once ...
    assert np.allclose(cash_before[victims] - model.providers.cash[victims], owed[victims])
    assert model.ledger.contagion_loss == pytest.approx(owed.sum() + lost)
    # ... and the subcontracted work (and its income) is gone from the next quarter.
    assert not np.isin(ct.view("subcontractor")[slots], [failing]).any()
    assert (ct.view("subcontractor")[slots] == -1).all()
    model.step()
    # (A victim may win the work itself in the emergency award: then it is paid as holder.)
    flows = model.ledger.flows
    paid_on = np.isin(flows.slot, slots) & np.isin(flows.provider, victims)
    assert (ct.holder[flows.slot[paid_on]] == flows.provider[paid_on]).all()


@pytest.mark.parametrize(
    "shock",
    [
        {"kind": "earthquake", "quarter": 1},
        {"kind": "budget_cut", "quarter": 99},
        {"kind": "provider_collapse", "quarter": 1, "target": "the biggest one"},
    ],
)
def test_bad_shocks_are_refused(shock):
    from sim import InputError

    with pytest.raises(InputError):
        CommissioningModel(**small(), shocks=[shock])
