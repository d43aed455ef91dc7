# Two commands for a fresh machine: `make demo` and `make test`.
# Both create (or reuse) the virtual environment in .venv and install the project into it;
# the install is redone only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean

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

clean:
	rm -rf $(VENV) demo-output .pytest_cache
