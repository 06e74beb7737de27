"""Document → JSON Schema problems, each in an analyst's words at its line and column.

The schemas (package data) are the single source of truth for the shape of kpictl.yml and
of KPI files; this module runs them (with a calendar check on dates) and turns jsonschema's
errors into SpecErrors with hints ("did you mean 'dimensions'?"). It builds no model.
"""

from __future__ import annotations

import calendar
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from kpictl.errors import DataError, KpiError, Location, SpecError
from kpictl.language import calendars
from kpictl.language.pointers import Document, escape

SCHEMAS = {"project": "kpictl.schema.json", "kpis": "kpi-file.schema.json"}


@cache
def schema(kind: str) -> dict[str, Any]:
    """The packaged JSON Schema, ``kind`` being "project" or "kpis"."""
    from importlib import resources  # lazy: with tempfile, a few ms that only checking pays

    text = resources.files("kpictl").joinpath("schemas").joinpath(SCHEMAS[kind]).read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    return result


def text(which: str = "all") -> str:
    """The schema ``which`` ("project", "kpis") as JSON text, or both ("all") by file name."""
    body = schema(which) if which in SCHEMAS else {SCHEMAS[kind]: schema(kind) for kind in SCHEMAS}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


def write(folder: Path, which: str = "all") -> list[Path]:
    """Write the schema ``which`` (or both) into ``folder`` under its published file name."""
    if folder.exists() and not folder.is_dir():
        raise SpecError(f"cannot write the schemas into {folder}: it is not a folder", at=Location("--write"))
    written = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for kind in [which] if which in SCHEMAS else list(SCHEMAS):
            written.append(folder / SCHEMAS[kind])
            written[-1].write_text(text(kind), encoding="utf-8")
    except OSError as exc:
        raise DataError(
            f"cannot write {written[-1] if written else folder}: {exc.strerror}", at=Location("--write")
        ) from None
    return written


DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
FRESHNESS_PATTERN = "^(latest|(latest|today) - [1-9][0-9]{0,3} days?)$"  # complete_through: besides a date
MONTH_DAY_PATTERN = "^[0-9]{2}-[0-9]{2}$"  # calendar.fiscal_year_start
_YEAR_START_HINT = 'write the 1st of the month the fiscal year starts in as MM-01, e.g. "04-01" for April'


@cache
def _validator(kind: str) -> Any:
    """A draft 2020-12 validator whose date pattern also checks the calendar (2026-02-30 fails)."""
    from jsonschema import Draft202012Validator, ValidationError, validators  # lazy: ~60 ms to import

    def pattern(validator: Any, regex: str, instance: Any, _schema: Any) -> Any:
        if not validator.is_type(instance, "string"):
            return
        if not re.search(_ecma_end(regex), instance):
            yield ValidationError(f"{instance!r} does not match {regex!r}")
        elif regex == DATE_PATTERN and (why := _not_a_date(instance)):
            yield ValidationError(why, validator="date")
        elif regex == MONTH_DAY_PATTERN and (why := _not_a_year_start(instance)):
            yield ValidationError(why, validator="year_start")

    checker = validators.extend(Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]
    whole = schema(kind)
    return checker(_inline(whole, whole.get("$defs", {})))


def _ecma_end(regex: str) -> str:
    """The pattern with JSON Schema's (ECMA-262) meaning of ``$``: the end of the text. Python's ``$``
    also matches before a final newline, which let a KPI name ``"x\\n"`` through."""
    return re.sub(r"(?<!\\)\$", r"\\Z", regex)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition: validates twice as fast
    (jsonschema resolves a reference at each use). The schemas are not recursive."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = _inline(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
            return {**target, **{k: _inline(v, defs) for k, v in node.items() if k != "$ref"}}
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    return [_inline(v, defs) for v in node] if isinstance(node, list) else node


def _not_a_date(text: str) -> str | None:
    """Why a YYYY-MM-DD string is not a calendar date, or None when it is one."""
    year, month, day = (int(p) for p in text.split("-"))
    if not 1 <= month <= 12:
        return f"month {month} does not exist"
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} {year} has {days} days"
    return None


