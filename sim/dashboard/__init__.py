"""The classroom dashboard (Solara); nothing in the model imports it.

The package is laid out by what each file holds: :mod:`~sim.dashboard.controller` (a tab's run:
the model, its lock, what the page reads of it), :mod:`~sim.dashboard.levers` (the controls
made from the scenario schema), :mod:`~sim.dashboard.charts` (the ECharts options),
:mod:`~sim.dashboard.events` (the event log's lines), :mod:`~sim.dashboard.components` (the
Solara pieces), :mod:`~sim.dashboard.page` (the page that puts them together) and
:mod:`~sim.dashboard.app` (what ``solara run`` serves); the page's CSS, HTML and Vue templates
are files in ``assets/``. Importing this package does not import Solara.
"""

#: Environment variable naming the scenario file the page starts with.
SCENARIO_ENV = "COMMSIM_SCENARIO"
