"""A tab's run: the model the page drives, the lock that keeps Play, Step and the buttons from
interleaving, and everything the page reads of the model, read in one place (:func:`read_view`).
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import gc
import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from sim.abm.model import CommissioningModel, resolve_scenario
from sim.core import delivery, outcomes
from sim.core.shocks import resolve_target
from sim.core.state import KIND_NAMES, ProviderKind
from sim.dashboard import SCENARIO_ENV
from sim.dashboard.levers import fit_levers, levers, read_levers
from sim.scenario import Shock

__all__ = [
    "COST_SHOCK",
    "PAGE_SHOCKS",
    "PLAYERS",
    "SPEEDS",
    "START",
    "Action",
    "ClassroomModel",
    "Session",
    "View",
    "build_session",
    "play_pause_after",
    "press_shock",
    "read_view",
    "release_memory",
    "starting_outcomes",
]

#: The shocks the page's buttons apply.
PAGE_SHOCKS = ("provider_collapse", "cost_shock")
#: Size of the "Cost shock now" button's shock: costs rise 10% for every provider type.
COST_SHOCK = 0.1
#: Play speeds, slow to fast: seconds between quarters. A playing session also waits at
#: least as long as its last quarter took to compute and draw, times the square root of the
#: number of sessions playing (:func:`play_pause_after`), so that a class of playing tabs
#: leaves the server (one core for them all: Python runs one thread at a time) time to
#: answer the others' Steps.
SPEEDS = (2.0, 1.0, 0.5, 0.25)


class _Players:
    """How many sessions of this server are playing now."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    @contextlib.contextmanager
    def playing(self) -> Iterator[None]:
        with self._lock:
            self.count += 1
        try:
            yield
        finally:
            with self._lock:
                self.count -= 1


#: The sessions playing now, on this server.
PLAYERS = _Players()


def play_pause_after(speed: int, took: float) -> float:
    """Seconds a playing session waits before its next quarter: what is left of the speed's
    time between quarters (``speed`` from 1, slow, into :data:`SPEEDS`) after the ``took``
    seconds its last quarter took, and at least ``took`` times the square root of the number
    of sessions playing (:data:`PLAYERS`). A quarter's time already grows with the number
    playing (they wait for each other): waiting it times that number starved them (a
    quarter every 4-5 s each, in the benchmark of docs/performance.md), waiting it once let
    ten of them slow another tab's Step to 1-2 s; the square root kept that Step at 0.3 s
    while each advanced a quarter every 2-3 s."""
    return max(SPEEDS[speed - 1] - took, took * math.sqrt(max(PLAYERS.count, 1)))


_start = os.environ.get(SCENARIO_ENV) or None
#: The scenario file every new tab starts with (None: the defaults).
START = str(Path(_start).resolve()) if _start else None


class ClassroomModel(CommissioningModel):
    """The model the page runs: a scenario file plus the levers' values.

    Two sliders may ask for social value weight + local preference above 1, which the schema
    forbids: local preference then gets what is left (:func:`~sim.dashboard.levers.fit_levers`).

    Args:
        scenario_file: the TOML scenario file; None for the defaults.
        rng: seed; defaults to the scenario's.
        **levers: overrides as ``section__field=value`` (see :data:`sim.dashboard.levers.LEVERS`).
    """

    def __init__(self, scenario_file: str | None = None, *, rng: Any = None, **levers: Any):
        # A class repeats the scenario's run: Reset with the same levers shows the same market.
        params = resolve_scenario(scenario_file, fit_levers(levers))
        super().__init__(params, rng=params.scenario.seed if rng is None else rng)
        self.scenario_file = scenario_file
        #: The quarterly outcomes of the market as it starts (:func:`starting_outcomes`).
        self.start = starting_outcomes(self)
        self._kinds: list[str | None] = []

    def event_kinds(self) -> list[str | None]:
        """The provider type (its word in ``KIND_NAMES``) of each event's provider, in the
        events' order; None for an event that names no provider (a handback)."""
        p = self.providers
        for event in self.events[len(self._kinds) :]:
            found = (
                np.flatnonzero(p.view("name") == event["provider"]) if "provider" in event else []
            )
            self._kinds.append(KIND_NAMES[ProviderKind(p.kind[found[0]])] if len(found) else None)
        return self._kinds

    def move_levers(self, values: dict[str, Any]) -> None:
        """Set levers (dotted keys) during a run: the quarters simulated from now on use them.

        Raises:
            InputError: a value outside the schema's range.
        """
        self.params = resolve_scenario(self.params, fit_levers(read_levers(self.params) | values))


