"""How the hot mechanisms run: compiled by numba, or the same functions as plain Python.

Each hot mechanism is written once, in numba-compatible Python and NumPy, in the module its
name says (:mod:`sim.core.tendering`, :mod:`sim.core.delivery`, ...), and decorated with
:func:`kernel`. Runs and sweeps compile it (cached on disk after the first run); with the
environment variable ``COMMSIM_COMPILED=0`` (numba's own ``NUMBA_DISABLE_JIT=1`` too) the
same functions run uncompiled, as plain Python, to read or step through in a debugger. Both
give the same numbers to the last bit (``tests/test_jit.py``): the kernels draw from the
model's own ``numpy.random.Generator`` in one order and add in NumPy's order.

The switch is read once, when this module is first imported: numba decides at decoration
time whether a function is compiled.

Compiled code that cannot be cached (no writable cache folder: numba's "no locator
available"; an unreadable or corrupt cache file) is compiled afresh instead, with one warning
line on stderr: the run completes with the same numbers, only its start is slower.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["compiled", "fixed_record", "kernel"]

from sim.core import compiled_by_environment

_COMPILED = compiled_by_environment()
if not _COMPILED:
    # Before numba's first import, so that its config (and every kernel) starts uncompiled.
    os.environ["NUMBA_DISABLE_JIT"] = "1"

import numba  # noqa: E402  (after the switch above)
import numpy as np  # noqa: E402
from numba.core import caching, types  # noqa: E402
from numba.core.typing.typeof import Purpose, typeof, typeof_impl  # noqa: E402

from sim.core.state import ContractColumns, CouncilColumns, ProviderColumns  # noqa: E402

if not _COMPILED:
    numba.config.DISABLE_JIT = True  # numba was imported earlier in this process

_warned: list[str] = []


def compiled() -> bool:
    """Whether the mechanisms run compiled (False: as plain Python, ``COMMSIM_COMPILED=0``)."""
    return not numba.config.DISABLE_JIT


def _warn_once(reason: str) -> None:
    """One line on stderr, once a process: the compiled code runs without its disk cache."""
    if not _warned:
        _warned.append(reason)
        print(
            f"commsim: warning: compiled code not cached ({reason}); compiling afresh",
            file=sys.stderr,
        )


class _GuardedCache(caching.FunctionCache):
    """numba's on-disk cache of one function, which gives up (one warning, no cache) instead of
    failing the run when its file cannot be read or written."""

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        """The cached compiled code for ``sig``, or None (compile it) if the cache is unusable."""
        try:
            return super().load_overload(sig, target_context)
        except Exception as err:  # a corrupt or unreadable file: any error unpickling it
            self._give_up(err)
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        """Store the compiled code for ``sig``; an unwritable cache is given up."""
        try:
            super().save_overload(sig, data)
        except Exception as err:
            self._give_up(err)

    def _give_up(self, err: Exception) -> None:
        self.disable()
        _warn_once(f"{type(err).__name__}: {err}".splitlines()[0][:200])


def kernel(func: Callable | None = None, *, inline: bool = False) -> Callable:
    """``func`` compiled by numba in nopython mode (releasing the GIL), its code cached on
    disk; as it is (plain Python) when the JIT is off. ``@kernel(inline=True)``: compiled into
    each kernel that calls it (for a small helper called once a row with a table's record,
    which a call would copy and count references to, column by column)."""
    if func is None:
        return lambda f: kernel(f, inline=inline)
    dispatcher = numba.njit(nogil=True, inline="always" if inline else "never")(func)
    if numba.config.DISABLE_JIT:
        return dispatcher
    try:
        # What ``cache=True`` does, with a cache that falls back instead of raising.
        dispatcher._cache = _GuardedCache(func)
    except RuntimeError:  # no writable place for a cache ("no locator available")
        _warn_once("no writable cache folder: numba has no locator available")
    return dispatcher
    try:
        # What ``cache=True`` does, with a cache that falls back instead of raising.
        dispatcher._cache = _GuardedCache(func)
    except RuntimeError:  # no writable place for a cache ("no locator available")
        _warn_once("no writable cache folder: numba has no locator available")
    return dispatcher


# numba types a Generator argument afresh at every call (building and interning a new type
# object, about 8 us, the price of several whole mechanisms); the type has no parameters, so
# the one interned instance is the same answer, given at once.
_GENERATOR = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")


@typeof_impl.register(np.random.Generator)
def _typeof_generator(val: np.random.Generator, c: object) -> types.Type:
    """numba's type of a ``numpy.random.Generator`` argument (always the same)."""
    return _GENERATOR


def fixed_record(cls: type) -> None:
    """Type a record class (a NamedTuple whose fields always have the same types) once, not
    field by field at every call: numba's own typing of a tuple argument is Python code, a
    microsecond a field. Only for records built by their own code: the tables' column records
    (views of arrays the tables made, or converted, one dtype a column) and the run's
    parameters (converted to float or int as they are built)."""
    known: list[types.Type] = []

    @typeof_impl.register(cls)
    def _typeof_record(val: Any, c: object) -> types.Type:
        if not known:
            fields = [typeof(v, Purpose.argument) for v in val]
            known.append(types.NamedTuple(fields, cls))
        return known[0]


for _record in (ProviderColumns, ContractColumns, CouncilColumns):
    fixed_record(_record)
