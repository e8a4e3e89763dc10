"""A run as a recipe: the scenario, the levers at the start, the seed, every shock pressed and
lever moved on the page with its quarter, and the quarter reached. The page keeps it in its
link (address bar), so a reload, a restarted server or the link sent to another machine
rebuilds exactly the same run (the model is seeded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from sim.dashboard.controller import PAGE_SHOCKS, Action, Session, build_session
from sim.dashboard.levers import levers, read_levers

__all__ = [
    "MAX_LINK_ACTIONS",
    "Recipe",
    "parse_recipe",
    "rebuild_session",
    "recipe_of",
    "start_levers",
]


#: The most shocks and lever moves a run's link may ask to replay (a link is a visitor's
#: input).
MAX_LINK_ACTIONS = 200


@dataclass(frozen=True)
class Recipe:
    """A run as a recipe the page can rebuild exactly (the model is seeded): what a run's
    link carries, so that a reload or a restarted server shows the same run.

    Attributes:
        scenario: the picker's name of the scenario file ("" for the defaults).
        levers: dotted lever key -> value at the start.
        seed: the model's seed.
        actions: what was done on the page, in order: ``(quarter, kind)`` for a shock
            pressed, ``(quarter, lever key, value)`` for a lever moved during the run.
        quarter: the quarter the run had reached.
    """

    scenario: str
    levers: dict[str, Any]
    seed: int
    actions: tuple[tuple[Any, ...], ...]
    quarter: int

    @property
    def shocks(self) -> tuple[tuple[int, str], ...]:
        """(quarter, kind) of each shock pressed, in order."""
        return tuple((a[0], a[1]) for a in self.actions if a[1] in PAGE_SHOCKS)

    def query(self) -> str:
        """The recipe as a URL query string."""
        fields = {"scenario": self.scenario, "seed": self.seed, "quarter": self.quarter}
        fields |= {key: _lever_text(value) for key, value in self.levers.items()}
        fields["actions"] = ",".join(
            f"{a[0]}:{a[1]}" + (f"={_lever_text(a[2])}" if len(a) > 2 else "") for a in self.actions
        )
        return urlencode(fields)


def _lever_text(value: Any) -> str:
    return str(int(value)) if isinstance(value, bool | int) else repr(float(value))


def _lever_value(kind: str, text: str) -> Any:
    """A lever's value from a link's text, of the lever's kind (ValueError if it is not)."""
    if kind == "bool":
        return bool(int(text))
    return int(text) if kind == "int" else float(text)


def start_levers(now: dict[str, Any], actions: list[Action]) -> dict[str, Any]:
    """The levers' values at the start of a run whose levers are ``now`` after ``actions``."""
    start = dict(now)
    for action in reversed(actions):  # each lever as it was before its first move
        if not action.is_shock:
            start[action.name] = action.before
    return start


def recipe_of(session: Session, scenario: str) -> Recipe:
    """The recipe of a session's run, its scenario named as the picker names it."""
    with session.lock:
        model = session.model
        start = start_levers(read_levers(model.params), session.actions)
        actions = tuple(
            (a.quarter, a.name) if a.is_shock else (a.quarter, a.name, a.value)
            for a in session.actions
        )
        return Recipe(scenario, start, int(model.seed), actions, model.quarter)


def parse_recipe(query: str, names: set[str]) -> Recipe | None:
    """The recipe in a run's link, or None if the link holds none or anything in it is not
    what the page would write (a visitor may type any link: nothing in it is trusted)."""
    controls = {lever.key: lever for lever in levers()}
    fields = parse_qs(query or "", max_num_fields=64)
    one = {key: values[-1] for key, values in fields.items()}
    if "seed" not in one:
        return None
    try:
        scenario = one.get("scenario", "")
        if scenario and scenario not in names:
            return None
        values = {key: _lever_value(lever.kind, one[key]) for key, lever in controls.items()}
        items = list(filter(None, one.get("actions", "").split(",")))
        if len(items) > MAX_LINK_ACTIONS:
            return None
        actions: list[tuple[Any, ...]] = []
        for item in items:
            q, what = item.split(":", 1)
            name, is_move, text = what.partition("=")
            if is_move and name in controls and controls[name].mid_run:
                actions.append((int(q), name, _lever_value(controls[name].kind, text)))
            elif not is_move and name in PAGE_SHOCKS:
                actions.append((int(q), name))
            else:
                return None
        return Recipe(scenario, values, int(one["seed"]), tuple(actions), int(one["quarter"]))
    except (KeyError, ValueError):
        return None


def rebuild_session(recipe: Recipe, scenario_file: str | None) -> Session:
    """The run a recipe describes, rebuilt: the same seed and levers, each shock pressed and
    lever moved at its quarter in the order they were, stepped to the recipe's quarter (at
    most the run's horizon).

    Raises:
        InputError: the levers are outside their ranges (from the scenario schema).
    """
    session = build_session(scenario_file, recipe.levers, recipe.seed)
    model = session.model
    end = max(0, min(recipe.quarter, model.params.scenario.quarters))
    pending = sorted(recipe.actions, key=lambda action: action[0])  # stable: order kept
    while True:
        for action in [a for a in pending if a[0] <= model.quarter]:
            if len(action) > 2:
                session.move(action[1], action[2])
            else:
                session.press(action[1])
        pending = [a for a in pending if a[0] > model.quarter]
        if model.quarter >= end or not model.running:
            return session
        session.advance()
