"""The files of each source, found and fingerprinted without a database engine.

``source_files`` resolves a source's path (a file, a glob, a folder) into the files it reads,
each inside the project or an allowed folder; ``fingerprint`` says what their columns depend
on, for the definitions cache (``Project.schemas``). Apart from ``duckdb.py`` so that a command
whose answers are all in the cache (``kpictl validate`` of unchanged definitions and files)
never imports DuckDB.
"""

from __future__ import annotations

import hashlib
import os
import re
from typing import Any

from kpictl.errors import DataError, KpiError, SpecError
from kpictl.language import paths
from kpictl.model import Config, Source


def source_files(config: Config, source: Source) -> list[str]:
    """The real paths of a source's files: a file, a glob, or a folder (read recursively), each
    inside the project or an allowed folder (language/paths.py), each once."""
    if source.table:
        raise DataError(
            f"source '{source.name}' is the catalog table '{source.table}': only the spark engine reads tables",
            at=source.at,
            hint="run with --engine spark, or give the source a path:",
        )
    allowed = paths.roots(config.root, config.allowed)
    where = os.path.join(config.root, source.path)
    hint = "paths are relative to the folder of kpictl.yml"
    if not paths.inside(os.path.join(config.root, paths.static_part(source.path)), allowed):
        message = f"source '{source.name}': path leaves the project: {source.path}"
        raise SpecError(message, at=source.at, hint=paths.HINT)
    try:
        if os.path.isdir(where):
            tried = f"{source.path.rstrip('/')}/**/*.{file_format(source)}"
            found = paths.expand(where, f"**/*.{file_format(source)}")
        elif not paths.is_glob(source.path):
            if not os.path.isfile(where):
                raise DataError(f"source '{source.name}': file not found: {source.path}", at=source.at, hint=hint)
            found = [os.path.realpath(where)]
        else:
            tried = source.path
            found = paths.expand(config.root, source.path)
    except OSError as exc:  # a folder that cannot be listed
        raise DataError(f"source '{source.name}': cannot read {source.path}: {exc.strerror}", at=source.at) from None
    if not found:
        other = "csv" if file_format(source) == "parquet" else "parquet"
        if os.path.isdir(where) and paths.expand(where, f"**/*.{other}"):
            hint = f"the folder has .{other} files: declare format: {other} on the source"
        raise DataError(f"source '{source.name}': no file matches '{tried}'", at=source.at, hint=hint)
    if not all(paths.inside(f, allowed) for f in found):
        raise SpecError(
            f"source '{source.name}': a file of '{source.path}' is a link to a file outside the project",
            at=source.at,
            hint=paths.HINT,
        )
    return found


def file_format(source: Source) -> str:
    """``parquet`` or ``csv``: as declared, else from the path's extension."""
    if source.format in ("csv", "parquet"):
        return source.format
    return "csv" if re.search(r"\.(csv|tsv)(\.gz|\.zst)?$", source.path) else "parquet"


def fingerprint(config: Config) -> dict[str, Any] | None:
    """What :func:`schemas` reads from the data, read without DuckDB: each source's files, each
    with its size and the SHA-256 of its Parquet footer (where a Parquet file writes its columns
    and their types), None for a source without files. None when that is not all: a CSV file
    (its types come from sniffing every row), a file that is not Parquet or cannot be read, a
    source that leaves the project (``schemas`` says why). The definitions cache keys the
    sources' columns on it (``Project.schemas``)."""
    marks: dict[str, Any] = {}
    for name, source in config.sources.items():
        try:
            files = source_files(config, source)
        except DataError:
            marks[name] = None  # no file: left out by schemas() too
            continue
        except KpiError:
            return None
        if file_format(source) != "parquet":
            return None
        found = []
        for path in files:
            try:
                with open(path, "rb") as file:
                    size = file.seek(0, os.SEEK_END)
                    file.seek(max(size - 8, 0))
                    tail = file.read(8)
                    length = int.from_bytes(tail[:4], "little")
                    if size < 12 or tail[4:] != b"PAR1" or length > size - 12:
                        return None
                    file.seek(size - 8 - length)
                    footer = file.read(length)
            except OSError:
                return None
            found.append([path, size, hashlib.sha256(footer).hexdigest()])
        marks[name] = found
    return marks


def spill_settings(folder: str) -> dict[str, Any]:
    """DuckDB settings that make what does not fit in memory spill into ``folder``, a private
    temporary one: DuckDB's own default is ``.tmp`` in the working folder (the project's, often),
    which it leaves behind."""
    return {"temp_directory": os.path.join(folder, "spill")}
