"""The model's state, as named tables: providers, contracts, councils and the quarter's ledger.

Every mechanism (:mod:`sim.core.tendering`, :mod:`sim.core.failure`, :mod:`sim.core.delivery`,
:mod:`sim.core.shocks`, :mod:`sim.core.trust`, :mod:`sim.core.spinouts`) is a function over these tables;
:class:`Market` bundles them for the mechanisms that touch several at once. The Mesa agents
(:mod:`sim.abm.agents`) are views onto their rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, NamedTuple

import numpy as np

from sim.core.neighbours import Neighbours

__all__ = [
    "KINDS",
    "KIND_NAMES",
    "QUARTERS_PER_YEAR",
    "ContractBook",
    "ContractColumns",
    "CouncilColumns",
    "CouncilTable",
    "Market",
    "Params",
    "ProviderColumns",
    "ProviderKind",
    "ProviderTable",
    "QuarterLedger",
    "firm_sizes",
    "provider_values",
]

QUARTERS_PER_YEAR = 4

#: A resolved scenario (``sim.scenario.Scenario``) or one of its sections, as the mechanisms
#: read it. The schema imports no mechanism now (it owns the weights' rule), so a mechanism
#: may import it; each mechanism's annotation is still this one alias, not its section's type.
Params = Any


class ProviderKind(IntEnum):
    """Who delivers a contract: a provider's type, for reporting and for the scenario section
    its attributes come from. No tender, flow of money or outcome a claim uses reads it: they
    read the attributes (docs/ODD.md, section 2), so two providers equal in every attribute but their
    type are treated alike. A cost shock may name types (``provider_types``): that is the
    scenario's input, not a rule."""

    OUTSOURCER = 0
    MUTUAL = 1
    INHOUSE = 2
    LOCAL_FIRM = 3


KINDS = len(ProviderKind)
KIND_NAMES = {k: k.name.lower() for k in ProviderKind}


