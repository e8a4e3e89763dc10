"""Scenarios: the schema of every parameter, loading a scenario file, and the parameter table.

- :mod:`sim.scenario.schema`: the pydantic models, one per TOML table, with each parameter's
  default, unit, range and source;
- :mod:`sim.scenario.loading`: reading a file, its data files' paths, dotted-key overrides;
- :mod:`sim.scenario.parameters`: the parameter table of ``commsim params`` and the docs;
- :mod:`sim.scenario.cost`: a run's estimated memory and time, before it starts.

Bad input of every kind raises :class:`~sim.inputs.InputError` (from :mod:`sim.inputs`, the
reader and error formatter every input file shares). The public names are re-exported here:
``from sim.scenario import Scenario, load_scenario``.
"""

from sim.inputs import InputError, ScenarioError, read_text_file, read_toml
from sim.scenario.cost import MAX_RUN_MEMORY_MB, RunCost, run_cost
from sim.scenario.loading import (
    DATA_FILE_FIELDS,
    apply_overrides,
    check_data_files,
    known_keys,
    load_scenario,
    scenario_from_dict,
    shock_field,
)
from sim.scenario.parameters import parameter_markdown, parameter_table
from sim.scenario.schema import (
    COLLAPSE_TARGETS,
    SHOCK_KINDS,
    CommissioningParams,
    CouncilParams,
    LocalFirmParams,
    MutualParams,
    NetworkParams,
    OutsourcerParams,
    Scenario,
    ScenarioMeta,
    Shock,
    TrustParams,
    WorkforceParams,
    outsourcer_name,
)

__all__ = [
    "COLLAPSE_TARGETS",
    "DATA_FILE_FIELDS",
    "MAX_RUN_MEMORY_MB",
    "SHOCK_KINDS",
    "CommissioningParams",
    "CouncilParams",
    "InputError",
    "LocalFirmParams",
    "MutualParams",
    "NetworkParams",
    "OutsourcerParams",
    "RunCost",
    "Scenario",
    "ScenarioError",
    "ScenarioMeta",
    "Shock",
    "TrustParams",
    "WorkforceParams",
    "apply_overrides",
    "check_data_files",
    "known_keys",
    "load_scenario",
    "outsourcer_name",
    "parameter_markdown",
    "parameter_table",
    "read_text_file",
    "read_toml",
    "run_cost",
    "scenario_from_dict",
    "shock_field",
]
