"""A parsed file's data with the line and column of every node, JSON Pointers and offsets in text.

What the stages after reading need of a file, apart from ``document`` (the YAML reader), so that
a run whose definitions come from the definitions cache (``kpictl.cache``) never imports PyYAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kpictl.errors import Location

Positions = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: plain data plus the 1-based (line, column) of every node and key.

    The position of a quoted scalar is its first character inside the quotes, and that of a
    block scalar (``|`` or ``>``) its first line of content, so that a column inside a
    formula maps onto the file.
    """

    file: str
    data: Any
    positions: Positions  # JSON pointer -> position of the value
    key_positions: Positions  # JSON pointer -> position of the mapping key naming it

    def at(self, pointer: str, *, key: bool = False) -> Location:
        """The location of ``pointer``, or of its nearest ancestor that has one."""
        table = self.key_positions if key else self.positions
        probe = pointer
        while True:
            if probe in table:
                line, col = table[probe]
                return Location(self.file, line, col, pointer)
            if probe in self.positions:
                line, col = self.positions[probe]
                return Location(self.file, line, col, pointer)
            if not probe:
                return Location(self.file, 1, 1, pointer)
            probe = probe.rsplit("/", 1)[0]


def at_offset(at: Location | None, text: str, offset: int) -> Location | None:
    """The file location of character ``offset`` of ``text``, a YAML scalar that starts at ``at``.

    Exact for one-line and ``|`` block scalars (whose lines share one indentation); the
    nearest place for folded ones.
    """
    if at is None or at.line is None or at.column is None:
        return at
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset)
    col = offset - (text.rfind("\n", 0, offset) + 1)
    return Location(at.file, at.line + line, at.column + col, at.pointer)


def escape(key: object) -> str:
    """A mapping key as one JSON Pointer segment (RFC 6901)."""
    return str(key).replace("~", "~0").replace("/", "~1")
