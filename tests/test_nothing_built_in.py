"""Nothing built in: a provider is scored, counted and trusted by what it does, never by its
type (docs/ODD.md, sections 2 and 7.2-7.5; issue 20). Two providers equal in every attribute
but their label are treated alike; with equal attributes and conduct, the social value lever
cannot favour an owner."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.delivery import local_and_leaked
from sim.core.engine import Simulation
from sim.core.state import KIND_NAMES, ProviderKind
from sim.core.tendering import social_value_scores
from sim.core.trust import trust_target
from sim.scenario import Scenario

unit = st.floats(0.0, 1.0)


@settings(max_examples=60, deadline=None)
@given(home=st.integers(-1, 3), extraction=unit, owners=unit, local=unit, commitments=unit,
       revenue=st.floats(1.0, 1e6), margin=st.floats(-0.5, 0.5), council=st.integers(0, 3))  # fmt: skip
def test_equal_attributes_score_and_count_alike_whatever_the_label(
    home, extraction, owners, local, commitments, revenue, margin, council
):
    """A mutual and a for-profit firm (or any two types) with the same attributes get the
    same social value score and the same local-money split; the functions are not even
    given the type, and the trust target reads money only."""
    c = Scenario().commissioning
    two = np.ones(2)
    scores = social_value_scores(
        np.full(2, home), extraction * two, owners * two, local * two, commitments * two, c
    )
    assert scores[0] == scores[1]
    cost = revenue * (1 - margin)
    split = local_and_leaked(
        np.array([0, 1]), np.full(2, council), np.full(2, revenue), np.full(2, cost),
        np.full(2, home), extraction * two, owners * two, local * two,
    )  # fmt: skip
    assert split[0][0] == split[0][1] and split[1][0] == split[1][1]
    money = {
        "required": np.full(2, revenue),
        "delivered": np.full(2, cost),
        "paid": np.full(2, revenue),
        "local": split[0],
    }
    target = trust_target(money, Scenario().trust)
    assert target[0] == target[1]


def _by_kind(name: str) -> bool:
    """Outcomes that report by provider type (they move when labels move, by definition)."""
    return any(k in name for k in KIND_NAMES.values())


def test_swapping_the_labels_of_two_provider_types_changes_no_outcome_but_their_shares():
    """Relabel every mutual a local firm and every local firm a mutual after the market is
    built: every outcome but those reported by type is identical, quarter by quarter."""
    overrides = {
        "network.councils": 20,
        "scenario.quarters": 24,
        "mutuals.count": 20,
        "mutuals.spin_out_rate": 0.0,  # a spin-out is labelled a mutual when it happens
        "local_firms.count": 40,
    }
    plain = Simulation(rng=5, **overrides).run()
    swapped = Simulation(rng=5, **overrides)
    kind = swapped.providers.view("kind")
    mutual, firm = kind == ProviderKind.MUTUAL, kind == ProviderKind.LOCAL_FIRM
    kind[mutual], kind[firm] = ProviderKind.LOCAL_FIRM, ProviderKind.MUTUAL
    swapped.run()
    a, b = plain.summary(), swapped.summary()
    assert {k: v for k, v in a.items() if not _by_kind(k)} == {
        k: v for k, v in b.items() if not _by_kind(k)
    }
    assert a["final_share_mutual"] == b["final_share_local_firm"]
    sa, sb = plain.series(), swapped.series()
    for name in sa:
        if not _by_kind(name):
            np.testing.assert_array_equal(sa[name], sb[name], err_msg=name)


#: Mutuals and local for-profit firms with the same attributes and conduct; no national
#: firm, no in-house bids or spin-outs (the in-house unit's attributes differ by design).
EQUAL = {
    "network.councils": 20,
    "scenario.quarters": 24,
    "outsourcers.count": 0,
    "councils.initial_inhouse_share": 0.0,
    "councils.inhouse_bids": False,
    "councils.inhouse_capacity_retained": 0.0,
    "mutuals.count": 30,
    "mutuals.spin_out_rate": 0.0,
    "local_firms.count": 30,
    **{f"local_firms.{k}": v for k, v in Scenario().mutuals.model_dump().items()
       if k in Scenario().local_firms.model_dump() and k != "count"},
}  # fmt: skip


def test_with_equal_conduct_the_social_value_lever_favours_no_owner():
    """Paired seeds, social value weight 0 against 0.3: the change in the mutuals' share, the
    local share of spend and trust is indistinguishable from zero (within 2.5 standard errors
    of the mean difference)."""
    outcomes = ("final_share_mutual", "mean_local_share", "final_trust")
    diffs = {name: [] for name in outcomes}
    for seed in range(12):
        low = Simulation(rng=seed, **EQUAL, **{"commissioning.social_value_weight": 0.0}).run()
        high = Simulation(rng=seed, **EQUAL, **{"commissioning.social_value_weight": 0.3}).run()
        for name in outcomes:
            diffs[name].append(high.summary()[name] - low.summary()[name])
    for name, d in diffs.items():
        d = np.asarray(d)
        se = d.std(ddof=1) / np.sqrt(d.size)
        assert abs(d.mean()) <= 2.5 * se + 1e-12, (name, d.mean(), se)


def test_with_different_conduct_the_same_check_sees_the_lever_move_the_market():
    """The check above can fail: let the local firms pay their whole surplus to owners living
    elsewhere (conduct, not label) and the same lever raises the mutuals' share, beyond 2.5
    standard errors."""
    unequal = {**EQUAL, "local_firms.profit_extraction": 1.0, "local_firms.owners_local_share": 0.0}
    d = []
    for seed in range(12):
        share = [
            Simulation(rng=seed, **unequal, **{"commissioning.social_value_weight": w})
            .run()
            .summary()["final_share_mutual"]
            for w in (0.0, 0.3)
        ]
        d.append(share[1] - share[0])
    assert np.mean(d) > 2.5 * np.std(d, ddof=1) / np.sqrt(len(d))
