"""Property tests: whatever text a pull request puts in a KPI file, kpictl answers with its own errors.

Random YAML text, random bytes and random structured documents (with KPI-like keys mixed in)
go through the whole loading pipeline — YAML → shape → model → semantic checks — and random
expressions through the formula sandbox. The only exceptions allowed out are KpiErrors.
"""

from __future__ import annotations

import contextlib
import string
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kpictl.errors import KpiError
from kpictl.language import checks, document, formula, jinja, spec
from kpictl.model import Config, Lookup, Source

# No example database: the suite must not write a .hypothesis/ folder into the checkout.
SETTINGS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
# On a failure, hypothesis' report triggers a DeprecationWarning (mypy_extensions) that
# filterwarnings=error would turn into an INTERNALERROR hiding the falsifying example.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CONFIG = Config(
    name="acme",
    root=".",
    sources={
        "orders": Source(
            "orders",
            "data/orders.parquet",
            "parquet",
            key="order_id",
            time="order_date",
            lookups=(Lookup("customers", "customer_id"),),
        ),
        "customers": Source("customers", "data/customers.parquet", "parquet", key="customer_id"),
    },
    vars={"start": "2025-01-01", "factor": 2},
)
SCHEMAS = {
    "orders": {"order_id": "INTEGER", "order_date": "DATE", "amount": "DOUBLE", "customer_id": "INTEGER"},
    "customers": {"customer_id": "INTEGER", "region": "VARCHAR"},
}

KPI_KEYS = [
    "kpis",
    "name",
    "label",
    "description",
    "owner",
    "tags",
    "source",
    "formula",
    "filter",
    "dimensions",
    "time",
    "grain",
    "format",
    "target",
    "tests",
    "min",
    "max",
    "between",
    "by",
    "baseline",
    "value",
    "at",
    "tolerance",
    "per",
    "period",
    "expr",
    "given",
    "expect",
    "type",
    "decimals",
    "sources",
    "path",
    "lookups",
    "on",
    "vars",
    "metrics",
    "defaults",
]
WORDS = [
    "revenue",
    "orders",
    "sum(amount)",
    "count(*)",
    "2026-12-31",
    "2026-02-30",
    "region",
    "amount > 0",
    "revenue / orders_count",
    "prior(revenue)",
    "{{ var('start') }}",
    "month",
    "percent",
    "EU",
    "",
    "-",
    "~",
]
SQLISH = [
    "sum(",
    "count(*)",
    "amount",
    ")",
    "(",
    " filter (where ",
    "select",
    ";",
    "'",
    '"',
    "+",
    "/",
    "*",
    ",",
    "over ()",
    "case when ",
    " then ",
    " end",
    "prior(",
    "to_date(",
    "rolling(",
    "cumulative(",
    "year",
    "read_csv('x')",
    "1",
    "0.5",
    "{{",
    "}}",
    "var('start')",
    "{%",
    "%}",
    "__class__",
    ".",
    "::int",
    "--",
    "\n",
    "current_date",
    "x.y.z",
    "in (1, 2)",
    "is null",
    "distinct ",
    "@",
    "$1",
    "?",
    "[1]",
    "->>",
]


def pipeline(text: str | bytes, kind: str = "kpis") -> list[KpiError]:
    """Everything `kpictl validate --no-data` (and the column checks) does with one file's text."""
    doc, errors = document.load_text(text, "metrics/x.yml")
    if errors:
        return errors
    errors = spec.check_shape(doc, kind)
    if errors:
        return errors
    if kind == "project":
        config = spec.build_config(doc, ".")
        return checks.check(config, [], schemas=SCHEMAS)[1] + checks.check(config, [])[1]
    kpis, errors = spec.build_kpis(doc)
    for schemas in (None, SCHEMAS):
        _, found = checks.check(CONFIG, kpis, schemas=schemas)
        errors += found
    return errors


