# Two commands do everything on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-nojit bench lint format clean setup dist

# The venv is rebuilt when the project's dependency files change. It holds every extra:
# the dashboard, Dask clusters and EMA Workbench are all tested.
$(STAMP): pyproject.toml constraints.txt setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; assert sys.version_info[:2] == (3, 12), "commsim needs Python 3.12 (see .python-version); got " + sys.version' \
		|| { rm -rf $(VENV); exit 1; }
	@echo "Installing commsim and its dependencies into $(VENV) (a few minutes the first time; later runs skip this)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev,dashboard,cluster,ema]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/commsim run scenarios/baseline.toml --out results/baseline --force

test: $(STAMP)
	$(BIN)/ruff format --check sim tests benchmarks scripts setup.py
	$(BIN)/ruff check sim tests benchmarks scripts setup.py
	$(BIN)/python -m pytest -m ""
	$(MAKE) test-nojit

# The saved outputs with numba's JIT off: the same functions run as plain Python must give
# the compiled run's numbers (docs/development.md). Every scenario and seed on the
# Mesa-free engine, which runs every mechanism (about 1 min of CPU; the Mesa model's runs too
# would double it); the Mesa model's agreement with the engine is tested compiled.
test-nojit: $(STAMP)
	COMMSIM_COMPILED=0 $(BIN)/python -m pytest -m "" tests/test_saved_outputs.py -k simulation

bench: $(STAMP)
	$(BIN)/python -m benchmarks

lint: $(STAMP)
	$(BIN)/ruff check sim tests benchmarks scripts setup.py

# The sdist and the wheel (with the ready files, LICENSE, CITATION.cff and the commit) in dist/.
dist: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build

format: $(STAMP)
	$(BIN)/ruff format sim tests benchmarks scripts setup.py
	$(BIN)/ruff check --fix sim tests benchmarks scripts setup.py

clean:
	rm -rf $(VENV) results .pytest_cache .ruff_cache build dist *.egg-info
