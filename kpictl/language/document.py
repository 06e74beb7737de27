"""YAML text → Document: plain data plus the line and column of every node, for error messages.

YAML is read safely (no Python objects), with YAML 1.2-style scalars: `on`, `no` and
dates stay strings. Problems come back as SpecErrors in words an analyst reads, at the
character that causes them. Nothing here knows what a KPI is.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from kpictl.errors import KpiError, Location, SpecError
from kpictl.language.pointers import Document as Document  # re-exported: a parsed file is a Document
from kpictl.language.pointers import at_offset as at_offset
from kpictl.language.pointers import escape as escape

#: Larger files are refused before parsing: a definition file is text a person reviews.
MAX_FILE_BYTES = 1_000_000
#: Nodes that aliases may repeat: a 1 KB file of nested anchors expands to billions ("billion laughs").
MAX_REPEATED_NODES = 10_000


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
# Numbers as YAML 1.2's core schema reads them (YAML 1.1 missed `1e-9` and `-1E3`, read `017`
# as octal and `1_000` or `1:20` as numbers): 10, 0o17, 0x1F, 1e-9, .5, -1E3, .inf, .nan.
_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _NUMBER_TAGS]
    for first, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+.0123456789"))


def _construct_int(loader: Any, node: yaml.ScalarNode) -> int:
    text = str(node.value)
    return int(text[2:], 8) if text.startswith("0o") else int(text[2:], 16) if text.startswith("0x") else int(text)


def _construct_float(loader: Any, node: yaml.ScalarNode) -> float:
    return float(str(node.value).lower().replace(".inf", "inf").replace(".nan", "nan"))


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)

# libyaml parses about 5x faster (1,000 KPIs in 100 files: most of `validate`'s time); the pure
# Python parser is kept for files with errors, whose messages `_yaml_error` translates.
_FastLoader: Any = None
if getattr(yaml, "__with_libyaml__", False):
    _FastLoader = type(
        "_FastLoader",
        (yaml.CSafeLoader,),
        {"yaml_implicit_resolvers": _Loader.yaml_implicit_resolvers, "yaml_constructors": _Loader.yaml_constructors},
    )


def _compose(text: str) -> tuple[Any, yaml.Node | None]:
    """(loader, root node) of one YAML document; raises PyYAML's own (pure Python) errors."""
    if _FastLoader is not None:
        fast = _FastLoader(text)
        try:
            return fast, fast.get_single_node()
        except yaml.YAMLError:
            fast.dispose()
    loader = _Loader(text)
    return loader, loader.get_single_node()


class _TooBig(Exception):
    """Aliases repeat more than MAX_REPEATED_NODES nodes, or an alias contains itself."""


