"""Text from definitions or data, made safe for the place it is shown: a terminal or CI log line,
a Markdown table cell, a Markdown code span.

Labels, file names, test names, breakdown values and error messages come from pull requests and
data, and the outputs are read by CI runners (a line starting with ``::`` is a GitHub Actions
command: ``::stop-commands::`` silences every later annotation) and rendered as pull-request
comments (raw HTML, or a newline then ``<!--``, hides the rest of the comment). So user text
never carries a line break or another control character into an output, never starts a line
with ``::``, and never reaches Markdown as HTML.
"""

from __future__ import annotations

import html

_SPACES = frozenset("\u00a0\u202f")  # no-break spaces: French numbers are written with them (12,5 %)


def line(text: object) -> str:
    """``text`` on one line: each character that is not printable (newline, carriage return, escape,
    U+2028…) written as its Python escape, and a leading ``::`` broken (``\\::``). No-break
    spaces stay: they are spaces, and French number formats use them."""
    out = "".join(
        c if c.isprintable() or c in _SPACES else c.encode("unicode_escape").decode("ascii") for c in str(text)
    )
    return "\\" + out if out.lstrip().startswith("::") else out


def cell(text: object) -> str:
    """``text`` for a Markdown table cell: one line, HTML escaped, pipes and backslashes escaped."""
    return html.escape(line(text), quote=False).replace("\\", "\\\\").replace("|", "\\|")


def code(text: object) -> str:
    """``text`` as a Markdown code span that a table cell can hold: one line, a fence longer than
    any backtick run inside (CommonMark), pipes escaped. A code span shows HTML as text."""
    body = line(text)
    longest = max((len(run) for run in _backtick_runs(body)), default=0)
    fence, pad = "`" * (longest + 1), " " if longest else ""
    return f"{fence}{pad}{body.replace('|', chr(92) + '|')}{pad}{fence}"


def _backtick_runs(text: str) -> list[str]:
    runs, current = [], ""
    for c in text:
        if c == "`":
            current += c
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs
