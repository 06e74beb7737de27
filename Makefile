# One command checks everything: `make check` (CI runs exactly this).
PY ?= python

.PHONY: check test lint cog golden schemas

check: test lint

test:  # -n auto: one worker per core; --durations: the slowest tests named in every CI log
	$(PY) -m pytest -n auto --durations=10

lint:
	$(PY) -m ruff format --check kpictl tests bench sample
	$(PY) -m ruff check kpictl tests bench sample
	$(PY) -m mypy
	KPICTL_NO_CACHE=1 $(PY) -m cogapp --check README.md  # the examples computed, not read from ~/.cache

cog:
	KPICTL_NO_CACHE=1 $(PY) -m cogapp -r README.md

golden:
	$(PY) -m pytest --update-golden

schemas:
	$(PY) -m kpictl schema --write schemas/
