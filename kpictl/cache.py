"""The definitions cache: what reading, checking and compiling unchanged definitions gave, kept between runs.

Reading a project's definitions (YAML), checking them (JSON Schema, formulas parsed by sqlglot,
Jinja) and compiling them is most of a small ``kpictl run``'s time, and its imports most of
that; it gives the same answer for the same inputs.
Each answer is kept as one entry, a JSON file in the user's cache folder, under a key that
hashes everything it was computed from:

- kpictl itself: its version and the bytes of its own code (source files, templates, schemas;
  for a wheel install, its RECORD of file hashes), the Python version, and the name and
  version of every distribution installed on ``sys.path`` (sqlglot, jsonschema, Jinja…);
- the input of the step: a file's path and exact bytes for reading, shape-checking and building
  it (``spec``); for the later steps the project as loaded (``kpictl.yml`` and every KPI as
  built, with ``vars`` and where each thing was written), the digest of every definition file,
  the options of the run (KPIs, grain, breakdowns, range, ``--where``) and, for every step that
  depends on data, the column names and types of the sources as read on this run: by DuckDB,
  or when every file is Parquet from the cache itself, keyed on the SHA-256 of each file's
  footer (where Parquet writes its columns), never on a file's size or date.

An entry stores its key and the SHA-256 of its payload. A missing, unreadable, truncated or
corrupt entry, one whose key is not the one asked for (stale) or whose payload does not match
its digest (edited) is ignored: the answer is computed and the entry rewritten. Entries are
written to a temporary file then renamed (a reader never sees half an entry). An entry holds
data only, in JSON: ``decode`` rebuilds values of a fixed list of kpictl's own frozen
dataclasses and errors, nothing else (no pickle, nothing that names code to run). An answer is
written only if it reads back to exactly what was computed, so a hit gives what a miss gives.

Where: ``$KPICTL_CACHE_DIR``, else ``$XDG_CACHE_HOME/kpictl``, else ``~/.cache/kpictl``. Off
with ``KPICTL_NO_CACHE=1``, and off when the folder is inside the project (a pull request
writes the project, and could plant entries there), not owned by the user, or writable by
others. A folder that cannot be created or written is skipped silently: kpictl computes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

#: Changes when the entry layout or the encoding below changes.
FORMAT = 1
#: Past this many entries or bytes, a write removes the oldest (entries of old definitions) down to 4/5 of both.
MAX_ENTRIES = 2000
MAX_BYTES = 256 * 1024 * 1024
#: An entry larger than this is not read (it cannot be one kpictl wrote for a sane project).
MAX_ENTRY_BYTES = 64 * 1024 * 1024


class Unencodable(TypeError):
    """A value the cache does not store (its answer is then computed every time)."""


def folder_for(root: str | Path) -> Path | None:
    """The cache folder for the project at ``root``, or None when caching is off (see module doc)."""
    if os.environ.get("KPICTL_NO_CACHE", "") not in ("", "0"):
        return None
    explicit = os.environ.get("KPICTL_CACHE_DIR")
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    try:
        if explicit:
            base = Path(explicit)
        elif xdg and os.path.isabs(xdg):  # the XDG spec: a relative value is ignored
            base = Path(xdg) / "kpictl"
        else:
            base = Path.home() / ".cache" / "kpictl"
        base = base.resolve()
        project = Path(root).resolve()
    except (OSError, RuntimeError):  # no home folder, a loop of links
        return None
    if base == project or project in base.parents:
        return None
    return base


class Store:
    """The entries of one cache folder; ``hits``, ``misses`` and ``writes`` count this process's."""

    def __init__(self, folder: Path | None):
        self.folder = folder
        self.hits = self.misses = self.writes = 0
        self._checked: bool | None = None  # the folder is safe to read (None: not looked at yet)

    @classmethod
    def for_project(cls, root: str | Path) -> Store:
        return cls(folder_for(root))

    def cached(self, part: str, key: Any, compute: Callable[[], T], keep: Callable[[], bool] | None = None) -> T:
        """``compute()``'s value, read from the entry of (``part``, ``key``) when there is a valid
        one; a computed value is written unless ``keep()`` says no (an input changed meanwhile)."""
        if self.folder is None:
            return compute()
        try:
            digest = self._digest(part, key)
        except Unencodable:
            return compute()
        path = self.folder / f"{part}-{digest}.json"
        found = self._read(path, digest)
        if found is not _MISSING:
            self.hits += 1
            return found  # type: ignore[no-any-return]
        self.misses += 1
        value = compute()
        if keep is None or keep():
            self._write(path, digest, value)
        return value

    def _digest(self, part: str, key: Any) -> str:
        text = _dumps({"format": FORMAT, "code": code_id(), "part": part, "key": encode(key)})
        return hashlib.sha256(text.encode()).hexdigest()

    def _safe(self) -> bool:
        """Whether the folder may be read: absent (nothing to read), or a folder of this user
        that no one else can write into."""
        if self._checked is None:
            assert self.folder is not None
            try:
                info = os.stat(self.folder)
            except OSError:
                self._checked = False
                return False
            self._checked = _private(info)
        return self._checked

    def _read(self, path: Path, digest: str) -> Any:
        if not self._safe():
            return _MISSING
        try:
            with open(path, "rb") as file:
                raw = file.read(MAX_ENTRY_BYTES + 1)
            if len(raw) > MAX_ENTRY_BYTES:
                return _MISSING
            entry = json.loads(raw)
            if not isinstance(entry, dict) or entry.get("format") != FORMAT or entry.get("key") != digest:
                return _MISSING  # another layout, or stale: not the entry of this key
            payload = entry.get("payload")
            if not isinstance(payload, str) or hashlib.sha256(payload.encode()).hexdigest() != entry.get("sha256"):
                return _MISSING  # edited or cut short
            return decode(json.loads(payload))
        except (OSError, ValueError, TypeError, KeyError, RecursionError):  # missing, unreadable, corrupt
            return _MISSING

    def _write(self, path: Path, digest: str, value: Any) -> None:
        assert self.folder is not None
        try:
            payload = _dumps(encode(value))
            if _dumps(encode(decode(json.loads(payload)))) != payload:
                return  # it would not read back as computed: never cached
        except (Unencodable, ValueError, TypeError, RecursionError):
            return
        sha256 = hashlib.sha256(payload.encode()).hexdigest()
        text = _dumps({"format": FORMAT, "key": digest, "sha256": sha256, "payload": payload}) + "\n"
        temp = None
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not self._checked:
                self._checked = None  # created just now, or unsafe: look again
                if not self._safe():
                    return
            import tempfile

            handle, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temp, path)
            temp = None
            self.writes += 1
            self._prune()
        except OSError:  # a read-only home, a full disk, a path through a file: no cache, same answer
            pass
        finally:
            if temp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temp)

    def _prune(self) -> None:
        """Past ``MAX_ENTRIES`` entries or ``MAX_BYTES``, remove the oldest down to 4/5 of both
        (entries of definitions since changed; a write is a miss, which costs far more)."""
        assert self.folder is not None
        with os.scandir(self.folder) as found:  # kpictl's own files only: the folder may hold others
            infos = [(e.stat(follow_symlinks=False), e.path) for e in found if _ENTRY.fullmatch(e.name)]
        count, total = len(infos), sum(info.st_size for info, _ in infos)
        if count <= MAX_ENTRIES and total <= MAX_BYTES:
            return
        for info, path in sorted(infos, key=lambda found: found[0].st_mtime_ns):
            if count <= MAX_ENTRIES * 4 // 5 and total <= MAX_BYTES * 4 // 5:
                break
            with contextlib.suppress(OSError):
                os.unlink(path)
            count, total = count - 1, total - info.st_size


