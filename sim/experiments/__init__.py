"""Experiments: designs, sweeps on a pool or Dask, the sweep store, analysis and statistics."""
