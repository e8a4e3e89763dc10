"""Owning and checking a sweep folder: the lock, the manifest, and the folder's state.

One sweep at a time owns a directory: :func:`sweep_lock` holds an OS lock (``flock``) on
``DIR/.lock`` for the sweep's lifetime, so a second sweep is refused while the first lives and
the lock of a killed sweep is free at once (:func:`check_not_in_use` asks without taking it).
:func:`read_manifest` reads ``DIR/manifest.json`` and refuses one a reader would fail on, and
:func:`prepare_sweep_dir` checks a folder before a sweep writes in it (new, or the same
experiment's to resume). :mod:`sim.experiments.store` re-exports these names.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sim.experiments.layout import LOCK, MANIFEST, SettingError, error_reason, note_to_stderr
from sim.inputs import read_text_file
from sim.scenario import InputError

__all__ = [
    "MANIFEST_TABLES",
    "check_not_in_use",
    "prepare_sweep_dir",
    "read_manifest",
    "sweep_lock",
]


# ----------------------------------------------------------------------------- the lock


def _owner(fd: int) -> str:
    """'pid N on host H' from a lock file's text ('' if it holds none)."""
    text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    if len(text) != 2 or not text[0].isdigit():
        return ""
    return f"pid {text[0]} on host {text[1][:64]}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _lock_fd(fd: int, path: Path) -> None:
    """Take the OS lock on an open lock file, or raise InputError naming its owner."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        held = True
    except OSError as err:  # a file system without flock: fall back on the pid, this host only
        if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise
        words = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
        held = (
            len(words) == 2
            and words[0].isdigit()
            and words[1] == socket.gethostname()
            and int(words[0]) != os.getpid()
            and _pid_alive(int(words[0]))
        )
    if held:
        owner = _owner(fd)
        if not owner:  # the owner has the lock but has not written its name yet
            time.sleep(0.05)
            owner = _owner(fd) or "owner unknown"
        raise SettingError(
            "sweep folder",
            path.parent,
            f"in use by another sweep ({owner}); wait for it to end, or choose another folder",
        )


_HELD: dict[str, int] = {}  # resolved sweep directory -> open lock file, in this process


@contextmanager
def sweep_lock(out: Path, notify: Callable[[str], None] = note_to_stderr) -> Iterator[None]:
    """Own the sweep directory ``out`` (created if missing) for the block.

    The lock is ``flock`` on ``out/.lock``, which holds the owner's pid and host for the
    message another sweep gets. The OS drops the lock when its process dies (SIGKILL
    included), so a lock file left by a dead sweep is taken over, with a note. Re-entrant
    within one process.

    Raises:
        InputError: another live process holds the lock, or ``out`` cannot be created.
    """
    out = Path(out)
    # os.path's tests answer False, not OSError, for a name too long to look up
    if os.path.islink(out) and not os.path.exists(out):
        raise SettingError("sweep folder", out, "is a symbolic link that leads nowhere (a loop?)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SettingError(
            "sweep folder", out, f"cannot be created ({error_reason(err)})"
        ) from None
    key = os.path.realpath(out)
    if key in _HELD:
        yield
        return
    path = out / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            raise SettingError(
                "sweep folder", out, f"cannot write in it ({error_reason(err)})"
            ) from None
        try:
            _lock_fd(fd, path)
            # the owner removes the file as it lets go: make sure ours is still the one there
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)
    try:
        previous = _owner(fd)
        if previous:
            notify(f"--out {out}: taking over the lock left by {previous}, no longer running")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    except OSError as err:
        os.close(fd)
        raise SettingError(
            "sweep folder", out, f"cannot write in it ({error_reason(err)})"
        ) from None
    _HELD[key] = fd
    try:
        yield
    finally:
        del _HELD[key]
        # unlinked while still locked: a sweep that opened it meanwhile retries on a new file;
        # if the disk turned read-only, the next sweep takes the left lock over
        with suppress(OSError):
            path.unlink()
        os.close(fd)


# ----------------------------------------------------------------------------- the folder


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The sweep's manifest, or None if ``out`` holds none."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    text = read_text_file(path, "manifest")  # bounded in size, like every input file
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not a readable manifest ({error_reason(err)})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{path}: not a readable manifest (not a JSON object)")
    _check_manifest(manifest, path)
    return manifest


#: The tables of a manifest that resuming, replaying and analysing a sweep read.
MANIFEST_TABLES = ("experiment", "parameters", "parameter_kinds", "base_scenario")


def _check_manifest(manifest: dict[str, Any], path: Path) -> None:
    """Refuse a manifest edited or damaged so that a reader would fail on it: one line
    naming the field, never a KeyError's traceback."""
    from pydantic import ValidationError

    from sim.experiments.design import ExperimentMeta
    from sim.inputs import format_validation_error

    for key in MANIFEST_TABLES:
        if not isinstance(manifest.get(key), dict):
            raise InputError(f"{path}: {key}: missing or not a table (was the file edited?)")
    recorded = manifest["experiment"]
    try:
        ExperimentMeta.model_validate(
            {k: recorded[k] for k in recorded if k in ExperimentMeta.model_fields}
        )
    except ValidationError as err:
        raise InputError(
            format_validation_error(err, f"{path}: experiment", ExperimentMeta)
        ) from None
    kinds = manifest["parameter_kinds"]
    if set(kinds) != set(manifest["parameters"]):
        raise InputError(
            f"{path}: parameter_kinds: does not name the same parameters as parameters "
            "(was the file edited?)"
        )