def digest(value: Any) -> str:
    """The SHA-256 of ``value``'s encoding (Unencodable when it has none)."""
    return hashlib.sha256(_dumps(encode(value)).encode()).hexdigest()


def _private(info: os.stat_result) -> bool:
    """A folder of the user running kpictl that group and others cannot write (always true where
    there are no such owners, on Windows)."""
    import stat

    if not stat.S_ISDIR(info.st_mode):
        return False
    if not hasattr(os, "geteuid"):
        return True
    return info.st_uid == os.geteuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


_MISSING = object()
#: The name of an entry (``check-<64 hex digits>.json``), or of a temporary file a write left.
_ENTRY = re.compile(r"[a-z-]+-[0-9a-f]{64}\.json|\.tmp-[A-Za-z0-9_]+\.json")


def _dumps(value: Any) -> str:
    """JSON text with one spelling per value: no spaces, ASCII only, keys in the order given."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=True)


# -- what kpictl's answers depend on besides their inputs ---------------------------------------


@cache
def code_id() -> str:
    """A digest of the code that computes the answers: kpictl's version and files, Python's
    version, and every distribution installed on ``sys.path`` with its version."""
    import kpictl

    digest = hashlib.sha256(f"{kpictl.__version__}\0{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    package = Path(kpictl.__file__).resolve().parent
    record = _record(package)
    if record is not None:
        digest.update(b"record\0" + record)
    else:  # a checkout or an editable install: its files as they are now
        for path in sorted(_code_files(package)):
            digest.update(f"{path.relative_to(package).as_posix()}\0".encode())
            digest.update(path.read_bytes())
    for name in _distributions():
        digest.update(f"{name}\0".encode())
    return digest.hexdigest()


def _record(package: Path) -> bytes | None:
    """The RECORD (a hash of every file) of the wheel that installed ``package``, if it did."""
    try:
        with os.scandir(package.parent) as found:
            infos = [e.path for e in found if e.name.startswith("kpictl-") and e.name.endswith(".dist-info")]
        for info in infos:
            text = Path(info, "RECORD").read_bytes()
            if b"kpictl/cache.py," in text:  # an editable install's RECORD lists no source file
                return text
    except OSError:
        pass
    return None


def _code_files(package: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        found += [Path(folder, f) for f in files if f.endswith((".py", ".j2", ".json"))]
    return found


def _distributions() -> list[str]:
    """The ``name-version.dist-info`` (and ``.egg-info``) folders of every ``sys.path`` entry."""
    names: set[str] = set()
    here = os.getcwd()
    for entry in sys.path:
        if entry in ("", ".", here):  # `python -m` puts the working folder first: no library lives there
            continue
        try:
            with os.scandir(entry or ".") as found:
                names.update(e.name for e in found if e.name.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return sorted(names)


# -- the encoding: JSON with a tag for every value JSON has no word for -------------------------


@cache
def _types() -> dict[str, type]:
    """The only classes ``decode`` builds: kpictl's frozen dataclasses of definitions and queries."""
    from kpictl import errors, model
    from kpictl.language import spec
    from kpictl.sql import query

    classes: list[type] = [
        errors.Location,
        model.Lookup,
        model.Computed,
        model.Source,
        model.Dimension,
        model.Format,
        model.Bound,
        model.Baseline,
        model.Target,
        model.KpiTest,
        model.Snapshot,
        model.Kpi,
        model.Engine,
        model.Calendar,
        model.Config,
        query.CompiledQuery,
        spec.Places,
    ]
    return {cls.__name__: cls for cls in classes}