@dataclass(frozen=True)
class View:
    """Everything the page draws, read from the model in one place (:func:`read_view`).

    Attributes:
        quarter: quarters simulated so far (the one quarter count on the page).
        horizon: quarters in the run.
        running: False once the run reached its horizon.
        positions: (councils, 2) map coordinates.
        edges: (edges, 2) council indices of neighbouring councils.
        budget: each council's budget.
        leader: each council's leading provider type (a key of :data:`charts.KINDS`).
        hit: each council: a contract disrupted in the quarter the map shows.
        disrupted: contracts disrupted in that quarter.
        series: reporter name -> one value per quarter simulated.
        shocks: (quarter, kind) of every shock applied, in order.
        events: failures and handbacks (dicts with quarter, event, contracts, ...; a
            failure's also the provider's type, ``kind``, a word of ``KIND_NAMES``).
        levers: dotted lever key -> the value the running model uses.
        councils: each council's name.
        shares: (councils, provider types) each council's contract value held by each
            provider type (in ``ProviderKind``'s order), as shares (zeros for a council with
            no contracts).
        start: reporter name -> its value as the run starts (:func:`starting_outcomes`).
    """

    quarter: int
    horizon: int
    running: bool
    positions: np.ndarray
    edges: np.ndarray
    budget: np.ndarray
    leader: list[str]
    hit: np.ndarray
    disrupted: int
    series: dict[str, list[float]]
    shocks: list[tuple[int, str]]
    events: list[dict[str, Any]]
    levers: dict[str, Any]
    councils: list[str]
    shares: np.ndarray
    start: dict[str, float]

    def latest(self, name: str) -> float | None:
        """A reporter's value after the last quarter simulated, or as the run starts at
        quarter 0 (None if the model has no such reporter)."""
        values = self.series.get(name)
        return values[-1] if values else self.start.get(name)


def starting_outcomes(model: CommissioningModel) -> dict[str, float]:
    """The quarterly outcomes (:data:`sim.core.outcomes.REPORTERS`) of the market as it
    starts, what the page shows at quarter 0: who holds the contracts, trust, and what the
    contracts held at the start deliver and cost in a quarter (delivered on a copy of the
    market: the run itself, and its random draws, are not touched)."""
    market = copy.deepcopy(model.market)
    market.ledger.open()
    delivery.deliver_and_pay(market, model.params)
    return outcomes.quarter_metrics(market, model.params.councils.local_respend)


def read_view(model: ClassroomModel) -> View:
    """Read what the page draws from the model (the only place the page reads the model)."""
    index = {node: i for i, node in enumerate(model.nodes)}
    value = model.council_value_by_kind()
    lead = np.argmax(value, axis=1)
    leader = [
        KIND_NAMES[ProviderKind(k)] if total > 0 else "gap"
        for k, total in zip(lead, value.sum(1), strict=True)
    ]
    return View(
        quarter=model.quarter,
        horizon=model.params.scenario.quarters,
        running=bool(model.running),
        positions=np.array([model.positions[node] for node in model.nodes], dtype=float),
        edges=np.array([(index[a], index[b]) for a, b in model.graph.edges], dtype=int),
        budget=np.asarray(model.council_table.budget, dtype=float),
        leader=leader,
        hit=np.asarray(model.ledger.councils_hit, dtype=bool).copy(),
        disrupted=int(model.ledger.contracts_disrupted),
        series={k: list(v) for k, v in model.datacollector.model_vars.items()},
        shocks=list(model.shock_log),
        events=[
            event | {"kind": kind} if kind else event
            for event, kind in zip(model.events, model.event_kinds(), strict=True)
        ],
        start=model.start,
        levers=read_levers(model.params),
        councils=[
            f"Council {node}" if isinstance(node, int) else str(node) for node in model.nodes
        ],
        shares=value / np.maximum(value.sum(1, keepdims=True), 1e-12),
    )


def press_shock(model: CommissioningModel, kind: str) -> int | None:
    """Apply a shock now, in the current quarter, exactly as a scenario file would; return
    its index in the model's list of shocks applied, or None (nothing applied) for a collapse
    when no outsourcer is trading: it could do nothing."""
    if kind == "provider_collapse":
        if resolve_target(model.market, "largest_outsourcer", model.rng) is None:
            return None
        spec = Shock(kind=kind, quarter=model.quarter, target="largest_outsourcer")
    else:
        spec = Shock(kind=kind, quarter=model.quarter, magnitude=COST_SHOCK)
    model.apply_shock(spec)
    return len(model.shock_log) - 1


