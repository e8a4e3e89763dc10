"""numba kernels of the hot mechanisms (see :mod:`sim.core.jit`); each module mirrors the NumPy
reference of one mechanism module and is imported only when the compiled path first runs."""

import numpy as np
from numba.core import types
from numba.core.typing.typeof import typeof_impl

# numba types a Generator argument afresh at every call (building and interning a new type
# object, about 8 us, the price of several whole mechanisms); the type has no parameters, so
# the one interned instance is the same answer, given at once.
_GENERATOR = types.NumPyRandomGeneratorType("NumPyRandomGeneratorType")


@typeof_impl.register(np.random.Generator)
def _typeof_generator(val: np.random.Generator, c: object) -> types.Type:
    """numba's type of a ``numpy.random.Generator`` argument (always the same)."""
    return _GENERATOR
