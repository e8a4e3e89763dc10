"""The agents: councils and providers (private outsourcers, mutuals, in-house units).

The numeric state of every provider and contract lives in arrays owned by the model (see
:class:`ProviderTable` and :class:`ContractBook`), so a quarter's money flows and a tender
round are a few vectorised operations. The Mesa agents are views onto those rows: they give a
notebook, the dashboard and ``model.agents_by_type`` the familiar objects, and they own the
decisions that are naturally per agent.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np
from mesa.discrete_space import FixedAgent

if TYPE_CHECKING:
    from sim.model import CommissioningModel

__all__ = [
    "ContractBook",
    "Council",
    "InHouseUnit",
    "Mutual",
    "Outsourcer",
    "Provider",
    "ProviderKind",
    "ProviderTable",
]


class ProviderKind(IntEnum):
    """Who delivers a contract."""

    OUTSOURCER = 0
    MUTUAL = 1
    INHOUSE = 2


KIND_NAMES = {k: k.name.lower() for k in ProviderKind}


class _Table:
    """Named, equal-length numpy columns that grow by doubling (spin-outs add rows)."""

    _columns: ClassVar[dict[str, tuple[type, object]]] = {}

    def __init__(self, capacity: int = 16) -> None:
        self.n = 0
        self._cap = max(capacity, 1)
        for name, (dtype, fill) in self._columns.items():
            setattr(self, name, np.full(self._cap, fill, dtype=dtype))

    def add(self, **values: object) -> int:
        """Append one row; unnamed columns take their fill value. Returns the row index."""
        if self.n == self._cap:
            self._cap *= 2
            for name, (dtype, fill) in self._columns.items():
                old = getattr(self, name)
                new = np.full(self._cap, fill, dtype=dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        i = self.n
        for name, value in values.items():
            getattr(self, name)[i] = value
        self.n += 1
        return i

    def view(self, name: str) -> np.ndarray:
        """The live rows of one column (a view: writes go through)."""
        return getattr(self, name)[: self.n]


class ProviderTable(_Table):
    """Every provider's state, one row each; money in pounds, capacity in pounds per quarter."""

    _columns: ClassVar[dict[str, tuple[type, object]]] = {
        "kind": (np.int8, 0),
        "home": (np.int64, -1),  # council index; -1 for national outsourcers
        "alive": (bool, True),
        "failed_at": (np.int64, -1),
        "capacity": (float, 0.0),  # reference-cost value it can deliver per quarter
        "cash": (float, 0.0),
        "credit_limit": (float, 0.0),  # insolvent when cash < -credit_limit
        "revenue_last": (float, 0.0),  # last quarter's revenue, for the financial check
        "cost_last": (float, 0.0),  # last quarter's costs: a loss makes the firm price up
        "markup": (float, 0.0),
        "markup_min": (float, 0.0),
        "markup_max": (float, 0.0),
        "markup_step": (float, 0.0),
        "cost_factor": (float, 1.0),
        "quality": (float, 0.5),
        "social_value": (float, 0.5),
        "local_cost_share": (float, 0.5),
        "extraction": (float, 0.0),
        "interest_rate": (float, 0.0),
        "hazard": (float, 0.0),  # per quarter
    }


class ContractBook(_Table):
    """Every contract slot: each council's service lines, split into lots.

    A slot always exists; its holder changes at each award. ``holder == -1`` is a gap: no one
    delivers and the need is unmet. Prices are fixed at award (fixed-price contracts).
    """

    _columns: ClassVar[dict[str, tuple[type, object]]] = {
        "council": (np.int64, 0),
        "line": (np.int64, 0),
        "reference": (float, 0.0),  # value of the required service at reference cost, GBP/quarter
        "holder": (np.int64, -1),
        "price": (float, 0.0),  # GBP per quarter paid to the holder
        "start": (np.int64, 0),  # first quarter of delivery (later than award after an emergency)
        "end": (np.int64, 0),  # first quarter after the contract (re-tender or review then)
        "emergency": (bool, False),
        "loss_streak": (np.int64, 0),
        "subcontractor": (np.int64, -1),
        "disrupted_at": (np.int64, -1),
    }


class Council(FixedAgent):
    """A council: commissions its service lines by tender and answers failures.

    Attributes:
        index: row of this council in the model's council arrays.
        name: the area's name.
    """

    def __init__(
        self, model: CommissioningModel, index: int, name: str, cell: mesa.discrete_space.Cell
    ):
        super().__init__(model)
        self.index = index
        self.name = name
        self.cell = cell

    @property
    def budget(self) -> float:
        """Yearly budget for the commissioned service lines, GBP."""
        return float(self.model.council_budget[self.index])

    @property
    def trust(self) -> float:
        """Public trust in this council's commissioning, 0-1."""
        return float(self.model.council_trust[self.index])

    @property
    def leading_kind(self) -> ProviderKind | None:
        """The provider type holding most of this council's contract value (None if none)."""
        value = self.model.council_value_by_kind()[self.index]
        return ProviderKind(int(np.argmax(value))) if value.sum() > 0 else None


class Provider(mesa.Agent):
    """A provider: bids in tenders, delivers contracts, and can fail.

    Attributes:
        index: row of this provider in ``model.providers``.
        name: a readable name, unique in the run.
    """

    kind: ProviderKind

    def __init__(self, model: CommissioningModel, index: int, name: str):
        super().__init__(model)
        self.index = index
        self.name = name

    @property
    def alive(self) -> bool:
        """Whether it still trades."""
        return bool(self.model.providers.alive[self.index])

    @property
    def cash(self) -> float:
        """Cash in pounds (negative while borrowing)."""
        return float(self.model.providers.cash[self.index])

    @property
    def contracts(self) -> int:
        """Number of contracts it holds now."""
        return int(np.count_nonzero(self.model.contracts.view("holder") == self.index))

    @property
    def home(self) -> int:
        """Index of its home council, or -1 for a national firm."""
        return int(self.model.providers.home[self.index])


class Outsourcer(Provider):
    """A national private outsourcer: large, leveraged, profit leaves the area."""

    kind = ProviderKind.OUTSOURCER


class Mutual(Provider):
    """A public service mutual: local, employee-owned, reinvests its surplus locally."""

    kind = ProviderKind.MUTUAL


class InHouseUnit(Provider):
    """A council's own delivery unit: no margin, never insolvent (the council stands behind it)."""

    kind = ProviderKind.INHOUSE
