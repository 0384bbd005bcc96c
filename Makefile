# Two commands do all set-up: `make lab` (the demo) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install test lab clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

test: install
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

lab: install
	$(BIN)/failover lab up --foreground

clean:
	rm -rf $(VENV) *.egg-info
