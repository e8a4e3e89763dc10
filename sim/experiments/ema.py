"""commsim as an EMA Workbench model: uncertainties, levers, outcomes, replications.

`EMA Workbench <https://emaworkbench.readthedocs.io>`_ samples uncertainties (X) and levers
(L), runs a model at each point and analyses the outcomes (M), for example with PRIM scenario
discovery. :func:`ema_model` turns a commsim scenario into such a model: each uncertainty or
lever is a scenario parameter named by its dotted key (``commissioning.social_value_weight``;
EMA Workbench 3 wants Python identifiers, so it is ``commissioning__social_value_weight`` in
its tables), each outcome a run outcome (``resilience``) or a quarterly reporter
(``service_delivered``)::

    from ema_workbench import SequentialEvaluator
    from sim.experiments.ema import ema_model

    model = ema_model(
        {"commissioning.social_value_weight": (0.0, 0.4), "outsourcers.credit_limit": (0.1, 0.6)},
        scenario="carillion_collapse",
        outcomes=["resilience", "total_emergency_cost"],
    )
    with SequentialEvaluator(model) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=50)

Each run is one ``CommissioningModel(...).run()``, read once through ``summary()`` and
``timeseries()``. An undefined outcome (``recovery_quarters`` with no shock, or never
recovered) is NaN, never None. Replications share their seeds across experiments (common
random numbers, seeded as ``commsim sweep`` seeds them), so two points differ by their
parameters, not by luck; each outcome is aggregated over the replications (the mean unless
told otherwise). Errors are plain Python errors raised when the model is built: a
:class:`~sim.scenario.InputError` (a ``ValueError``) naming the parameter or outcome.
Needs the ``ema`` extra: ``pip install 'commsim[ema]'``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.core.outcome_table import REPORTERS, SUMMARY_FIELDS
from sim.experiments.experiment import replication_seeds
from sim.scenario import InputError, Scenario, apply_overrides, scenario_from_dict

try:
    import ema_workbench as ema
except ModuleNotFoundError as err:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "sim.experiments.ema needs EMA Workbench: pip install 'commsim[ema]'", name=err.name
    ) from err

__all__ = ["DEFAULT_OUTCOMES", "Across", "CommsimRun", "ema_model", "ema_name", "parameter"]

#: Outcomes when none are named: the run outcomes the project's questions turn on.
DEFAULT_OUTCOMES = (
    "resilience",
    "min_service_delivered",
    "recovery_quarters",
    "total_emergency_cost",
    "mean_local_share",
    "final_share_mutual",
    "final_share_outsourcer",
)

#: A parameter's range: ``(low, high)`` (integers give an IntegerParameter), or a list of
#: values to choose from (a CategoricalParameter), or a ready EMA Workbench parameter.
Bounds = tuple[float, float] | Sequence[Any] | Any

log = logging.getLogger(__name__)


def ema_name(key: str) -> str:
    """The EMA Workbench name of a scenario parameter: ``section__field`` (an identifier)."""
    return key.replace(".", "__")


def parameter(key: str, bounds: Bounds) -> Any:
    """The EMA Workbench parameter for scenario parameter ``key`` over ``bounds``."""
    if isinstance(bounds, ema.em_framework.parameters.Parameter):
        if bounds.name != ema_name(key):
            raise InputError(f"{key}: the EMA parameter is named '{bounds.name}'")
        return bounds
    name = ema_name(key)
    if isinstance(bounds, tuple) and len(bounds) == 2:
        low, high = bounds
        if isinstance(low, bool) or isinstance(high, bool):
            return ema.BooleanParameter(name)
        if isinstance(low, int) and isinstance(high, int):
            return ema.IntegerParameter(name, low, high)
        return ema.RealParameter(name, float(low), float(high))
    if isinstance(bounds, Sequence) and not isinstance(bounds, str) and len(bounds) >= 2:
        return ema.CategoricalParameter(name, list(bounds))
    raise InputError(
        f"{key}: expected (low, high), a list of at least two values, or an EMA Workbench "
        f"parameter (got {bounds!r})"
    )


def _bound_values(p: Any) -> list[Any]:
    """The values at the edges of parameter ``p``: each must make a valid scenario."""
    if isinstance(p, ema.CategoricalParameter):
        return [c.value for c in p.categories]
    if isinstance(p, ema.BooleanParameter):
        return [False, True]
    return [p.lower_bound, p.upper_bound]


def _base_dict(scenario: str | Path | Scenario | Mapping[str, Any] | None) -> dict[str, Any]:
    from sim.examples import resolve_scenario_arg
    from sim.scenario import load_scenario

    if isinstance(scenario, Scenario):
        return scenario.model_dump(mode="json")
    if isinstance(scenario, str | Path):
        return load_scenario(resolve_scenario_arg(str(scenario))).model_dump(mode="json")
    return scenario_from_dict(dict(scenario or {})).model_dump(mode="json")


def _check_outcomes(names: Sequence[str], known: Mapping[str, Any], kind: str) -> None:
    import difflib

    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"'{name}' is no {kind}{hint}; the {kind}s: {', '.join(known)}")


class Across:
    """Aggregate an outcome over replications: ``func(values, axis=0)`` (picklable)."""

    def __init__(self, func: Callable[..., Any]):
        self.func = func

    def __call__(self, replications: Sequence[Any]) -> Any:
        """The aggregate of one outcome's values, one per replication."""
        return self.func(np.asarray(replications, dtype=float), axis=0)


class CommsimRun:
    """The function EMA Workbench calls once per run: parameters in, outcomes out.

    A class rather than a closure so that EMA's multiprocessing evaluator can pickle it.

    Args:
        base: the base scenario as a dict (``Scenario.model_dump(mode="json")``).
        outcomes: run outcomes to return (floats; NaN where undefined).
        timeseries: reporters to return as one value per quarter.
    """

    def __init__(self, base: dict[str, Any], outcomes: Sequence[str], timeseries: Sequence[str]):
        self.base = base
        self.outcomes = list(outcomes)
        self.timeseries = list(timeseries)

    def __call__(self, rng: int, **values: Any) -> dict[str, Any]:
        """Run the model once at ``values`` (dotted keys) with seed ``rng``."""
        from sim.abm.model import CommissioningModel

        try:
            scenario = scenario_from_dict(
                apply_overrides(self.base, values, origin="sim.experiments.ema"),
                origin="sim.experiments.ema",
            )
        except InputError as err:  # a point that breaks a rule joining two parameters
            log.warning("no run (every outcome NaN): %s", err)
            quarters = self.base["scenario"]["quarters"]
            out: dict[str, Any] = dict.fromkeys(self.outcomes, math.nan)
            return out | {name: [math.nan] * quarters for name in self.timeseries}
        model = CommissioningModel(scenario, rng=int(rng)).run()
        summary = model.summary()
        out = {name: _number(summary[name]) for name in self.outcomes}
        if self.timeseries:
            ts = model.timeseries()
            out |= {name: ts[name].to_numpy(dtype=float) for name in self.timeseries}
        return out


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def ema_model(
    uncertainties: Mapping[str, Bounds] | None = None,
    levers: Mapping[str, Bounds] | None = None,
    *,
    scenario: str | Path | Scenario | Mapping[str, Any] | None = "baseline",
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    timeseries: Sequence[str] = (),
    replications: int = 1,
    aggregate: Callable[..., Any] = np.mean,
    seed: int = 1,
    name: str = "commsim",
) -> Any:
    """An EMA Workbench model that runs commsim.

    Args:
        uncertainties: scenario parameters outside the decision maker's control (X), dotted
            key -> bounds: ``(low, high)``, a list of values, or an EMA parameter.
        levers: parameters the decision maker sets (L), in the same form.
        scenario: the base scenario: a ready scenario's name, a TOML file, a
            :class:`~sim.scenario.Scenario`, a nested dict, or None for the defaults.
        outcomes: run outcomes (:data:`sim.core.outcomes.SUMMARY_FIELDS`) as scalar outcomes.
        timeseries: quarterly reporters (:data:`sim.core.outcomes.REPORTERS`) as time series.
        replications: runs per experiment (EMA's ``ReplicatorModel`` if more than one).
        aggregate: how an outcome's replications become one value, called as
            ``aggregate(values, axis=0)``: ``np.mean`` (NaN if any replication is undefined),
            ``np.nanmean``, ``np.std``, ``np.median``, ...
        seed: root of the replications' seeds, shared by every experiment.
        name: the model's name in EMA Workbench (letters, digits, underscores).

    Returns:
        an ``ema_workbench.Model`` (one replication) or ``ReplicatorModel``.

    Raises:
        InputError: a parameter that names no scenario parameter or has a bound outside
            its range, an unknown outcome, a parameter in both roles, replications < 1, or
            time series with a sampled horizon.
    """
    if replications < 1:
        raise InputError(f"replications = {replications}: must be at least 1")
    _check_outcomes(outcomes, SUMMARY_FIELDS, "run outcome")
    _check_outcomes(timeseries, REPORTERS, "quarterly reporter")
    uncertainties, levers = dict(uncertainties or {}), dict(levers or {})
    both = set(uncertainties) & set(levers)
    if both:
        raise InputError(f"'{sorted(both)[0]}' is both an uncertainty and a lever")
    base = _base_dict(scenario)
    params: dict[str, list[Any]] = {}
    for role, table in (("uncertainty", uncertainties), ("lever", levers)):
        built = [parameter(key, bounds) for key, bounds in table.items()]
        for key, p in zip(table, built, strict=True):
            for value in _bound_values(p):
                data = apply_overrides(base, {key: value}, origin=role)
                scenario_from_dict(data, origin=f"{role} '{key}' = {value!r}")
        params[role] = built
    if timeseries and "scenario.quarters" in {*uncertainties, *levers}:
        raise InputError("time series need one horizon: scenario.quarters cannot vary")

    run = CommsimRun(base, outcomes, timeseries)
    seeds = replication_seeds(seed, replications)
    # The same outcome classes either way: EMA Workbench registers each outcome name with its
    # class for the whole process and refuses a second class under the same name.
    if replications == 1:
        model = ema.Model(name, function=run)
        model.constants = [ema.Constant("rng", seeds[0])]
        across = None
    else:
        model = ema.ReplicatorModel(name, function=run)
        model.replications = [{"rng": s} for s in seeds]
        across = Across(aggregate)
    model.outcomes = [ema.ScalarOutcome(o, function=across) for o in outcomes] + [
        ema.TimeSeriesOutcome(t, function=across) for t in timeseries
    ]
    model.uncertainties = params["uncertainty"]
    model.levers = params["lever"]
    return model
