"""CommissioningModel: councils tender services to outsourcers, mutuals and in-house units.

One step is one quarter. Each quarter, in this order (docs/ODD.md, "Process overview"):

1. shocks scheduled for the quarter, random failures, insolvencies, handbacks;
2. councils answer each disrupted contract: insource, emergency award, or leave a gap;
3. councils tender the contracts that end (and review their in-house services);
4. in-house services may spin out as mutuals;
5. every contract is delivered and paid; providers book the quarter;
6. trust moves; the quarter's outcomes are recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mesa
import numpy as np
from mesa.discrete_space import Network

from sim import finance, metrics, network, shocks, tendering
from sim.agents import (
    ContractBook,
    Council,
    InHouseUnit,
    Mutual,
    Outsourcer,
    ProviderKind,
    ProviderTable,
)
from sim.network import neighbour_matrix, synthetic_geography
from sim.scenario import (
    Scenario,
    apply_overrides,
    load_scenario,
    outsourcer_name,
    scenario_from_dict,
)

__all__ = ["CommissioningModel", "resolve_scenario"]

QUARTERS_PER_YEAR = 4
KINDS = len(ProviderKind)


def resolve_scenario(
    scenario: Scenario | str | Path | Mapping | None, overrides: Mapping[str, Any]
) -> Scenario:
    """A validated Scenario from a Scenario, a TOML path, a nested dict or None (defaults),
    with dotted-key overrides (``commissioning.social_value_weight`` or
    ``commissioning__social_value_weight``) applied on top."""
    if isinstance(scenario, str | Path):
        return load_scenario(scenario, dict(overrides))
    data = scenario.model_dump() if isinstance(scenario, Scenario) else dict(scenario or {})
    if overrides:
        data = apply_overrides(data, dict(overrides), origin="overrides")
    return scenario_from_dict(data, origin="scenario")


class CommissioningModel(mesa.Model):
    """A market of councils commissioning services from outsourcers, mutuals and in-house units.

    Args:
        scenario: a :class:`~sim.scenario.Scenario`, a path to a TOML file, a nested dict, or
            None for the defaults.
        rng: seed (or generator) for every random draw; defaults to ``scenario.seed``.
        **overrides: dotted-key parameter overrides, e.g.
            ``**{"commissioning.social_value_weight": 0.2}`` or
            ``commissioning__social_value_weight=0.2`` (this is how ``mesa.batch_run`` passes them).

    Attributes:
        params: the resolved scenario (``self.scenario`` is Mesa's own).
        quarter: the next quarter to simulate (0 before the first step).
        providers, contracts: the array state (see :mod:`sim.agents`).
        datacollector: one row of outcomes per quarter (see :mod:`sim.metrics`).
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | Mapping | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ):
        params = resolve_scenario(scenario, overrides)
        seed = params.scenario.seed if rng is None else rng
        super().__init__(rng=seed)
        self.params = params
        self.seed = int(seed) if isinstance(seed, int | np.integer) else None
        self.quarter = 0
        self.weights = params.effective_weights()
        q = params.scenario.quarters
        self.cost_level = np.ones(KINDS)
        self.demand_factor = np.ones(q + 1)
        self.shock_log: list[tuple[int, str]] = []
        self.events: list[dict[str, Any]] = []  # failures, handbacks: what a report can point to
        self.shock_councils_touched = 0

        self._build_geography()
        self._build_councils()
        self.providers = ProviderTable(
            capacity=2 * (self.n_councils + params.outsourcers.count + params.mutuals.count)
        )
        self.contracts = ContractBook(
            capacity=self.n_councils * params.councils.service_lines * params.councils.lots
        )
        self._provider_agents: dict[int, Any] = {}
        self._build_inhouse_units()
        self._build_outsourcers()
        self._build_mutuals()
        self._health_log: list[np.ndarray] = [self._headroom()]
        self._reset_quarter_tallies()
        self._quarter_closed = False  # True between a recorded quarter and the next one's start
        self._build_contracts()

        self.datacollector = mesa.DataCollector(model_reporters=metrics.model_reporters())
        self.metrics: dict[str, float] = {}

    # ------------------------------------------------------------------ construction

    def _build_geography(self) -> None:
        net = self.params.network
        # A user's own councils (and graph) replace the synthetic ones (docs/scenarios.md).
        self.council_table = network.load_councils(net.councils_file) if net.councils_file else None
        if net.graph_file:
            graph = network.load_graph(net.graph_file, list(self.council_table["name"]))
            self.graph, self.positions = network.own_geography(graph, self.rng)
        else:
            n = net.councils if self.council_table is None else len(self.council_table)
            self.graph, self.positions = synthetic_geography(n, net.mean_degree, self.rng)
        self.nodes = list(self.graph.nodes)
        self.n_councils = len(self.nodes)
        self.near = neighbour_matrix(self.graph, self.nodes)
        # Positions are the layout: no spring layout, no unseeded draw.
        self.space = Network(self.graph, capacity=1, random=self.random, layout=self.positions)

    def _build_councils(self) -> None:
        c = self.params.councils
        if self.council_table is None:
            sigma = c.budget_dispersion
            mu = np.log(c.budget_mean * 1e6) - sigma**2 / 2
            self.council_budget = np.exp(self.rng.normal(mu, sigma, self.n_councils))  # GBP / year
            names = [f"Area {i + 1:03d}" for i in range(self.n_councils)]
        else:
            self.council_budget = self.council_table["budget"].to_numpy(dtype=float) * 1e6
            names = list(self.council_table["name"])
        self.council_trust = np.full(self.n_councils, self.params.trust.initial)
        self.budget_factor = np.ones(self.n_councils)
        self.councils = [
            Council(self, i, names[i], self.space._cells[node]) for i, node in enumerate(self.nodes)
        ]

    def _add_provider(self, cls: type, name: str, **values: Any) -> int:
        index = self.providers.add(kind=cls.kind, **values)
        agent = cls(self, index, name)
        self._provider_agents[index] = agent
        return index

    def _provider_values(self, section: Any, capacity: float) -> dict[str, Any]:
        """Array values for a new outsourcer or mutual from its scenario section."""
        spread = 0.1  # providers of a type differ a little in quality and social value
        year = capacity * QUARTERS_PER_YEAR
        return {
            "capacity": capacity,
            "cash": section.reserves * year,
            "credit_limit": section.credit_limit * year,
            "markup": section.markup_initial,
            "markup_min": section.markup_min,
            "markup_max": section.markup_max,
            "markup_step": section.markup_step,
            "cost_factor": section.cost_factor,
            "quality": np.clip(section.quality + self.rng.uniform(-spread, spread), 0, 1),
            "social_value": np.clip(section.social_value + self.rng.uniform(-spread, spread), 0, 1),
            "local_cost_share": section.local_cost_share,
            "extraction": getattr(section, "profit_extraction", 0.0),
            "interest_rate": section.interest_rate,
            "hazard": 1.0 - (1.0 - section.failure_hazard) ** (1 / QUARTERS_PER_YEAR),
        }

    def _build_inhouse_units(self) -> None:
        c = self.params.councils
        self.inhouse = np.empty(self.n_councils, dtype=np.int64)
        for i, council in enumerate(self.councils):
            self.inhouse[i] = self._add_provider(
                InHouseUnit,
                f"{council.name} in-house",
                home=i,
                cost_factor=c.inhouse_cost,
                quality=c.inhouse_quality,
                social_value=c.inhouse_social_value,
                local_cost_share=c.inhouse_local_cost_share,
            )

    def _build_outsourcers(self) -> None:
        o = self.params.outsourcers
        market = self.council_budget.sum() / QUARTERS_PER_YEAR
        for k in range(o.count):
            self._add_provider(
                Outsourcer,
                outsourcer_name(k),
                **self._provider_values(o, o.capacity_share * market),
            )

    def _new_mutual(self, home: int, capacity: float, name: str, grant: float = 0.0) -> int:
        index = self._add_provider(
            Mutual, name, home=home, **self._provider_values(self.params.mutuals, capacity)
        )
        self.providers.cash[index] += grant
        return index

    def _build_mutuals(self) -> None:
        m = self.params.mutuals
        homes = self.rng.integers(0, self.n_councils, m.count)
        for k, home in enumerate(homes):
            value = self.council_budget[home] / QUARTERS_PER_YEAR
            self._new_mutual(
                int(home), m.capacity_share * value, f"{self.councils[home].name} Mutual {k + 1}"
            )

    def _build_contracts(self) -> None:
        c = self.params.councils
        lines, lots = c.service_lines, c.lots
        weights = (
            self.rng.dirichlet(np.full(lines, 2.0), self.n_councils)
            if lines > 1
            else np.ones((self.n_councils, 1))
        )
        quarterly = self.council_budget / QUARTERS_PER_YEAR
        for i in range(self.n_councils):
            for line in range(lines):
                for _ in range(lots):
                    self.contracts.add(
                        council=i, line=line, reference=quarterly[i] * weights[i, line] / lots
                    )
        n = self.contracts.n
        ct = self.contracts
        inhouse = self.rng.random(n) < c.initial_inhouse_share
        slots = np.arange(n)
        self.council_total = np.bincount(
            ct.view("council"), ct.view("reference"), minlength=self.n_councils
        )
        ih = slots[inhouse]
        ct.holder[ih] = self.inhouse[ct.council[ih]]
        self.inhouse_capacity = np.maximum(
            np.bincount(ct.council[ih], ct.reference[ih], minlength=self.n_councils),
            c.inhouse_capacity_retained * self.council_total,
        )
        self.providers.capacity[self.inhouse] = self.inhouse_capacity
        self._refresh_inhouse_prices()
        # The rest was outsourced before the run: one tender round among providers places it.
        self._tender(slots[~inhouse], allow_inhouse=False)
        # Stagger end dates so that tenders fall due evenly over the years (a contract no one
        # could take keeps its re-tender date).
        term = QUARTERS_PER_YEAR * c.contract_years_max
        staggered = self.rng.integers(1, term + 1, n)
        held = ct.view("holder") >= 0
        ct.view("end")[held] = staggered[held]

    # ------------------------------------------------------------------ helpers

    def _headroom(self) -> np.ndarray:
        """Financial headroom of each provider: (cash + credit) in years of revenue."""
        p = self.providers
        revenue_year = (
            np.maximum(p.view("revenue_last"), p.view("capacity") * 0.25) * QUARTERS_PER_YEAR
        )
        return (p.view("cash") + p.view("credit_limit")) / np.maximum(revenue_year, 1.0)

    def _unit_cost(self, providers: np.ndarray) -> np.ndarray:
        p = self.providers
        return p.cost_factor[providers] * self.cost_level[p.kind[providers]]

    def _used_capacity(self) -> np.ndarray:
        ct = self.contracts
        holder = ct.view("holder")
        held = holder >= 0
        return np.bincount(holder[held], ct.view("reference")[held], minlength=self.providers.n)

    def _refresh_inhouse_prices(self) -> None:
        """In-house services cost what the unit spends (no margin, no fixed price)."""
        ct = self.contracts
        holder = ct.view("holder")
        ih = np.flatnonzero(
            (holder >= 0) & (self.providers.kind[np.maximum(holder, 0)] == ProviderKind.INHOUSE)
        )
        premium = np.where(ct.emergency[ih], 1.0 + self.params.commissioning.emergency_premium, 1.0)
        ct.price[ih] = ct.reference[ih] * self._unit_cost(holder[ih]) * premium

    def provider_contract_value(self) -> np.ndarray:
        """Contract value (GBP per quarter) each provider holds now."""
        ct = self.contracts
        holder = ct.view("holder")
        held = holder >= 0
        return np.bincount(holder[held], ct.view("price")[held], minlength=self.providers.n)

    def council_value_by_kind(self) -> np.ndarray:
        """(n_councils, 3) contract value held by outsourcers, mutuals and in-house units."""
        ct = self.contracts
        holder = ct.view("holder")
        held = holder >= 0
        kind = self.providers.kind[holder[held]]
        flat = ct.view("council")[held] * KINDS + kind
        return np.bincount(flat, ct.view("price")[held], minlength=self.n_councils * KINDS).reshape(
            -1, KINDS
        )

    def provider_index_by_name(self) -> dict[str, int]:
        """Map from provider name to its row."""
        return {agent.name: index for index, agent in self._provider_agents.items()}

    def provider_agent(self, index: int) -> Any:
        """The Mesa agent of a provider row."""
        return self._provider_agents[index]

    def _open_quarter(self) -> None:
        """Start the current quarter's tallies, once: at the start of ``step`` or at the first
        failure after the last quarter was recorded (a dashboard button presses between steps),
        so a shock applied between steps counts in the quarter it belongs to."""
        if self._quarter_closed:
            self._reset_quarter_tallies()
            self._quarter_closed = False

    @property
    def tally_quarter(self) -> int:
        """The quarter that ``tally`` and ``councils_hit`` count: the last one simulated, or the
        next one once a shock has hit it between steps."""
        return self.quarter - 1 if self._quarter_closed else self.quarter

    def _reset_quarter_tallies(self) -> None:
        self.tally = {
            "failures": 0,
            "contracts_disrupted": 0,
            "handbacks": 0,
            "spin_outs": 0,
            "transition_cost": 0.0,
            "contagion_loss": 0.0,
        }
        self.disrupted_value = np.zeros(self.n_councils)
        self.councils_hit = np.zeros(self.n_councils, dtype=bool)

    # ------------------------------------------------------------------ failures and responses

    def fail_provider(self, index: int, cause: str) -> None:
        """A provider fails now: every contract it holds fails at once; its subcontractors
        lose the income (and the quarter's unpaid invoices) from it."""
        p = self.providers
        if not p.alive[index] or p.kind[index] == ProviderKind.INHOUSE:
            return
        self._open_quarter()
        p.alive[index] = False
        p.failed_at[index] = self.quarter
        ct = self.contracts
        held = np.flatnonzero(ct.view("holder") == index)
        # Contagion: subcontractors are owed the last quarter's share, and lose the work.
        subs = ct.subcontractor[held]
        has_sub = subs >= 0
        unpaid = ct.price[held[has_sub]] * self.params.outsourcers.subcontract_share
        np.subtract.at(p.cash, subs[has_sub], unpaid)
        self.tally["contagion_loss"] += float(unpaid.sum())
        ct.subcontractor[held] = -1
        # A failed subcontractor simply stops: the holder takes its share back.
        ct.view("subcontractor")[ct.view("subcontractor") == index] = -1
        self.tally["failures"] += 1
        self.events.append(
            {
                "quarter": self.quarter,
                "event": "failure",
                "cause": cause,
                "provider": self._provider_agents[index].name,
                "contracts": int(held.size),
            }
        )
        self._provider_agents[index].remove()
        self._disrupt(held)

    def _disrupt(self, slots: np.ndarray) -> None:
        """Contracts whose provider has gone: the council insources, makes an emergency award
        (after mobilisation), or is left with a gap until a re-tender."""
        if slots.size == 0:
            return
        ct = self.contracts
        cp = self.params.commissioning
        t = self.quarter
        ct.holder[slots] = -1
        ct.subcontractor[slots] = -1
        ct.disrupted_at[slots] = t
        ct.loss_streak[slots] = 0
        councils = ct.council[slots]
        yearly = ct.reference[slots] * QUARTERS_PER_YEAR
        self.tally["contracts_disrupted"] += int(slots.size)
        self.tally["transition_cost"] += float(cp.transition_cost * yearly.sum())
        np.add.at(self.disrupted_value, councils, ct.reference[slots])
        self.councils_hit[councils] = True

        spare = self.providers.view("capacity") - self._used_capacity()
        order = slots[self.rng.permutation(slots.size)]
        cols, external, _ = self._bidders(ct.council[order], due_diligence=False)
        for row, slot in enumerate(order):
            c = ct.council[slot]
            size = ct.reference[slot]
            unit = self.inhouse[c]
            if spare[unit] >= size:  # insource now, at an emergency premium
                spare[unit] -= size
                self._insource(slot)
                continue
            candidates = cols[external[row] & (spare[cols] >= size)]
            if candidates.size:  # emergency direct award to the best-placed provider with room
                best = candidates[np.argmax(self.providers.quality[candidates])]
                spare[best] -= size
                price = (
                    size * self._unit_cost(np.array([best]))[0] * (1 + self.providers.markup[best])
                )
                self._place(
                    slot,
                    best,
                    price=price * (1 + cp.emergency_premium),
                    start=t + cp.mobilisation_quarters,
                    end=t + cp.mobilisation_quarters + cp.emergency_contract_quarters,
                    emergency=True,
                )
                continue
            ct.end[slot] = t + cp.retender_quarters  # gap: unmet need until a tender can award
        self._refresh_inhouse_prices()

    def _place(
        self, slot: int, provider: int, *, price: float, start: int, end: int, emergency: bool
    ) -> None:
        ct = self.contracts
        ct.holder[slot] = provider
        ct.price[slot] = price
        ct.start[slot] = start
        ct.end[slot] = end
        ct.emergency[slot] = emergency
        ct.loss_streak[slot] = 0
        ct.subcontractor[slot] = -1

    def _insolvencies_and_handbacks(self) -> None:
        p = self.providers
        broke = np.flatnonzero(
            p.view("alive")
            & (p.view("kind") != ProviderKind.INHOUSE)
            & (p.view("cash") < -p.view("credit_limit"))
        )
        for index in broke:
            self.fail_provider(int(index), cause="insolvency")
        ct = self.contracts
        handback = np.flatnonzero(
            (ct.view("holder") >= 0)
            & (ct.view("loss_streak") >= self.params.commissioning.handback_quarters)
        )
        if handback.size:
            self.tally["handbacks"] += int(handback.size)
            self.events.append(
                {"quarter": self.quarter, "event": "handback", "contracts": int(handback.size)}
            )
            self._disrupt(handback)

    # ------------------------------------------------------------------ tendering

    def _bidders(
        self, councils: np.ndarray, *, due_diligence: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which outsourcers and mutuals can bid for contracts of ``councils``.

        Alive outsourcers reach every council; mutuals reach their home area and its
        neighbours. Only those providers become columns, so the matrices stay small.

        Returns:
            The provider of each column, the (rows, columns) eligibility, and whether each
            bidder is local to the row's council (based in or next to it).
        """
        p = self.providers
        ok = p.view("alive") & (p.view("kind") != ProviderKind.INHOUSE)
        if due_diligence:
            ok &= self._passes_financial_check()
        cols = np.flatnonzero(ok)
        home = p.home[cols]
        national = home < 0
        local = self.near[np.ix_(councils, np.maximum(home, 0))] & ~national[None, :]
        return cols, local | national[None, :], local

    def _passes_financial_check(self) -> np.ndarray:
        lag = self.params.councils.report_lag_quarters
        seen = self._health_log[max(len(self._health_log) - 1 - lag, 0)]
        headroom = np.full(self.providers.n, np.inf)  # newer than the accounts: nothing to see
        headroom[: seen.size] = seen
        return headroom >= self.params.councils.due_diligence_threshold

    def _tender(self, slots: np.ndarray, *, allow_inhouse: bool) -> None:
        """Run one tender round over ``slots``: bid, score, award, adapt mark-ups.

        The columns are the outsourcers and mutuals that can bid, plus (when it bids) one
        column for each council's own in-house unit, which bids at cost and is always local.
        """
        if slots.size == 0:
            return
        ct = self.contracts
        p = self.providers
        cp = self.params.commissioning
        t = self.quarter
        councils = ct.council[slots]
        size = ct.reference[slots]
        incumbent = ct.holder[slots].copy()
        # The contracts on offer free the capacity they use.
        spare = p.view("capacity") - self._used_capacity()
        np.add.at(spare, incumbent[incumbent >= 0], size[incumbent >= 0])

        cols, eligible, local = self._bidders(councils, due_diligence=True)
        error = self.rng.normal(0.0, cp.bid_error, (slots.size, cols.size))
        price = tendering.bid_prices(size, self._unit_cost(cols), p.markup[cols], error)
        quality, social_value = p.quality[cols], p.social_value[cols]
        units = self.inhouse[councils]
        inhouse_bids = allow_inhouse and self.params.councils.inhouse_bids
        if inhouse_bids:  # the council knows its own unit's cost: no error, no mark-up
            price = np.hstack([price, (size * self._unit_cost(units))[:, None]])
            yes = np.ones((slots.size, 1), dtype=bool)
            eligible, local = np.hstack([eligible, yes]), np.hstack([local, yes])
            quality = np.append(quality, p.quality[units[0]])
            social_value = np.append(social_value, p.social_value[units[0]])
        cap = self.params.councils.price_cap * size * self.budget_factor[councils]
        eligible &= price <= cap[:, None]
        score = tendering.score_bids(price, eligible, quality, social_value, local, self.weights)
        winner = tendering.award(
            score,
            size,
            spare[cols].copy(),
            self.rng.permutation(slots.size),
            own_unit=units if inhouse_bids else None,
            own_spare=spare.copy() if inhouse_bids else None,
        )

        years = self.rng.integers(
            self.params.councils.contract_years_min,
            self.params.councils.contract_years_max + 1,
            slots.size,
        )
        for row, slot in enumerate(slots):
            w = winner[row]
            if w >= 0:
                provider = cols[w] if w < cols.size else units[row]
                self._place(
                    slot,
                    provider,
                    price=price[row, w],
                    start=t,
                    end=t + QUARTERS_PER_YEAR * years[row],
                    emergency=False,
                )
            elif incumbent[row] >= 0 and p.alive[incumbent[row]]:
                ct.end[slot] = (
                    t + QUARTERS_PER_YEAR
                )  # no affordable bid: extend the incumbent a year
            else:
                self._leave_gap(slot)
        self._choose_subcontractors(slots[winner >= 0])
        self._adapt_markups(cols, eligible[:, : cols.size], winner)

    def _insource(self, slot: int) -> None:
        """The council's own unit takes the contract now, as an emergency (at the premium, and
        re-tendered when the emergency term ends)."""
        unit = self.inhouse[self.contracts.council[slot]]
        t = self.quarter
        end = t + self.params.commissioning.emergency_contract_quarters
        self._place(slot, unit, price=0.0, start=t, end=end, emergency=True)

    def _leave_gap(self, slot: int) -> None:
        """No tender could place the contract: it stays unserved until the next tender, and
        after ``inhouse_rebuild_quarters`` in a gap the council rebuilds the service in-house
        (as councils took Carillion's services back)."""
        ct = self.contracts
        cp = self.params.commissioning
        t = self.quarter
        if ct.holder[slot] >= 0 or ct.disrupted_at[slot] < 0:
            ct.disrupted_at[slot] = t  # the gap starts now
        ct.holder[slot] = -1
        if t - ct.disrupted_at[slot] >= cp.inhouse_rebuild_quarters:
            self._insource(slot)
        else:
            ct.end[slot] = t + cp.retender_quarters

    def _choose_subcontractors(self, slots: np.ndarray) -> None:
        """Outsourcers subcontract part of each new contract to a local mutual, picked at
        random among those based in or next to the area (the contagion channel)."""
        if self.params.outsourcers.subcontract_share <= 0 or slots.size == 0:
            return
        p = self.providers
        ct = self.contracts
        slots = slots[p.kind[ct.holder[slots]] == ProviderKind.OUTSOURCER]
        mutuals = np.flatnonzero(p.view("alive") & (p.view("kind") == ProviderKind.MUTUAL))
        if slots.size == 0 or mutuals.size == 0:
            return
        near = self.near[np.ix_(ct.council[slots], p.home[mutuals])]
        pick = np.where(near, self.rng.random(near.shape), -1.0).argmax(axis=1)
        found = near.any(axis=1)
        ct.subcontractor[slots[found]] = mutuals[pick[found]]

    def _adapt_markups(self, cols: np.ndarray, eligible: np.ndarray, winner: np.ndarray) -> None:
        """Each tender won raises a bidder's mark-up by a step, each lost lowers it (the NetLogo
        tender model's rule), netted over the round: a firm winning less than half its bids cuts
        its margin, which is how a race to the bottom emerges. ``cols`` are outsourcers and
        mutuals; a ``winner`` beyond them is an in-house unit."""
        p = self.providers
        bids = eligible.sum(axis=0)
        wins = np.bincount(winner[(winner >= 0) & (winner < cols.size)], minlength=cols.size)
        bid = bids > 0
        idx = cols[bid]
        net = (2 * wins[bid] - bids[bid]) / bids[bid]
        # A firm that lost money last quarter prices up a step whatever its win rate.
        net += p.revenue_last[idx] < p.cost_last[idx]
        p.markup[idx] = np.clip(
            p.markup[idx] + net * p.markup_step[idx], p.markup_min[idx], p.markup_max[idx]
        )

    def _tender_due(self) -> None:
        """Tender every contract that ends now; review in-house services (market testing)."""
        ct = self.contracts
        t = self.quarter
        due = np.flatnonzero(ct.view("end") <= t)
        if due.size == 0:
            return
        holder = ct.holder[due]
        inhouse = (holder >= 0) & (
            self.providers.kind[np.maximum(holder, 0)] == ProviderKind.INHOUSE
        )
        keep = (
            inhouse
            & ~ct.emergency[due]
            & (self.rng.random(due.size) >= self.params.councils.market_test_rate)
        )
        years = self.rng.integers(
            self.params.councils.contract_years_min,
            self.params.councils.contract_years_max + 1,
            keep.sum(),
        )
        ct.end[due[keep]] = t + QUARTERS_PER_YEAR * years
        self._tender(due[~keep], allow_inhouse=True)

    # ------------------------------------------------------------------ spin-outs

    def _spin_outs(self) -> None:
        """In-house services spin out as mutuals, more often under a support programme."""
        m = self.params.mutuals
        rate = m.spin_out_rate * (m.support_multiplier if m.support_programme else 1.0)
        if rate <= 0:
            return
        ct = self.contracts
        holder = ct.view("holder")
        inhouse = np.flatnonzero(
            (holder >= 0)
            & (self.providers.kind[np.maximum(holder, 0)] == ProviderKind.INHOUSE)
            & ~ct.view("emergency")
        )
        quarterly = 1.0 - (1.0 - min(rate, 1.0)) ** (1 / QUARTERS_PER_YEAR)
        chosen = inhouse[self.rng.random(inhouse.size) < quarterly]
        grant = m.start_up_grant * 1e6 if m.support_programme else 0.0
        for slot in chosen:
            council = int(ct.council[slot])
            name = f"{self.councils[council].name} Mutual {self.providers.n + 1}"
            mutual = self._new_mutual(council, 1.25 * ct.reference[slot], name, grant=grant)
            price = (
                ct.reference[slot]
                * self._unit_cost(np.array([mutual]))[0]
                * (1 + self.providers.markup[mutual])
            )
            self._place(
                slot,
                mutual,
                price=price,
                start=self.quarter,
                end=self.quarter + QUARTERS_PER_YEAR * m.spin_out_contract_years,
                emergency=False,
            )
            self.tally["spin_outs"] += 1

    # ------------------------------------------------------------------ delivery and money

    def _deliver_and_pay(self) -> None:
        ct = self.contracts
        p = self.providers
        cp = self.params.commissioning
        t = self.quarter
        holder = ct.view("holder")
        reference = ct.view("reference")
        delivering = (holder >= 0) & (ct.view("start") <= t)
        fraction = np.where(delivering, 1.0, 0.0)
        fraction[delivering & (ct.view("disrupted_at") == t)] = 1.0 - cp.transition_service_loss
        slots = np.flatnonzero(fraction > 0)
        h = holder[slots]
        sub = ct.subcontractor[slots]
        s = np.where(sub >= 0, self.params.outsourcers.subcontract_share, 0.0)
        paid = ct.price[slots] * fraction[slots]
        work = reference[slots] * fraction[slots]
        is_ih = p.kind[h] == ProviderKind.INHOUSE
        holder_cost = np.where(is_ih, paid, work * (1 - s) * self._unit_cost(h))
        # A subcontracted leg: the subcontractor is paid its share of the price.
        with_sub = np.flatnonzero(sub >= 0)
        sub_ids = sub[with_sub]
        sub_revenue = paid[with_sub] * s[with_sub]
        sub_cost = work[with_sub] * s[with_sub] * self._unit_cost(sub_ids)

        # Demand above contracted levels: the in-house unit covers what it can, at a premium.
        demand = self.demand_factor[t]
        council = ct.view("council")
        required = reference * demand
        extra = np.zeros(self.n_councils)
        if demand > 1.0:
            want = np.bincount(council, reference * (demand - 1.0), minlength=self.n_councils)
            spare = np.maximum(self.inhouse_capacity - self._used_capacity()[self.inhouse], 0.0)
            extra = np.minimum(want, spare)
        spot = np.flatnonzero(extra > 0)
        spot_paid = extra[spot] * self._unit_cost(self.inhouse[spot]) * (1 + cp.emergency_premium)

        leg_slot = np.concatenate([slots, slots[with_sub], np.full(spot.size, -1)])
        leg_provider = np.concatenate([h, sub_ids, self.inhouse[spot]])
        leg_council = np.concatenate([council[slots], council[slots[with_sub]], spot])
        revenue = np.concatenate([paid * (1 - s), sub_revenue, spot_paid])
        cost = np.concatenate([holder_cost, sub_cost, spot_paid])
        flows = finance.quarter_flows(
            leg_slot,
            leg_provider,
            leg_council,
            revenue,
            cost,
            p.view("kind"),
            p.view("local_cost_share"),
        )
        self.flows = flows
        self.accounts = finance.settle_accounts(
            flows, p.view("cash"), p.view("extraction"), p.view("interest_rate"), p.view("kind")
        )
        p.view("revenue_last")[:] = self.accounts["revenue"]
        p.view("cost_last")[:] = self.accounts["cost"]

        # Contracts losing more than the handback threshold build up towards a handback.
        holder_loss = (paid * (1 - s) - holder_cost) < -cp.handback_loss * paid * (1 - s)
        streak = ct.loss_streak[slots]
        ct.loss_streak[slots] = np.where(holder_loss & ~is_ih, streak + 1, 0)

        premium = cp.emergency_premium / (1 + cp.emergency_premium)
        emergency_paid = float((paid * ct.emergency[slots]).sum())
        delivered = np.bincount(council, reference * fraction, minlength=self.n_councils) + extra
        self.quarter_money = {
            "required": np.bincount(council, required, minlength=self.n_councils),
            "delivered": delivered,
            "paid": np.bincount(flows.council, flows.revenue, minlength=self.n_councils),
            "local": np.bincount(flows.council, flows.local, minlength=self.n_councils),
            "leaked": np.bincount(flows.council, flows.leaked, minlength=self.n_councils),
            "emergency_cost": emergency_paid * premium
            + float(spot_paid.sum()) * premium
            + self.tally["transition_cost"],
        }

    def _grow_mutuals(self) -> None:
        p = self.providers
        used = self._used_capacity()
        busy = (
            (p.view("kind") == ProviderKind.MUTUAL)
            & p.view("alive")
            & (used > 0.8 * p.view("capacity"))
        )
        p.view("capacity")[busy] *= 1.0 + self.params.mutuals.growth_rate

    def _update_trust(self) -> None:
        tp = self.params.trust
        money = self.quarter_money
        with np.errstate(invalid="ignore", divide="ignore"):
            continuity = np.where(
                money["required"] > 0, money["delivered"] / money["required"], 1.0
            )
            local = np.where(money["paid"] > 0, money["local"] / money["paid"], 0.0)
            value = self.council_value_by_kind()
            total = value.sum(axis=1)
            ownership = np.where(
                total > 0,
                (value[:, ProviderKind.MUTUAL] + value[:, ProviderKind.INHOUSE]) / total,
                0.0,
            )
            hit = self.disrupted_value / self.council_total
        w = tp.weight_continuity + tp.weight_local + tp.weight_ownership
        target = (
            tp.weight_continuity * continuity
            + tp.weight_local * local
            + tp.weight_ownership * ownership
        ) / w
        trust = (
            self.council_trust
            + tp.adjustment * (target - self.council_trust)
            - tp.failure_penalty * hit
        )
        self.council_trust = np.clip(trust, 0.0, 1.0)

    def _update_inhouse_capacity(self) -> None:
        """Staff transfer with the work they lose (TUPE); a retained core stays."""
        used = self._used_capacity()[self.inhouse]
        retained = self.params.councils.inhouse_capacity_retained * self.council_total
        self.inhouse_capacity = np.maximum(used, retained)
        self.providers.capacity[self.inhouse] = self.inhouse_capacity

    # ------------------------------------------------------------------ the quarter

    def step(self) -> None:
        """Simulate one quarter."""
        self._open_quarter()
        shocks.apply_scheduled(self)
        shocks.random_failures(self)
        self._insolvencies_and_handbacks()
        self._tender_due()
        self._spin_outs()
        self._refresh_inhouse_prices()  # in-house services cost what the unit spends this quarter
        self._deliver_and_pay()
        self._grow_mutuals()
        self._update_trust()
        self._update_inhouse_capacity()
        self._health_log.append(self._headroom())
        if self.shock_log and self.shock_log[0][0] == self.quarter:
            self.shock_councils_touched = int(self.councils_hit.sum())
        self.metrics = metrics.quarter_metrics(self)
        self.datacollector.collect(self)
        self._quarter_closed = True  # councils_hit and the tallies stay readable until then
        self.quarter += 1
        if self.quarter >= self.params.scenario.quarters:
            self.running = False

    def run(self) -> CommissioningModel:
        """Run to the horizon (``scenario.quarters``) and return self."""
        while self.running:
            self.step()
        return self

    def timeseries(self):  # -> pandas.DataFrame
        """One row per simulated quarter: a ``quarter`` column and every reporter."""
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df.insert(0, "quarter", np.arange(len(df)))
        return df

    def summary(self) -> dict[str, Any]:
        """Run outcomes (see :func:`sim.metrics.run_summary`)."""
        return metrics.run_summary(self.timeseries(), self.params, self.shock_log, self)