def _not_a_year_start(text: str) -> str | None:
    """Why an MM-DD string is not the first day of a month, or None when it is one.

    Only the 1st: a fiscal quarter is then three whole months, so the SQL shifts dates by
    months (``date_trunc`` of the day ``n`` months earlier) and no engine clamps a day.
    """
    month, day = (int(p) for p in text.split("-"))
    if not 1 <= month <= 12:
        return f"{text} is not a month and day (month {month} does not exist)"
    days = calendar.monthrange(2000, month)[1]  # a leap year: 02-29 is a day, if not a 1st
    if not 1 <= day <= days:
        return f"{text} is not a real day ({calendar.month_name[month]} has {days} days)"
    if day != 1:
        return f"{text}: a fiscal year starts on the 1st of a month"
    return None


def _month_of(text: str) -> str | None:
    """``04-01`` for a month named in English (``April``, ``apr``, ``1 April``) or in a date
    (``2025-04-01``), else None."""
    if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text) and 1 <= int(text[5:7]) <= 12:
        return f"{text[5:7]}-01"
    words = re.findall(r"[a-z]+", text.lower())
    for number in range(1, 13):
        if any(w in (calendar.month_name[number].lower(), calendar.month_abbr[number].lower()) for w in words):
            return f"{number:02d}-01"
    return None


_TYPES = {
    "array": "a list",
    "object": "a mapping",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true/false",
    "null": "nothing",
}


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a number", float: "a number", str: "a string", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__
    )


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _pointer(path: Any) -> str:
    return "".join(f"/{escape(p)}" for p in path)


