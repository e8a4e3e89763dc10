"""Simulation: the commissioning market without Mesa, for runs, sweeps and benchmarks.

It builds the world and runs the schedule; each submodel lives in its own module
(docs/ODD.md, section 7): :mod:`sim.core.tendering`, :mod:`sim.core.failure`, :mod:`sim.core.delivery`,
:mod:`sim.core.shocks`, :mod:`sim.core.spinouts`, :mod:`sim.core.trust`, :mod:`sim.core.outcomes`, all acting on
the tables of :mod:`sim.core.state`. :class:`sim.abm.model.CommissioningModel` is the same model as a
Mesa model (agents, a ``Network`` space, a ``DataCollector``): with the same seed the two give
the same numbers.

This module imports neither Mesa nor pandas, networkx, scipy or matplotlib (a process that
only runs the model loads NumPy and the scenario's schema): the world is built a column at a
time, and each quarter's outcomes go into a preallocated array (:meth:`Simulation.series`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from sim.core import (
    delivery,
    entry,
    failure,
    inhouse,
    learning,
    network,
    outcomes,
    price_review,
    shocks,
    spinouts,
    tender_round,
    tendering,
    trust,
    workforce,
)
from sim.core.state import (
    KINDS,
    QUARTERS_PER_YEAR,
    ContractBook,
    CouncilTable,
    Market,
    ProviderKind,
    ProviderTable,
    QuarterLedger,
    firm_sizes,
    provider_values,
)
from sim.scenario import (
    Scenario,
    Shock,
    apply_overrides,
    load_scenario,
    outsourcer_name,
    scenario_from_dict,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COUNT_REPORTERS", "Simulation", "fresh_seed", "resolve_scenario"]

#: The quarterly reporters stored as integers (their type in :data:`outcomes.REPORTERS`).
COUNT_REPORTERS = frozenset(name for name, o in outcomes.REPORTERS.items() if o.type is int)
_REPORTER_NAMES = tuple(outcomes.REPORTERS)


def resolve_scenario(
    scenario: Scenario | str | Path | Mapping | None, overrides: Mapping[str, Any]
) -> Scenario:
    """A validated Scenario from a Scenario, a TOML path, a nested dict or None (defaults),
    with dotted-key overrides (``commissioning.social_value_weight`` or
    ``commissioning__social_value_weight``) applied on top."""
    if isinstance(scenario, str | Path):
        return load_scenario(scenario, dict(overrides), origin="overrides")
    if isinstance(scenario, Scenario) and not overrides:
        return scenario  # validated when it was made: a sweep's runs are not checked twice
    data = scenario.model_dump() if isinstance(scenario, Scenario) else dict(scenario or {})
    if overrides:
        data = apply_overrides(data, dict(overrides), origin="overrides")
    return scenario_from_dict(data, origin="scenario")


def fresh_seed() -> int:
    """A seed from the operating system's entropy, 63 bits (it fits an int64 column)."""
    return int(np.random.SeedSequence().generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def seed_of(rng: Any) -> int | None:
    """The integer seed a run uses: ``rng`` itself if it is an integer, a fresh one
    (:func:`fresh_seed`) if it is None, and None for a generator (its state is the caller's
    to keep)."""
    if rng is None:
        return fresh_seed()
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return int(rng)
    return None


def generator(rng: Any) -> np.random.Generator:
    """The numpy generator of a run, made from ``rng`` exactly as ``mesa.Model`` makes it:
    an integer seeds it; anything else (a generator, a seed sequence) gives one draw to the
    stdlib seed Mesa derives from it, so a Mesa model and a :class:`Simulation` given the
    same ``rng`` draw the same numbers."""
    gen = np.random.default_rng(rng)
    if not isinstance(rng, int | np.integer):
        gen.integers(np.iinfo(np.int32).max)
    return gen


def _names(prefix: str, numbers: np.ndarray, suffix: str = "", width: int = 0) -> np.ndarray:
    """``f"{prefix}{number:0{width}d}{suffix}"`` for each number, a whole column at once."""
    text = np.strings.zfill(np.asarray(numbers).astype(np.dtypes.StringDType()), width)
    return np.strings.add(np.strings.add(prefix, text), suffix)


class Simulation:
    """A market of councils commissioning services from outsourcers, mutuals and in-house units.

    Args:
        scenario: a :class:`~sim.scenario.Scenario`, a path to a TOML file, a nested dict, or
            None for the defaults.
        rng: seed (or generator) for every random draw. None draws a fresh seed from the
            operating system (``self.seed`` records it); pass ``rng=scenario.scenario.seed``
            to repeat a ``commsim run``.
        **overrides: dotted-key parameter overrides, e.g.
            ``**{"commissioning.social_value_weight": 0.2}`` or
            ``commissioning__social_value_weight=0.2``.

    Attributes:
        params: the resolved scenario.
        seed: the integer seed of this run (None if ``rng`` was a generator).
        rng: the numpy generator every draw comes from.
        market: the state every mechanism acts on (:class:`sim.core.state.Market`); ``providers``,
            ``contracts``, ``council_table``, ``ledger``, ``events`` and ``shock_log`` are its
            parts.
        positions: (n_councils, 2) each council's place on the map (unit square).
        edges: (m, 2) int64, the pairs of neighbouring councils.
        metrics: the last recorded quarter's outcomes (:data:`sim.core.outcomes.REPORTERS`).
        outcomes: the run outcomes once the run has reached its horizon ({} before).
        running: False once the run has reached its horizon.

    With the same ``rng``, :class:`sim.abm.model.CommissioningModel` (the Mesa model) gives the
    same numbers: this is the same model without Mesa's agents, space and data collector.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path | Mapping | None = None,
        *,
        rng: Any = None,
        **overrides: Any,
    ):
        params = resolve_scenario(scenario, overrides)
        self.seed = seed_of(rng)
        self.rng = generator(rng if self.seed is None else self.seed)
        self.running = True
        self._build(params)

    # ------------------------------------------------------------------ construction

    def _build(self, params: Scenario) -> None:
        """Build the world from ``params`` with ``self.rng`` (set before: Mesa sets it)."""
        self.params = params
        self._build_geography()
        self._build_councils()
        c = self.council_table
        self.market = Market(
            providers=ProviderTable(
                capacity=2
                * (c.n + params.outsourcers.count + params.mutuals.count + params.local_firms.count)
            ),
            contracts=ContractBook(
                capacity=c.n * params.councils.service_lines * params.councils.lots
            ),
            councils=c,
            ledger=QuarterLedger(c.n),
            cost_level=np.ones(KINDS),
            demand_factor=np.ones(params.scenario.quarters + 1),
            wage_floor=params.workforce.wage_floor,
        )
        self.providers = self.market.providers
        self.contracts = self.market.contracts
        self.ledger = self.market.ledger
        self.events = self.market.events
        self.shock_log = self.market.shock_log
        self.shock_councils_touched = 0
        self._scored = 0  # provider rows whose social value score is set
        self._build_providers()
        self.market.health_log.append(delivery.headroom(self.providers))
        self._build_contracts()
        self.metrics: dict[str, float] = {}
        self.outcomes: dict[str, Any] = {}
        self._records = np.full((max(params.scenario.quarters, 1), len(_REPORTER_NAMES)), np.nan)
        self._recorded = 0

    def _build_geography(self) -> None:
        net = self.params.network
        # A user's own councils (and graph) replace the synthetic ones (docs/scenarios.md).
        self._own_councils = network.read_councils(net.councils_file) if net.councils_file else None
        if net.graph_file:
            graph = network.load_graph(net.graph_file, self._own_councils[0])
            self.positions, self.edges = network.own_geography(graph, self.rng)
        else:
            own = self._own_councils
            n = net.councils if own is None else len(own[0])
            self.positions, self.edges = network.synthetic_geography(n, net.mean_degree, self.rng)

    def _build_councils(self) -> None:
        c = self.params.councils
        n = len(self.positions)
        own = self._own_councils
        if own is None:
            sigma = c.budget_dispersion
            mu = np.log(c.budget_mean * 1e6) - sigma**2 / 2
            budget = np.exp(self.rng.normal(mu, sigma, n))  # GBP / year
            names = _names("Area ", np.arange(1, n + 1), width=3).tolist()
        else:
            names, budget = own[0], own[1] * 1e6
        self.council_table = CouncilTable(
            name=names,
            budget=budget,
            near=network.neighbours(n, self.edges),
            trust=np.full(n, self.params.trust.initial),
        )

    def _build_providers(self) -> None:
        p, cn, params = self.providers, self.council_table, self.params
        c = params.councils
        cn.inhouse_unit = p.extend(
            cn.n,
            kind=ProviderKind.INHOUSE,
            name=np.strings.add(np.asarray(cn.name, dtype=np.dtypes.StringDType()), " in-house"),
            home=np.arange(cn.n),
            cost_factor=c.inhouse_cost,
            quality=c.inhouse_quality,
            social_commitments=c.inhouse_social_commitments,
            local_cost_share=c.inhouse_local_cost_share,
        )
        o = params.outsourcers
        market = cn.budget.sum() / QUARTERS_PER_YEAR
        sizes = firm_sizes(o.capacity_share * market, o.count, o.size_dispersion, self.rng)
        values = provider_values(o, sizes, self.rng)
        names = [outsourcer_name(k) for k in range(o.count)]  # a few firms, not per council
        p.extend(o.count, kind=ProviderKind.OUTSOURCER, name=names, **values)
        m = params.mutuals
        homes, capacity, named = self._local_providers(m, " Mutual ")
        spinouts.new_mutuals(p, homes, capacity, named, m, self.rng)
        f = params.local_firms
        homes, capacity, named = self._local_providers(f, " Care ")
        p.extend(
            f.count,
            kind=ProviderKind.LOCAL_FIRM,
            name=named,
            home=homes,
            **provider_values(f, capacity, self.rng),
        )
        self._new_providers()

    def _local_providers(
        self, section: Any, label: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Homes, capacities and names of a section's firms based in councils: each in a
        council drawn at random, sized ``capacity_share`` of its home's quarterly budget
        times a log-normal draw (:func:`firm_sizes`), named after its home and ``label``."""
        cn = self.council_table
        homes = self.rng.integers(0, cn.n, section.count)
        mean = section.capacity_share * (cn.budget[homes] / QUARTERS_PER_YEAR)
        capacity = firm_sizes(mean, section.count, section.size_dispersion, self.rng)
        home_names = np.asarray(cn.name, dtype=np.dtypes.StringDType())[homes]
        names = np.strings.add(home_names, _names(label, np.arange(1, section.count + 1)))
        return homes, capacity, names

    def _build_contracts(self) -> None:
        c = self.params.councils
        cn, ct = self.council_table, self.contracts
        lines, lots = c.service_lines, c.lots
        weights = self.rng.dirichlet(np.full(lines, 2.0), cn.n) if lines > 1 else np.ones((cn.n, 1))
        quarterly = cn.budget / QUARTERS_PER_YEAR
        # Council by council, line by line, lot by lot.
        council = np.repeat(np.arange(cn.n), lines * lots)
        line = np.tile(np.repeat(np.arange(lines), lots), cn.n)
        ct.extend(
            council.size,
            council=council,
            line=line,
            reference=quarterly[council] * weights[council, line] / lots,
        )
        n = ct.n
        share = np.full(cn.n, c.initial_inhouse_share)
        draws = self.rng.random(n)
        own = None if self._own_councils is None else self._own_councils[3]
        if own is not None and not np.isnan(own).all():
            # A council's own recorded share is met as closely as its contracts allow.
            share = np.where(np.isnan(own), share, own)
            in_house = inhouse.kept_to_share(ct.view("council"), ct.view("reference"), draws, share)
        else:
            in_house = draws < share[ct.view("council")]
        slots = np.arange(n)
        cn.total = np.bincount(ct.view("council"), ct.view("reference"), minlength=cn.n)
        ih = slots[in_house]
        ct.holder[ih] = cn.inhouse_unit[ct.council[ih]]
        cn.inhouse_capacity = np.maximum(
            np.bincount(ct.council[ih], ct.reference[ih], minlength=cn.n),
            c.inhouse_capacity_retained * cn.total,
        )
        self.providers.capacity[cn.inhouse_unit] = cn.inhouse_capacity
        premium = self.params.commissioning.emergency_premium
        inhouse.refresh_inhouse_prices(self.market, premium)
        # The rest was outsourced before the run: one tender round among providers places it.
        gaps = tender_round.tender(
            self.market, slots[~in_house], self.params, self.rng, allow_inhouse=False
        )
        failure.leave_gaps(self.market, gaps, self.params, self.rng)
        # Stagger end dates so that tenders fall due evenly over the years (a contract no one
        # could take keeps its re-tender date).
        staggered = self.rng.integers(1, QUARTERS_PER_YEAR * c.contract_years_max + 1, n)
        held = ct.view("holder") >= 0
        ct.view("end")[held] = staggered[held]

    def _new_providers(self) -> None:
        """Score the provider rows added since the last call (new rows: spin-outs, entrants):
        their pay is lifted to the wage floor and their social value scores follow from their
        attributes."""
        p = self.providers
        if self._scored == p.n:  # most quarters: no spin-out
            return
        new = slice(self._scored, p.n)
        labour_share = self.params.workforce.labour_share
        workforce.pay_wage_floor(p, new, self.market.wage_floor, labour_share)
        p.social_value_score[new] = tendering.social_value_scores(
            p.home[new],
            p.extraction[new],
            p.owners_local_share[new],
            p.local_cost_share[new],
            p.social_commitments[new],
            self.params.commissioning,
        )
        self._scored = p.n

    def _failed_providers(self) -> None:
        """Providers may have failed (their rows stay, marked not alive): nothing to do here;
        the Mesa model removes their agents."""

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
        return outcomes.value_by_council_and_kind(self.market)

    # ------------------------------------------------------------------ the quarter

    def apply_shock(self, shock: Shock) -> None:
        """Apply a shock now, between steps or within one (the dashboard's buttons)."""
        shocks.apply_shock(self.market, shock, self.params, self.rng)
        self._failed_providers()

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
        failure.leave_gaps(m, tender_round.tender_due(m, params, rng), params, rng)
        spinouts.spin_outs(m, params.mutuals, rng, params.workforce.labour_share)
        price_review.review_prices(m, params.commissioning.price_review)
        workforce.hire_staff(m, params.workforce)
        # In-house services cost what the unit spends this quarter, cost shocks included.
        inhouse.refresh_inhouse_prices(m, params.commissioning.emergency_premium)
        delivery.deliver_and_pay(m, params)
        learning.learn_margins(m)
        spinouts.grow_providers(m)
        self._update_trust()
        learning.remember_failures(m, params.councils.failure_memory)
        inhouse.update_inhouse_capacity(m, params.councils.inhouse_capacity_retained)
        entry.closures(m)
        entry.entries(m, params.local_firms, rng)
        self._record_quarter()

    def _update_trust(self) -> None:
        cn, ledger, tp = self.council_table, self.ledger, self.params.trust
        target = trust.trust_target(ledger.money, tp)
        cn.trust = trust.update_trust(cn.trust, target, ledger.disrupted_value, cn.total, tp)

    def _record_quarter(self) -> None:
        """Publish the quarter's accounts, record its outcomes, and move to the next quarter."""
        m = self.market
        self._new_providers()
        self._failed_providers()
        m.health_log.append(delivery.headroom(m.providers))
        if m.shock_log and m.shock_log[0][0] == m.quarter:
            self.shock_councils_touched = int(m.ledger.councils_hit.sum())
        self.metrics = outcomes.quarter_metrics(m, self.params.councils.local_respend)
        self._write_record()
        m.ledger.closed = True  # councils_hit and the counts stay readable until the next quarter
        m.quarter += 1
        if m.quarter >= self.params.scenario.quarters:
            self.running = False
            self._record_outcomes()

    def _write_record(self) -> None:
        """The quarter's outcomes into the next row of the records (a step past the horizon,
        which a user may take, makes room)."""
        if self._recorded == len(self._records):
            grown = np.full((2 * len(self._records), len(_REPORTER_NAMES)), np.nan)
            grown[: self._recorded] = self._records
            self._records = grown
        metrics = self.metrics
        self._records[self._recorded] = [metrics[name] for name in _REPORTER_NAMES]
        self._recorded += 1

    def _record_outcomes(self) -> None:
        """At the horizon: the run outcomes."""
        self.outcomes = self.summary()

    def run(self) -> Self:
        """Run to the horizon (``scenario.quarters``) and return self."""
        while self.running:
            self.step()
        return self

    # ------------------------------------------------------------------ results

    def series(self) -> dict[str, np.ndarray]:
        """One value per simulated quarter: ``quarter`` and every quarterly reporter
        (:data:`sim.core.outcomes.REPORTERS`); counts are int64, the rest float64."""
        rows = self._records[: self._recorded]
        out: dict[str, np.ndarray] = {"quarter": np.arange(self._recorded, dtype=np.int64)}
        for j, name in enumerate(_REPORTER_NAMES):
            column = rows[:, j]
            out[name] = column.astype(np.int64) if name in COUNT_REPORTERS else column.copy()
        return out

    def timeseries(self) -> pd.DataFrame:
        """:meth:`series` as a pandas DataFrame, one row per simulated quarter (loads pandas)."""
        import pandas as pd

        return pd.DataFrame(self.series())

    def summary(self) -> dict[str, Any]:
        """Run outcomes (see :func:`sim.core.outcomes.run_summary`)."""
        return outcomes.run_summary(
            self.series(),
            self.shock_log,
            self.shock_councils_touched,
            warm_up=self.params.scenario.warm_up_quarters,
            events=self.events,
        )
