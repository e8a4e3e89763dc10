"""CommissioningModel: the commissioning market as a Mesa model.

The model itself is :class:`sim.core.engine.Simulation` (the world, the schedule and the records);
this class adds what Mesa users rely on: agents (councils and providers, views onto the
tables' rows), a ``Network`` space on the geography, a ``DataCollector`` whose rows
``mesa.batch_run`` reads, and SolaraViz's Reset with a Mesa ``Scenario``. With the same seed
it gives the same numbers as :class:`~sim.core.engine.Simulation`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import mesa
import networkx as nx
import numpy as np
from mesa.discrete_space import Network
from mesa.experimental.scenarios import Scenario as MesaScenario

from sim.abm.agents import Council, InHouseUnit, LocalFirm, Mutual, Outsourcer, Provider
from sim.core import outcomes
from sim.core.engine import Simulation, fresh_seed, resolve_scenario, seed_of
from sim.core.state import ProviderKind
from sim.inputs import InputError
from sim.scenario import Scenario

__all__ = ["CommissioningModel", "fresh_seed", "resolve_scenario"]

AGENT_CLASS: dict[ProviderKind, type[Provider]] = {
    ProviderKind.OUTSOURCER: Outsourcer,
    ProviderKind.MUTUAL: Mutual,
    ProviderKind.INHOUSE: InHouseUnit,
    ProviderKind.LOCAL_FIRM: LocalFirm,
}


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
    # Filled in the last quarter's row once the run is over (see ``_record_outcomes``).
    return math.nan


def _council_reporter(name: str, agent: Council) -> Any:
    """One council's value of a council reporter (Mesa's per-agent path; the collector reads
    every council at once from the same :func:`sim.core.outcomes.council_metrics`)."""
    return outcomes.council_metrics(agent.model.market)[name][agent.index].item()


def _provider_reporter(name: str, agent: Provider) -> Any:
    """One provider's value of a provider reporter (as :func:`_council_reporter`)."""
    value = outcomes.provider_metrics(agent.model.market)[name][agent.index]
    return value if isinstance(value, str) else value.item()


#: The agents' reporters: each council's and each trading provider's quarter
#: (:data:`sim.core.outcomes.COUNCIL_REPORTERS`, :data:`~sim.core.outcomes.PROVIDER_REPORTERS`).
AGENT_REPORTERS: dict[type, dict[str, partial]] = {
    Council: {name: partial(_council_reporter, name) for name in outcomes.COUNCIL_REPORTERS},
    Provider: {name: partial(_provider_reporter, name) for name in outcomes.PROVIDER_REPORTERS},
}


