"""Benchmarks of kpictl (see bench/README.md); a package so the scripts can share helpers."""