def assert_only_kpi_errors(text: str | bytes, kind: str = "kpis") -> None:
    for error in pipeline(text, kind):
        assert isinstance(error, KpiError)
        str(error)  # renders without failing
        error.to_dict()


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
keys = st.one_of(st.sampled_from(KPI_KEYS), st.text(alphabet=string.ascii_letters + "_/~ .", max_size=8))
values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=6)),
    max_leaves=25,
)
kpi = st.fixed_dictionaries(
    {"name": st.one_of(st.sampled_from(["revenue", "orders_count", "margin"]), st.text(max_size=8))},
    optional={k: st.one_of(st.sampled_from(WORDS), values) for k in KPI_KEYS[2:15]},
)
kpi_files = st.one_of(st.fixed_dictionaries({"kpis": st.lists(kpi, max_size=4)}), values)
sql = st.lists(st.one_of(st.sampled_from(SQLISH), st.text(max_size=4)), max_size=12).map("".join)
names = st.sampled_from(["revenue", "orders_count", "margin", "growth", "customers"])
# Shape-valid KPIs with random expressions: these reach the semantic checks.
valid_kpi = st.fixed_dictionaries(
    {"name": names, "formula": sql.filter(bool)},
    optional={
        "source": st.sampled_from(["orders", "customers", "shipments"]),
        "filter": st.one_of(sql.filter(bool), st.lists(sql.filter(bool), max_size=2)),
        "dimensions": st.lists(
            st.one_of(
                st.sampled_from(["region", "customers.region", "channel"]),
                st.fixed_dictionaries({"name": names, "expr": sql.filter(bool)}),
            ),
            max_size=3,
        ),
        "time": st.sampled_from(["order_date", "ship_date"]),
        "target": st.fixed_dictionaries(
            {"min": st.floats(allow_nan=False)},
            optional={
                "max": st.floats(allow_nan=False),
                "by": st.sampled_from(["2026-12-31", "2025-01-01"]),
                "per": st.dictionaries(
                    st.sampled_from(["region", "channel"]),
                    st.dictionaries(
                        st.sampled_from(["EU", "US"]), st.fixed_dictionaries({}, optional={"min": st.integers()})
                    ),
                ),
                "baseline": st.fixed_dictionaries({"value": st.integers(), "at": st.sampled_from(["2026-01-01"])}),
            },
        ),
        "tests": st.lists(
            st.fixed_dictionaries(
                {
                    "given": st.dictionaries(
                        st.sampled_from(["orders", "order"]),
                        st.lists(
                            st.dictionaries(st.sampled_from(["amount", "order_date", "x"]), st.integers()), max_size=2
                        ),
                    ),
                    "expect": st.lists(
                        st.fixed_dictionaries(
                            {"value": st.integers()}, optional={"region": st.just("EU"), "period": st.just("x")}
                        )
                    ),
                },
                optional={"by": st.lists(st.sampled_from(["region", "channel"]))},
            ),
            max_size=2,
        ),
    },
)


@SETTINGS
@given(st.text(max_size=300))
@example("kpis:\n  - name: a\n\tformula: x\n")
@example("a: &a [*a]\n")
@example("? [a, b]\n: 1\n")
@example("kpis: [{name: a, formula: {{ x }}}]")
@example("\ufeff\x00")
def test_random_text(text: str) -> None:
    assert_only_kpi_errors(text)
    assert_only_kpi_errors(text, "project")


@SETTINGS
@given(st.binary(max_size=200))
@example(b"\xff\xfek\x00")
@example(b"kpis: \xe9\n")
def test_random_bytes(data: bytes) -> None:
    assert_only_kpi_errors(data)


@SETTINGS
@given(kpi_files)
def test_random_documents(data: Any) -> None:
    assert_only_kpi_errors(yaml.safe_dump(data, allow_unicode=True))


@SETTINGS
@given(st.lists(valid_kpi, max_size=5))
def test_random_valid_shaped_kpis(kpis: list[dict[str, Any]]) -> None:
    assert_only_kpi_errors(yaml.safe_dump({"kpis": kpis}, allow_unicode=True))


@SETTINGS
@given(values)
def test_random_project_files(data: Any) -> None:
    assert_only_kpi_errors(yaml.safe_dump({"name": "acme", "sources": data}), "project")
    assert_only_kpi_errors(yaml.safe_dump(data), "project")


@SETTINGS
@given(sql, st.sampled_from(formula.KINDS))
@example("sum(x) + {{ 'a' * 1000000000 }}", "aggregate")
@example("{{ 10 ** 10 ** 10 }}", "aggregate")
@example("to_date(revenue)", "derived")
@example("prior()", "derived")
@example("sum(x)) from t; copy t to 'x'", "aggregate")
def test_random_expressions(text: str, kind: str) -> None:
    with contextlib.suppress(KpiError):
        formula.parse(jinja.render(text, CONFIG.vars), kind)
