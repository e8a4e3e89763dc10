"""numba kernels of the hot mechanisms (see :mod:`sim.jit`); each module mirrors the NumPy
reference of one mechanism module and is imported only when the compiled path first runs."""
