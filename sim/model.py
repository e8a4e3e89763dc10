"""CommissioningModel: councils tender services to outsourcers, mutuals and in-house units.

This module builds the world and runs the schedule; each submodel lives in its own module
(docs/ODD.md, section 7): :mod:`sim.tendering`, :mod:`sim.failure`, :mod:`sim.delivery`,
:mod:`sim.shocks`, :mod:`sim.spinouts`, :mod:`sim.trust`, :mod:`sim.outcomes`, all acting on
the tables of :mod:`sim.state`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.discrete_space import Network
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim import delivery, failure, network, outcomes, shocks, spinouts, tendering, trust
from sim.agents import Council, InHouseUnit, Mutual, Outsourcer, Provider
from sim.inputs import InputError
from sim.network import neighbours, synthetic_geography
from sim.scenario import (
    Scenario,
    Shock,
    apply_overrides,
    load_scenario,
    outsourcer_name,
    scenario_from_dict,
)
from sim.state import (
    KINDS,
    QUARTERS_PER_YEAR,
    ContractBook,
    CouncilTable,
    Market,
    ProviderKind,
    ProviderTable,
    QuarterLedger,
    provider_values,
)

__all__ = ["CommissioningModel", "fresh_seed", "resolve_scenario"]

AGENT_CLASS: dict[ProviderKind, type[Provider]] = {
    ProviderKind.OUTSOURCER: Outsourcer,
    ProviderKind.MUTUAL: Mutual,
    ProviderKind.INHOUSE: InHouseUnit,
}


def resolve_scenario(
    scenario: Scenario | str | Path | Mapping | None, overrides: Mapping[str, Any]
) -> Scenario:
    """A validated Scenario from a Scenario, a TOML path, a nested dict or None (defaults),
    with dotted-key overrides (``commissioning.social_value_weight`` or
    ``commissioning__social_value_weight``) applied on top."""
    if isinstance(scenario, str | Path):
        return load_scenario(scenario, dict(overrides), origin="overrides")
    data = scenario.model_dump() if isinstance(scenario, Scenario) else dict(scenario or {})
    if overrides:
        data = apply_overrides(data, dict(overrides), origin="overrides")
    return scenario_from_dict(data, origin="scenario")


def fresh_seed() -> int:
    """A seed from the operating system's entropy, 63 bits (it fits an int64 column)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def _seed_of(rng: Any) -> int | None:
    """The integer seed a run uses: ``rng`` itself if it is an integer, a fresh one if it is
    None, and None for a generator (its state is the caller's to keep)."""
    if rng is None:
        return fresh_seed()
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return int(rng)
    return None


def _from_mesa_scenario(scenario: MesaScenario, rng: Any) -> tuple[dict[str, Any], Any]:
    """The parameter overrides and the rng that a Mesa ``Scenario`` carries: its attributes
    other than ``rng`` are parameters (``section__field``); an ``rng`` argument wins."""
    fields = {k: v for k, v in scenario if k != "rng"}
    if rng is not None and scenario.rng is not None and scenario.rng != rng:
        raise InputError(f"rng = {rng!r} and the Mesa scenario's rng = {scenario.rng!r} differ")
    return fields, scenario.rng if rng is None else rng


def _seed_reporter(model: CommissioningModel) -> int | None:
    return model.seed


def _outcome_reporter(model: CommissioningModel) -> float:
    # Filled in the last quarter's row once the run is over (see ``_record_quarter``).
    return math.nan


