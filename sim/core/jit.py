"""Which path runs the hot mechanisms: compiled numba kernels or the NumPy reference.

Each hot mechanism has a reference in NumPy (the readable function its module documents) and a
kernel compiled by numba in :mod:`sim.core.kernels`, which gives the same numbers: the kernels draw
from the model's own ``numpy.random.Generator`` in the same order as the reference, and
``tests/test_compiled_tender.py`` and ``tests/test_compiled_quarter.py`` hold the two paths to the same results. The kernels run by default;
set the environment variable ``COMMSIM_COMPILED=0`` (or use :func:`reference`) for the NumPy
path, e.g. to step through a mechanism in a debugger.

The kernels' modules import numba only when first used, so commands that run no model never
pay for it; compiled code is cached on disk (numba's ``cache=True``) after the first run.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["compiled", "kernel", "reference", "use_compiled"]

_OFF = {"0", "false", "no", "off"}
_state = {"compiled": os.environ.get("COMMSIM_COMPILED", "1").strip().lower() not in _OFF}


def compiled() -> bool:
    """Whether the mechanisms run their compiled kernels now."""
    return _state["compiled"]


@contextmanager
def use_compiled(on: bool) -> Iterator[None]:
    """Run the block on the compiled path (``on``) or the NumPy reference, then restore."""
    before = _state["compiled"]
    _state["compiled"] = on
    try:
        yield
    finally:
        _state["compiled"] = before


def reference() -> Any:
    """Run the block on the NumPy reference path: ``with reference(): model.run()``."""
    return use_compiled(False)


def kernel(func: Callable) -> Callable:
    """Compile ``func`` with numba in nopython mode, cached on disk, releasing the GIL (used
    by the modules of :mod:`sim.core.kernels` only, which are imported on first use)."""
    import numba

    return numba.njit(cache=True, nogil=True)(func)