class _Walker:
    """Builds plain data from a node tree, recording positions; collects key problems."""

    def __init__(self, loader: Any, text: str, doc: Document):
        self.loader, self.text, self.doc = loader, text, doc
        self.errors: list[KpiError] = []
        self.budget = MAX_REPEATED_NODES
        self.seen: set[int] = set()
        self.open: set[int] = set()  # collections being walked: an alias back into one is a loop

    def mark(self, node: yaml.Node) -> tuple[int, int]:
        line, col = node.start_mark.line + 1, node.start_mark.column + 1
        if isinstance(node, yaml.ScalarNode) and node.style in ('"', "'"):
            return line, col + 1
        if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
            start = self.text.find("\n", node.start_mark.index)
            while start != -1:
                end = self.text.find("\n", start + 1)
                content = self.text[start + 1 : None if end == -1 else end].rstrip("\r")
                line += 1
                if content.strip():
                    return line, len(content) - len(content.lstrip(" ")) + 1
                start = end
        return line, col

    def walk(self, node: yaml.Node, pointer: str) -> Any:
        if id(node) in self.seen:  # reached again through an alias
            self.budget -= 1
            if self.budget < 0 or id(node) in self.open:
                raise _TooBig
        self.seen.add(id(node))
        self.doc.positions[pointer] = self.mark(node)
        if isinstance(node, yaml.ScalarNode):
            value = self.loader.construct_object(node, deep=True)
            if isinstance(value, float) and not math.isfinite(value):
                self.errors.append(
                    SpecError(
                        f"'{node.value}' is not a finite number",
                        at=Location(self.doc.file, *self.mark(node), pointer),
                        hint="write a number such as 0.5, 1e-9 or -1E3",
                    )
                )
                return str(node.value)
            return value
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(item, f"{pointer}/{i}") for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            return self.mapping(node, pointer)
        finally:
            self.open.discard(id(node))

    def mapping(self, node: yaml.MappingNode, pointer: str) -> dict[str, Any]:
        own = {id(k) for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"}
        self.loader.flatten_mapping(node)  # `<<: *anchor` pairs first, then the mapping's own
        out: dict[str, Any] = {}
        merged: set[str] = set()  # keys that came from a `<<` merge: the mapping's own key wins
        for key_node, value_node in node.value:
            at = Location(self.doc.file, *self.mark(key_node))
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:null":
                self.errors.append(self.bad_key(key_node, at))
                continue
            key = str(self.loader.construct_object(key_node))
            child = f"{pointer}/{escape(key)}"
            if id(key_node) not in own:
                if key in out:
                    continue  # an earlier merge already gave it
                merged.add(key)
            elif key in merged:
                merged.discard(key)
                del out[key]
            if key in out:
                first = self.doc.key_positions[child]
                self.errors.append(
                    SpecError(
                        f"duplicate key '{key}'",
                        at=Location(at.file, at.line, at.column, child),
                        hint=f"first defined at line {first[0]}; keep one of them",
                    )
                )
                continue
            self.doc.key_positions[child] = (at.line or 1, at.column or 1)
            if _is_unquoted_jinja(value_node):
                self.errors.append(_unquoted_jinja(Location(self.doc.file, *self.mark(value_node), child), key))
                continue
            out[key] = self.walk(value_node, child)
        return out

    def bad_key(self, node: yaml.Node, at: Location) -> SpecError:
        if isinstance(node, yaml.MappingNode) and node.flow_style and _is_unquoted_jinja(node):
            return _unquoted_jinja(at, None)
        return SpecError("a mapping key must be a plain name", at=at, hint="write 'name: value'")


def _is_unquoted_jinja(node: yaml.Node) -> bool:
    """`{{ x }}` unquoted is read by YAML as a mapping whose key is a mapping."""
    return (
        isinstance(node, yaml.MappingNode)
        and bool(node.flow_style)
        and any(isinstance(k, yaml.MappingNode) and k.flow_style for k, _ in node.value)
    )


def _unquoted_jinja(at: Location, key: str | None) -> SpecError:
    example = f'{key}: "{{{{ ... }}}}"' if key else '"{{ ... }}"'
    return SpecError(
        "Jinja '{{ ... }}' must be quoted in YAML: unquoted, it reads as a mapping", at=at, hint=f"write {example}"
    )


def _decode(data: bytes, file: str) -> tuple[str | None, KpiError | None]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, SpecError("file is UTF-16, not UTF-8", at=Location(file, 1, 1), hint="save it as UTF-8")
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        col = len(data[line_start : exc.start].decode("utf-8", "replace")) + 1
        byte = data[exc.start]
        return None, SpecError(
            f"file is not valid UTF-8: byte 0x{byte:02X} cannot be read",
            at=Location(file, line, col),
            hint="save the file as UTF-8",
        )


def load_text(text: str | bytes, file: str) -> tuple[Document, list[KpiError]]:
    """Parse YAML text into a Document; YAML problems come back as errors with their position."""
    doc = Document(file, None, {}, {})
    if isinstance(text, bytes):
        if len(text) > MAX_FILE_BYTES:
            size = f"{len(text) / 1e6:.1f} MB"
            return doc, [
                SpecError(
                    f"file is too large: {size}, at most {MAX_FILE_BYTES // 1_000_000} MB",
                    at=Location(file, 1, 1),
                    hint="split it into several KPI files",
                )
            ]
        decoded, error = _decode(text, file)
        if error is not None or decoded is None:
            return doc, [error or SpecError("file cannot be read", at=Location(file, 1, 1))]
        text = decoded
    text = text[1:] if text.startswith("\ufeff") else text
    loader: Any = None
    walker = _Walker(loader, text, doc)
    try:
        loader, node = _compose(text)
        walker.loader = loader
        data = None if node is None else walker.walk(node, "")
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        col = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        return doc, [
            SpecError(
                f"invalid YAML: control character U+{exc.character:04X} is not allowed",
                at=Location(file, line, col),
                hint="remove it; YAML files are plain text",
            )
        ]
    except yaml.MarkedYAMLError as exc:
        return doc, [_yaml_error(exc, file, text)]
    except yaml.YAMLError as exc:  # pragma: no cover - every PyYAML error carries a mark or a position
        return doc, [SpecError(f"invalid YAML: {exc}", at=Location(file, 1, 1))]
    except (_TooBig, RecursionError):
        return doc, [
            SpecError(
                "invalid YAML: aliases expand too far (or nest too deep)",
                at=Location(file, 1, 1),
                hint="write the values out instead of repeating '*anchors'",
            )
        ]
    finally:
        if loader is not None:
            loader.dispose()
    return Document(file, data, doc.positions, doc.key_positions), walker.errors


#: A line whose value starts with an unquoted `{{`: YAML reads it as a flow mapping.
_UNQUOTED_JINJA = re.compile(r"^(\s*(?:-\s+)?(?:([\w.-]+):\s+)?)\{\{")


def _yaml_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> SpecError:
    """PyYAML's message in an analyst's words, at the mark that shows the cause."""
    problem, context = (exc.problem or "").strip(), (exc.context or "").strip()
    mark = exc.problem_mark or exc.context_mark
    message, hint = problem or context or "cannot be read", None
    flow = context.startswith(("while parsing a flow sequence", "while parsing a flow mapping"))
    if flow or (context == "while parsing a flow node" and "<stream end>" in problem):
        line, col, opener = _last_open_bracket(text) if not flow else (0, 0, "[" if "sequence" in context else "{")
        mark = exc.context_mark if flow else yaml.Mark("", 0, line, col, None, 0)
        closer = "]" if opener == "[" else "}"
        message = f"'{opener}' is never closed"
        before = exc.problem_mark.line + 1 if exc.problem_mark and "<stream end>" not in problem else None
        hint = f"add the missing '{closer}'" + (f" before line {before}" if before else "")
    elif context.startswith("while scanning a quoted scalar") and exc.context_mark:
        mark, message, hint = exc.context_mark, "quoted text is never closed", "add the closing quote"
    elif "found character '\\t'" in problem:
        message, hint = "tab character: YAML is indented with spaces", "replace the tab with spaces"
    elif m := re.match(r"found character '(.)' that cannot start any token", problem):
        message, hint = f"a value cannot start with '{m.group(1)}'", f'quote it: "{m.group(1)}..."'
    elif problem == "mapping values are not allowed here":
        message = "unexpected ':'"
        hint = "indent this line like the keys above it, or quote a value that contains ': '"
    elif problem == "could not find expected ':'" and exc.context_mark:
        mark, message, hint = exc.context_mark, "expected 'key: value'", "add ':' after the key, or fix the indentation"
    elif problem.startswith("expected <block end>"):
        message, hint = "this line is not indented like the lines above it", "align it with the keys of its block"
    elif context == "expected a single document in the stream":
        message, hint = "a second YAML document ('---') in one file", "one file holds one document: remove the '---'"
    elif m := re.match(r"found undefined alias '(.*)'", problem):
        message, hint = f"unknown alias '*{m.group(1)}'", f"define the anchor '&{m.group(1)}' before using it"
    elif m := re.match(r"found duplicate anchor '(.*)'", context):
        first = exc.context_mark.line + 1 if exc.context_mark else "?"
        message, hint = f"anchor '&{m.group(1)}' is defined twice", f"first defined at line {first}"
    elif m := re.match(r"found unknown escape character '(.*)'", problem):
        message, hint = f"unknown escape '\\{m.group(1)}' in double quotes", "use single quotes, or write '\\\\'"
    if mark is None:
        return SpecError(f"invalid YAML: {message}", at=Location(file, 1, 1), hint=hint)
    lines = text.splitlines()
    jinja = _UNQUOTED_JINJA.match(lines[mark.line]) if mark.line < len(lines) else None
    if jinja:
        return _unquoted_jinja(Location(file, mark.line + 1, len(jinja.group(1)) + 1), jinja.group(2))
    return SpecError(f"invalid YAML: {message}", at=Location(file, mark.line + 1, mark.column + 1), hint=hint)


def _last_open_bracket(text: str) -> tuple[int, int, str]:
    """(0-based line, column, char) of the last '[' or '{' never closed, ignoring quoted text."""
    stack: list[tuple[int, int, str]] = []
    quote = ""
    for line_no, line in enumerate(text.split("\n")):
        for col, ch in enumerate(line):
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "'\"":
                quote = ch
            elif ch == "#" and (col == 0 or line[col - 1] in " \t"):
                break
            elif ch in "[{":
                stack.append((line_no, col, ch))
            elif ch in "]}" and stack:
                stack.pop()
    return stack[-1] if stack else (0, 0, "[")
