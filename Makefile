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

# The console's test renders it in Debian's Chromium; installed here when missing (as root).
test: $(VENV)/.dev
	@command -v chromium >/dev/null 2>&1 || apt-get install -y -q chromium >/dev/null || true
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -q

$(VENV)/.bench: pyproject.toml $(VENV)/.dev
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

# bench/api.py presses the HTTP API with Debian's wrk (a Python client would measure itself).
bench: $(VENV)/.bench
	@command -v wrk >/dev/null 2>&1 || apt-get install -y -q wrk >/dev/null || true
	$(PY) -m bench