class CommissioningModel(Simulation, mesa.Model):
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
        agent_reporters: also record each council's and each trading provider's quarter in
            the data collector (Mesa's agent-type reporters; see ``datacollector``). Off by
            default: they slow a run by about half, and ``mesa.batch_run`` then returns one
            row per agent and quarter instead of one per run.

    Attributes:
        params: the resolved scenario (``self.scenario`` is Mesa's own).
        market: the state every mechanism acts on (:class:`sim.core.state.Market`); ``providers``,
            ``contracts``, ``council_table``, ``ledger``, ``events`` and ``shock_log`` are its
            parts.
        seed: the integer seed of this run (None if ``rng`` was a generator).
        positions, edges: the geography as arrays (:class:`~sim.core.engine.Simulation`).
        graph, nodes, space: the geography as a networkx graph and a Mesa ``Network`` space
            laid out at ``positions`` (council ``i`` is ``nodes[i]``).
        councils: the Council agents; the providers' agents are in ``agents_by_type``.
        datacollector: one row per quarter: the quarter's outcomes (:data:`sim.core.outcomes.REPORTERS`),
            ``seed``, and the run outcomes (:data:`sim.core.outcomes.SUMMARY_FIELDS`), which are NaN
            until the last quarter's row, where they hold :meth:`summary`'s values (NaN for
            None). ``mesa.batch_run`` rows therefore carry the run's outcomes. With
            ``agent_reporters=True``, agent rows:
            ``datacollector.get_agenttype_vars_dataframe(Council)`` (each council's quarter:
            :data:`sim.core.outcomes.COUNCIL_REPORTERS`) and ``(Provider)`` (each trading
            provider's: :data:`sim.core.outcomes.PROVIDER_REPORTERS`).
        metrics: the last recorded quarter's outcomes.
        outcomes: the run outcomes once the run has reached its horizon ({} before).

    ``step()`` advances Mesa's ``steps`` and ``time`` by one, as any Mesa model's does;
    :meth:`timeseries` and :meth:`series` hold the same numbers as the data collector.

    A Mesa ``Scenario`` (``mesa.experimental.scenarios.Scenario``) is accepted as ``scenario``,
    as SolaraViz's Reset passes one: its ``rng`` seeds the run and its other attributes are
    overrides (``commissioning__social_value_weight=0.2``) on the defaults.
    """

    def __init__(
        self,
        scenario: Scenario | MesaScenario | str | Path | Mapping | None = None,
        *,
        rng: Any = None,
        agent_reporters: bool = False,
        **overrides: Any,
    ):
        mesa_scenario = scenario if isinstance(scenario, MesaScenario) else None
        if mesa_scenario is not None:
            fields, rng = _from_mesa_scenario(mesa_scenario, rng)
            scenario, overrides = None, {**fields, **overrides}
        params = resolve_scenario(scenario, overrides)
        self.seed = seed_of(rng)
        rng = rng if self.seed is None else self.seed
        if mesa_scenario is not None:  # Mesa's own record of the run, with the seed used
            fields = {k: v for k, v in mesa_scenario if k != "rng"}
            mesa_scenario = type(mesa_scenario)(rng=rng, **fields)
        # Mesa makes ``self.rng`` (as sim.core.engine.generator does) and wraps ``step`` so that
        # ``steps`` and ``time`` advance; then the Simulation builds the world with it.
        mesa.Model.__init__(self, rng=rng, scenario=mesa_scenario)
        self._provider_agents: dict[int, Provider | None] = {}
        self._build(params)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                **outcomes.model_reporters(),
                "seed": _seed_reporter,
                **dict.fromkeys(outcomes.SUMMARY_FIELDS, _outcome_reporter),
            },
            # off by default: Mesa's batch_run gives a row per agent where they are on
            agenttype_reporters=AGENT_REPORTERS if agent_reporters else None,
        )

    # ------------------------------------------------------------------ construction

    def _build_councils(self) -> None:
        super()._build_councils()
        n = self.council_table.n
        self.graph = nx.Graph()
        self.graph.add_nodes_from(range(n))
        self.graph.add_edges_from(self.edges.tolist())
        self.nodes = list(self.graph.nodes)
        # Positions are the layout: no spring layout, no unseeded draw.
        layout = dict(enumerate(map(tuple, self.positions.tolist())))
        self.space = Network(self.graph, capacity=1, random=self.random, layout=layout)
        names = self.council_table.name
        self.councils = [
            Council(self, i, names[i], self.space[node]) for i, node in enumerate(self.nodes)
        ]

    def _new_providers(self) -> None:
        """Score the new provider rows (:class:`~sim.core.engine.Simulation`) and give each a Mesa
        agent."""
        super()._new_providers()
        p = self.providers
        for index in range(len(self._provider_agents), p.n):
            self._provider_agents[index] = AGENT_CLASS[ProviderKind(p.kind[index])](self, index)

    def _failed_providers(self) -> None:
        """Failed providers leave the model's agents (their rows stay, marked not alive)."""
        for index in np.flatnonzero(~self.providers.view("alive")):
            agent = self._provider_agents.get(int(index))
            if agent is not None:
                agent.remove()
                self._provider_agents[int(index)] = None

    # ------------------------------------------------------------------ records

    def _write_record(self) -> None:
        super()._write_record()
        self.datacollector.collect(self)

    def _record_outcomes(self) -> None:
        """At the horizon: the run outcomes, also into the last row the data collector holds
        (where ``mesa.batch_run`` reads them)."""
        super()._record_outcomes()
        columns = self.datacollector.model_vars
        for name, value in self.outcomes.items():
            columns[name][-1] = math.nan if value is None else value
