"""Stage 2, checked model → SQL: partial aggregates, derived KPIs, the plan, the compiled query per dialect.

Pure functions of the project: nothing here opens a connection or reads a data file.
"""
