"""Jinja in formulas and filters, sandboxed: a KPI file from a pull request runs no Python.

``render`` expands ``{{ var('name') }}`` (the common case, without Jinja at all) and plain
Jinja in an immutable sandbox with no globals, no attributes, no loops or macros and few filters,
where ``*``, ``**`` and ``%`` cannot build huge values (so rendering is short and bounded);
every failure is a SpecError at the variable or attribute that caused it. ``formula.parse``
then checks the SQL the text became.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from kpictl.errors import Location, SpecError, suggest
from kpictl.language.pointers import at_offset

#: Jinja filters a formula may use: none of them can make a text much longer than its input
#: (``center``, ``indent``, ``wordwrap``, ``format`` and ``replace`` can: ``'a'|center(10**11)``).
_FILTERS = "abs capitalize d default first float int join last length lower round string title trim upper"

#: Jinja statements a formula may not use: loops and macros are what make a template run long
#: (nested loops) or deep (a recursive macro); a formula needs ``{{ var() }}`` and ``{% if %}``.
_STATEMENTS = ("For", "Macro", "CallBlock", "Import", "FromImport", "Include", "Extends", "Block")


def _sql_text(value: Any) -> Any:
    """How a value is written into a formula: ``vars: {n: null}`` is SQL's NULL, not ``None``."""
    return "NULL" if value is None else value


@cache
def _jinja() -> Any:
    from jinja2 import StrictUndefined, Undefined
    from jinja2.exceptions import SecurityError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Sandbox(ImmutableSandboxedEnvironment):
        """No globals (no range/cycler/joiner), no attributes, few filters; `*`, `**` and `%`
        cannot build huge values."""

        intercepted_binops = frozenset(["*", "**", "%"])

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            return False  # x.__class__…: a formula needs no attribute

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            if __obj is not __context.get("var") and not isinstance(__obj, Undefined):
                raise SecurityError("only var() can be called in a formula")  # '{:>999999999}'.format(x)
            return super().call(__context, __obj, *args, **kwargs)

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            seq, num = (left, right) if isinstance(left, (str, list, tuple)) else (right, left)
            big_repeat = operator == "*" and isinstance(seq, (str, list, tuple)) and isinstance(num, int)
            huge_power = (
                operator == "**"
                and isinstance(left, int)
                and isinstance(right, int)
                and max(abs(left), 2).bit_length() * right > 100_000
            )
            if operator == "%" and isinstance(left, str):
                raise SecurityError("'%' formatting of text cannot be used in a formula")
            if huge_power or (big_repeat and len(seq) * num > 100_000):
                raise SecurityError(f"'{operator}' would build a value too large for a formula")
            return super().call_binop(context, operator, left, right)

    env = Sandbox(undefined=StrictUndefined, autoescape=False, finalize=_sql_text)
    env.globals.clear()
    env.filters = {name: env.filters[name] for name in _FILTERS.split()}
    env.tests = {name: env.tests[name] for name in ("defined", "undefined", "none", "number", "string")}
    return env


def _refused_statement(source: str) -> str | None:
    """The first statement of ``source`` that formulas may not use (``for``, ``macro``…), if any."""
    from jinja2 import nodes

    tree = _jinja().parse(source)
    for kind in _STATEMENTS:
        if next(tree.find_all(getattr(nodes, kind)), None) is not None:
            return kind.lower()
    return None


#: The common case, ``{{ var('name') }}``, is substituted directly: compiling a Jinja template
#: costs ~2 ms, a third of `validate` on a 1,000-KPI catalog.
_SIMPLE_VAR = re.compile(r"""\{\{\s*var\(\s*(?:'([a-z_][a-z0-9_]*)'|"([a-z_][a-z0-9_]*)")\s*\)\s*\}\}""")


def render(text: str, vars: dict[str, Any], at: Location | None = None) -> str:
    """Expand ``{{ var('name') }}`` (and plain Jinja) in a sandbox; text without Jinja is returned as is."""
    if "{" not in text:
        return text
    simple = _SIMPLE_VAR.sub(lambda m: str(_sql_text(vars.get(m[1] or m[2], "{"))), text)
    if "{" not in simple:  # else the whole text goes through Jinja (a value is never re-rendered)
        return simple
    from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
    from jinja2.exceptions import SecurityError

    missing: list[str] = []
    hint = "formulas may use {{ var('name') }} and plain Jinja only"

    def var(name: str, default: Any = None) -> Any:
        if name not in vars and default is None:
            missing.append(str(name))
        return vars.get(name, "" if default is None else default)

    def find(word: str) -> Location | None:
        found = text.find(word)
        return at_offset(at, text, found) if found >= 0 else at

    try:
        if refused := _refused_statement(text):
            raise SpecError(
                f"unsafe Jinja: '{refused}' cannot be used in a formula",
                at=find(refused),
                hint="formulas may use {{ var('name') }}, expressions and {% if %} only",
            )
        result: str = _jinja().from_string(text).render(var=var)
    except TemplateSyntaxError as exc:
        line = (exc.lineno or 1) - 1
        where = Location(at.file, at.line + line, at.column if not line else None, at.pointer) if at and at.line else at
        raise SpecError(f"invalid Jinja: {exc.message}", at=where) from None
    except SecurityError as exc:
        attr = re.search(r"attribute '([^']+)'", str(exc))
        what = f"'{attr.group(1)}'" if attr else "this"
        message = f"unsafe Jinja: {what} cannot be used in a formula" if attr else f"unsafe Jinja: {exc}"
        raise SpecError(message, at=find(attr.group(1)) if attr else at, hint=hint) from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        name = re.match(r"'([^']+)' is undefined", str(exc)) if isinstance(exc, UndefinedError) else None
        if name:
            raise SpecError(f"unknown Jinja name '{name.group(1)}'", at=find(name.group(1)), hint=hint) from None
        raise SpecError(f"Jinja failed: {exc}", at=at, hint=hint) from None
    if missing:
        quoted = re.search(rf"""var\(\s*['"]({re.escape(missing[0])})['"]""", text)
        where = at_offset(at, text, quoted.start(1)) if quoted else at
        raise SpecError(
            f"unknown variable '{missing[0]}'",
            at=where,
            hint=suggest(missing[0], vars) or "declare it under vars: in kpictl.yml",
        )
    return result
