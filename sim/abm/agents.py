"""The agents: councils and providers (private outsourcers, mutuals, in-house units).

The numeric state of every council, provider and contract lives in the tables of
:mod:`sim.core.state`, so a quarter's money flows and a tender round are a few vectorised
operations. The Mesa agents are views onto those rows: they give a notebook, the dashboard and
``model.agents_by_type`` the familiar objects.
"""

from __future__ import annotations

import mesa
import numpy as np
from mesa.discrete_space import FixedAgent

from sim.core.state import KIND_NAMES, ProviderKind

__all__ = [
    "KIND_NAMES",
    "Council",
    "InHouseUnit",
    "LocalFirm",
    "Mutual",
    "Outsourcer",
    "Provider",
    "ProviderKind",
]


class Council(FixedAgent):
    """A council: commissions its service lines by tender and answers failures.

    Attributes:
        index: row of this council in ``model.council_table``.
        name: the area's name.
    """

    def __init__(self, model: mesa.Model, index: int, name: str, cell: mesa.discrete_space.Cell):
        super().__init__(model)
        self.index = index
        self.name = name
        self.cell = cell

    @property
    def budget(self) -> float:
        """Yearly budget for the commissioned service lines, GBP."""
        return float(self.model.council_table.budget[self.index])

    @property
    def trust(self) -> float:
        """Public trust in this council's commissioning, 0-1."""
        return float(self.model.council_table.trust[self.index])

    @property
    def leading_kind(self) -> ProviderKind | None:
        """The provider type holding most of this council's contract value (None if none)."""
        value = self.model.council_value_by_kind()[self.index]
        return ProviderKind(int(np.argmax(value))) if value.sum() > 0 else None


class Provider(mesa.Agent):
    """A provider: bids in tenders, delivers contracts, and can fail.

    Attributes:
        index: row of this provider in ``model.providers``.
        name: a readable name, unique in the run (``model.providers.name``).
    """

    kind: ProviderKind

    def __init__(self, model: mesa.Model, index: int):
        super().__init__(model)
        self.index = index
        self.name = str(model.providers.name[index])

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
    """A public service mutual: local, employee-owned; by default it pays out little of its
    surplus (its ``profit_extraction``), so most of it stays where it is based."""

    kind = ProviderKind.MUTUAL


class LocalFirm(Provider):
    """A local private firm: for-profit, owner-managed, based in one council."""

    kind = ProviderKind.LOCAL_FIRM


class InHouseUnit(Provider):
    """A council's own delivery unit: no margin, never insolvent (the council stands behind it)."""

    kind = ProviderKind.INHOUSE