class CommissioningModel(mesa.Model):
    """A market of councils commissioning services from outsourcers, mutuals and in-house units.

    Args:
        scenario: a :class:`~sim.scenario.Scenario`, a path to a TOML file, a nested dict, or
            None for the defaults.
        rng: seed (or generator) for every random draw. None, as in Mesa, draws a fresh seed
            from the operating system (``self.seed`` records it); the scenario's own
            ``scenario.seed`` is what ``commsim run`` passes, so pass
            ``rng=scenario.scenario.seed`` to repeat a ``commsim run``.
        **overrides: dotted-key parameter overrides, e.g.
            ``**{"commissioning.social_value_weight": 0.2}`` or
            ``commissioning__social_value_weight=0.2`` (this is how ``mesa.batch_run`` passes them).

    Attributes:
        params: the resolved scenario (``self.scenario`` is Mesa's own).
        market: the state every mechanism acts on (:class:`sim.state.Market`); ``providers``,
            ``contracts``, ``council_table``, ``ledger``, ``events`` and ``shock_log`` are its
            parts.
        seed: the integer seed of this run (None if ``rng`` was a generator).
        graph, positions, nodes: the geography (council ``i`` is ``nodes[i]``).
        councils: the Council agents.
        datacollector: one row per quarter: the quarter's outcomes (:data:`sim.outcomes.REPORTERS`),
            ``seed``, and the run outcomes (:data:`sim.outcomes.SUMMARY_FIELDS`), which are NaN
            until the last quarter's row, where they hold :meth:`summary`'s values (NaN for
            None). ``mesa.batch_run`` rows therefore carry the run's outcomes.
        metrics: the last recorded quarter's outcomes.
        outcomes: the run outcomes once the run has reached its horizon ({} before).

    A Mesa ``Scenario`` (``mesa.experimental.scenarios.Scenario``) is accepted as ``scenario``,
    as SolaraViz's Reset passes one: its ``rng`` seeds the run and its other attributes are
    overrides (``commissioning__social_value_weight=0.2``) on the defaults.
    """

    def __init__(
        self,
        scenario: Scenario | MesaScenario | str | Path | Mapping | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ):
        mesa_scenario = scenario if isinstance(scenario, MesaScenario) else None
        if mesa_scenario is not None:
            fields, rng = _from_mesa_scenario(mesa_scenario, rng)
            scenario, overrides = None, {**fields, **overrides}
        params = resolve_scenario(scenario, overrides)
        self.seed = _seed_of(rng)
        rng = rng if self.seed is None else self.seed
        if mesa_scenario is not None:  # Mesa's own record of the run, with the seed used
            fields = {k: v for k, v in mesa_scenario if k != "rng"}
            mesa_scenario = type(mesa_scenario)(rng=rng, **fields)
        super().__init__(rng=rng, scenario=mesa_scenario)
        self.params = params
        self._build_geography()
        self._build_councils()
        c = self.council_table
        self.market = Market(
            providers=ProviderTable(
                capacity=2 * (c.n + params.outsourcers.count + params.mutuals.count)
            ),
            contracts=ContractBook(
                capacity=c.n * params.councils.service_lines * params.councils.lots
            ),
            councils=c,
            ledger=QuarterLedger(c.n),
            cost_level=np.ones(KINDS),
            demand_factor=np.ones(params.scenario.quarters + 1),
        )
        self.providers = self.market.providers
        self.contracts = self.market.contracts
        self.ledger = self.market.ledger
        self.events = self.market.events
        self.shock_log = self.market.shock_log
        self.shock_councils_touched = 0
        self._provider_agents: dict[int, Provider] = {}
        self._build_providers()
        self.market.health_log.append(delivery.headroom(self.providers))
        self._build_contracts()
        self.datacollector = mesa.DataCollector(
            model_reporters={
                **outcomes.model_reporters(),
                "seed": _seed_reporter,
                **dict.fromkeys(outcomes.SUMMARY_FIELDS, _outcome_reporter),
            }
        )
        self.metrics: dict[str, float] = {}
        self.outcomes: dict[str, Any] = {}

    # ------------------------------------------------------------------ construction

    def _build_geography(self) -> None:
        net = self.params.network
        # A user's own councils (and graph) replace the synthetic ones (docs/scenarios.md).
        self._own_councils = network.load_councils(net.councils_file) if net.councils_file else None
        if net.graph_file:
            graph = network.load_graph(net.graph_file, list(self._own_councils["name"]))
            self.graph, self.positions = network.own_geography(graph, self.rng)
        else:
            own = self._own_councils
            n = net.councils if own is None else len(own)
            self.graph, self.positions = synthetic_geography(n, net.mean_degree, self.rng)
        self.nodes = list(self.graph.nodes)
        # Positions are the layout: no spring layout, no unseeded draw.
        self.space = Network(self.graph, capacity=1, random=self.random, layout=self.positions)

    def _build_councils(self) -> None:
        c = self.params.councils
        n = len(self.nodes)
        own = self._own_councils
        if own is None:
            sigma = c.budget_dispersion
            mu = np.log(c.budget_mean * 1e6) - sigma**2 / 2
            budget = np.exp(self.rng.normal(mu, sigma, n))  # GBP / year
            names = [f"Area {i + 1:03d}" for i in range(n)]
        else:
            budget = own["budget"].to_numpy(dtype=float) * 1e6
            names = list(own["name"])
        self.council_table = CouncilTable(
            name=names,
            budget=budget,
            near=neighbours(self.graph, self.nodes),
            trust=np.full(n, self.params.trust.initial),
        )
        self.councils = [
            Council(self, i, names[i], self.space._cells[node]) for i, node in enumerate(self.nodes)
        ]

    def _add_agents(self) -> None:
        """A Mesa agent for every provider row that has none yet (new rows: spin-outs), and
        the new rows' social value scores from their attributes."""
        p = self.providers
        new = slice(len(self._provider_agents), p.n)
        p.social_value_score[new] = tendering.social_value_scores(
            p.kind[new],
            p.local_cost_share[new],
            p.social_commitments[new],
            self.params.commissioning,
        )
        for index in range(new.start, p.n):
            self._provider_agents[index] = AGENT_CLASS[ProviderKind(p.kind[index])](self, index)

    def _remove_failed_agents(self) -> None:
        """Failed providers leave the model's agents (their rows stay, marked not alive)."""
        for index in np.flatnonzero(~self.providers.view("alive")):
            agent = self._provider_agents.get(int(index))
            if agent is not None:
                agent.remove()
                self._provider_agents[int(index)] = None  # type: ignore[assignment]

    def _build_providers(self) -> None:
        p, cn, params = self.providers, self.council_table, self.params
        c = params.councils
        for i, name in enumerate(cn.name):
            p.add(
                kind=ProviderKind.INHOUSE,
                name=f"{name} in-house",
                home=i,
                cost_factor=c.inhouse_cost,
                quality=c.inhouse_quality,
                social_commitments=c.inhouse_social_commitments,
                local_cost_share=c.inhouse_local_cost_share,
            )
        cn.inhouse_unit = np.arange(cn.n, dtype=np.int64)
        o = params.outsourcers
        market = cn.budget.sum() / QUARTERS_PER_YEAR
        for k in range(o.count):
            values = provider_values(o, o.capacity_share * market, self.rng)
            p.add(kind=ProviderKind.OUTSOURCER, name=outsourcer_name(k), **values)
        m = params.mutuals
        homes = self.rng.integers(0, cn.n, m.count)
        for k, home in enumerate(homes):
            value = cn.budget[home] / QUARTERS_PER_YEAR
            name = f"{cn.name[home]} Mutual {k + 1}"
            spinouts.new_mutual(p, int(home), m.capacity_share * value, name, m, self.rng)
        self._add_agents()

    def _build_contracts(self) -> None:
        c = self.params.councils
        cn, ct = self.council_table, self.contracts
        lines, lots = c.service_lines, c.lots
        weights = self.rng.dirichlet(np.full(lines, 2.0), cn.n) if lines > 1 else np.ones((cn.n, 1))
        quarterly = cn.budget / QUARTERS_PER_YEAR
        for i in range(cn.n):
            for line in range(lines):
                for _ in range(lots):
                    ct.add(council=i, line=line, reference=quarterly[i] * weights[i, line] / lots)
        n = ct.n
        inhouse = self.rng.random(n) < c.initial_inhouse_share
        slots = np.arange(n)
        cn.total = np.bincount(ct.view("council"), ct.view("reference"), minlength=cn.n)
        ih = slots[inhouse]
        ct.holder[ih] = cn.inhouse_unit[ct.council[ih]]
        cn.inhouse_capacity = np.maximum(
            np.bincount(ct.council[ih], ct.reference[ih], minlength=cn.n),
            c.inhouse_capacity_retained * cn.total,
        )
        self.providers.capacity[cn.inhouse_unit] = cn.inhouse_capacity
        premium = self.params.commissioning.emergency_premium
        delivery.refresh_inhouse_prices(self.market, premium)
        # The rest was outsourced before the run: one tender round among providers places it.
        gaps = tendering.tender(
            self.market, slots[~inhouse], self.params, self.rng, allow_inhouse=False
        )
        failure.leave_gaps(self.market, gaps, self.params)
        # Stagger end dates so that tenders fall due evenly over the years (a contract no one
        # could take keeps its re-tender date).
        staggered = self.rng.integers(1, QUARTERS_PER_YEAR * c.contract_years_max + 1, n)
        held = ct.view("holder") >= 0
        ct.view("end")[held] = staggered[held]

    # ------------------------------------------------------------------ reading the state

    @property
    def quarter(self) -> int:
        """The next quarter to simulate (0 before the first step)."""
        return self.market.quarter

    @property
    def n_councils(self) -> int:
        """Number of councils."""
        return self.council_table.n

    @property
    def tally_quarter(self) -> int:
        """The quarter that ``ledger`` counts: the last one simulated, or the next one once a
        shock has hit it between steps."""
        return self.quarter - 1 if self.ledger.closed else self.quarter

    def council_value_by_kind(self) -> np.ndarray:
        """(n_councils, 3) contract value held by outsourcers, mutuals and in-house units."""
        return self.contracts.value_by_council_and_kind(self.providers.kind, self.n_councils)

    # ------------------------------------------------------------------ the quarter

    def apply_shock(self, shock: Shock) -> None:
        """Apply a shock now, between steps or within one (the dashboard's buttons)."""
        shocks.apply_shock(self.market, shock, self.params, self.rng)
        self._remove_failed_agents()

    def step(self) -> None:
        """Simulate one quarter in the ODD's order (docs/ODD.md, "Process overview")."""
        m, params, rng = self.market, self.params, self.rng
        m.ledger.open()
        for shock in shocks.scheduled(params.shocks, m.quarter):
            shocks.apply_shock(m, shock, params, rng)
        shocks.random_failures(m, params, rng)
        failure.insolvencies(m, params, rng)
        failure.handbacks(m, params, rng)
        failure.end_administration(m, params, rng)
        failure.leave_gaps(m, tendering.tender_due(m, params, rng), params)
        spinouts.spin_outs(m, params.mutuals, rng)
        # In-house services cost what the unit spends this quarter, cost shocks included.
        delivery.refresh_inhouse_prices(m, params.commissioning.emergency_premium)
        delivery.deliver_and_pay(m, params)
        spinouts.grow_mutuals(m, params.mutuals.growth_rate)
        self._update_trust()
        delivery.update_inhouse_capacity(m, params.councils.inhouse_capacity_retained)
        self._record_quarter()

    def _update_trust(self) -> None:
        cn, ledger, tp = self.council_table, self.ledger, self.params.trust
        target = trust.trust_target(ledger.money, self.council_value_by_kind(), tp)
        cn.trust = trust.update_trust(cn.trust, target, ledger.disrupted_value, cn.total, tp)

    def _record_quarter(self) -> None:
        """Publish the quarter's accounts, record its outcomes, and move to the next quarter."""
        m = self.market
        self._add_agents()
        self._remove_failed_agents()
        m.health_log.append(delivery.headroom(m.providers))
        if m.shock_log and m.shock_log[0][0] == m.quarter:
            self.shock_councils_touched = int(m.ledger.councils_hit.sum())
        self.metrics = outcomes.quarter_metrics(m, self.params.councils.local_respend)
        self.datacollector.collect(self)
        m.ledger.closed = True  # councils_hit and the counts stay readable until the next quarter
        m.quarter += 1
        if m.quarter >= self.params.scenario.quarters:
            self.running = False
            self._record_outcomes()

    def _record_outcomes(self) -> None:
        """At the horizon: the run outcomes, also into the last row the data collector holds
        (where ``mesa.batch_run`` reads them)."""
        self.outcomes = self.summary()
        columns = self.datacollector.model_vars
        for name, value in self.outcomes.items():
            columns[name][-1] = math.nan if value is None else value

    def run(self) -> CommissioningModel:
        """Run to the horizon (``scenario.quarters``) and return self."""
        while self.running:
            self.step()
        return self

    def timeseries(self):  # -> pandas.DataFrame
        """One row per simulated quarter: a ``quarter`` column and every quarterly reporter."""
        df = self.datacollector.get_model_vars_dataframe()[list(outcomes.REPORTERS)]
        df = df.reset_index(drop=True)
        df.insert(0, "quarter", np.arange(len(df)))
        return df

    def summary(self) -> dict[str, Any]:
        """Run outcomes (see :func:`sim.outcomes.run_summary`)."""
        return outcomes.run_summary(
            self.timeseries(),
            self.shock_log,
            self.shock_councils_touched,
            warm_up=self.params.scenario.warm_up_quarters,
            events=self.events,
        )
