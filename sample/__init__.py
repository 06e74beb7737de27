"""Sample data for the seed catalog: a fictional B2B distributor over 2024-2025, reproducibly.

``generate(out_dir)`` writes eleven tables (one Parquet or CSV file each) that the shipped
``metrics/`` catalog runs on::

    customers          one row per customer: region, segment, how it was acquired, signup date
    contracts          yearly service contracts: renewed, cancelled, not_renewed or still active
    orders             sales orders: entry and shipping dates, channel, sale type, amount (EUR)
    shipments          one per shipped order: promised/delivered dates, carrier, on time, complete,
                       weight vs booked capacity, transport cost
    warehouse_months   per warehouse and month: storage cost, nominal capacity, occupancy index
    tickets            support tickets: opened/resolved timestamps, channel, satisfaction (1-5)
    interactions       calls and e-mails to customers (support or strategic) and their replies
    leads              marketing leads: channel, paid or not, landing page, converted
    web_sessions       site visits: visitor, channel, search keyword, landing page, CTA views/clicks
    purchase_orders    purchases: supplier, item, buyer, first offer, final price, budget, flags
    supplier_invoices  invoices due in 2024-2025: due and paid dates

The same ``seed`` and ``scale`` give byte-identical files: values come from ``random.Random``
streams seeded per table, rows are sorted by their key, and DuckDB writes with one thread.
``scale`` multiplies the number of customers, orders, visits, purchases… (``scale=1`` is about
33k orders and 67k web sessions, 1.7 MB of Parquet; the warehouse ledger stays 4 x 24 rows).

The generator is plain Python writing raw CSV rows (see ``tables``), then one DuckDB pass
converts types, numbers ids in time order and writes the files. Python is the slow part, about
1.3 s per scale unit: ``scale=100`` (21M rows, 167 MB of Parquet) takes about two minutes.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Iterable
from contextlib import ExitStack
from pathlib import Path

from kpictl.sql.quoting import literal
from sample import customers, logistics, marketing, purchasing, support
from sample.tables import MACROS, RowWriter, Table

#: Every table, in the order they are built (a table may join the ones before it).
TABLES: tuple[Table, ...] = (
    *customers.TABLES,
    *logistics.TABLES,
    *support.TABLES,
    *marketing.TABLES,
    *purchasing.TABLES,
)
FORMATS = ("parquet", "csv")

__all__ = ["FORMATS", "TABLES", "generate"]


def generate(
    out_dir: str | os.PathLike[str],
    scale: float = 1.0,
    formats: Iterable[str] = ("parquet",),
    seed: int = 42,
) -> dict[str, int]:
    """Write the sample tables to ``out_dir`` as ``<table>.parquet`` and/or ``<table>.csv``.

    Returns the number of rows of each table. Existing files of the same names are replaced.

    >>> generate("/tmp/sample", scale=0.1, formats=("csv",))["orders"]  # doctest: +SKIP
    3686
    """
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise ValueError(f"formats must be among {FORMATS}, got {formats!r}")
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kpictl-sample-") as tmp:
        _write_raw(Path(tmp), seed, scale)
        return _convert(Path(tmp), out, formats)


def _write_raw(tmp: Path, seed: int, scale: float) -> None:
    """Run the Python generators; each table's raw rows go to ``tmp/<table>.csv``."""
    with ExitStack() as files:
        writers: dict[str, RowWriter] = {}
        for table in TABLES:
            handle = files.enter_context(open(tmp / f"{table.name}.csv", "w", newline="", encoding="utf-8"))
            writers[table.name] = csv.writer(handle)
        accounts = customers.write(seed, scale, writers)
        logistics.write(seed, accounts, writers)
        support.write(seed, accounts, writers)
        marketing.write(seed, scale, writers)
        purchasing.write(seed, scale, writers)


def _convert(tmp: Path, out: Path, formats: tuple[str, ...]) -> dict[str, int]:
    """Load the raw CSVs into DuckDB, build each final table, and write it sorted, single-threaded."""
    import duckdb

    counts: dict[str, int] = {}
    con = duckdb.connect(
        ":memory:", config={"threads": 1, "autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        for macro in MACROS:
            con.execute(macro)
        for table in TABLES:
            columns = ", ".join(f"'{name}': '{kind}'" for name, kind in table.raw)
            raw = literal(tmp / f"{table.name}.csv")
            con.execute(
                f"CREATE TABLE raw_{table.name} AS SELECT * FROM read_csv({raw}, header = false, "
                f"auto_detect = false, columns = {{{columns}}})"
            )
            con.execute(f"CREATE TABLE {table.name} AS {table.select}")
            con.execute(f"DROP TABLE raw_{table.name}")
            query = f"SELECT * EXCLUDE (_seq) FROM {table.name} ORDER BY {table.order_by}"
            for fmt in formats:
                options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
                con.execute(f"COPY ({query}) TO {literal(out / f'{table.name}.{fmt}')} ({options})")
            counts[table.name] = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
    finally:
        con.close()
    return counts