@cache
def _errors() -> dict[str, type]:
    from kpictl.errors import DataError, SpecError

    return {"SpecError": SpecError, "DataError": DataError}


def encode(value: Any) -> Any:
    """``value`` as plain JSON data, one spelling per value: the type of every part is kept
    (tuple or list, int or float, date or text, which dataclass), every field of a dataclass
    is written (also those its ``==`` ignores, such as locations), and dicts keep their order.
    Raises Unencodable for anything else (a subclass of str included)."""
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if kind is list:
        return [encode(v) for v in value]
    if kind is tuple:
        return {"tuple": [encode(v) for v in value]}
    if kind is dict:
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    if kind is set and all(type(v) is str for v in value):
        return {"set": sorted(value)}
    if kind is dt.date:
        return {"date": value.isoformat()}
    if kind is dt.datetime:
        return {"datetime": value.isoformat()}
    name = kind.__name__
    if _types().get(name) is kind:  # every field in order: the code's digest is in every key
        return {"class": name, "fields": [encode(getattr(value, f.name)) for f in dataclasses.fields(value)]}
    if _errors().get(name) is kind:
        if set(vars(value)) != {"message", "at", "hint", "sql"} or value.args != (value.message,):
            raise Unencodable(f"an error with more than a message: {value!r}")
        return {
            "error": name,
            "fields": [encode(value.message), encode(value.at), encode(value.hint), encode(value.sql)],
        }
    raise Unencodable(f"the definitions cache does not store {kind.__name__}")


def decode(data: Any) -> Any:
    """The value ``encode`` gave ``data`` for; ValueError, TypeError or KeyError for anything else."""
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v) for v in data]
    if type(data) is not dict:
        raise ValueError("not an encoded value")
    tags = tuple(data)
    if tags == ("tuple",):
        return tuple(decode(v) for v in data["tuple"])
    if tags == ("dict",):
        return {decode(k): decode(v) for k, v in data["dict"]}
    if tags == ("set",) and type(data["set"]) is list and all(type(v) is str for v in data["set"]):
        return set(data["set"])
    if tags == ("date",):
        return dt.date.fromisoformat(data["date"])
    if tags == ("datetime",):
        return dt.datetime.fromisoformat(data["datetime"])
    if tags == ("class", "fields"):
        cls = _types()[data["class"]]  # KeyError: not one of kpictl's own classes
        names = [f.name for f in dataclasses.fields(cls)]
        if type(data["fields"]) is not list or len(data["fields"]) != len(names):
            raise ValueError(f"not the fields of {data['class']}")
        return cls(**{name: decode(v) for name, v in zip(names, data["fields"], strict=True)})
    if tags == ("error", "fields"):
        message, at, hint, sql = (decode(v) for v in data["fields"])
        return _errors()[data["error"]](message, at=at, hint=hint, sql=sql)
    raise ValueError("not an encoded value")