class Action(NamedTuple):
    """One thing done to a run on the page, in the order it was done.

    Attributes:
        quarter: the page's quarter count when it was done (it acts on the quarters
            simulated from then on).
        name: a shock's kind (one of :data:`PAGE_SHOCKS`) or a lever's dotted key.
        value: a lever's new value; for a shock, its index in the model's list of shocks
            applied.
        before: a lever's value before (None for a shock).
    """

    quarter: int
    name: str
    value: Any = None
    before: Any = None

    @property
    def is_shock(self) -> bool:
        """Whether this is a shock pressed (else a lever moved)."""
        return self.name in PAGE_SHOCKS


@dataclass
class Session:
    """One tab's run: its model, the lock that keeps Play, Step and the buttons from
    interleaving, what was done to it on the page, and the view of the last quarter drawn.

    Attributes:
        model: the running model.
        lock: held while the model steps, takes a shock, moves a lever or is read.
        actions: the shocks pressed and the levers moved on the page, in order (a lever
            moved again in the same quarter, with nothing between, is one action).
        ended: set when the tab's page goes or the model is replaced: Play stops.
    """

    model: ClassroomModel
    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: list[Action] = field(default_factory=list)
    ended: threading.Event = field(default_factory=threading.Event)
    _seen: tuple[int, View] | None = field(default=None, repr=False)

    @property
    def pressed(self) -> set[int]:
        """Indices (in the model's list of shocks applied) of the shocks pressed here."""
        return {a.value for a in list(self.actions) if a.is_shock}

    def view(self, tick: int) -> View:
        """The model as the page draws it after ``tick`` moves: read once per move, however
        many components draw it."""
        with self.lock:
            if self._seen is None or self._seen[0] != tick:
                self._seen = (tick, read_view(self.model))
            return self._seen[1]

    def snapshot(self) -> tuple[View, list[Action]]:
        """The run as it stands and what was done to it on the page, read together (the
        downloads' one consistent reading)."""
        with self.lock:
            return read_view(self.model), list(self.actions)

    def advance(self, until: int | None = None) -> None:
        """One quarter, or (with ``until``) quarters up to ``until``, while the run lasts."""
        with self.lock:
            if self.model.running:
                self.model.step()
            while until is not None and self.model.running and self.model.quarter < until:
                self.model.step()

    def press(self, kind: str) -> bool:
        """Apply a shock now and remember it was pressed here; False if it could do nothing
        and was not applied."""
        with self.lock:
            index = press_shock(self.model, kind)
            if index is not None:
                self.actions.append(Action(self.model.quarter, kind, index))
            return index is not None

    def move(self, key: str, value: Any) -> bool:
        """Move a lever during the run: the quarters simulated from now on use ``value``.
        False (nothing changed) for a lever that waits for Reset, or once the run is over.

        Raises:
            InputError: ``value`` is outside the lever's range (from the scenario schema).
        """
        with self.lock:
            model = self.model
            lever = {lev.key: lev for lev in levers()}.get(key)
            if lever is None or not lever.mid_run or not model.running:
                return False
            before = read_levers(model.params)
            model.move_levers({key: value})
            after = read_levers(model.params)
            for name in before:  # the lever moved, and local preference if it had to give way
                if after[name] != before[name]:
                    self._record(Action(model.quarter, name, after[name], before[name]))
            return True

    def _record(self, action: Action) -> None:
        last = self.actions[-1] if self.actions else None
        if last is not None and (last.quarter, last.name) == (action.quarter, action.name):
            self.actions.pop()  # moved again at once: one move, from where it was before
            action = action._replace(before=last.before)
        if action.value != action.before:
            self.actions.append(action)


def build_session(
    scenario_file: str | None, values: dict[str, Any], seed: int | None = None
) -> Session:
    """A new run of ``scenario_file`` with the levers at ``values`` (dotted keys), from
    ``seed`` (None: the scenario's own, so Reset replays the same market)."""
    model = ClassroomModel(
        scenario_file, rng=seed, **{key.replace(".", "__"): value for key, value in values.items()}
    )
    return Session(model)


def release_memory() -> None:
    """After a tab's session ends: collect its model and hand the freed memory back to the
    system (glibc keeps freed memory for reuse unless asked)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: memory is reused instead
        ctypes.CDLL("libc.so.6").malloc_trim(0)
