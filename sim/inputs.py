"""The edge where files come in: one error class, one reader and one error formatter.

Every kind of input file (scenario TOML, experiment TOML, councils CSV, graph file) is read
through :func:`read_text_file` and every problem with one ends in an :class:`InputError`: one
line naming the file, the field and what is wrong, which the CLI prints before exiting with
status 2. Pydantic's validation errors, whichever schema raised them, become that line through
:func:`format_validation_error`.

This module imports nothing else from ``sim``, so the geography's file loaders
(:mod:`sim.core.network`) and the scenario package can both use it without importing each other.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
import re
import stat
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported where a schema is, not by every reader of a file
    from pydantic import BaseModel, ValidationError

__all__ = [
    "MAX_INPUT_BYTES",
    "QUOTE_CHARS",
    "InputError",
    "ScenarioError",
    "check_count",
    "clip",
    "csv_records",
    "format_validation_error",
    "parse_toml",
    "quote",
    "read_text_file",
    "read_toml",
    "suggest",
]

#: Largest input file read (scenario, experiment, councils CSV, graph file): 20 MB. The
#: largest valid inputs are far smaller (10,000 councils with 30 neighbours each is ~8 MB of
#: GraphML); anything larger is refused before it is read, so a wrong path (a disk image, a
#: log) costs nothing.
MAX_INPUT_BYTES = 20_000_000
#: At most this many characters of any value from an input file appear in a message, so an
#: error never prints a file's contents (a header line of /etc/shadow, say).
QUOTE_CHARS = 24


class InputError(ValueError):
    """Bad input: a file, a field in it, an override or an option, with what is wrong.

    The message is one line: ``<file or option>: <field>: <what is wrong>``.
    """


#: Deprecated alias of :class:`InputError` (its name before every kind of input shared it);
#: ``except ScenarioError`` still catches everything. New code names ``InputError``.
ScenarioError = InputError


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``value`` for a message: its repr, cut to ``limit`` characters with an ellipsis.

    A huge integer is described by its number of digits, never converted to text (Python
    refuses to print one of over 4,300 digits, and it would flood the line anyway).
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        digits = int((value.bit_length() - 1) * math.log10(2)) + 1
        return f"an integer of about {digits} digits"
    if isinstance(value, str):  # cut the text, keep the quotes
        return repr(clip(value, max(limit - 2, 2)))
    return clip(repr(value), limit)


def check_count(option: str, value: int, low: int, high: int) -> None:
    """Refuse a count or seed typed on a command line (``--replications``, ``--workers``,
    ``--seed``) outside ``low`` to ``high``, in one line naming the option, before anything
    is sized by it."""
    if not low <= value <= high:
        raise InputError(f"{option} {quote(value)}: must be {low:,} to {high:,}")


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the last an ellipsis when it was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _open_regular(path: Path, kind: str) -> bytes:
    """The bytes of a regular file of at most MAX_INPUT_BYTES, every failure one line.

    The file is opened without blocking and checked with ``fstat`` on the open descriptor, so
    a FIFO does not hang, ``/dev/zero`` is not read forever, and the file checked is the
    file read.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {kind}") from None
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError(f"{path}: is a directory, not a {kind}")
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: is not a regular file (a device, pipe or socket?)")
        if info.st_size > MAX_INPUT_BYTES:
            raise InputError(
                f"{path}: {info.st_size / 1e6:.1f} MB; a {kind} may be at most "
                f"{MAX_INPUT_BYTES / 1e6:.0f} MB"
            )
        with os.fdopen(fd, "rb", closefd=True) as handle:
            fd = -1
            data = handle.read(MAX_INPUT_BYTES + 1)
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror})") from None
    finally:
        if fd >= 0:
            os.close(fd)
    if len(data) > MAX_INPUT_BYTES:  # it grew since fstat
        raise InputError(f"{path}: a {kind} may be at most {MAX_INPUT_BYTES / 1e6:.0f} MB")
    return data


