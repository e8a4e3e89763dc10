"""A tab's run: the model the page drives, the lock that keeps Play, Step and the buttons from
interleaving, and everything the page reads of the model, read in one place (:func:`read_view`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import re
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import numpy as np

from sim.abm.agents import KIND_NAMES, ProviderKind
from sim.abm.model import CommissioningModel, resolve_scenario
from sim.core.shocks import resolve_target
from sim.dashboard import SCENARIO_ENV
from sim.dashboard.levers import read_levers
from sim.scenario import Shock

__all__ = [
    "COST_SHOCK",
    "SPEEDS",
    "START",
    "ClassroomModel",
    "Recipe",
    "Session",
    "View",
    "build_session",
    "export_name",
    "parse_recipe",
    "plots_png",
    "press_shock",
    "read_view",
    "rebuild_session",
    "recipe_of",
    "release_memory",
    "timeseries_csv",
]

#: Size of the "Cost shock now" button's shock: costs rise 10% for every provider type.
COST_SHOCK = 0.1
#: Play speeds, slow to fast: seconds between quarters. A session also waits at least as
#: long as its last quarter took to compute and draw, so a playing tab never takes more than
#: half a core, and ten tabs leave the server time to answer the others.
SPEEDS = (2.0, 1.0, 0.5, 0.25)

_start = os.environ.get(SCENARIO_ENV) or None
#: The scenario file every new tab starts with (None: the defaults).
START = str(Path(_start).resolve()) if _start else None


class ClassroomModel(CommissioningModel):
    """The model the page runs: a scenario file plus the levers' values.

    Two sliders may ask for social value weight + local preference above 1, which the schema
    forbids: local preference then gets what is left.

    Args:
        scenario_file: the TOML scenario file; None for the defaults.
        rng: seed; defaults to the scenario's.
        **levers: overrides as ``section__field=value`` (see :data:`sim.dashboard.levers.LEVERS`).
    """

    def __init__(self, scenario_file: str | None = None, *, rng: Any = None, **levers: Any):
        social, local = "commissioning__social_value_weight", "commissioning__local_preference"
        if social in levers and local in levers:
            levers[local] = min(levers[local], max(1.0 - levers[social], 0.0))
        # A class repeats the scenario's run: Reset with the same levers shows the same market.
        params = resolve_scenario(scenario_file, levers)
        super().__init__(params, rng=params.scenario.seed if rng is None else rng)
        self.scenario_file = scenario_file


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
        events: failures and handbacks (dicts with quarter, event, contracts, ...).
        levers: dotted lever key -> the value the running model uses.
        councils: each council's name.
        shares: (councils, 3) each council's contract value held by outsourcers, mutuals
            and in-house teams, as shares (zeros for a council with no contracts).
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


def read_view(model: CommissioningModel) -> View:
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
        events=list(model.events),
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


def export_name(model: CommissioningModel, suffix: str) -> str:
    """A download's file name that says what it holds: the scenario file's name, the quarter
    and each lever's value, e.g. ``baseline-q12-social_value_weight0.10-...-support_programme
    1.csv`` (letters, digits, ``.``, ``_`` and ``-`` only)."""
    file = getattr(model, "scenario_file", None)
    stem = Path(file).stem if file else "defaults"
    levers = "-".join(
        key.split(".")[1] + (f"{value:.2f}" if isinstance(value, float) else str(int(value)))
        for key, value in read_levers(model.params).items()
    )
    name = f"{stem}-q{model.quarter}-{levers}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + suffix


def timeseries_csv(model: CommissioningModel) -> str:
    """The run so far, one row per quarter, as CSV (what ``commsim run`` writes)."""
    return model.timeseries().to_csv(index=False)


def plots_png(model: CommissioningModel) -> bytes:
    """The run so far as the report's overview figure (PNG), drawn only when asked for."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.report.plots import overview_figure

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "plots.png"
        overview_figure(model.timeseries(), model.params.scenario.name, model.shock_log, path)
        plt.close("all")
        return path.read_bytes()


@dataclass
class Session:
    """One tab's run: its model, the lock that keeps Play, Step and the buttons from
    interleaving, the shocks pressed on the page, and the view of the last quarter drawn.

    Attributes:
        model: the running model.
        lock: held while the model steps, takes a shock or is read.
        pressed: indices (in the model's shock log) of the shocks pressed on the page.
        ended: set when the tab's page goes or the model is replaced: Play stops.
    """

    model: CommissioningModel
    lock: threading.Lock = field(default_factory=threading.Lock)
    pressed: set[int] = field(default_factory=set)
    ended: threading.Event = field(default_factory=threading.Event)
    _seen: tuple[int, View] | None = field(default=None, repr=False)

    def view(self, tick: int) -> View:
        """The model as the page draws it after ``tick`` moves: read once per move, however
        many components draw it."""
        with self.lock:
            if self._seen is None or self._seen[0] != tick:
                self._seen = (tick, read_view(self.model))
            return self._seen[1]

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
                self.pressed.add(index)
            return index is not None


