"""The one error family of kpictl; every problem a user can cause is one of these.

::

    KpiError                      base; carries message, location, hint
     ├─ SpecError      exit 2     YAML syntax, schema violation, unknown name, cycle, bad formula
     ├─ DataError      exit 3     missing/unreadable source, column gone, DuckDB runtime failure
     └─ InvalidProject exit 2/3   many errors at once, sorted by file, line, column

This module renders errors as text and dicts; it never prints and never exits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

#: Exit codes of the command line (0 is success): a breached target or failed KPI test, invalid
#: definitions or usage, a data or source problem.
EXIT_BREACH = 1
EXIT_SPEC = 2
EXIT_DATA = 3

#: How many errors the human rendering shows before "… and N more".
MAX_SHOWN = 50


@dataclass(frozen=True)
class Location:
    """Where something was written: project-relative file, 1-based line and column, JSON pointer."""

    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str | None = None

    def __str__(self) -> str:
        # an option of the command line (--where, --output) has no file: its name stands instead
        parts = [self.file or self.pointer or "<project>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def shifted(self, line_offset: int, column: int | None) -> Location:
        """A location inside a scalar that starts here (for parse errors inside a formula)."""
        if self.line is None:
            return self
        if line_offset == 0 and column is not None and self.column is not None:
            return Location(self.file, self.line, self.column + column, self.pointer)
        return Location(self.file, self.line + line_offset, column if line_offset else self.column, self.pointer)


class KpiError(Exception):
    """Base of every error kpictl reports to a user; never raised directly."""

    exit_code: ClassVar[int] = EXIT_SPEC
    kind: ClassVar[str] = "error"

    def __init__(self, message: str, *, at: Location | None = None, hint: str | None = None, sql: str | None = None):
        super().__init__(message)
        self.message = message
        self.at = at or Location()
        self.hint = hint
        self.sql = sql

    def __str__(self) -> str:
        text = f"{self.at}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.at.file or "", self.at.line or 0, self.at.column or 0, self.message)

    def to_dict(self) -> dict[str, Any]:
        """The one machine shape of a problem, used by every JSON output."""
        return {
            "kind": self.kind,
            "message": self.message,
            "file": self.at.file,
            "line": self.at.line,
            "column": self.at.column,
            "pointer": self.at.pointer,
            "hint": self.hint,
        }


class SpecError(KpiError):
    """A definition is wrong: YAML, schema, names, formulas, cycles (exit 2)."""

    exit_code = EXIT_SPEC
    kind = "spec"


class DataError(KpiError):
    """The data is missing, unreadable or does not fit the definitions (exit 3)."""

    exit_code = EXIT_DATA
    kind = "data"


class InvalidProject(KpiError):
    """Several problems found in one pass; ``errors`` are sorted by file, line and column."""

    kind = "invalid"

    def __init__(self, errors: list[KpiError]):
        self.errors = sorted(errors, key=KpiError.sort_key)
        first = self.errors[0] if self.errors else None
        super().__init__(f"{len(self.errors)} problem(s) found", at=first.at if first else None)

    @property
    def exit_code(self) -> int:  # type: ignore[override]
        return max((e.exit_code for e in self.errors), default=EXIT_SPEC)

    def __str__(self) -> str:
        lines = [str(e) for e in self.errors[:MAX_SHOWN]]
        if len(self.errors) > MAX_SHOWN:
            lines.append(f"… and {len(self.errors) - MAX_SHOWN} more")
        return "\n".join(lines)


def suggest(word: str, choices: object) -> str | None:
    """A "did you mean 'x'?" hint from the closest of ``choices``, or None."""
    import difflib

    names = [str(c) for c in choices]  # type: ignore[attr-defined]
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None
