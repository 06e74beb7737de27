"""``python -m sample``: write the sample data set (see ``sample``).

Examples::

    python -m sample --out data                 # the shipped data: Parquet, scale 1
    python -m sample --out /tmp/big --scale 100  # ~100x the rows, for benchmarks
    python -m sample --out /tmp/csv --csv        # CSV files instead of Parquet
"""

from __future__ import annotations

import argparse
import sys
import time

from sample import generate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sample", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="data", help="output folder (default: data)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies the number of rows (default: 1)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    parser.add_argument("--csv", action="store_true", help="write CSV files instead of Parquet")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = generate(args.out, scale=args.scale, formats=("csv",) if args.csv else ("parquet",), seed=args.seed)
    for name, rows in counts.items():
        print(f"{name:<18} {rows:>10,} rows", file=sys.stderr)
    print(f"wrote {len(counts)} tables to {args.out} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