def build_session(
    scenario_file: str | None, values: dict[str, Any], seed: int | None = None
) -> Session:
    """A new run of ``scenario_file`` with the levers at ``values`` (dotted keys), from
    ``seed`` (None: the scenario's own, so Reset replays the same market)."""
    model = ClassroomModel(
        scenario_file, rng=seed, **{key.replace(".", "__"): value for key, value in values.items()}
    )
    return Session(model)


#: The most shocks a run's link may ask to replay (a link is a visitor's input).
MAX_LINK_SHOCKS = 200


@dataclass(frozen=True)
class Recipe:
    """A run as a recipe the page can rebuild exactly (the model is seeded): what a run's
    link carries, so that a reload or a restarted server shows the same run.

    Attributes:
        scenario: the picker's name of the scenario file ("" for the defaults).
        levers: dotted lever key -> value.
        seed: the model's seed.
        shocks: (quarter, kind) of each shock pressed on the page, in order.
        quarter: the quarter the run had reached.
    """

    scenario: str
    levers: dict[str, Any]
    seed: int
    shocks: tuple[tuple[int, str], ...]
    quarter: int

    def query(self) -> str:
        """The recipe as a URL query string."""
        fields = {"scenario": self.scenario, "seed": self.seed, "quarter": self.quarter}
        fields |= {key: _lever_text(value) for key, value in self.levers.items()}
        fields["shocks"] = ",".join(f"{q}:{kind}" for q, kind in self.shocks)
        return urlencode(fields)


def _lever_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, bool | int) else repr(float(value))


def recipe_of(session: Session, scenario: str) -> Recipe:
    """The recipe of a session's run, its scenario named as the picker names it."""
    with session.lock:
        model = session.model
        shocks = tuple(model.shock_log[i] for i in sorted(session.pressed))
        return Recipe(scenario, read_levers(model.params), int(model.seed), shocks, model.quarter)


def parse_recipe(query: str, names: set[str]) -> Recipe | None:
    """The recipe in a run's link, or None if the link holds none or anything in it is not
    what the page would write (a visitor may type any link: nothing in it is trusted)."""
    from sim.dashboard.levers import levers as controls

    fields = parse_qs(query or "", max_num_fields=64)
    one = {key: values[-1] for key, values in fields.items()}
    if "seed" not in one:
        return None
    try:
        scenario = one.get("scenario", "")
        if scenario and scenario not in names:
            return None
        values: dict[str, Any] = {}
        for lever in controls():
            text = one[lever.key]
            values[lever.key] = (
                bool(int(text)) if lever.kind == "bool" else int(text) if lever.kind == "int"
                else float(text)
            )  # fmt: skip
        shocks = []
        for item in filter(None, one.get("shocks", "").split(",")):
            q, kind = item.split(":")
            if kind not in ("provider_collapse", "cost_shock"):
                return None
            shocks.append((int(q), kind))
        if len(shocks) > MAX_LINK_SHOCKS:
            return None
        return Recipe(scenario, values, int(one["seed"]), tuple(shocks), int(one["quarter"]))
    except (KeyError, ValueError):
        return None


def rebuild_session(recipe: Recipe, scenario_file: str | None) -> Session:
    """The run a recipe describes, rebuilt: the same seed and levers, each pressed shock
    applied at its quarter, stepped to the recipe's quarter (at most the run's horizon).

    Raises:
        InputError: the levers are outside their ranges (from the scenario schema).
    """
    session = build_session(scenario_file, recipe.levers, recipe.seed)
    model = session.model
    end = max(0, min(recipe.quarter, model.params.scenario.quarters))
    pending = sorted(recipe.shocks, key=lambda shock: shock[0])  # stable: pressed order kept
    while True:
        for _, kind in [shock for shock in pending if shock[0] <= model.quarter]:
            session.press(kind)
        pending = [shock for shock in pending if shock[0] > model.quarter]
        if model.quarter >= end or not model.running:
            return session
        session.advance()


def release_memory() -> None:
    """After a tab's session ends: collect its model and hand the freed memory back to the
    system (glibc keeps freed memory for reuse unless asked)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc: memory is reused instead
        ctypes.CDLL("libc.so.6").malloc_trim(0)