def _holds_nothing(folder: Path) -> bool:
    """True if ``folder`` holds only a lock file, temporary files and empty sub-folders: what
    a sweep killed before its manifest landed leaves (or an older version's empty parts/)."""
    for item in folder.iterdir():
        if item.is_dir() and not item.is_symlink():
            if not _holds_nothing(item):
                return False
        elif not (item.name == LOCK or (item.name.startswith(".") and item.name.endswith(".tmp"))):
            return False
    return True


def check_not_in_use(out: Path) -> None:
    """Refuse a directory whose lock a live sweep holds (checked without creating anything)."""
    if os.path.realpath(out) in _HELD:
        return  # this process is the owner
    try:
        fd = os.open(out / LOCK, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        _lock_fd(fd, out / LOCK)
    finally:
        os.close(fd)  # closing drops the lock just taken, if any


def prepare_sweep_dir(
    out: Path,
    *,
    resume: bool,
    experiment_sha256: str,
    inputs: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """Check ``out`` before anything is written; return the old manifest when resuming.

    A directory that is absent, or holds nothing but a lock file, temporary files and empty
    sub-folders (a sweep killed before its manifest landed), is new.

    Args:
        out: the sweep directory.
        resume: continue the sweep in ``out``.
        experiment_sha256: the experiment file's hash (:attr:`Experiment.sha256`).
        inputs: every file a run reads -> its hash (:attr:`Experiment.inputs`); compared
            with the manifest's when given (a manifest from before they were recorded
            has none to compare).

    Raises:
        InputError: ``out`` is a file, is in use by another sweep, is not empty and
            ``resume`` is False, or holds another experiment's results, or one whose
            base scenario or data files have changed since (the line names the file).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise SettingError("sweep folder", out, "exists and is not a directory")
    if not out.exists():
        return None
    check_not_in_use(out)
    try:
        if _holds_nothing(out):
            return None
    except OSError as err:
        raise SettingError("sweep folder", out, f"cannot be read ({error_reason(err)})") from None
    if not resume:
        raise SettingError("sweep folder", out, "directory is not empty", resumable=True)
    manifest = read_manifest(out)
    if manifest is None:
        raise SettingError(
            "sweep folder", out, f"not empty and holds no {MANIFEST}: not a sweep directory"
        )
    if manifest.get("experiment", {}).get("sha256") != experiment_sha256:
        raise SettingError(
            "sweep folder",
            out,
            "was written by a different experiment file (its hash differs); resume with the "
            "same file, or choose another folder",
        )
    recorded = manifest.get("inputs")
    if inputs is not None and isinstance(recorded, dict):
        from sim.experiments.loading import changed_input

        changed = changed_input(recorded, inputs)
        if changed:
            raise SettingError(
                "sweep folder",
                out,
                f"{changed}; its runs would mix two scenarios: restore the file, or choose "
                "another folder",
            )
    return manifest