def field(pointer: str, doc: Document) -> str:
    """A JSON pointer as a person reads it: /kpis/3/target/min → revenue.target.min."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if len(parts) >= 2 and parts[0] == "kpis" and parts[1].isdigit():
        kpis = doc.data.get("kpis") if isinstance(doc.data, dict) else None
        i = int(parts[1])
        item = kpis[i] if isinstance(kpis, list) and i < len(kpis) else None
        name = item.get("name") if isinstance(item, dict) else None
        parts = [name if isinstance(name, str) and name else f"kpis[{i}]", *parts[2:]]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


def error(where: str, message: str, at: Location, hint: str | None = None) -> SpecError:
    return SpecError(f"{where}: {message}" if where else message, at=at, hint=hint)


def _typos(err: Any) -> dict[str, str | None]:
    """Unknown keys of an additionalProperties error → the allowed key each most likely meant."""
    allowed = list(err.schema.get("properties", {}))
    return {k: _close(k, allowed) for k in err.instance if k not in allowed}


def _close(word: str, choices: list[str], cutoff: float = 0.6) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)
    return found[0] if found else None


def _schema_errors(err: Any, doc: Document, kind: str) -> list[SpecError]:
    """Readable SpecErrors from one jsonschema ValidationError (one per unknown key)."""
    pointer = _pointer(err.absolute_path)
    where, at = field(pointer, doc), doc.at(pointer, key=err.instance is None)
    if err.validator in ("oneOf", "anyOf") and err.context:
        if all(e.validator == "required" for e in err.context):
            fields = sorted({str(e.validator_value[0]) for e in err.context})
            if fields == ["between", "max", "min"]:
                return [
                    error(
                        where,
                        "a target needs a bound",
                        doc.at(pointer, key=True),
                        "add min:, max: or between: [low, high]",
                    )
                ]
            return [error(where, f"needs {' or '.join(fields)}", doc.at(pointer, key=True))]
        patterns = [e.validator_value for e in err.context if e.validator == "pattern"]
        if len(patterns) == len(err.context) > 1:  # text of one of several forms: name them all
            forms = ", ".join(_PATTERN_HINTS.get(p) or f"expected {p}" for p in patterns)
            return [error(where, f"'{err.instance}' is not valid", at, forms)]
        # The branch that got furthest says what the user most likely meant.
        deepest = max(err.context, key=lambda e: (len(e.absolute_path), e.validator != "type"))
        if deepest.validator != "type" or len(deepest.absolute_path) > len(err.absolute_path):
            return _schema_errors(deepest, doc, kind)
        wanted = sorted({_TYPES.get(str(e.validator_value), "a value") for e in err.context if e.validator == "type"})
        return [error(where, f"expected {_either(wanted)}, got {_type_name(err.instance)}", at)]
    if err.validator == "additionalProperties":
        allowed = list(err.schema.get("properties", {}))
        return [
            error(
                where,
                f"unknown field '{name}'",
                doc.at(f"{pointer}/{escape(name)}", key=True),
                f"did you mean '{close}'?" if close else f"allowed: {', '.join(allowed)}",
            )
            for name, close in _typos(err).items()
        ]
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else err.message
        hint = "a KPI file starts with 'kpis:'" if missing == "kpis" else None
        return [error(where, f"missing required field '{missing}'", doc.at(pointer, key=True), hint)]
    if err.validator == "dependentRequired":  # calendar: table, date and grains come together
        _, missing, _, owner, _ = err.message.split("'")
        hint = "a calendar table is table: (a source), date: (its date column) and grains: (name: label column)"
        return [error(where, f"'{owner}' needs '{missing}' too", at, hint)]
    if err.validator == "enum":
        choices = [str(c) for c in err.validator_value]
        # A balance's takes are short words a statistic is close to ('median' to 'min'): only a typo gets a guess.
        close = _close(str(err.instance), choices, 0.75 if pointer.endswith("/snapshot/take") else 0.6)
        hint = f"did you mean '{close}'?" if close else f"one of: {', '.join(choices)}"
        return [error(where, f"'{err.instance}' is not allowed", at, hint)]
    if err.validator == "type":
        return [_type_error(err, where, at, kind)]
    if err.validator == "date":
        return [error(where, f"{err.instance} is not a real date", at, err.message)]
    if err.validator == "year_start":
        hint = f"did you mean '{err.instance[:2]}-01'?" if err.message.endswith("1st of a month") else _YEAR_START_HINT
        return [error(where, err.message, at, hint)]
    if err.validator in ("pattern", "propertyNames"):
        if "propertyNames" in err.absolute_schema_path:  # a key is wrong: point at the key
            at = doc.at(f"{pointer}/{escape(err.instance)}", key=True)
            err = err.context[0] if err.context else err
        name = "a valid name" if "a-z_" in err.validator_value else "valid"
        what = "a date" if err.validator_value == DATE_PATTERN else name
        hint = _pattern_hint(err.instance, err.validator_value)
        if err.validator_value == MONTH_DAY_PATTERN:
            what = "a month and day"
            hint = f"did you mean '{month}'?" if (month := _month_of(str(err.instance))) else hint
        if where.endswith(".time") and re.search(r"[^\w.]", str(err.instance)):  # an expression, not a name
            hint = f'compute it as a column of the source: columns: {{day: "{err.instance}"}}, then time: day'
            return [error(where, f"'{err.instance}' is not a column name", at, hint)]
        return [error(where, f"'{err.instance}' is not {what}", at, hint)]
    messages = {
        "minLength": "must not be empty",
        "minProperties": "must not be empty",
        "minItems": f"needs at least {err.validator_value} item(s)",
        "maxItems": f"takes at most {err.validator_value} item(s)",
        "minimum": f"must be at least {err.validator_value}",
        "maximum": f"must be at most {err.validator_value}",
    }
    return [error(where, messages.get(err.validator, err.message), at)]


def _type_error(err: Any, where: str, at: Location, kind: str) -> SpecError:
    wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
    words = _either([_TYPES.get(w) or str(w) for w in wanted])
    got = _type_name(err.instance)
    if not where:
        if kind == "kpis":
            return error(
                "",
                f"a KPI file is a mapping with a 'kpis:' list, got {got}",
                at,
                "start the file with 'kpis:' and indent the KPIs under it",
            )
        return error("", f"kpictl.yml is a mapping (name:, sources:, ...), got {got}", at)
    hint = None
    if where.endswith("fiscal_year_start"):  # 4, or 04-01 read as something else than text
        hint = _YEAR_START_HINT
    elif "array" in wanted and isinstance(err.instance, (str, int, float)) and not isinstance(err.instance, bool):
        hint = f"write a list: [{err.instance}]"
    elif "number" in wanted and isinstance(err.instance, str) and re.fullmatch(r"\s*-?[0-9.]+\s*%?\s*", err.instance):
        number = err.instance.strip()
        percent = number.endswith("%")
        hint = f"write {float(number[:-1]) / 100:g} for {number}" if percent else f"remove the quotes: {number}"
    return error(where, f"expected {words}, got {got}", at, hint)


_IDENT_HINT = "use lowercase letters, digits and _, starting with a letter"
_PATTERN_HINTS = {
    "^[a-z_][a-z0-9_]*$": _IDENT_HINT,
    "^([a-z_][a-z0-9_]*\\.)?[a-z_][a-z0-9_]*$": (
        "a column name or source.column; an expression needs {name: ..., expr: ...}"
    ),
    DATE_PATTERN: "write dates as YYYY-MM-DD",
    FRESHNESS_PATTERN: "or latest, latest - N days, today - N days",
    MONTH_DAY_PATTERN: _YEAR_START_HINT,
    "^[0-9]+(\\.[0-9]+)?%$": "write a number, or a percentage like 2%",
    "^[A-Z]{3}$": "write a three-letter currency code like EUR",
    "^[a-z]{2}$": "write a two-letter language code like en",
    "^spark\\.(?!.*(secret|password|token|credential|access\\.key|\\.key$))[A-Za-z0-9_.-]+$": (
        "a Spark setting (spark.…); never a credential in kpictl.yml: set it in the environment or Spark's own "
        "configuration"
    ),
    "^[A-Za-z][A-Za-z0-9_-]*$": "use letters, digits, _ and -, starting with a letter",
}


def _pattern_hint(instance: str, regex: str) -> str:
    hint = _PATTERN_HINTS.get(regex) or f"expected {regex}"
    fixed = re.sub(r"[^a-z0-9_.]+", "_", instance.strip().lower()).strip("_")
    if "a-z_" in regex and fixed != instance and re.search(regex, fixed):
        return f"did you mean '{fixed}'?"
    return hint


def check_shape(doc: Document, kind: str) -> list[KpiError]:
    """Every schema violation of the document, each at its own line and column."""
    if doc.data is None:
        if kind == "project":
            return [
                SpecError(
                    "kpictl.yml is empty", at=Location(doc.file, 1, 1), hint="it needs at least name: and sources:"
                )
            ]
        return [SpecError("KPI file is empty", at=Location(doc.file, 1, 1), hint="start it with 'kpis:', or delete it")]
    raw = list(_validator(kind).iter_errors(doc.data))
    # A typo ('dimension:') also makes the field it meant missing: report the typo only.
    meant = {
        (_pointer(e.absolute_path), close)
        for e in raw
        if e.validator == "additionalProperties"
        for close in _typos(e).values()
    }
    bounds = {"min", "max", "between"}
    errors: list[KpiError] = []
    for e in raw:
        p = _pointer(e.absolute_path)
        if e.validator == "required" and (p, e.message.split("'")[1] if "'" in e.message else "") in meant:
            continue
        if e.validator == "anyOf" and any((p, b) in meant for b in bounds):
            continue
        errors += _schema_errors(e, doc, kind)
    if kind == "project":  # what only kpictl.yml as a whole says: its calendar table, its default grain
        placed = {e.at.pointer for e in errors}  # a field the schema refused: not reported twice
        errors += [e for e in calendars.project_problems(doc.data, doc.at) if e.at.pointer not in placed]
    # Nested oneOf failures can repeat one cause: keep each (place, message) once.
    unique = {(str(e), e.at.pointer): e for e in errors}
    return list(unique.values())
