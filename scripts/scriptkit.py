"""What the scripts under scripts/ share: generated blocks in Markdown files, and a
command-line parser whose errors are one line.

A generated block is the text between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``. Each script
that measures something (calibration, patterns, the spread over seeds, the claims) rewrites
only its own block, so the scripts can be rerun in any order, and
``scripts/validation.py``, which rewrites docs/validation.md whole, keeps them.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import NoReturn

__all__ = ["OneLineParser", "blocks", "keep_blocks", "write_block"]

EXIT_BAD_INPUT = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2 (as ``commsim``'s)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see '{self.prog} --help')\n")


_BLOCK = re.compile(r"<!-- (?P<name>[\w-]+):begin -->\n.*?<!-- (?P=name):end -->\n?", re.DOTALL)


def blocks(text: str) -> dict[str, str]:
    """Every generated block in ``text``, by name, markers included."""
    return {m["name"]: m[0] for m in _BLOCK.finditer(text)}


def _wrap(name: str, body: str) -> str:
    return f"<!-- {name}:begin -->\n{body.rstrip()}\n<!-- {name}:end -->\n"


def _atomic_write(path: Path, text: str) -> None:
    """Write whole or not at all (a reader never sees half a file)."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_block(path: Path, name: str, body: str) -> None:
    """Replace block ``name`` in ``path`` by ``body``; a file without it gets it at the end
    (a missing file is created)."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    new = _wrap(name, body)
    if name in blocks(text):
        text = _BLOCK.sub(lambda m: new if m["name"] == name else m[0], text)
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + new
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, text)


def keep_blocks(old: str, new: str) -> str:
    """``new`` with every block of ``old`` that ``new`` lacks appended, in ``old``'s order:
    how a script that regenerates a whole file keeps the blocks other scripts wrote."""
    missing = [text for name, text in blocks(old).items() if name not in blocks(new)]
    if not missing:
        return new
    return new.rstrip("\n") + "\n\n" + "\n".join(t.rstrip("\n") + "\n" for t in missing)
