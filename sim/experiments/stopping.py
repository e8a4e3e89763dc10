"""Stopping on SIGINT or SIGTERM at a safe point, never inside compiled code.

A Python signal handler runs between two bytecodes of whatever Python code the main thread
is in, and that may be code numba's dispatcher (C) called in the middle of a kernel call:
an exception raised there comes out as a ``SystemError`` ("returned a result with an
exception set"), which a sweep records as a failed run and ``commsim run`` shows as a
traceback. So the handler here only notes the signal; the run loops call :func:`check_stop`
between quarters and between runs, and the executors while they wait, and that raises
:class:`Stopped` where an exception is safe.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STOP_SIGNALS", "StopOnSignals", "Stopped", "check_stop", "stop_requested"]

#: The signals that stop a command: Ctrl-C and ``kill`` (exit status 128 + the signal).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(BaseException):
    """SIGINT or SIGTERM arrived; raised at a safe point by :func:`check_stop`.

    A BaseException, so that code catching ``Exception`` (a sweep recording a failed run)
    never swallows it.
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_status(self) -> int:
        """The shell's status for a process stopped by this signal: 130 (SIGINT), 143 (SIGTERM)."""
        return 128 + self.signum


class StopOnSignals:
    """While :meth:`active`, SIGINT and SIGTERM are noted (the first one; later ones are
    ignored, so a second Ctrl-C cannot cut the clean-up short) and :func:`check_stop` raises
    :class:`Stopped` at the next safe point."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def _handle(self, signum: int, frame: object) -> None:
        # never raise here: this may run inside a call from compiled code (see the module)
        if self.signum is None:
            self.signum = signum

    @contextmanager
    def active(self) -> Iterator[StopOnSignals]:
        """Install the handlers for the block (main thread only), restore the old ones after."""
        global _ACTIVE
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals reach the main thread only: nothing to install
            return
        previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        outer, _ACTIVE = _ACTIVE, self
        try:
            yield self
        finally:
            _ACTIVE = outer
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop signal has arrived."""
        if self.signum is not None:
            raise Stopped(self.signum)


_ACTIVE: StopOnSignals | None = None


def stop_requested() -> bool:
    """True once a stop signal has arrived while a :class:`StopOnSignals` is active."""
    return _ACTIVE is not None and _ACTIVE.signum is not None


def check_stop() -> None:
    """Raise :class:`Stopped` if a stop signal has arrived (a no-op when none is watched,
    e.g. in a sweep's worker process)."""
    if _ACTIVE is not None:
        _ACTIVE.check()
