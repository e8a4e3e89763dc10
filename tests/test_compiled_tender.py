"""The compiled tender round (sim.core.kernels.tender) and its NumPy reference give the same results:
one call of tender, tender_due and disrupt on copies of a mid-run market, and whole runs of
shipped scenarios, compared exactly (the kernels sum in the reference's order)."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from sim import CommissioningModel, load_scenario
from sim.core import failure, jit, tendering
from sim.core.state import ContractBook, Market, ProviderKind, ProviderTable
from tests.helpers import small

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def mid_run(scenario: str, **overrides) -> CommissioningModel:
    """A small model of ``scenario`` after 10 quarters, with subcontracting on, some
    contracts barred to their holder and some under administration, so that every branch of
    a round has work."""
    settings = small(**{"outsourcers.subcontract_share": 0.3, **overrides})
    model = CommissioningModel(load_scenario(SCENARIOS / f"{scenario}.toml", settings), rng=7)
    for _ in range(10):
        model.step()
    m = model.market
    ct, t = m.contracts, m.quarter
    rng = np.random.default_rng(3)
    held = np.flatnonzero(ct.view("holder") >= 0)
    barred = rng.choice(held, held.size // 5, replace=False)
    ct.barred[barred] = ct.holder[barred]
    ct.barred_until[barred] = t + 2
    # A third of the contracts fall due now; some of them are under administration.
    due = rng.choice(ct.n, ct.n // 3, replace=False)
    ct.end[due] = t
    administered = due[: due.size // 4]
    ct.administered_until[administered] = t + 1
    ct.holder[administered[::2]] = -1
    return model


def on_both_paths(model: CommissioningModel, call) -> list[tuple[Market, object, dict]]:
    """``call(market, rng)`` on the reference then the compiled path, each from a copy of the
    model's market and generator: (market after, result, generator state after) for each."""
    out = []
    for compiled in (False, True):
        market, rng = copy.deepcopy(model.market), copy.deepcopy(model.rng)
        with jit.use_compiled(compiled):
            result = call(market, rng)
        out.append((market, result, rng.bit_generator.state))
    return out


def assert_same_market(a: Market, b: Market) -> None:
    """Every column of every table, the ledger's counts and the councils' state are equal."""
    for table, columns in ((a.providers, ProviderTable), (a.contracts, ContractBook)):
        other = b.providers if table is a.providers else b.contracts
        assert table.n == other.n
        for name in columns._columns:
            np.testing.assert_array_equal(table.view(name), other.view(name), err_msg=name)
    for name in ("bidders_excluded", "contracts_disrupted", "transition_cost", "failures"):
        assert getattr(a.ledger, name) == getattr(b.ledger, name), name
    np.testing.assert_array_equal(a.ledger.disrupted_value, b.ledger.disrupted_value)
    np.testing.assert_array_equal(a.ledger.councils_hit, b.ledger.councils_hit)
    np.testing.assert_array_equal(a.councils.inhouse_capacity, b.councils.inhouse_capacity)


CASES = {
    "baseline": ("baseline", {}),
    "strict_check": ("baseline", {"councils.due_diligence_threshold": 0.3}),
    "thin_margins": ("thin_margins", {}),
    "no_mutuals": ("home_care_1993", {"mutuals.count": 0}),
}


@pytest.fixture(params=list(CASES), scope="module")
def market_model(request) -> CommissioningModel:
    """A mid-run model of each case."""
    scenario, overrides = CASES[request.param]
    return mid_run(scenario, **overrides)


def test_tender_due_is_the_same_on_both_paths(market_model):
    params = market_model.params
    (ref, gaps_ref, state_ref), (cmp, gaps_cmp, state_cmp) = on_both_paths(
        market_model, lambda m, rng: tendering.tender_due(m, params, rng)
    )
    assert ref.contracts.view("holder").tolist() != market_model.contracts.view("holder").tolist()
    np.testing.assert_array_equal(gaps_ref, gaps_cmp)
    assert state_ref == state_cmp
    assert_same_market(ref, cmp)


@pytest.mark.parametrize("allow_inhouse", [True, False])
def test_tender_is_the_same_on_both_paths(market_model, allow_inhouse):
    params = market_model.params
    n = market_model.contracts.n
    slots = np.random.default_rng(5).choice(n, n // 2, replace=False)
    wait = np.arange(slots.size) % 3

    def call(market, rng):
        return tendering.tender(
            market, slots, params, rng, allow_inhouse=allow_inhouse, start_after=wait
        )

    (ref, gaps_ref, state_ref), (cmp, gaps_cmp, state_cmp) = on_both_paths(market_model, call)
    np.testing.assert_array_equal(gaps_ref, gaps_cmp)
    assert state_ref == state_cmp
    assert_same_market(ref, cmp)
    # Bidders' mark-ups moved: the round did its whole work on both paths.
    assert not np.array_equal(ref.providers.view("markup"), market_model.providers.view("markup"))


def test_disrupt_is_the_same_on_both_paths(market_model):
    params = market_model.params
    p, ct = market_model.providers, market_model.contracts
    value = ct.value_by_provider(p.n)
    value[p.view("kind") == ProviderKind.INHOUSE] = 0
    failed = int(np.argmax(value))  # the largest outside provider fails
    slots = np.flatnonzero(ct.view("holder") == failed)

    def call(market, rng):
        market.providers.alive[failed] = False
        failure.disrupt(market, slots, params, rng)

    (ref, _, state_ref), (cmp, _, state_cmp) = on_both_paths(market_model, call)
    assert slots.size and state_ref == state_cmp
    assert_same_market(ref, cmp)
    emergency = ref.contracts.view("emergency")[slots]
    assert emergency.any()  # some contracts were insourced or awarded in an emergency


def test_an_empty_round_does_nothing_on_either_path(market_model):
    params = market_model.params
    empty = np.array([], dtype=np.int64)
    for compiled in (False, True):
        market, rng = copy.deepcopy(market_model.market), copy.deepcopy(market_model.rng)
        before = rng.bit_generator.state
        with jit.use_compiled(compiled):
            gaps = tendering.tender(market, empty, params, rng, allow_inhouse=True)
            failure.disrupt(market, empty, params, rng)
        assert gaps.size == 0 and rng.bit_generator.state == before
        assert_same_market(market, market_model.market)


#: Shipped scenarios cut short (each still reaches its shock) and the seeds they run at.
RUNS = {
    "baseline": {"scenario.quarters": 24},
    "carillion_collapse": {"scenario.quarters": 44},
    "thin_margins": {"scenario.quarters": 16},
    "living_wage_shock": {"scenario.quarters": 24},
}


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("scenario", list(RUNS))
def test_whole_runs_are_the_same_on_both_paths(scenario, seed):
    results = []
    for compiled in (False, True):
        settings = {**RUNS[scenario], "scenario.seed": seed}
        with jit.use_compiled(compiled):
            model = CommissioningModel(load_scenario(SCENARIOS / f"{scenario}.toml", settings))
            model.run()
        results.append((model.timeseries(), model.summary()))
    (ts_ref, summary_ref), (ts_cmp, summary_cmp) = results
    assert list(ts_ref.columns) == list(ts_cmp.columns)
    for column in ts_ref.columns:
        np.testing.assert_array_equal(
            ts_ref[column].to_numpy(dtype=float), ts_cmp[column].to_numpy(dtype=float), column
        )
    assert sorted(summary_ref) == sorted(summary_cmp)
    for name, want in summary_ref.items():
        got = summary_cmp[name]
        if isinstance(want, float) and math.isnan(want):
            assert isinstance(got, float) and math.isnan(got), name
        else:
            assert got == want, name
