"""The edge where files come in: one error class, one reader and one error formatter.

Every kind of input file (scenario TOML, experiment TOML, councils CSV, graph file) is read
through :func:`read_text_file` and every problem with one ends in an :class:`InputError`: one
line naming the file, the field and what is wrong, which the CLI prints before exiting with
status 2. Pydantic's validation errors, whichever schema raised them, become that line through
:func:`format_validation_error`.

This module imports nothing else from ``sim``, so the geography's file loaders
(:mod:`sim.network`) and the scenario package can both use it without importing each other.
"""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = [
    "InputError",
    "ScenarioError",
    "format_validation_error",
    "read_text_file",
    "read_toml",
    "suggest",
]


class InputError(ValueError):
    """Bad input: a file, a field in it, an override or an option, with what is wrong.

    The message is one line: ``<file or option>: <field>: <what is wrong>``.
    """


#: Deprecated alias of :class:`InputError` (its name before every kind of input shared it);
#: ``except ScenarioError`` still catches everything. New code names ``InputError``.
ScenarioError = InputError


def read_text_file(path: str | Path, kind: str) -> str:
    """Read a UTF-8 text file (a byte-order mark is dropped), every failure one line.

    Args:
        path: the file.
        kind: what the file should be, for the message, e.g. ``"TOML file"``.

    Raises:
        InputError: the file is missing, a directory, not UTF-8 or unreadable.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a {kind}")
    try:
        return p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(f"{p}: not a text file (it is not UTF-8)") from None
    except OSError as err:
        raise InputError(f"{p}: cannot be read ({err.strerror})") from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a one-line :class:`InputError`."""
    p = Path(path)
    text = read_text_file(p, "TOML file")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{p}: TOML syntax error: {err}") from None


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
        return f"{origin}: unknown key '{field}'{suggest(field, names)}"
    if e["type"] == "missing":
        if root is not None and len(loc) == 1:  # the top level of an input file is tables
            return f"{origin}: the [{field}] table is missing"
        return f"{origin}: {field}: is required"
    if not field:
        return f"{origin}: {message}"
    got = e.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{origin}: {field}: {message}{shown}"
