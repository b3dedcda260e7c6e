# The two set-up commands of the README. Each creates .venv and installs what it needs first:
# the demo the project and its demo extra (Faker), the tests the development extras too.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench

$(VENV)/.demo: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[demo]'
	touch $@

$(VENV)/.dev: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.demo

demo: $(VENV)/.demo
	$(VENV)/bin/dsr demo

test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

$(VENV)/.bench: pyproject.toml $(VENV)/.dev
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

bench: $(VENV)/.bench
	$(PY) -m bench
