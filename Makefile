# S&OP Studio — set-up and everyday commands. `make run` serves the app; `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt | md5sum | cut -c1-12)
PORT ?= 8501
ADDRESS ?= 127.0.0.1

.PHONY: run test install chromium postgres lint bench clean-db

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Serve the app on the embedded SQLite database (created and seeded with the demo company on first start), to this
## machine only; `make run ADDRESS=0.0.0.0` serves every network interface (README: serving a team).
run: $(STAMP)
	$(PY) serve.py --server.address $(ADDRESS) --server.port $(PORT)

## Install everything needed (Python packages, Debian's chromium), then lint, type-check and run the whole test suite
## (the tests and the examples in the docstrings of the pure modules).
test: $(STAMP) chromium postgres
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(PY) -m pytest -n auto --dist loadscope

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium; }

## Start the local PostgreSQL cluster when it is installed but not running (the data-layer tests use it).
postgres:
	@if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  command -v pg_ctlcluster >/dev/null 2>&1 && pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start || true; \
	fi

lint: $(STAMP)
	$(PY) -m ruff check .

bench: $(STAMP)
	$(PY) bench/whatif.py

clean-db:
	rm -f data/sop.db data/sop.db-wal data/sop.db-shm
