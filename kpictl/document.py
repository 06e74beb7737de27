"""YAML text → Document: plain data plus the line and column of every node, for error messages.

YAML is read safely (no Python objects), with YAML 1.2-style scalars: `on`, `no` and
dates stay strings. Nothing here knows what a KPI is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from kpictl.errors import KpiError, Location, SpecError

#: Larger files are refused before parsing: a definition file is text a person reviews.
MAX_FILE_BYTES = 1_000_000

Positions = dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Document:
    """One parsed YAML file: plain data plus the 1-based (line, column) of every node and key."""

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


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings: "2026-12-31" is validated and parsed by us."""


# YAML 1.1 reads `on:` (a lookup's join column), `no` (Norway) and `yes` as booleans; analysts
# mean the words. Keep YAML 1.2's true/false only, and no implicit timestamps.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
for _first in "tTfF":
    _Loader.add_implicit_resolver(
        "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list(_first)
    )


def escape(key: object) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _mark(node: yaml.Node) -> tuple[int, int]:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, pointer: str, loader: _Loader, doc: Document, errors: list[KpiError]) -> Any:
    doc.positions[pointer] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                errors.append(SpecError("mapping keys must be plain names", at=Location(doc.file, *_mark(key_node))))
                continue
            key = str(key) if not isinstance(key, str) else key
            child = f"{pointer}/{escape(key)}"
            if key in out:
                first = doc.key_positions[child]
                errors.append(
                    SpecError(
                        f"duplicate key '{key}'",
                        at=Location(doc.file, *_mark(key_node), child),
                        hint=f"first defined at line {first[0]}",
                    )
                )
                continue
            doc.key_positions[child] = _mark(key_node)
            out[key] = _walk(value_node, child, loader, doc, errors)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_walk(item, f"{pointer}/{i}", loader, doc, errors) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_text(text: str | bytes, file: str) -> tuple[Document, list[KpiError]]:
    """Parse YAML text into a Document; YAML problems come back as errors with their position."""
    doc = Document(file, None, {}, {})
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            size = f"{len(text) / 1e6:.1f} MB"
            return doc, [SpecError(f"file is too large ({size})", at=Location(file), hint="split it: at most 1 MB per file")]
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = text[: exc.start].count(b"\n") + 1
            col = exc.start - (text.rfind(b"\n", 0, exc.start) + 1) + 1
            return doc, [SpecError("file is not valid UTF-8", at=Location(file, line, col), hint="save it as UTF-8")]
    text = text.lstrip("\ufeff")
    loader = _Loader(text)
    errors: list[KpiError] = []
    try:
        node = loader.get_single_node()
        data = None if node is None else _walk(node, "", loader, doc, errors)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file)
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        hint = "indent with spaces, not tabs" if "\t" in problem or "tab" in problem else None
        return doc, [SpecError(f"invalid YAML: {problem}", at=where, hint=hint)]
    except yaml.YAMLError as exc:  # e.g. a bad escape that carries no mark
        return doc, [SpecError(f"invalid YAML: {exc}", at=Location(file, 1, 1))]
    except RecursionError:
        return doc, [SpecError("invalid YAML: nesting is too deep", at=Location(file, 1, 1))]
    finally:
        loader.dispose()
    return Document(file, data, doc.positions, doc.key_positions), errors