class _Table:
    """Named, equal-length numpy columns that grow by doubling (spin-outs add rows)."""

    _columns: ClassVar[dict[str, tuple[type, object]]] = {}

    def __init__(self, capacity: int = 16) -> None:
        self.n = 0
        self._cap = max(capacity, 1)
        for name, (dtype, fill) in self._columns.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))

    def _reserve(self, rows: int) -> None:
        """Room for ``rows`` rows in all: the capacity doubles until they fit."""
        if rows <= self._cap:
            return
        while self._cap < rows:
            self._cap *= 2
        for name, (dtype, fill) in self._columns.items():
            old = getattr(self, name)
            new = np.full(self._cap, fill, dtype=dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def add(self, **values: object) -> int:
        """Append one row; unnamed columns take their fill value. Returns the row index."""
        return int(self.extend(1, **values)[0])

    def extend(self, rows: int | None = None, /, **columns: Any) -> np.ndarray:
        """Append rows at once: each named column takes an array (one value a row) or one
        value for all; unnamed columns take their fill value. ``rows`` defaults to the arrays'
        length. Returns the new rows' indices."""
        lengths = {len(v) for v in columns.values() if np.ndim(v) > 0}
        if rows is None:
            rows = lengths.pop() if len(lengths) == 1 else None
        if rows is None or lengths - {rows}:
            raise ValueError(f"rows of unequal or unknown number: {rows!r}, arrays {lengths}")
        self._reserve(self.n + rows)
        new = slice(self.n, self.n + rows)
        for name, values in columns.items():
            getattr(self, name)[new] = values
        self.n += rows
        return np.arange(new.start, new.stop, dtype=np.int64)

    def __setattr__(self, name: str, value: object) -> None:
        # Any new row count or column array makes the cached views stale.
        object.__setattr__(self, name, value)
        self.__dict__["_views"] = {}

    def __getstate__(self) -> dict[str, Any]:
        # A copy or pickle must not carry views of the original's arrays.
        return {k: v for k, v in self.__dict__.items() if k != "_views"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__["_views"] = {}

    def view(self, name: str) -> np.ndarray:
        """The live rows of one column (a view: writes go through)."""
        # Cached: the mechanisms ask for about 70 views a quarter, and slicing costs more
        # than a look-up; __setattr__ forgets them when ``n`` or a column changes.
        try:
            return self._views[name]
        except KeyError:
            view = self._views[name] = getattr(self, name)[: self.n]
            return view

    def columns(self) -> Any:
        """Every numeric column's live rows as one record (``Columns``: a NamedTuple of
        views, writes go through), the form the compiled mechanisms take a table in."""
        try:
            return self._views[None]
        except KeyError:
            record = self._views[None] = self.Columns(*(self.view(n) for n in self.Columns._fields))
            return record


class ProviderTable(_Table):
    """Every provider's state, one row each; money in pounds, capacity in pounds per quarter."""

    Columns: ClassVar[type]  # ProviderColumns, below

    _columns: ClassVar[dict[str, tuple[type, object]]] = {
        "name": (object, ""),  # unique in the run
        "kind": (np.int8, 0),
        "home": (np.int64, -1),  # council index; -1 for national outsourcers
        "alive": (bool, True),
        "failed_at": (np.int64, -1),
        "closed_at": (np.int64, -1),  # the quarter it closed (left the market, not failed)
        "idle_since": (np.int64, -1),  # first quarter of its current spell with no contract
        "closure_quarters": (np.int64, 0),  # such a spell this long closes it (0: never)
        "capacity": (float, 0.0),  # reference-cost value it can deliver per quarter
        "cash": (float, 0.0),
        "credit_limit": (float, 0.0),  # insolvent when cash < -credit_limit
        "revenue_last": (float, 0.0),  # last quarter's revenue, for the financial check
        "cost_last": (float, 0.0),  # last quarter's costs: a loss makes the firm price up
        "markup": (float, 0.0),
        "markup_min": (float, 0.0),
        "markup_max": (float, 0.0),
        "markup_step": (float, 0.0),
        "target_margin": (float, 0.0),  # margin on cost it needs: cost of capital and risk
        "margin_gap": (float, 0.0),  # learned: mark-up bid less margin earned (EMA)
        "learning_rate": (float, 0.0),  # weight of each quarter's books in margin_gap
        "cost_factor": (float, 1.0),
        # pay relative to the area's going wage: its cost factor when it starts, raised to a
        # wage floor (sim.core.workforce.pay_wage_floor); 0 until then
        "wage": (float, 0.0),
        "quality": (float, 0.5),
        "social_commitments": (float, 0.0),  # 0-1, social value offered beyond delivery
        "social_value_score": (
            float,
            0.5,
        ),  # 0-1, from the attributes (tendering.social_value_scores)
        "local_cost_share": (float, 0.5),
        "extraction": (float, 0.0),  # share of a surplus paid out to its owners
        "owners_local_share": (float, 0.0),  # share of that pay-out landing where it is based
        "subcontract_share": (float, 0.0),  # share of each contract it won that it subcontracts
        "takes_subcontracts": (bool, False),
        "growth_rate": (float, 0.0),  # capacity growth a quarter while more than 80% used
        "interest_rate": (float, 0.0),
        "hazard": (float, 0.0),  # per quarter
    }

    def unit_cost(self, rows: np.ndarray, cost_level: np.ndarray) -> np.ndarray:
        """Cost of delivering one pound of reference-cost service, for ``rows`` now."""
        return self.cost_factor[rows] * cost_level[self.kind[rows]]

    def external(self) -> np.ndarray:
        """Mask of live rows that are trading outsourcers or mutuals (not in-house units)."""
        return self.view("alive") & (self.view("kind") != ProviderKind.INHOUSE)

    def index_of(self, name: str) -> int | None:
        """The row of the provider called ``name``, or None."""
        rows = np.flatnonzero(self.view("name") == name)
        return int(rows[0]) if rows.size else None


def firm_sizes(
    mean: float | np.ndarray, count: int, dispersion: float, rng: np.random.Generator
) -> np.ndarray:
    """``count`` firms' capacities: ``mean`` (one value, or one a firm) times a log-normal
    draw of mean 1 and sigma ``dispersion`` (a few large firms beside many small ones); one
    draw a firm, drawn even at sigma 0 so the stream does not depend on the spread."""
    sigma = float(dispersion)
    draw = rng.lognormal(-(sigma**2) / 2, sigma, count)
    return np.asarray(mean, dtype=float) * draw


def provider_values(
    section: Params, capacity: float | np.ndarray, rng: np.random.Generator
) -> dict[str, Any]:
    """Row values for new outsourcers or mutuals from their scenario section: one row for a
    number ``capacity``, one per element for an array. Two draws a row, row after row: its
    quality and social value commitments differ a little from its type's mean (drawn as
    ``rng.uniform`` would, one row at a time: the same stream however many rows at once)."""
    spread = 0.1
    capacity = np.asarray(capacity, dtype=float)
    year = capacity * QUARTERS_PER_YEAR
    low, high = np.array([-spread, -3 * spread]), np.array([spread, 3 * spread])
    draw = rng.uniform(low, high, (*capacity.shape, 2))
    return {
        "capacity": capacity[()],
        "cash": ((section.reserves - section.debt) * year)[()],
        "credit_limit": (section.credit_limit * year)[()],
        "markup": section.markup_initial,
        "markup_min": section.markup_min,
        "markup_max": section.markup_max,
        "markup_step": section.markup_step,
        "target_margin": section.target_margin,
        "learning_rate": section.learning_rate,
        "closure_quarters": section.closure_quarters,
        "cost_factor": section.cost_factor,
        "quality": np.clip(section.quality + draw[..., 0], 0, 1)[()],
        "social_commitments": np.clip(section.social_commitments + draw[..., 1], 0, 1)[()],
        "local_cost_share": section.local_cost_share,
        "extraction": section.profit_extraction,
        # a national firm's section has neither (:mod:`sim.scenario.providers`)
        "owners_local_share": getattr(section, "owners_local_share", 0.0),
        "subcontract_share": section.subcontract_share,
        "takes_subcontracts": getattr(section, "takes_subcontracts", False),
        "growth_rate": section.growth_rate,
        "interest_rate": section.interest_rate,
        "hazard": 1.0 - (1.0 - section.failure_hazard) ** (1 / QUARTERS_PER_YEAR),
    }


class ContractBook(_Table):
    """Every contract slot: each council's service lines, split into lots.

    A slot always exists; its holder changes at each award. ``holder == -1`` is a gap: no one
    delivers and the need is unmet. Prices are set at award; a fee uplift after a cost shock
    (:func:`sim.core.shocks.fee_uplift`) and the yearly price review
    (:func:`sim.core.price_review.review_prices`) move them towards the award price indexed to
    the holder's cost.
    """

    Columns: ClassVar[type]  # ContractColumns, below

    _columns: ClassVar[dict[str, tuple[type, object]]] = {
        "council": (np.int64, 0),
        "line": (np.int64, 0),
        "reference": (float, 0.0),  # value of the required service at reference cost, GBP/quarter
        "holder": (np.int64, -1),
        "price": (float, 0.0),  # GBP per quarter paid to the holder
        # the price at award and the holder's unit cost then: a review indexes the one by the
        # holder's cost now over the other (award_cost 0: not reviewed, as in-house cover)
        "award_price": (float, 0.0),
        "award_cost": (float, 0.0),
        # its care workers' posts left unfilled (capacity units, as reference; 0: fully
        # staffed): staff stay with the work when it changes hands (TUPE) and leave it in a
        # gap (sim.core.workforce)
        "vacant": (float, 0.0),
        "start": (np.int64, 0),  # first quarter of delivery (later than award after an emergency)
        "end": (np.int64, 0),  # first quarter after the contract (re-tender or review then)
        "emergency": (bool, False),
        "loss_streak": (np.int64, 0),
        "subcontractor": (np.int64, -1),
        "subcontract_price": (float, 0.0),  # GBP per quarter the holder pays its subcontractor
        # GBP per quarter paid above the cheapest compliant bid at award (what scoring on
        # anything but price costs: quality, social value, local preference).
        "premium": (float, 0.0),
        # handed back with notice: the holder delivers until ``end``, then it is re-tendered
        # (no extension to the holder; a gap if no one takes it)
        "notice": (bool, False),
        "disrupted_at": (np.int64, -1),
        "barred": (np.int64, -1),  # the provider that handed it back: no re-award until ...
        "barred_until": (np.int64, -1),  # ... this quarter
        # Under administration (docs/ODD.md 7.4): the administrator delivers until this quarter
        # for the failed provider ``administered_by`` at ``administered_price``.
        "administered_until": (np.int64, -1),
        "administered_by": (np.int64, -1),
        "administered_price": (float, 0.0),
    }

    def place(
        self,
        slot: int | np.ndarray,
        provider: int | np.ndarray,
        *,
        price: float | np.ndarray,
        start: int,
        end: int,
        emergency: bool,
        unit_cost: float | np.ndarray = 0.0,
    ) -> None:
        """Give contract ``slot`` to ``provider`` on these terms (a fresh contract: no losses
        carried over, no subcontractor yet); or many slots at once, element by element.
        ``unit_cost``: the provider's unit cost now, which the yearly price review indexes
        from (0: the price is never reviewed)."""
        self.holder[slot] = provider
        self.price[slot] = price
        self.award_price[slot] = price
        self.award_cost[slot] = unit_cost
        self.start[slot] = start
        self.end[slot] = end
        self.emergency[slot] = emergency
        self.loss_streak[slot] = 0
        self.subcontractor[slot] = -1
        self.subcontract_price[slot] = 0.0
        self.premium[slot] = 0.0
        self.notice[slot] = False

    def administered(self, quarter: int) -> np.ndarray:
        """Mask of slots an administrator delivers in ``quarter``: under administration and
        not yet delivered by a new holder."""
        holder = self.view("holder")
        taken = (holder >= 0) & (self.view("start") <= quarter)
        return (self.view("administered_until") > quarter) & ~taken

    def barred_now(self, slots: np.ndarray, providers: np.ndarray, quarter: int) -> np.ndarray:
        """(len(slots), len(providers)) whether each provider is barred from each contract in
        ``quarter`` (it handed that contract back too recently)."""
        active = self.barred_until[slots] > quarter
        return active[:, None] & (self.barred[slots][:, None] == providers[None, :])

    def held_by(self, kind: np.ndarray, which: ProviderKind) -> np.ndarray:
        """Mask of slots held now by a provider of type ``which`` (``kind``: each provider's)."""
        holder = self.view("holder")
        return (holder >= 0) & (kind[np.maximum(holder, 0)] == which)

    def value_by_provider(self, n_providers: int) -> np.ndarray:
        """Contract value (GBP per quarter) each provider holds now."""
        holder = self.view("holder")
        held = holder >= 0
        return np.bincount(holder[held], self.view("price")[held], minlength=n_providers)


def _record(name: str, table: type[_Table]) -> type:
    """The NamedTuple of a table's numeric columns, in their order (its ``columns()``)."""
    numeric = [c for c, (dtype, _) in table._columns.items() if dtype is not object]
    return NamedTuple(name, [(c, np.ndarray) for c in numeric])


#: One provider table's or contract book's numeric columns, as :meth:`_Table.columns` gives
#: them to a compiled mechanism (module-level, so that numba's cache can name their types).
ProviderColumns = _record("ProviderColumns", ProviderTable)
ContractColumns = _record("ContractColumns", ContractBook)
ProviderTable.Columns = ProviderColumns
ContractBook.Columns = ContractColumns


class CouncilColumns(NamedTuple):
    """What the compiled mechanisms read of the councils (:meth:`CouncilTable.columns`)."""

    budget_factor: np.ndarray
    total: np.ndarray
    inhouse_unit: np.ndarray
    inhouse_capacity: np.ndarray
    failure_risk: np.ndarray
    near_indptr: np.ndarray
    near_indices: np.ndarray


@dataclass
class CouncilTable:
    """Every council's state, one entry per council (index = row of the geography's nodes).

    Attributes:
        name: the area's name.
        budget: yearly budget for the commissioned service lines, GBP.
        near: which areas are the same or neighbours (a mutual's reach), :class:`Neighbours`.
        trust: public trust in its commissioning, 0-1.
        budget_factor: budget cuts so far (1 = none); scales the price cap.
        total: its contracts' value at reference cost, GBP per quarter.
        inhouse_unit: the provider row of its own in-house unit.
        inhouse_capacity: what its in-house unit can deliver, GBP per quarter.
        failure_risk: the yearly share of its contract value it has seen disrupted, as it
            remembers it (:func:`sim.core.learning.remember_failures`): what it expects of
            the market when it compares bids with its own unit's.
    """

    name: list[str]
    budget: np.ndarray
    near: Neighbours
    trust: np.ndarray
    budget_factor: np.ndarray = field(default=None)  # type: ignore[assignment]
    total: np.ndarray = field(default=None)  # type: ignore[assignment]
    inhouse_unit: np.ndarray = field(default=None)  # type: ignore[assignment]
    inhouse_capacity: np.ndarray = field(default=None)  # type: ignore[assignment]
    failure_risk: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.name)
        if self.budget_factor is None:
            self.budget_factor = np.ones(n)
        if self.total is None:
            self.total = np.zeros(n)
        if self.inhouse_unit is None:
            self.inhouse_unit = np.full(n, -1, dtype=np.int64)
        if self.inhouse_capacity is None:
            self.inhouse_capacity = np.zeros(n)
        if self.failure_risk is None:
            self.failure_risk = np.zeros(n)

    @property
    def n(self) -> int:
        """Number of councils."""
        return len(self.name)

    def columns(self) -> CouncilColumns:
        """The columns the compiled mechanisms read, as one record."""
        # One dtype a column, whatever a caller stored: the compiled code is typed once.
        return CouncilColumns(
            np.ascontiguousarray(self.budget_factor, dtype=np.float64),
            np.ascontiguousarray(self.total, dtype=np.float64),
            np.ascontiguousarray(self.inhouse_unit, dtype=np.int64),
            np.ascontiguousarray(self.inhouse_capacity, dtype=np.float64),
            np.ascontiguousarray(self.failure_risk, dtype=np.float64),
            self.near.indptr,
            self.near.indices,
        )


class QuarterLedger:
    """What one quarter counts: failures, disruption, handbacks, spin-outs and its money.

    It opens at the start of a quarter, or at the first failure after the last quarter was
    recorded (a dashboard button presses between steps), so that a shock applied between steps
    counts in the quarter it belongs to.
    """

    def __init__(self, n_councils: int) -> None:
        self.n_councils = n_councils
        self.closed = False  # True between a recorded quarter and the next one's start
        self.money: dict[str, Any] = {}
        self.flows: Any = None
        self.accounts: dict[str, np.ndarray] = {}
        self.reset()

    def reset(self) -> None:
        """Zero the counts."""
        self.failures = 0
        self.contracts_disrupted = 0
        self.handbacks = 0
        self.spin_outs = 0
        self.closures = 0  # firms that closed this quarter (no work: not failures)
        self.entries = 0  # new firms this quarter
        self.transition_cost = 0.0
        self.contagion_loss = 0.0
        self.bidders_excluded = 0  # trading providers a tender's financial check turned away
        self.disrupted_value = np.zeros(self.n_councils)
        self.councils_hit = np.zeros(self.n_councils, dtype=bool)

    def open(self) -> None:
        """Start counting the current quarter, unless it is counting already."""
        if self.closed:
            self.reset()
            self.closed = False


@dataclass
class Market:
    """The state the mechanisms act on, in one place.

    Attributes:
        providers, contracts, councils, ledger: the tables above.
        cost_level: (KINDS,) delivery cost of each provider type relative to the start (cost shocks).
        demand_factor: (quarters + 1,) need relative to contracted levels (demand shocks).
        health_log: each provider's financial headroom at each quarter's end (the accounts a
            council's financial check reads, with a lag).
        events: failures and handbacks, for a report to point to.
        shock_log: (quarter, kind) of each shock applied.
        quarter: the quarter being simulated.
        wage_floor: the lowest pay now, x the going wage (``workforce.wage_floor``, raised by
            ``wage_floor`` shocks); new providers are lifted to it.
    """

    providers: ProviderTable
    contracts: ContractBook
    councils: CouncilTable
    ledger: QuarterLedger
    cost_level: np.ndarray
    demand_factor: np.ndarray
    health_log: list[np.ndarray] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    shock_log: list[tuple[int, str]] = field(default_factory=list)
    quarter: int = 0
    wage_floor: float = 0.0
