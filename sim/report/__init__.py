"""Figures and reports of runs and sweeps (matplotlib; the model never imports this)."""
