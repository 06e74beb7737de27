#!/usr/bin/env bash
# Install dbt + MetricFlow into their own virtual environment, bench/vs_metricflow/.venv.
#
# Their own venv because dbt-core and MetricFlow pin many dependencies (protobuf, pydantic,
# click, sqlparse…) that must not leak into kpictl's environment. The versions are pinned so a
# rerun measures the same MetricFlow; DuckDB is pinned to the version kpictl is measured with,
# so the comparison is between the two compilers, not two engines.
#
#   bash bench/vs_metricflow/setup.sh            # creates/updates the venv (about a minute)
#   PYTHON=python3.12 bash bench/vs_metricflow/setup.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3.11}"

# dbt-core 1.12.x requires dbt-core-experimental-parser, whose sdist downloads a prebuilt wheel
# from GitHub while pip builds it ("failed to download https://github.com/dbt-labs/dbt/releases/
# download/v2.0.8/dbt_core_experimental_parser-2.0.8-…whl: Name or service not known"): it cannot
# install on a machine that reaches only package registries. dbt-metricflow 0.15.0 accepts
# dbt-core >=1.11,<1.13, and 1.11.x does not need that parser.
DBT_CORE=1.11.16
DBT_DUCKDB=1.11.1
DBT_METRICFLOW=0.15.0
METRICFLOW=0.213.0
DUCKDB="$(python3 -c 'import duckdb; print(duckdb.__version__)' 2>/dev/null || echo 2.0.1)"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q \
  "dbt-core==$DBT_CORE" \
  "dbt-duckdb==$DBT_DUCKDB" \
  "dbt-metricflow==$DBT_METRICFLOW" \
  "metricflow==$METRICFLOW" \
  "duckdb==$DUCKDB"
"$venv/bin/python" -m pip freeze > "$venv/freeze.txt"
"$venv/bin/dbt" --version
"$venv/bin/mf" --version
echo "ready: $venv (pip freeze in $venv/freeze.txt)"
