"""SQL quoting, the one place for it: every identifier and string literal kpictl writes into SQL
text (views, templates, sample data, Parquet output) goes through these functions, and every piece
of text that lands in a SQL comment (KPI names, file names, labels) through :func:`comment`."""

from __future__ import annotations

import os


def identifier(name: str) -> str:
    """A quoted SQL identifier: ``a"b`` → ``"a""b"``."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str | os.PathLike[str]) -> str:
    """A SQL string literal (a path too): ``it's`` → ``'it''s'``."""
    return "'" + os.fspath(text).replace("'", "''") + "'"


def backtick(name: str) -> str:
    """A Spark SQL identifier: ``a`b`` → ```a``b```."""
    return "`" + name.replace("`", "``") + "`"


def comment(text: object) -> str:
    """Text safe inside a ``--`` line comment: a newline (or any other character that is not printable,
    such as a carriage return or U+2028) would end the comment and turn the rest into SQL, so each one
    is written as its escape (``a\\nb``)."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in str(text))
