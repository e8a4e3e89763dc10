"""The classroom dashboard (Solara, Mesa's SolaraViz); nothing in the model imports it."""
