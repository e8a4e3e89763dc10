"""The classroom dashboard (Solara, Mesa's SolaraViz); nothing in the model imports it.

This package's ``__init__`` stays light (no Solara, no Mesa): the command line reads
:data:`SCENARIO_ENV` from here to launch the page without loading it.
"""

#: Environment variable naming the scenario file the page starts with.
SCENARIO_ENV = "COMMSIM_SCENARIO"
