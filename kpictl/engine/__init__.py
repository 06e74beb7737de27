"""Stage 3, SQL → rows: the only package that imports a database engine.

``duckdb.py`` opens a confined connection, runs one SELECT, and turns engine errors into
DataError; ``parquet.py`` writes ``run --format parquet`` output through DuckDB.
"""
