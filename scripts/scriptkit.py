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


def _head_end(text: str) -> int:
    """Where a file's head ends: its first second-level heading (or its end)."""
    i = text.find("\n## ")
    return len(text) if i < 0 else i + 1


def write_block(path: Path, name: str, body: str, *, top: bool = False) -> None:
    """Replace block ``name`` in ``path`` by ``body``; a file without it gets it at the end,
    or with ``top`` before its first section (a missing file is created)."""
    path = Path(path)
    text = path.read_text() if path.exists() else ""
    new = _wrap(name, body)
    if name in blocks(text):
        text = _BLOCK.sub(lambda m: new if m["name"] == name else m[0], text)
    elif top:
        i = _head_end(text)
        text = text[:i] + new + "\n" + text[i:]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + new
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, text)


def keep_blocks(old: str, new: str) -> str:
    """``new`` with every block of ``old`` that ``new`` lacks: a block that stood in ``old``'s
    head (before its first section) goes before ``new``'s first section, the others at the
    end, in ``old``'s order. How a script that regenerates a whole file keeps the blocks
    other scripts wrote."""
    have = blocks(new)
    head, tail = [], []
    for m in _BLOCK.finditer(old):
        if m["name"] not in have:
            (head if m.start() < _head_end(old) else tail).append(m[0].rstrip("\n") + "\n")
    i = _head_end(new)
    out = new[:i] + "".join(b + "\n" for b in head) + new[i:]
    if tail:
        out = out.rstrip("\n") + "\n\n" + "\n".join(tail)
    return out
