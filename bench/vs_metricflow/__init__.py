"""kpictl against dbt MetricFlow on the same KPIs and files (see compare.py)."""
