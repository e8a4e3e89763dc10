"""The model without Mesa: state tables, one module per submodel of the ODD's schedule, the
engine and its outcomes."""

from __future__ import annotations

import os

__all__ = ["compiled_by_environment"]

_OFF = {"0", "false", "no", "off"}


def compiled_by_environment() -> bool:
    """Whether ``COMMSIM_COMPILED`` asks for compiled mechanisms (unset: yes; numba's own
    ``NUMBA_DISABLE_JIT=1`` turns them off too). Read here, where
    numba is not imported, so that a process that never runs the model (a sweep's writer)
    can ask without loading numba and SciPy."""
    wanted = os.environ.get("COMMSIM_COMPILED", "1").strip().lower() not in _OFF
    return wanted and os.environ.get("NUMBA_DISABLE_JIT", "0").strip() in ("", "0")
