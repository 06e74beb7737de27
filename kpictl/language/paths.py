"""Which files a project may read: its own folder, and folders allowed by whoever runs kpictl.

KPI files and kpictl.yml come from pull requests, so nothing written in them can widen what kpictl
reads: every source file and every definition file must resolve, after symlinks, inside the
project root or inside a folder given by ``--allow-path DIR`` or the ``KPICTL_ALLOW_PATH``
environment variable (``os.pathsep``-separated) — both set by the person or CI job running
kpictl, never by the YAML. Globs are expanded here, without following directory symlinks (a link
loop cannot make a file read twice, or a walk never end), each file once, and never from a folder
outside the allowed ones (a ``../../**`` pattern does not walk the file system).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

ENV = "KPICTL_ALLOW_PATH"
HINT = f"files must be inside the project folder; allow another folder with --allow-path DIR or {ENV}"
_MAGIC = re.compile(r"[*?\[]")


def roots(root: str, allowed: Iterable[str] = ()) -> tuple[str, ...]:
    """The real paths of the folders a project may read: its root, then the allowed ones."""
    extra = [*allowed, *(p for p in os.environ.get(ENV, "").split(os.pathsep) if p)]
    return tuple(os.path.realpath(p) for p in (root, *extra))


def inside(path: str, allowed: Sequence[str]) -> bool:
    """Whether ``path``, after symlinks, is one of the ``allowed`` real folders or under one."""
    real = os.path.realpath(path)
    return any(real == top or real.startswith(top.rstrip(os.sep) + os.sep) for top in allowed)


def is_glob(pattern: str) -> bool:
    """Whether a path has glob characters (``*``, ``?``, ``[``)."""
    return bool(_MAGIC.search(pattern))


def static_part(pattern: str) -> str:
    """The folders of a pattern before its first glob character: ``data/x/*.csv`` → ``data/x``."""
    parts = pattern.replace(os.sep, "/").split("/")
    for i, part in enumerate(parts):
        if is_glob(part):
            return "/".join(parts[:i])
    return pattern


def matches(base: str, pattern: str) -> list[str]:
    """The paths (as found, links not resolved) of the files under ``base`` matching ``pattern``
    (relative to ``base``): ``*`` and ``?`` stay within a folder name, ``**`` spans folders,
    ``[abc]`` is a class. Directory symlinks are not followed."""
    start = os.path.join(base, static_part(pattern))
    rest = pattern.replace(os.sep, "/")[len(static_part(pattern)) :].lstrip("/")
    if not rest:
        return [start] if os.path.isfile(start) else []
    regex = _translate(rest)
    found = []
    for folder, dirs, files in os.walk(start, followlinks=False, onerror=_unreadable):
        dirs.sort()
        relative = os.path.relpath(folder, start).replace(os.sep, "/")
        for name in sorted(files):
            full = os.path.join(folder, name)
            if regex.fullmatch(name if relative == "." else f"{relative}/{name}") and os.path.isfile(full):
                found.append(full)
    return found


def _unreadable(error: OSError) -> None:
    """A folder that exists but cannot be listed is an error, not a folder without files."""
    if not isinstance(error, FileNotFoundError | NotADirectoryError):
        raise error


def expand(base: str, pattern: str) -> list[str]:
    """The real paths of :func:`matches`, each once (two links to one file read it once)."""
    return sorted({os.path.realpath(path) for path in matches(base, pattern)})


def _translate(pattern: str) -> re.Pattern[str]:
    """A glob pattern as a regex over ``/``-separated relative paths."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            body = body.replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body[0] in "!^" else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))