def read_text_file(path: str | Path, kind: str) -> str:
    """Read a UTF-8 text input file (a byte-order mark is dropped), every failure one line.

    Only a regular file of at most :data:`MAX_INPUT_BYTES` is read.

    Args:
        path: the file.
        kind: what the file should be, for the message, e.g. ``"TOML file"``.

    Raises:
        InputError: the file is missing, a directory, a device or pipe, too large, not UTF-8
            or unreadable.
    """
    p = Path(path)
    data = _open_regular(p, kind)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputError(f"{p}: line {line}: not a text file (it is not UTF-8)") from None
    if "\x00" in text:
        raise InputError(f"{p}: line {text.count(chr(10), 0, text.index(chr(0))) + 1}: a NUL byte")
    return text


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line :class:`InputError`."""
    return parse_toml(read_text_file(path, "TOML file"), path)


def parse_toml(text: str, path: str | Path) -> dict[str, Any]:
    """Parse the text of a TOML input file, every failure one line naming ``path``."""
    p = Path(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{p}: TOML syntax error: {err}") from None
    except RecursionError:
        raise InputError(
            f"{p}: TOML nested too deeply (arrays or tables within each other)"
        ) from None
    except ValueError as err:  # a number Python will not convert: over 4,300 digits
        raise InputError(_long_number(p, text) or f"{p}: TOML value not understood") from err


def _long_number(path: Path, text: str) -> str | None:
    """The line, key and fault of the first number longer than Python converts."""
    limit = sys.get_int_max_str_digits()
    for n, line in enumerate(text.splitlines(), 1):
        if re.search(rf"\d[\d_]{{{limit},}}", line):
            key = line.split("=", 1)[0].strip() if "=" in line else ""
            where = f"{clip(key, 60)}: " if key else ""
            return f"{path}: line {n}: {where}a number of more than {limit} digits"
    return None


def csv_records(text: str, path: str | Path) -> list[tuple[int, list[str]]]:
    """(line number, stripped fields) of each record of a CSV input file; blank lines and
    ``#`` comments skipped; a malformed record is a one-line :class:`InputError`."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records = []
    try:
        for fields in reader:
            fields = [f.strip() for f in fields]
            if any(fields) and not fields[0].startswith("#"):
                records.append((reader.line_num, fields))
    except csv.Error as err:
        raise InputError(f"{path}: line {reader.line_num}: not valid CSV ({err})") from None
    return records


def suggest(bad: str, candidates: list[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to ``bad`` (dotted or its last
    part), or ``""`` when none is close."""
    last = bad.rsplit(".", 1)[-1]
    pool = {c.rsplit(".", 1)[-1]: c for c in candidates}
    match = difflib.get_close_matches(bad, candidates, n=1, cutoff=0.6) or [
        pool[m] for m in difflib.get_close_matches(last, list(pool), n=1, cutoff=0.6)
    ]
    return f" (did you mean '{match[0]}'?)" if match else ""


def _loc_str(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The schema model that holds the field at ``loc`` (list items and dicts walked)."""
    from pydantic import BaseModel

    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        model = field.annotation
        while hasattr(model, "__args__") and not (
            isinstance(model, type) and issubclass(model, BaseModel)
        ):
            model = model.__args__[-1]  # list[Shock] -> Shock, dict[str, X] -> X
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def format_validation_error(
    err: ValidationError, origin: str, root: type[BaseModel] | None = None
) -> str:
    """One line for the first error pydantic found: the file, the field, what is wrong.

    Args:
        err: the error of ``root.model_validate`` (or of any model when ``root`` is None).
        origin: the file or option the data came from, first on the line.
        root: the schema validated against; it names the known keys of an unknown one
            ("did you mean") and tells a missing table from a missing value.

    The offending value is quoted only when it is a scalar, so a message never carries a
    whole table of the file.
    """
    e = err.errors(include_url=False)[0]
    loc = tuple(p for p in e["loc"] if p not in ("function-after",))
    field = _loc_str(loc)
    message = e["msg"].removeprefix("Value error, ")
    if e["type"] == "extra_forbidden":
        holder = _model_at(root, loc[:-1]) if root is not None else None
        names = [_loc_str((*loc[:-1], k)) for k in holder.model_fields] if holder else []
        return f"{origin}: unknown key {quote(field, 60)}{suggest(field, names)}"
    if e["type"] == "missing":
        if root is not None and len(loc) == 1:  # the top level of an input file is tables
            return f"{origin}: the [{field}] table is missing"
        return f"{origin}: {field}: is required"
    if not field:
        return f"{origin}: {message}"
    got = e.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {quote(got)})"
    return f"{origin}: {clip(field, 60)}: {message}{shown}"
