"""SQL quoting, the one place for it: every identifier and string literal kpictl writes into SQL
text (views, templates, sample data, Parquet output) goes through these two functions."""

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
