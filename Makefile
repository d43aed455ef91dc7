# Two commands for a fresh machine: `make demo` and `make test`.
# Both create (or reuse) the virtual environment in .venv and install the project into it;
# the install is redone only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# demo-output/ belongs to this target: a second `make demo` replaces it (--overwrite)
demo: $(STAMP)
	$(BIN)/haplogen demo --out demo-output --overwrite

test: $(STAMP)
	$(BIN)/python -m pytest -q

# every model family, the published files and the real holdout on the 805-SNP panel, GPC's split
# and a simulated 10,000-SNP region: benchmarks/results/bench.{json,md} (hours on 2 cores;
# `$(BIN)/python benchmarks/bench_models.py --quick` checks the program in a few minutes)
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_models.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache
